/**
 * Bearer tokens for the account API, issued after account creation or DID sign-in. Opaque random
 * tokens; shared state holds only their SHA-256 (a state dump reveals no usable token) with a TTL, so
 * every instance accepts them and revocation is immediate everywhere. Server-side sessions with
 * assurance levels (issue 5) will replace them for browser sign-in.
 */
import { createHash, randomBytes } from 'node:crypto';
import { TrustgateError } from '../errors.ts';
import type { EphemeralState } from '../state/types.ts';

export const ACCOUNT_TOKEN_TTL_MS = 60 * 60_000;

/** What a token stands for. */
export interface AccountPrincipal {
  accountId: string;
  tenantId: string;
  did: string;
  /** How the holder proved who they are (`created`, `jwt`, `eip191`). */
  method: string;
  issuedAt: number;
}

const key = (token: string) => `account:token:${createHash('sha256').update(token).digest('base64url')}`;

/** 401 with a Bearer challenge (RFC 6750). */
export class UnauthorizedError extends TrustgateError {
  constructor(detail = 'Send a valid bearer token.') {
    super('unauthorized', 401, 'Unauthorized', detail, {
      headers: { 'WWW-Authenticate': 'Bearer realm="trustgate", error="invalid_token"' },
    });
  }
}

export class AccountTokens {
  constructor(
    private readonly state: EphemeralState,
    private readonly ttlMs = ACCOUNT_TOKEN_TTL_MS,
  ) {}

  async issue(principal: Omit<AccountPrincipal, 'issuedAt'>): Promise<{ token: string; expiresIn: number }> {
    const token = `tga_${randomBytes(32).toString('base64url')}`;
    await this.state.set(key(token), JSON.stringify({ ...principal, issuedAt: Date.now() }), this.ttlMs);
    return { token, expiresIn: Math.floor(this.ttlMs / 1000) };
  }

  /** The principal of an `Authorization: Bearer` header's token, for `tenantId`; else 401. */
  async authenticate(authorization: string | undefined, tenantId: string): Promise<AccountPrincipal> {
    const match = /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(authorization ?? '');
    if (!match) throw new UnauthorizedError();
    const raw = await this.state.get(key(match[1]!));
    if (!raw) throw new UnauthorizedError('The token is unknown, expired or revoked.');
    const principal = JSON.parse(raw) as AccountPrincipal;
    // A token of another tenant is as good as none here (no cross-tenant hints).
    if (principal.tenantId !== tenantId)
      throw new UnauthorizedError('The token is unknown, expired or revoked.');
    return principal;
  }

  async revoke(token: string): Promise<void> {
    await this.state.delete(key(token));
  }
}
