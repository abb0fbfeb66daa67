/**
 * `IdentityAssuranceCredential`: how strongly a person authenticated, as their session proved it.
 *
 * - the subject is the account's DID;
 * - `aal` (NIST SP 800-63B-4 level, 1 to 3), `acr` (`phrh`, `phr` or the AAL URI), RFC 8176 `amr` values,
 *   `phishingResistant`, and `authTime` (when the last factor that counts was proved);
 * - `authenticator`: the attestation summary of the passkey the session used, when it used one (format,
 *   AAGUID, hardware-bound or synced);
 * - valid from issuance until the session's absolute deadline: it attests a sign-in, and a relying party
 *   should not lean on it longer than the sign-in itself could last.
 *
 * Risk never raises assurance, so nothing here reads the risk assessment.
 */
import type { ActiveSession } from '../sessions/sessions.ts';
import { type AuthenticatorSummary, authenticatorSummary, type CredentialDraft } from './credential-draft.ts';

export const IDENTITY_ASSURANCE_CREDENTIAL = 'IdentityAssuranceCredential';

export interface IdentityAssuranceInput {
  did: string;
  session: ActiveSession;
  /** The passkey row the session used (its `passkeyId`), when it used one. */
  passkey?: Parameters<typeof authenticatorSummary>[0] | null;
  now?: Date;
}

export function identityAssuranceDraft(input: IdentityAssuranceInput): CredentialDraft {
  const { session } = input;
  const now = input.now ?? new Date();
  const authenticator: AuthenticatorSummary | undefined = input.passkey
    ? authenticatorSummary(input.passkey)
    : undefined;
  return {
    type: IDENTITY_ASSURANCE_CREDENTIAL,
    credentialSubject: {
      id: input.did,
      aal: session.assurance.aal,
      acr: session.acr,
      amr: session.assurance.amr,
      phishingResistant: session.assurance.phr,
      authTime: new Date(session.authTimeMs).toISOString(),
      ...(authenticator ? { authenticator } : {}),
    },
    validFrom: now,
    validUntil: session.row.absoluteExpiresAt,
  };
}
