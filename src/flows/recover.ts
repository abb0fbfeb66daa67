/**
 * Recover with a recovery code when every passkey is lost. The answer is the same, in about the same
 * time, for an unknown username and for a wrong code (no user enumeration). A used code ends every
 * other session of the account and opens one that asks the person to enrol a new passkey.
 */
import { TrustgateError } from '../errors.ts';
import {
  type Attempt,
  type AuthDeps,
  addressKey,
  assess,
  decide,
  limitByIp,
  openSession,
  reportFailure,
  requireActiveAccount,
  runSteps,
  type SignedIn,
  type SignInState,
  type Step,
} from './auth-context.ts';

interface RecoverState extends SignInState {
  username: string;
  code: string;
}

export async function recover(
  deps: AuthDeps,
  attempt: Attempt,
  input: { username: string; code: string },
): Promise<SignedIn> {
  // biome-ignore format: the pipeline reads as a table
  const steps: ReadonlyArray<Step<RecoverState>> = [
    ['limit by IP',         limitByIp(deps, 'recoveryPerIp')],
    ['limit by username',   limitByUsername(deps)],
    ['verify code',         verifyCode(deps)],
    ['active account',      requireActiveAccount],
    ['assess assurance',    assess],
    ['decide',              decide(deps, 'recover')],
    ['open session',        openSession(deps, 'recovery.used', { mustEnrolPasskey: true, endOthers: 'recovery' })],
  ];
  const state: RecoverState = { attempt, proofs: [], username: input.username, code: input.code };
  const ctx = await runSteps(steps, state).catch(reportFailure(deps, state, 'recover'));
  return ctx.result!;
}

/**
 * Per username and source address: a stranger's attempts from elsewhere never lock the person out of
 * recovery (the codes' 80 bits make guessing hopeless; the per-address limits slow spraying).
 */
const limitByUsername = (deps: AuthDeps) => async (ctx: RecoverState) => {
  const name = ctx.username.trim().toLowerCase().slice(0, 64);
  await deps.limiter.consume(
    `recovery:${ctx.attempt.tenant.id}:${name}:${addressKey(ctx.attempt.ip)}`,
    deps.limits.recoveryPerUsername,
  );
};

const verifyCode = (deps: AuthDeps) => async (ctx: RecoverState) => {
  const name = ctx.username.trim().toLowerCase();
  const account = /^[a-z0-9._@+-]{3,64}$/.test(name)
    ? await deps.accounts.findByUsername(ctx.attempt.tenant.id, name)
    : null;
  if (account) ctx.account = account;
  try {
    // For an unknown name: the same work and the same refusal as a wrong code.
    if (!account) await deps.recoveryCodes.verifyUnknown(ctx.code);
    else ctx.proofs.push(await deps.recoveryCodes.verify(account, ctx.code));
  } catch (err) {
    // One answer for every refusal, whatever the factor said.
    if (err instanceof TrustgateError && err.code === 'invalid_code') throw invalidCode();
    throw err;
  }
};

const invalidCode = () =>
  new TrustgateError('invalid_code', 401, 'Recovery failed', 'The username or recovery code is not valid.');
