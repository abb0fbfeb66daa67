/**
 * A credential Trustgate composes itself (IdentityAssuranceCredential, DeviceBindingCredential), described
 * once and encoded in either data model: VC 1.1 for a `jwt_vc` (`issuanceDate`, `expirationDate`), VC 2.0
 * for a `vc+jwt` (`validFrom`, `validUntil`). Issuance adds the id, the issuer and the status entries.
 *
 * Claims sit under the base context only: in VC 2.0 undefined terms fall under the context's
 * issuer-dependent `@vocab`, and JWT verifiers of VC 1.1 credentials (did-jwt-vc, Veramo, Entra) do not
 * expand JSON-LD, so no private context has to be published and fetched.
 */

import { VC_V2_CONTEXT } from './vc-jose.ts';
import { VC_V1_CONTEXT } from './vc-jwt.ts';
import type { CredentialFormat } from './verify.ts';

/** A credential before issuance, independent of the data model. */
export interface CredentialDraft {
  /** The credential's own type, after `VerifiableCredential`. */
  type: string;
  /** What it says, about whom (`id`: the subject's DID). */
  credentialSubject: { id: string } & Record<string, unknown>;
  validFrom: Date;
  /** None: valid until revoked. */
  validUntil?: Date;
}

/** The unsigned credential of `draft` in `format`'s data model, without status entries. */
export function encodeDraft(
  draft: CredentialDraft,
  format: CredentialFormat,
  ids: { id: string; issuer: string },
): Record<string, unknown> {
  const common = { id: ids.id, type: ['VerifiableCredential', draft.type], issuer: ids.issuer };
  if (format === 'jwt_vc') {
    return {
      '@context': [VC_V1_CONTEXT],
      ...common,
      issuanceDate: draft.validFrom.toISOString(),
      ...(draft.validUntil ? { expirationDate: draft.validUntil.toISOString() } : {}),
      credentialSubject: draft.credentialSubject,
    };
  }
  return {
    '@context': [VC_V2_CONTEXT],
    ...common,
    validFrom: draft.validFrom.toISOString(),
    ...(draft.validUntil ? { validUntil: draft.validUntil.toISOString() } : {}),
    credentialSubject: draft.credentialSubject,
  };
}

/** The attestation facts of a passkey as credentials state them (no credential id, no public key). */
export interface AuthenticatorSummary {
  /** Attestation statement format (`packed`, `tpm`, `apple`, `none`, …). */
  attestationFormat: string;
  /** Authenticator model (AAGUID); all zeros when the authenticator does not say. */
  aaguid: string;
  /** Model name from FIDO metadata, when known. */
  modelName?: string;
  /** The attestation chained to a trusted root or metadata entry. */
  attestationTrusted: boolean;
  /** A non-exportable key in hardware behind a trusted attestation. */
  hardwareBound: boolean;
  /** Backup eligible: a synced passkey that may live on several devices. */
  synced: boolean;
}

/** The summary of a stored passkey row. */
export function authenticatorSummary(passkey: {
  fmt: string;
  aaguid: string;
  modelName: string | null;
  attestationTrusted: boolean;
  hardwareBound: boolean;
  backupEligible: boolean;
}): AuthenticatorSummary {
  return {
    attestationFormat: passkey.fmt,
    aaguid: passkey.aaguid,
    ...(passkey.modelName ? { modelName: passkey.modelName } : {}),
    attestationTrusted: passkey.attestationTrusted,
    hardwareBound: passkey.hardwareBound,
    synced: passkey.backupEligible,
  };
}
