/**
 * Enrol and remove factors on a live session: passkeys, TOTP, recovery codes. Rules:
 *
 *   - adding a passkey needs AAL2, except for an account's first passkey and right after recovery;
 *   - removing a factor or replacing recovery codes needs a recent AAL2 proof (step-up, RFC 9470);
 *   - the last passkey cannot be removed (the person would be left with weaker factors only);
 *   - every factor change ends all the account's other sessions and is recorded.
 */
import type {
  PublicKeyCredentialCreationOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { recordEvent } from '../audit/events.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { NewPasskey } from '../factors/passkey.ts';
import { UnauthorizedError } from '../identity/account-tokens.ts';
import { RECENT_AAL2, requireAssurance } from '../sessions/require.ts';
import type { ActiveSession } from '../sessions/sessions.ts';
import type { Account, Passkey } from '../store/generated/postgres/client.ts';
import type { Tx } from '../store/index.ts';
import { type Attempt, type AuthDeps, limitByAccount, limitByIp, type SignedIn } from './auth-context.ts';

/** Stores a verified passkey for `account`. */
export async function storePasskey(
  tx: Tx,
  account: Account,
  passkey: NewPasskey,
  name?: string,
): Promise<Passkey> {
  const a = passkey.attestation;
  return tx.passkey.create({
    data: {
      tenantId: account.tenantId,
      accountId: account.id,
      credentialId: passkey.credentialId,
      publicKey: new Uint8Array(passkey.publicKey),
      counter: BigInt(passkey.counter),
      transports: JSON.stringify(passkey.transports),
      name: name?.trim() || a.modelName || 'Passkey',
      fmt: a.fmt,
      aaguid: a.aaguid,
      modelName: a.modelName ?? null,
      attestationTrusted: a.trusted,
      backupEligible: a.backupEligible,
      backedUp: a.backedUp,
      hardwareBound: a.hardwareBound,
    },
  });
}

async function activePasskeys(deps: AuthDeps, accountId: string) {
  return deps.store.db.passkey.findMany({
    where: { accountId, status: 'active' },
    select: { id: true, credentialId: true, transports: true },
  });
}

/** Enrolment needs AAL2 unless this is the first passkey or the session came from recovery. */
async function requireEnrolmentLevel(deps: AuthDeps, session: ActiveSession) {
  if (session.row.mustEnrolPasskey) return;
  if ((await activePasskeys(deps, session.row.accountId)).length === 0) return;
  requireAssurance(session, { aal: 2 });
}

export async function enrolPasskeyOptions(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  await limitByIp(deps)({ attempt });
  await requireEnrolmentLevel(deps, session);
  const existing = await activePasskeys(deps, account.id);
  return deps.passkeys.registrationOptions(
    { purpose: 'enrol', tenantId: account.tenantId, binding: session.row.id, accountId: account.id },
    {
      handle: account.userHandle!,
      name: account.username ?? account.did,
      ...(account.displayName ? { displayName: account.displayName } : {}),
    },
    existing,
  );
}

/**
 * Verifies and stores a new passkey, ends the other sessions, and rotates this one with the new
 * passkey's proof (registration with user verification proves possession), which also clears the
 * after-recovery prompt.
 */
export async function enrolPasskey(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
  input: { response: RegistrationResponseJSON; name?: string },
): Promise<{ passkey: Passkey; signedIn: SignedIn }> {
  await limitByIp(deps)({ attempt });
  await limitByAccount(deps, () => 'enrol')({ account });
  await requireEnrolmentLevel(deps, session);
  const { passkey, proof } = await deps.passkeys.verifyRegistration(
    {
      purpose: 'enrol',
      tenantId: account.tenantId,
      binding: session.row.id,
      requireTrusted: attempt.tenant.attestationPolicy === 'trusted',
    },
    input.response,
  );
  return deps.store.tx(async (tx) => {
    const stored = await storePasskey(tx, account, passkey, input.name);
    await deps.sessions.endOthers(account.id, session.row.id, 'factor_change', tx);
    const opened = await deps.sessions.elevateWithin(tx, session, [{ ...proof, passkeyId: stored.id }], {
      mustEnrolPasskey: false,
    });
    if (!opened) throw new UnauthorizedError('The session has ended; sign in again.');
    await recordEvent(tx, {
      tenantId: account.tenantId,
      accountId: account.id,
      type: 'factor.enrolled',
      ip: attempt.ip,
      detail: { factor: 'passkey', passkeyId: stored.id, attestation: passkey.attestation },
    });
    return { passkey: stored, signedIn: { account, ...opened, decision: { outcome: 'allow', reasons: [] } } };
  });
}

export async function renamePasskey(
  deps: AuthDeps,
  account: Account,
  id: string,
  name: string,
): Promise<Passkey> {
  const r = await deps.store.db.passkey.updateMany({ where: { id, accountId: account.id }, data: { name } });
  if (r.count !== 1) throw new NotFoundError('No such passkey.');
  return (await deps.store.db.passkey.findUnique({ where: { id } }))!;
}

export async function removePasskey(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
  id: string,
): Promise<void> {
  requireAssurance(session, RECENT_AAL2);
  await deps.store.tx(async (tx) => {
    const passkeys = await tx.passkey.findMany({
      where: { accountId: account.id },
      select: { id: true, status: true },
    });
    if (!passkeys.some((p) => p.id === id)) throw new NotFoundError('No such passkey.');
    if (passkeys.filter((p) => p.status === 'active' && p.id !== id).length === 0) {
      throw new ConflictError(
        'last_passkey',
        'This is your last passkey: add another one before removing it.',
      );
    }
    await tx.passkey.delete({ where: { id } });
    await factorChanged(deps, tx, attempt, session, account, 'factor.removed', {
      factor: 'passkey',
      passkeyId: id,
    });
  });
}

/** Starts TOTP enrolment (the secret is shown once, in the answer). */
export async function startTotp(deps: AuthDeps, session: ActiveSession, account: Account, label: string) {
  requireAssurance(session, { aal: 2 });
  return deps.totp.startEnrolment(account, label);
}

export async function confirmTotp(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
  code: string,
): Promise<void> {
  requireAssurance(session, { aal: 2 });
  await deps.totp.confirmEnrolment(account, code);
  await deps.store.tx((tx) =>
    factorChanged(deps, tx, attempt, session, account, 'factor.enrolled', { factor: 'totp' }),
  );
}

export async function removeTotp(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
): Promise<void> {
  requireAssurance(session, RECENT_AAL2);
  await deps.totp.remove(account);
  await deps.store.tx((tx) =>
    factorChanged(deps, tx, attempt, session, account, 'factor.removed', { factor: 'totp' }),
  );
}

/** A new set of recovery codes; replacing an existing set needs a recent AAL2 proof. */
export async function regenerateRecoveryCodes(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
): Promise<string[]> {
  const hasSet = (await deps.store.db.recoveryCode.count({ where: { accountId: account.id } })) > 0;
  requireAssurance(session, hasSet ? RECENT_AAL2 : { aal: 2 });
  const codes = await deps.recoveryCodes.generate(account);
  await deps.store.tx((tx) =>
    factorChanged(deps, tx, attempt, session, account, 'factor.enrolled', { factor: 'recovery_codes' }),
  );
  return codes;
}

async function factorChanged(
  deps: AuthDeps,
  tx: Tx,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
  type: string,
  detail: Record<string, unknown>,
) {
  const ended = await deps.sessions.endOthers(account.id, session.row.id, 'factor_change', tx);
  await recordEvent(tx, {
    tenantId: account.tenantId,
    accountId: account.id,
    type,
    ip: attempt.ip,
    detail: { ...detail, endedSessions: ended },
  });
}
