/**
 * Step up: add a factor to a live session to reach a required level (`phr`, `phrh`, AAL2, AAL3) or to
 * refresh `auth_time`. The session id rotates: the old token stops working at once.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { recordEvent } from '../audit/events.ts';
import { assuranceOf } from '../factors/assurance.ts';
import { UnauthorizedError } from '../identity/account-tokens.ts';
import type { ActiveSession } from '../sessions/sessions.ts';
import type { Account } from '../store/generated/postgres/client.ts';
import {
  type Attempt,
  type AuthDeps,
  decide,
  limitByAccount,
  limitByIp,
  recordClone,
  reportFailure,
  runSteps,
  type SignedIn,
  type SignInState,
  type Step,
  signInEvent,
} from './auth-context.ts';
import { credentialOf, issueAssuranceCredential, type SignInOptions } from './flow-credentials.ts';

/** Request options listing the account's own passkeys. */
export async function stepUpPasskeyOptions(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  await limitByIp(deps)({ attempt });
  const passkeys = await deps.store.db.passkey.findMany({
    where: { accountId: session.row.accountId, status: 'active' },
    select: { credentialId: true, transports: true },
  });
  return deps.passkeys.authenticationOptions(
    {
      purpose: 'step_up',
      tenantId: attempt.tenant.id,
      binding: session.row.id,
      accountId: session.row.accountId,
    },
    passkeys,
  );
}

interface StepUpState extends SignInState {
  session: ActiveSession;
  passkeyResponse?: AuthenticationResponseJSON;
  totpCode?: string;
}

export async function stepUp(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
  answer: { passkey: AuthenticationResponseJSON } | { totp: string },
  options: SignInOptions = {},
): Promise<SignedIn> {
  // biome-ignore format: the pipeline reads as a table
  const steps: ReadonlyArray<Step<StepUpState>> = [
    ['limit by IP',         limitByIp(deps)],
    ['limit by account',    limitByAccount(deps, (c: StepUpState) => (c.passkeyResponse ? 'passkey' : 'totp'))],
    ['verify factor',       verifyFactor(deps)],
    ['assess assurance',    assessCombined],
    ['decide',              decide(deps, 'step_up')],
    ['rotate session',      rotate(deps)],
    ['issue credential',    issueAssuranceCredential(deps)],
  ];
  const state: StepUpState = {
    attempt,
    session,
    account,
    proofs: [],
    ...('passkey' in answer ? { passkeyResponse: answer.passkey } : { totpCode: answer.totp }),
    ...credentialOf(options),
  };
  const ctx = await runSteps(steps, state).catch(reportFailure(deps, state, 'step_up'));
  return ctx.result!;
}

const verifyFactor = (deps: AuthDeps) => async (ctx: StepUpState) => {
  if (ctx.passkeyResponse) {
    const { proof, passkey } = await deps.passkeys.verifyAuthentication(
      {
        purpose: 'step_up',
        tenantId: ctx.attempt.tenant.id,
        binding: ctx.session.row.id,
        accountId: ctx.session.row.accountId,
      },
      ctx.passkeyResponse,
      recordClone(deps, ctx.attempt),
    );
    ctx.proofs.push(proof);
    ctx.passkey = passkey;
  } else {
    ctx.proofs.push(await deps.totp.verify(ctx.account!, ctx.totpCode!));
  }
};

/** The session's earlier proofs count with the new one. */
const assessCombined = (ctx: StepUpState) => {
  ctx.assurance = assuranceOf([...ctx.session.proofs, ...ctx.proofs]);
};

const rotate = (deps: AuthDeps) => async (ctx: StepUpState) => {
  const account = ctx.account!;
  ctx.result = await deps.store.tx(async (tx) => {
    const device = ctx.decision?.deviceId ? { deviceId: ctx.decision.deviceId } : {};
    const opened = await deps.sessions.elevateWithin(tx, ctx.session, ctx.proofs, device);
    if (!opened) throw new UnauthorizedError('The session has ended; sign in again.');
    await recordEvent(tx, signInEvent(ctx, account, 'stepup.succeeded'));
    return { account, ...opened, decision: ctx.decision! };
  });
};
