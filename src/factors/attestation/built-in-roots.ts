/**
 * Vendor roots that ship with SimpleWebAuthn (and so with Trustgate): Google's hardware attestation
 * roots for `android-key`, Apple's WebAuthn root for `apple`, and the FIDO Alliance's Metadata Service
 * roots (GlobalSign Root CA - R3 and R46) for the MDS BLOB. TPM manufacturers' roots do not ship:
 * operators add them (ATTESTATION_ROOTS_DIR/tpm/). `android-safetynet` is deprecated by Google and its
 * root is a general web PKI root, so it is not trusted for attestation here.
 */
import { SettingsService } from '@simplewebauthn/server';
import type { TrustRoot } from './trust-store.ts';

const pems = (identifier: 'android-key' | 'apple' | 'mds') =>
  SettingsService.getRootCertificates({ identifier }).filter((c): c is string => typeof c === 'string');

/** Attestation roots per format that every installation trusts. */
export function builtInAttestationRoots(): TrustRoot[] {
  return (['android-key', 'apple'] as const).flatMap((format) =>
    pems(format).map((pem) => ({ pem, formats: [format] })),
  );
}

/** The FIDO Metadata Service roots. */
export function builtInMdsRoots(): string[] {
  return pems('mds');
}
