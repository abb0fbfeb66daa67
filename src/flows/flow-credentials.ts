/**
 * The credential steps of the sign-in flows. They run after the flow's own transaction has committed, so
 * a credential can never undo or half-write a sign-in:
 *
 *   - an IdentityAssuranceCredential, when the request asked for one, once the session is open (sign-in)
 *     or rotated (step-up). If issuing fails the person is still signed in (their session cookie is
 *     set); the answer says `credentialError` instead of carrying the credential. None is issued while
 *     the session still owes a step-up the policy demanded (`step_up_required`).
 *   - a DeviceBindingCredential for a passkey just registered (sign-up, enrolment). A failure is logged
 *     and the registration still succeeds: the passkey is what the person needs, the credential is a
 *     statement about it that can be issued again, and failing after the commit would report an error for
 *     an account and passkey that exist.
 */
import type { Account, Passkey } from '../store/generated/postgres/client.ts';
import type { AuthDeps, CredentialRequest, SignInState } from './auth-context.ts';

/** What a sign-in or step-up may ask for besides the session. */
export interface SignInOptions {
  /** An IdentityAssuranceCredential of the new session, in the answer. */
  credential?: CredentialRequest;
}

/** The flow state's credential request (absent when none was asked for). */
export function credentialOf(options: SignInOptions): { credentialRequest?: CredentialRequest } {
  return options.credential ? { credentialRequest: options.credential } : {};
}

/** Issues the IdentityAssuranceCredential the request asked for into `ctx.result`. */
export const issueAssuranceCredential = (deps: AuthDeps) => async (ctx: SignInState) => {
  const request = ctx.credentialRequest;
  const result = ctx.result;
  if (!request || !result) return;
  if (result.session.pending) {
    result.credentialError = 'step_up_required';
    return;
  }
  if (!deps.credentials) {
    result.credentialError = 'credentials_unavailable';
    return;
  }
  const issued = await deps.credentials.tryIssueAssurance({
    tenantId: result.account.tenantId,
    account: result.account,
    session: result.session,
    format: request.format,
    ...(ctx.passkey ? { passkey: ctx.passkey } : {}),
  });
  if ('credential' in issued) result.credential = issued.credential;
  else result.credentialError = issued.error;
};

/** Issues the DeviceBindingCredential of a passkey just stored (never throws: see the module comment). */
export async function issueDeviceCredential(
  deps: AuthDeps,
  account: Account,
  passkey: Passkey,
): Promise<void> {
  await deps.credentials?.tryIssueDeviceBinding({ account, passkey });
}

/** `issueDeviceCredential` as a step, for the account and passkey the flow just stored. */
export const issueDeviceCredentialStep = (deps: AuthDeps) => async (ctx: SignInState) => {
  if (ctx.account && ctx.passkey) await issueDeviceCredential(deps, ctx.account, ctx.passkey);
};
