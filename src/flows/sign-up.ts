/**
 * Sign up, passkey first: the person picks a username, creates a passkey, and gets an account with its
 * own did:ethr, the passkey, and a session, all written in one transaction (or none of it). Then the
 * passkey's DeviceBindingCredential is issued (after the commit: see flow-credentials.ts).
 */

import { randomUUID } from 'node:crypto';
import type {
  PublicKeyCredentialCreationOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { recordEvent } from '../audit/events.ts';
import { ConflictError } from '../errors.ts';
import { newUserHandle } from '../factors/passkey.ts';
import {
  type Attempt,
  type AuthDeps,
  assess,
  decide,
  limitByIp,
  normaliseUsername,
  openWithin,
  runSteps,
  type SignedIn,
  type SignInState,
  type Step,
  signInEvent,
} from './auth-context.ts';
import { storePasskey } from './enrol-factor.ts';
import { issueDeviceCredentialStep } from './flow-credentials.ts';

/** Step 1: registration options for a new person. */
export async function signUpOptions(
  deps: AuthDeps,
  attempt: Attempt,
  input: { username: string; displayName?: string },
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  await limitByIp(deps)({ attempt });
  const username = normaliseUsername(input.username);
  // Sign-up necessarily tells whether a name is free; sign-in and recovery never do.
  if (await deps.accounts.findByUsername(attempt.tenant.id, username)) {
    throw new ConflictError('username_taken', 'This username is taken.');
  }
  const userHandle = newUserHandle();
  const displayName = input.displayName?.trim() || undefined;
  return deps.passkeys.registrationOptions(
    {
      purpose: 'sign_up',
      tenantId: attempt.tenant.id,
      binding: attempt.binding,
      pending: { username, userHandle, ...(displayName ? { displayName } : {}) },
    },
    { handle: userHandle, name: username, ...(displayName ? { displayName } : {}) },
  );
}

interface SignUpState extends SignInState {
  response: RegistrationResponseJSON;
  passkeyName?: string;
  registration?: Awaited<ReturnType<AuthDeps['passkeys']['verifyRegistration']>>;
}

/** Step 2: verify the new passkey, create the account, open the session. */
export async function signUp(
  deps: AuthDeps,
  attempt: Attempt,
  input: { response: RegistrationResponseJSON; passkeyName?: string },
): Promise<SignedIn> {
  // biome-ignore format: the pipeline reads as a table
  const steps: ReadonlyArray<Step<SignUpState>> = [
    ['limit by IP',             limitByIp(deps)],
    ['verify registration',     verifyRegistration(deps)],
    ['assess assurance',        assess],
    ['decide',                  decide(deps, 'sign_up')],
    ['create account',          createAccount(deps)],
    ['issue device credential', issueDeviceCredentialStep(deps)],
  ];
  const ctx = await runSteps(steps, { attempt, proofs: [], ...input });
  return ctx.result!;
}

const verifyRegistration = (deps: AuthDeps) => async (ctx: SignUpState) => {
  ctx.registration = await deps.passkeys.verifyRegistration(
    {
      purpose: 'sign_up',
      tenantId: ctx.attempt.tenant.id,
      binding: ctx.attempt.binding,
      requireTrusted: ctx.attempt.tenant.attestationPolicy === 'trusted',
    },
    ctx.response,
  );
  ctx.proofs.push(ctx.registration.proof);
  ctx.newAccountId = randomUUID();
  ctx.newUsername = ctx.registration.ceremony.pending?.username;
};

/** Account (with its DID), passkey, session and event: one transaction. */
const createAccount = (deps: AuthDeps) => async (ctx: SignUpState) => {
  const { ceremony, passkey } = ctx.registration!;
  const profile = { ...ceremony.pending!, id: ctx.newAccountId! };
  const { result } = await deps.accounts.createManaged(
    ctx.attempt.tenant.id,
    profile,
    async (tx, account) => {
      const stored = await storePasskey(tx, account, passkey, ctx.passkeyName, ctx.decision?.deviceId);
      ctx.proofs[0] = { ...ctx.proofs[0]!, passkeyId: stored.id };
      ctx.account = account;
      ctx.passkey = stored;
      const opened = await openWithin(deps, tx, ctx, account);
      await recordEvent(tx, signInEvent(ctx, account, 'signup.succeeded'));
      return opened;
    },
  );
  ctx.result = result;
};
