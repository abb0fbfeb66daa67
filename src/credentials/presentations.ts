/**
 * Verifiable presentations with holder binding: the verifier first asks for a challenge (bound to a
 * domain, usable once, for five minutes), the holder answers with a JWT presentation (did-jwt-vc) that
 * carries the challenge as `nonce` and the domain as `aud`, signed by the holder's DID, and embeds
 * credentials whose subject is that holder.
 *
 *   1. takeChallenge    the challenge was issued here for this domain, and is consumed now (once only)
 *   2. signature        the presentation verifies against the holder DID's authentication keys
 *   3. binding          nonce and aud match; every credential's subject is the holder
 *   4. credentials      each embedded credential verifies (signature, validity, status)
 */
import { randomBytes } from 'node:crypto';
import { decodeJWT } from 'did-jwt';
import { verifyPresentation } from 'did-jwt-vc';
import type { Resolvable } from 'did-resolver';
import { safeReason } from '../errors.ts';
import type { EphemeralState } from '../state/types.ts';

export const PRESENTATION_CHALLENGE_TTL_MS = 5 * 60_000;

/** A VC API style verification result. */
export interface VerificationResult {
  verified: boolean;
  checks: string[];
  warnings: Array<{ code: string; message: string }>;
  errors: Array<{ code: string; message: string }>;
}

/** Verifies one embedded credential (a JWT), returning the subject it is about. */
export type CredentialVerifier = (jwt: string) => Promise<VerificationResult & { subject?: string }>;

const key = (challenge: string) => `vp:challenge:${challenge}`;

const failure = (code: string, message: string, checks: string[] = []): VerificationResult => ({
  verified: false,
  checks,
  warnings: [],
  errors: [{ code, message }],
});

export class PresentationVerifier {
  constructor(
    private readonly state: EphemeralState,
    private readonly resolver: Resolvable,
    private readonly verifyCredential: CredentialVerifier,
  ) {}

  /** Issues a one-time challenge for `domain` (the verifier's origin or audience). */
  async challenge(domain: string): Promise<{ challenge: string; domain: string; expiresAt: string }> {
    const challenge = randomBytes(18).toString('base64url');
    await this.state.set(key(challenge), domain, PRESENTATION_CHALLENGE_TTL_MS);
    return {
      challenge,
      domain,
      expiresAt: new Date(Date.now() + PRESENTATION_CHALLENGE_TTL_MS).toISOString(),
    };
  }

  /** Verifies a JWT presentation for `challenge` and `domain`; never throws for a bad presentation. */
  async verify(
    presentation: string,
    options: { challenge: string; domain: string },
  ): Promise<VerificationResult> {
    // Consumed before anything else: a replay, or a second concurrent use, finds nothing.
    const issuedFor =
      typeof options.challenge === 'string' ? await this.state.take(key(options.challenge)) : null;
    if (issuedFor === null)
      return failure('invalid_challenge', 'Unknown, expired or already used challenge.');
    if (issuedFor !== options.domain)
      return failure('invalid_challenge', 'The challenge was issued for another domain.');

    let verified: Awaited<ReturnType<typeof verifyPresentation>>;
    try {
      verified = await verifyPresentation(presentation, this.resolver, {
        challenge: options.challenge,
        domain: options.domain,
      });
    } catch (err) {
      return failure(classify(err), `The presentation does not verify: ${safeReason(err)}`);
    }
    const checks = ['challenge', 'domain', 'signature'];
    const holder = verified.issuer;
    const declaredHolder = (decodeJWT(presentation).payload as { vp?: { holder?: string } }).vp?.holder;
    if (declaredHolder !== undefined && declaredHolder !== holder) {
      return failure('holder_mismatch', 'The presentation’s holder is not its signer.', checks);
    }
    const credentials = verified.verifiablePresentation.verifiableCredential ?? [];
    const errors: VerificationResult['errors'] = [];
    for (const credential of credentials) {
      const jwt = (credential as { proof?: { jwt?: string } }).proof?.jwt;
      if (!jwt) {
        errors.push({ code: 'unsupported_credential', message: 'Only JWT credentials can be presented.' });
        continue;
      }
      const result = await this.verifyCredential(jwt);
      errors.push(...result.errors);
      if (result.verified && result.subject !== holder) {
        errors.push({ code: 'holder_mismatch', message: 'A presented credential is about someone else.' });
      }
    }
    if (credentials.length > 0) checks.push('credentials', 'holderBinding');
    return { verified: errors.length === 0, checks, warnings: [], errors };
  }
}

function classify(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/nonce|challenge/i.test(message)) return 'invalid_challenge';
  if (/aud|domain/i.test(message)) return 'invalid_domain';
  if (/signature|no matching|invalid_signature/i.test(message)) return 'invalid_signature';
  if (/resolv|notFound|invalidDid/i.test(message)) return 'holder_not_resolved';
  if (/expired|exp/i.test(message)) return 'expired';
  return 'malformed_presentation';
}
