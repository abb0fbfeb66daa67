/**
 * What every factor proves. A factor (passkey, TOTP, recovery code, DID signature) verifies one answer
 * and returns a `FactorProof`; flows combine proofs into an assurance level (`assurance.ts`) and never
 * look inside a factor.
 */

/** The factors Trustgate knows. */
export type FactorKind = 'passkey' | 'totp' | 'recovery_code' | 'did';

/** Attestation facts of a passkey, recorded at registration. */
export interface AttestationSummary {
  /** Attestation statement format: `packed`, `tpm`, `android-key`, `apple`, `fido-u2f`, `none`. */
  fmt: string;
  /** Authenticator model, hyphenated lower-case; all zeros when unknown. */
  aaguid: string;
  /** Model name from metadata, when a metadata entry matched. */
  modelName?: string;
  /** The attestation chained to a trusted root or metadata entry. Never true for self or `none`. */
  trusted: boolean;
  /** Backup eligible (BE): a synced passkey. */
  backupEligible: boolean;
  /** Backed up (BS). */
  backedUp: boolean;
  /** Trusted attestation of a key that cannot leave the device (not backup eligible). */
  hardwareBound: boolean;
}

/** The outcome of one verified factor. */
export interface FactorProof {
  kind: FactorKind;
  /** RFC 8176 values this factor contributes (`hwk`, `swk`, `user`, `otp`, `pop`, …). */
  amr: string[];
  /** Resistant to phishing (verifier-name binding): passkeys. */
  phishingResistant: boolean;
  /** A non-exportable hardware key behind a trusted attestation. */
  hardwareBound: boolean;
  /** User verification (PIN, biometric) happened on the authenticator: a multi-factor authenticator. */
  userVerified: boolean;
  /** The passkey used, when the factor was one. */
  passkeyId?: string;
  attestation?: AttestationSummary;
}
