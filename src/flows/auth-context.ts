/**
 * What the sign-in flows share: their dependencies, the attempt's context, a tiny pipeline runner (each
 * flow is a table of named steps, read top to bottom), and the steps several flows use.
 */
import ipaddr from 'ipaddr.js';
import { recordEvent } from '../audit/events.ts';
import type { CredentialIssuance } from '../credentials/issuance.ts';
import type { CredentialFormat } from '../credentials/verify.ts';
import { TrustgateError } from '../errors.ts';
import { type Assurance, assuranceOf } from '../factors/assurance.ts';
import type { PasskeyFactor } from '../factors/passkey.ts';
import type { RecoveryCodes } from '../factors/recovery-codes.ts';
import type { TotpFactor } from '../factors/totp.ts';
import type { FactorProof } from '../factors/types.ts';
import type { Accounts } from '../identity/accounts.ts';
import type { DidAuthenticator } from '../identity/did-auth.ts';
import type { Action, Decision, DecisionPoint } from '../policy/decision.ts';
import type { Limit, RateLimiter } from '../security/rate-limit.ts';
import type { ActiveSession, Sessions } from '../sessions/sessions.ts';
import type { Account, Passkey, Tenant } from '../store/generated/postgres/client.ts';
import type { Store, Tx } from '../store/index.ts';

/** Limits per source address and per account (shared state: they hold across instances). */
export interface AuthLimits {
  /** Sign-in, sign-up and step-up attempts per IP address. */
  perIp: Limit;
  /** Step-up and enrolment attempts per account (whatever the address). */
  perAccount: Limit;
  /** Recovery attempts per IP address and per username. */
  recoveryPerIp: Limit;
  recoveryPerUsername: Limit;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  perIp: { max: 60, windowMs: 60_000 },
  perAccount: { max: 30, windowMs: 5 * 60_000 },
  recoveryPerIp: { max: 10, windowMs: 15 * 60_000 },
  recoveryPerUsername: { max: 5, windowMs: 15 * 60_000 },
};

export interface AuthDeps {
  store: Store;
  accounts: Accounts;
  sessions: Sessions;
  passkeys: PasskeyFactor;
  totp: TotpFactor;
  recoveryCodes: RecoveryCodes;
  didAuth: DidAuthenticator;
  decisions: DecisionPoint;
  limiter: RateLimiter;
  limits: AuthLimits;
  /**
   * Issues the credentials the flows hand out: an IdentityAssuranceCredential at sign-in or step-up when
   * asked, a DeviceBindingCredential for every passkey registered (revoked when it is removed).
   */
  credentials?: Pick<CredentialIssuance, 'tryIssueAssurance' | 'tryIssueDeviceBinding' | 'revokeForPasskey'>;
}

/** Who is attempting what, from where. */
export interface Attempt {
  tenant: Tenant;
  /** Hash of the browser's flow cookie (binds WebAuthn challenges before there is a session). */
  binding: string;
  ip?: string;
  userAgent?: string;
  /** The session this browser held before (its token hash): replaced by the new one. */
  previousSessionId?: string;
  /** What the page collected for the risk engine (untrusted; each signal validates its own). */
  risk?: { device?: unknown; typing?: unknown };
}

/** The request context the decision point and its risk signals read. */
export function riskContext(attempt: Attempt) {
  return {
    ...(attempt.ip ? { ip: attempt.ip } : {}),
    ...(attempt.userAgent ? { userAgent: attempt.userAgent } : {}),
    ...(attempt.risk?.device !== undefined ? { device: attempt.risk.device } : {}),
    ...(attempt.risk?.typing !== undefined ? { typing: attempt.risk.typing } : {}),
  };
}

/** A signed-in result: the account and its new session (the token goes into the cookie). */
export interface SignedIn {
  account: Account;
  token: string;
  session: ActiveSession;
  decision: Decision;
  /** The IdentityAssuranceCredential the request asked for. */
  credential?: { id: string; format: CredentialFormat; jwt: string };
  /** Why the asked-for credential is missing (the sign-in itself succeeded). */
  credentialError?: string;
}

/** A sign-in or step-up request's wish for an IdentityAssuranceCredential. */
export interface CredentialRequest {
  format: CredentialFormat;
}

/** One named step of a flow. */
export type Step<C> = readonly [name: string, run: (ctx: C) => Promise<void> | void];

/** Runs the steps in order; the first that throws ends the flow. */
export async function runSteps<C>(steps: ReadonlyArray<Step<C>>, ctx: NoInfer<C>): Promise<C> {
  for (const [, run] of steps) await run(ctx);
  return ctx;
}

/** The fields every sign-in pipeline fills in. */
export interface SignInState {
  attempt: Attempt;
  account?: Account;
  /** At sign-up: the id and name the new account will have (the attempt is scored before it exists). */
  newAccountId?: string;
  newUsername?: string;
  proofs: FactorProof[];
  assurance?: Assurance;
  decision?: Decision;
  result?: SignedIn;
  /** The passkey row the attempt used or registered, when it used one. */
  passkey?: Passkey;
  /** Issue an IdentityAssuranceCredential once signed in. */
  credentialRequest?: CredentialRequest;
}

export class AccessDeniedError extends TrustgateError {
  constructor(reasons: string[]) {
    super('access_denied', 403, 'Access denied', 'This sign-in was refused by policy.', {
      extensions: { reasons },
    });
  }
}

// ---- Steps shared by several flows ----

/**
 * The rate-limit key of an address: IPv4 as is, IPv6 by its /64 (one subscriber's allocation, which
 * an attacker could otherwise rotate through).
 */
export function addressKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  if (!ipaddr.isValid(ip)) return ip;
  const parsed = ipaddr.process(ip);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  return `${(parsed as ipaddr.IPv6).parts
    .slice(0, 4)
    .map((p) => p.toString(16))
    .join(':')}::/64`;
}

/** Counts the attempt against its source address's limit (`which` names the limit and its counter). */
export const limitByIp =
  (deps: AuthDeps, which: 'perIp' | 'recoveryPerIp' = 'perIp') =>
  async (ctx: { attempt: Attempt }) => {
    await deps.limiter.consume(`${which}:${addressKey(ctx.attempt.ip)}`, deps.limits[which]);
  };

/**
 * Counts the attempt against the account's limit for one factor (attempts from many addresses add
 * up). Per factor, so exhausting one factor never blocks the person's others.
 */
export const limitByAccount =
  <C extends { account?: { id: string } }>(deps: AuthDeps, factorOf: (ctx: C) => string) =>
  async (ctx: C) => {
    if (!ctx.account) return;
    await deps.limiter.consume(`account:${factorOf(ctx)}:${ctx.account.id}`, deps.limits.perAccount);
  };

export const assess = (ctx: SignInState) => {
  ctx.assurance = assuranceOf(ctx.proofs);
};

/** Asks the decision point; a refusal ends the flow (and is recorded). */
export const decide = (deps: AuthDeps, action: Action) => async (ctx: SignInState) => {
  const accountId = ctx.account?.id ?? ctx.newAccountId;
  const username = ctx.account?.username ?? ctx.newUsername;
  const decision = await deps.decisions.decide({
    tenantId: ctx.attempt.tenant.id,
    ...(accountId ? { accountId } : {}),
    ...(username ? { username } : {}),
    action,
    assurance: ctx.assurance!,
    context: riskContext(ctx.attempt),
  });
  ctx.decision = decision;
  if (decision.outcome === 'deny') {
    await recordEvent(deps.store.db, {
      tenantId: ctx.attempt.tenant.id,
      accountId: ctx.account?.id,
      type: `${action}.denied`,
      detail: { reasons: decision.reasons },
      ip: ctx.attempt.ip,
    });
    throw new AccessDeniedError(decision.reasons);
  }
};

export const requireActiveAccount = (ctx: { account?: Account }) => {
  if (ctx.account?.status !== 'active') {
    throw new TrustgateError('account_inactive', 403, 'Account inactive', 'This account is deactivated.');
  }
};

/** Opens the session and records the event in one transaction. */
export const openSession =
  (deps: AuthDeps, eventType: string, options: { mustEnrolPasskey?: boolean; endOthers?: string } = {}) =>
  async (ctx: SignInState) => {
    const account = ctx.account!;
    ctx.result = await deps.store.tx(async (tx) => {
      if (options.endOthers) await deps.sessions.endOthers(account.id, undefined, options.endOthers, tx);
      const opened = await openWithin(deps, tx, ctx, account, options.mustEnrolPasskey);
      await recordEvent(tx, signInEvent(ctx, account, eventType));
      return opened;
    });
  };

export async function openWithin(
  deps: AuthDeps,
  tx: Tx,
  ctx: SignInState,
  account: Account,
  mustEnrolPasskey = false,
): Promise<SignedIn> {
  // The browser's previous session ends: one browser, one session.
  if (ctx.attempt.previousSessionId) await deps.sessions.end(ctx.attempt.previousSessionId, 'replaced', tx);
  const decision = ctx.decision;
  const { token, session } = await deps.sessions.open(
    {
      tenantId: account.tenantId,
      accountId: account.id,
      proofs: ctx.proofs,
      mustEnrolPasskey,
      userAgent: ctx.attempt.userAgent,
      ip: ctx.attempt.ip,
      ...(decision?.outcome === 'step_up' ? { pending: decision.required } : {}),
      ...(decision?.deviceId ? { deviceId: decision.deviceId } : {}),
    },
    tx,
  );
  return { account, token, session, decision: ctx.decision! };
}

export function signInEvent(ctx: SignInState, account: Account, type: string) {
  const attestation = ctx.proofs.find((p) => p.attestation)?.attestation;
  return {
    tenantId: account.tenantId,
    accountId: account.id,
    type,
    ip: ctx.attempt.ip,
    detail: {
      aal: ctx.assurance?.aal,
      amr: ctx.assurance?.amr,
      factors: ctx.proofs.map((p) => p.kind),
      passkeyId: ctx.proofs.find((p) => p.passkeyId)?.passkeyId,
      decision: ctx.decision?.outcome,
      ...(attestation ? { attestation } : {}),
      userAgent: ctx.attempt.userAgent,
    },
  };
}

/**
 * Reports a refused factor to the decision point (velocity and the person's history), then rethrows.
 * Rate-limit and policy refusals are not factor failures.
 */
export const reportFailure =
  (deps: AuthDeps, ctx: { attempt: Attempt; account?: { id: string } }, action: Action) =>
  async (err: unknown) => {
    const code = err instanceof TrustgateError ? err.code : 'error';
    if (code !== 'too_many_requests' && code !== 'too_many_attempts' && code !== 'access_denied') {
      await deps.decisions
        .failed?.({
          tenantId: ctx.attempt.tenant.id,
          ...(ctx.account ? { accountId: ctx.account.id } : {}),
          action,
          context: riskContext(ctx.attempt),
        })
        .catch(() => undefined);
    }
    throw err;
  };

/**
 * Contains a suspected clone (a counter that went backwards): disables the passkey, ends the sessions
 * it opened, and records the risk event, in one transaction. The person signs in with another factor
 * (or recovers) and enrols a new passkey.
 */
export const recordClone = (deps: AuthDeps, attempt: Attempt) => async (passkey: Passkey, seen: number) => {
  await deps.store.tx(async (tx) => {
    await tx.passkey.updateMany({ where: { id: passkey.id }, data: { status: 'disabled' } });
    const ended = await deps.sessions.endForPasskey(passkey.id, 'suspected_clone', tx);
    await recordEvent(tx, {
      tenantId: passkey.tenantId,
      accountId: passkey.accountId,
      type: 'passkey.counter_regression',
      ip: attempt.ip,
      detail: {
        passkeyId: passkey.id,
        storedCounter: Number(passkey.counter),
        seenCounter: seen,
        endedSessions: ended,
      },
    });
  });
};

/** Sign-in names: 3 to 64 of a-z 0-9 . _ - @ +, compared lower-case. */
export function normaliseUsername(raw: string): string {
  const username = raw.trim().toLowerCase();
  if (!/^[a-z0-9._@+-]{3,64}$/.test(username)) {
    throw new TrustgateError(
      'invalid_username',
      400,
      'Invalid username',
      'A username has 3 to 64 characters: letters, digits and . _ - @ +.',
    );
  }
  return username;
}
