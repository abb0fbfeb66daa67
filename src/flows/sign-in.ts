/**
 * Sign in with a passkey (discoverable, or conditional UI) or with a DID signature. Either way the
 * same pipeline: verify the factor, find the account, compute the assurance, ask the decision point,
 * open a new session (a fresh id: a session id planted before sign-in is never promoted) and record
 * the event with it.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { recordEvent } from '../audit/events.ts';
import { TrustgateError } from '../errors.ts';
import type { FactorProof } from '../factors/types.ts';
import type { DidChallenge, DidChallengeAnswer } from '../identity/did-auth.ts';
import {
  type Attempt,
  type AuthDeps,
  assess,
  decide,
  limitByIp,
  openSession,
  recordClone,
  reportFailure,
  requireActiveAccount,
  runSteps,
  type SignedIn,
  type SignInState,
  type Step,
} from './auth-context.ts';
import { credentialOf, issueAssuranceCredential, type SignInOptions } from './flow-credentials.ts';

/** Options for a discoverable passkey sign-in (no username asked: nothing to enumerate). */
export async function passkeySignInOptions(
  deps: AuthDeps,
  attempt: Attempt,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  await limitByIp(deps)({ attempt });
  return deps.passkeys.authenticationOptions({
    purpose: 'sign_in',
    tenantId: attempt.tenant.id,
    binding: attempt.binding,
  });
}

interface PasskeyState extends SignInState {
  response: AuthenticationResponseJSON;
}

export async function signInWithPasskey(
  deps: AuthDeps,
  attempt: Attempt,
  response: AuthenticationResponseJSON,
  options: SignInOptions = {},
): Promise<SignedIn> {
  // biome-ignore format: the pipeline reads as a table
  const steps: ReadonlyArray<Step<PasskeyState>> = [
    ['limit by IP',         limitByIp(deps)],
    ['verify assertion',    verifyAssertion(deps)],
    ['active account',      requireActiveAccount],
    ['assess assurance',    assess],
    ['decide',              decide(deps, 'sign_in')],
    ['open session',        openSession(deps, 'signin.succeeded')],
    ['issue credential',    issueAssuranceCredential(deps)],
  ];
  const state: PasskeyState = { attempt, proofs: [], response, ...credentialOf(options) };
  const ctx = await runSteps(steps, state).catch(failed(deps, state, 'passkey', response.id));
  return ctx.result!;
}

const verifyAssertion = (deps: AuthDeps) => async (ctx: PasskeyState) => {
  const { account, proof, passkey } = await deps.passkeys.verifyAuthentication(
    { purpose: 'sign_in', tenantId: ctx.attempt.tenant.id, binding: ctx.attempt.binding },
    ctx.response,
    recordClone(deps, ctx.attempt),
  );
  ctx.account = account;
  ctx.passkey = passkey;
  // A discoverable credential returns its user handle: it must be this account's.
  const handle = ctx.response.response.userHandle;
  if (handle && handle !== ctx.account?.userHandle) {
    throw new TrustgateError(
      'invalid_response',
      401,
      'Passkey verification failed',
      'The user handle does not match.',
    );
  }
  ctx.proofs.push(proof);
};

/** A DID sign-in challenge (the answer is a JWT or an EIP-191 signature). */
export async function didSignInChallenge(
  deps: AuthDeps,
  attempt: Attempt,
  audience: string,
): Promise<DidChallenge> {
  await limitByIp(deps)({ attempt });
  return deps.didAuth.challenge(audience);
}

interface DidState extends SignInState {
  answer: DidChallengeAnswer;
  audience: string;
}

export async function signInWithDid(
  deps: AuthDeps,
  attempt: Attempt,
  answer: DidChallengeAnswer,
  audience: string,
  options: SignInOptions = {},
): Promise<SignedIn> {
  // biome-ignore format: the pipeline reads as a table
  const steps: ReadonlyArray<Step<DidState>> = [
    ['limit by IP',         limitByIp(deps)],
    ['verify DID proof',    verifyDidProof(deps)],
    ['active account',      requireActiveAccount],
    ['assess assurance',    assess],
    ['decide',              decide(deps, 'sign_in')],
    ['open session',        openSession(deps, 'signin.succeeded')],
    ['issue credential',    issueAssuranceCredential(deps)],
  ];
  const state: DidState = { attempt, proofs: [], answer, audience, ...credentialOf(options) };
  const ctx = await runSteps(steps, state).catch(failed(deps, state, 'did'));
  return ctx.result!;
}

/** A DID signature proves possession of a software key: `pop` (RFC 8176), one factor. */
export const DID_PROOF: FactorProof = {
  kind: 'did',
  amr: ['pop', 'swk'],
  phishingResistant: false,
  hardwareBound: false,
  userVerified: false,
};

const verifyDidProof = (deps: AuthDeps) => async (ctx: DidState) => {
  const { did } = await deps.didAuth.verify(ctx.answer, ctx.audience);
  const account = await deps.accounts.findByDid(ctx.attempt.tenant.id, did);
  if (!account) {
    throw new TrustgateError('unknown_account', 401, 'Unknown account', 'No active account has this DID.');
  }
  ctx.account = account;
  ctx.proofs.push(DID_PROOF);
};

/**
 * The account a failed sign-in was aimed at, for its audit record (so the person sees it in their
 * activity): the one a step identified, else, for a passkey, the owner of the credential presented.
 * Only the record names it: risk velocity keeps counting the attempt by address and fingerprint,
 * because anyone who knows a credential id could otherwise push its owner's score up.
 */
async function targetOf(
  deps: AuthDeps,
  state: SignInState,
  credentialId?: string,
): Promise<string | undefined> {
  if (state.account) return state.account.id;
  if (!credentialId) return undefined;
  const passkey = await deps.store.db.passkey
    .findFirst({ where: { tenantId: state.attempt.tenant.id, credentialId }, select: { accountId: true } })
    .catch(() => null);
  return passkey?.accountId;
}

/** Records a failed attempt (never its secrets), feeds the risk engine's velocity, and rethrows. */
const failed =
  (deps: AuthDeps, state: SignInState, factor: string, credentialId?: string) => async (err: unknown) => {
    const { attempt } = state;
    const code = err instanceof TrustgateError ? err.code : 'error';
    if (code !== 'too_many_requests' && code !== 'access_denied') {
      await recordEvent(deps.store.db, {
        tenantId: attempt.tenant.id,
        accountId: (await targetOf(deps, state, credentialId)) ?? null,
        type: 'signin.failed',
        ip: attempt.ip,
        detail: { factor, error: code, userAgent: attempt.userAgent },
      }).catch(() => undefined);
    }
    return reportFailure(deps, { attempt }, 'sign_in')(err);
  };
