/**
 * Enrol and remove factors on a live session: passkeys, TOTP, recovery codes. Rules:
 *
 *   - adding a factor, removing one or replacing recovery codes needs a recent AAL2 proof made with an
 *     existing factor (step-up, RFC 9470); a new factor never counts as that proof. The exceptions: an
 *     account's first passkey, and the passkey enrolled right after recovery, which then signs the
 *     session in (recovery exists to replace lost passkeys);
 *   - the last passkey cannot be removed (the person would be left with weaker factors only);
 *   - every factor change ends all the account's other sessions and is recorded;
 *   - a new passkey gets a DeviceBindingCredential (after the commit, see flow-credentials.ts); removing
 *     a passkey revokes its DeviceBindingCredentials in the removal's own transaction.
 */
import type {
  PublicKeyCredentialCreationOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { recordEvent } from '../audit/events.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { type NewPasskey, newUserHandle } from '../factors/passkey.ts';
import { UnauthorizedError } from '../identity/account-tokens.ts';
import { lockAccount } from '../identity/accounts.ts';
import { RECENT_AAL2, requireAssurance } from '../sessions/require.ts';
import type { ActiveSession } from '../sessions/sessions.ts';
import type { Account, Passkey } from '../store/generated/postgres/client.ts';
import { isUniqueViolation, type Tx } from '../store/index.ts';
import { type Attempt, type AuthDeps, limitByAccount, limitByIp, type SignedIn } from './auth-context.ts';
import { issueDeviceCredential } from './flow-credentials.ts';

/**
 * Stores a verified passkey for `account`, linked to the device it was registered on when known; 409
 * `credential_exists` when its id is already registered.
 */
export async function storePasskey(
  tx: Tx,
  account: Account,
  passkey: NewPasskey,
  name?: string,
  deviceId?: string | null,
): Promise<Passkey> {
  const a = passkey.attestation;
  try {
    return await tx.passkey.create({
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
        deviceId: deviceId ?? null,
      },
    });
  } catch (err) {
    if (isUniqueViolation(err))
      throw new ConflictError('credential_exists', 'This passkey is already registered.');
    throw err;
  }
}

async function activePasskeys(deps: AuthDeps, accountId: string) {
  return deps.store.db.passkey.findMany({
    where: { accountId, status: 'active' },
    select: { id: true, credentialId: true, transports: true },
  });
}

/**
 * Whether this enrolment replaces lost passkeys (first passkey, or right after recovery): then it needs
 * no step-up and signs the session in. Otherwise it needs a recent AAL2 proof with an existing factor.
 */
async function requireEnrolmentLevel(
  deps: AuthDeps,
  session: ActiveSession,
): Promise<{ bootstrap: boolean }> {
  if (session.row.mustEnrolPasskey) return { bootstrap: true };
  if ((await activePasskeys(deps, session.row.accountId)).length === 0) return { bootstrap: true };
  requireAssurance(session, RECENT_AAL2);
  return { bootstrap: false };
}

/** The account's WebAuthn user handle, created on first use (accounts made by DID have none). */
async function userHandleOf(deps: AuthDeps, account: Account): Promise<string> {
  if (account.userHandle) return account.userHandle;
  await deps.store.db.account.updateMany({
    where: { id: account.id, userHandle: null },
    data: { userHandle: newUserHandle() },
  });
  const fresh = await deps.store.db.account.findUniqueOrThrow({ where: { id: account.id } });
  return fresh.userHandle!;
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
      handle: await userHandleOf(deps, account),
      name: account.username ?? account.did,
      ...(account.displayName ? { displayName: account.displayName } : {}),
    },
    existing,
  );
}

/**
 * Verifies and stores a new passkey and ends the other sessions. A passkey that replaces lost ones
 * (first passkey, after recovery) also signs this session in with it (the session rotates); any other
 * new passkey adds nothing to the session's level.
 */
export async function enrolPasskey(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
  input: { response: RegistrationResponseJSON; name?: string },
): Promise<{ passkey: Passkey; signedIn?: SignedIn }> {
  await limitByIp(deps)({ attempt });
  await limitByAccount(deps, () => 'enrol')({ account });
  const { bootstrap } = await requireEnrolmentLevel(deps, session);
  const { passkey, proof } = await deps.passkeys.verifyRegistration(
    {
      purpose: 'enrol',
      tenantId: account.tenantId,
      binding: session.row.id,
      requireTrusted: attempt.tenant.attestationPolicy === 'trusted',
    },
    input.response,
  );
  const enrolled = await deps.store.tx(async (tx) => {
    await lockAccount(deps.store, tx, account);
    // Registered from this session's browser: the session's device.
    const stored = await storePasskey(tx, account, passkey, input.name, session.row.deviceId);
    await deps.sessions.endOthers(account.id, session.row.id, 'factor_change', tx);
    let signedIn: SignedIn | undefined;
    if (bootstrap) {
      const opened = await deps.sessions.elevateWithin(tx, session, [{ ...proof, passkeyId: stored.id }], {
        mustEnrolPasskey: false,
      });
      if (!opened) throw new UnauthorizedError('The session has ended; sign in again.');
      signedIn = { account, ...opened, decision: { outcome: 'allow', reasons: [] } };
    }
    await recordEvent(tx, {
      tenantId: account.tenantId,
      accountId: account.id,
      type: 'factor.enrolled',
      ip: attempt.ip,
      detail: { factor: 'passkey', passkeyId: stored.id, attestation: passkey.attestation },
    });
    return { passkey: stored, ...(signedIn ? { signedIn } : {}) };
  });
  await issueDeviceCredential(deps, account, enrolled.passkey);
  return enrolled;
}

export async function renamePasskey(
  deps: AuthDeps,
  account: Account,
  id: string,
  name: string,
): Promise<Passkey> {
  return deps.store.tx(async (tx) => {
    const before = await tx.passkey.findFirst({
      where: { id, accountId: account.id },
      select: { name: true },
    });
    if (!before) throw new NotFoundError('No such passkey.');
    const passkey = await tx.passkey.update({ where: { id }, data: { name } });
    await recordEvent(tx, {
      tenantId: account.tenantId,
      accountId: account.id,
      type: 'passkey.renamed',
      detail: { passkeyId: id, from: before.name, to: name },
    });
    return passkey;
  });
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
    // Two concurrent removals must not both see "another passkey remains".
    await lockAccount(deps.store, tx, account);
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
    // In the same transaction: the passkey never goes while its DeviceBindingCredential still verifies.
    const revokedCredentials = (await deps.credentials?.revokeForPasskey(account.tenantId, id, tx)) ?? 0;
    await factorChanged(deps, tx, attempt, session, account, 'factor.removed', {
      factor: 'passkey',
      passkeyId: id,
      revokedCredentials,
    });
  });
}

/** Starts TOTP enrolment (the secret is shown once, in the answer). */
export async function startTotp(deps: AuthDeps, session: ActiveSession, account: Account, label: string) {
  requireAssurance(session, RECENT_AAL2);
  return deps.totp.startEnrolment(account, label);
}

export async function confirmTotp(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
  code: string,
): Promise<void> {
  requireAssurance(session, RECENT_AAL2);
  await deps.store.tx(async (tx) => {
    await deps.totp.confirmEnrolment(account, code, tx);
    await factorChanged(deps, tx, attempt, session, account, 'factor.enrolled', { factor: 'totp' });
  });
}

export async function removeTotp(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
): Promise<void> {
  requireAssurance(session, RECENT_AAL2);
  await deps.store.tx(async (tx) => {
    await deps.totp.remove(account, tx);
    await factorChanged(deps, tx, attempt, session, account, 'factor.removed', { factor: 'totp' });
  });
}

/** A new set of recovery codes (the old set stops working); needs a recent AAL2 proof. */
export async function regenerateRecoveryCodes(
  deps: AuthDeps,
  attempt: Attempt,
  session: ActiveSession,
  account: Account,
): Promise<string[]> {
  requireAssurance(session, RECENT_AAL2);
  return deps.store.tx(async (tx) => {
    const codes = await deps.recoveryCodes.generate(account, tx);
    await factorChanged(deps, tx, attempt, session, account, 'factor.enrolled', { factor: 'recovery_codes' });
    return codes;
  });
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
