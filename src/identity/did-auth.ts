/**
 * DID sign-in (portable identity): anyone holding a DID's key proves it by answering a one-time
 * challenge. Trustgate issues a nonce bound to an audience and an expiry; the holder answers with
 *
 *   - a JWT (ES256K, EdDSA or ES256) or a JWT verifiable presentation, issued by the DID, carrying the
 *     nonce and the audience; verified against the DID's resolved document (authentication keys); or
 *   - for did:ethr, an EIP-191 `personal_sign` signature over the challenge message, whose recovered
 *     address must be an authentication key of the resolved document (the owner or a sigAuth delegate).
 *
 * Each challenge is taken from shared state atomically: it works once, on any instance.
 */
import { randomBytes } from 'node:crypto';
import { verifyJWT } from 'did-jwt';
import type { Resolvable } from 'did-resolver';
import { verifyMessage } from 'ethers';
import { safeReason, TrustgateError } from '../errors.ts';
import type { EphemeralState } from '../state/types.ts';

/** How long a challenge can be answered. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Accepted clock skew for the answer's iat/nbf/exp, in seconds. */
const SKEW_S = 60;
const DID_PATTERN = /^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$/;

/** A challenge as the client receives it. */
export interface DidChallenge {
  /** Put this in the JWT's `nonce` claim (or sign `message` for EIP-191). */
  nonce: string;
  /** Put this in the JWT's `aud` claim. */
  audience: string;
  /** The exact text to sign with EIP-191 `personal_sign`. */
  message: string;
  expiresAt: string;
}

/** The answer: a JWT (or VP JWT), or an EIP-191 signature for a did:ethr. */
export type DidChallengeAnswer =
  | { nonce: string; jwt: string }
  | { nonce: string; did: string; signature: string };

/** Refusals carry stable codes; none says more than needed. */
export class DidAuthError extends TrustgateError {
  constructor(code: 'invalid_challenge' | 'invalid_proof' | 'invalid_did', detail: string) {
    super(code, code === 'invalid_did' ? 400 : 401, 'DID authentication failed', detail);
  }
}

interface StoredChallenge {
  audience: string;
  message: string;
  expiresAtMs: number;
}

const key = (nonce: string) => `didauth:challenge:${nonce}`;

function challengeMessage(audience: string, nonce: string, expiresAt: string): string {
  return `${new URL(audience).host} asks you to sign in with your DID.\n\nAudience: ${audience}\nNonce: ${nonce}\nExpires: ${expiresAt}`;
}

export class DidAuthenticator {
  constructor(
    private readonly state: EphemeralState,
    private readonly resolver: Resolvable,
    private readonly now: () => number = Date.now,
  ) {}

  /** Issues a one-time challenge for `audience` (the tenant's issuer URL). */
  async challenge(audience: string): Promise<DidChallenge> {
    const nonce = randomBytes(18).toString('base64url');
    const expiresAtMs = this.now() + CHALLENGE_TTL_MS;
    const expiresAt = new Date(expiresAtMs).toISOString();
    const message = challengeMessage(audience, nonce, expiresAt);
    const stored: StoredChallenge = { audience, message, expiresAtMs };
    await this.state.set(key(nonce), JSON.stringify(stored), CHALLENGE_TTL_MS);
    return { nonce, audience, message, expiresAt };
  }

  /**
   * Verifies an answer for `audience` and returns the authenticated DID. The challenge is consumed
   * first, so a replay (or a second concurrent use) finds nothing, whatever the outcome.
   */
  async verify(
    answer: DidChallengeAnswer,
    audience: string,
  ): Promise<{ did: string; method: 'jwt' | 'eip191' }> {
    const stored = await this.takeChallenge(answer.nonce, audience);
    if ('jwt' in answer)
      return { did: await this.verifyJwt(answer.jwt, answer.nonce, audience), method: 'jwt' };
    return { did: await this.verifyEip191(answer.did, answer.signature, stored.message), method: 'eip191' };
  }

  /**
   * Verifies that the answerer controls Ethereum `address`: an EIP-191 signature of the challenge
   * message by that address (used before handing a DID's ownership to the person's wallet).
   */
  async verifyAddress(
    answer: { nonce: string; address: string; signature: string },
    audience: string,
  ): Promise<string> {
    const stored = await this.takeChallenge(answer.nonce, audience);
    let recovered: string;
    try {
      recovered = verifyMessage(stored.message, answer.signature);
    } catch {
      throw new DidAuthError('invalid_proof', 'The signature is malformed.');
    }
    if (recovered.toLowerCase() !== String(answer.address).toLowerCase()) {
      throw new DidAuthError('invalid_proof', 'The signature was not made by that address.');
    }
    return recovered;
  }

  private async takeChallenge(nonce: string, audience: string): Promise<StoredChallenge> {
    if (typeof nonce !== 'string' || nonce.length > 64) {
      throw new DidAuthError('invalid_challenge', 'Unknown, expired or already used challenge.');
    }
    const raw = await this.state.take(key(nonce));
    if (!raw) throw new DidAuthError('invalid_challenge', 'Unknown, expired or already used challenge.');
    const stored = JSON.parse(raw) as StoredChallenge;
    if (stored.audience !== audience || stored.expiresAtMs < this.now()) {
      throw new DidAuthError(
        'invalid_challenge',
        'The challenge was issued for another audience or has expired.',
      );
    }
    return stored;
  }

  private async verifyJwt(jwt: string, nonce: string, audience: string): Promise<string> {
    let verified: Awaited<ReturnType<typeof verifyJWT>>;
    try {
      verified = await verifyJWT(jwt, {
        resolver: this.resolver,
        audience,
        proofPurpose: 'authentication',
        skewTime: SKEW_S,
        policies: { now: Math.floor(this.now() / 1000) },
      });
    } catch (err) {
      throw new DidAuthError('invalid_proof', `The JWT does not verify: ${safeReason(err)}`);
    }
    const { payload } = verified;
    // did-jwt resolves `iss` as a DID URL: a `?versionId=` would verify against an older document.
    if (!DID_PATTERN.test(verified.issuer) || /[?#/]/.test(verified.issuer)) {
      throw new DidAuthError('invalid_proof', 'The JWT issuer must be a plain DID.');
    }
    if (payload.nonce !== nonce)
      throw new DidAuthError('invalid_proof', 'The JWT does not carry the challenge nonce.');
    if (typeof payload.exp !== 'number')
      throw new DidAuthError('invalid_proof', 'The JWT must expire (exp).');
    const vp = (payload as { vp?: { holder?: string } }).vp;
    if (vp?.holder && vp.holder !== verified.issuer) {
      throw new DidAuthError('invalid_proof', 'The presentation holder is not its signer.');
    }
    return verified.issuer;
  }

  private async verifyEip191(did: string, signature: string, message: string): Promise<string> {
    if (typeof did !== 'string' || !DID_PATTERN.test(did) || !did.startsWith('did:ethr:')) {
      throw new DidAuthError('invalid_did', 'EIP-191 answers are accepted for did:ethr DIDs only.');
    }
    let address: string;
    try {
      address = verifyMessage(message, signature).toLowerCase();
    } catch {
      throw new DidAuthError('invalid_proof', 'The signature is malformed.');
    }
    const { didDocument, didDocumentMetadata } = await this.resolver.resolve(did);
    if (!didDocument || didDocumentMetadata?.deactivated)
      throw new DidAuthError('invalid_proof', 'The DID does not resolve.');
    const methods = didDocument.verificationMethod ?? [];
    const authRefs = new Set(
      (didDocument.authentication ?? []).map((a) => (typeof a === 'string' ? a : a.id)),
    );
    const matches = methods.some((m) => {
      if (!authRefs.has(m.id)) return false;
      const account = (m.blockchainAccountId ?? '').toLowerCase();
      return (
        account.endsWith(`:${address}`) ||
        (m as { ethereumAddress?: string }).ethereumAddress?.toLowerCase() === address
      );
    });
    if (!matches)
      throw new DidAuthError('invalid_proof', 'The signer is not an authentication key of the DID.');
    return did;
  }
}
