/**
 * Device revocation on one instance: devices link their passkeys and sessions; revoking one disables
 * its passkeys, ends its sessions, revokes its DID delegate on chain and its DeviceBindingCredentials,
 * and pushes CAEP SETs, with every step visible in the status API. Re-running is idempotent; a crash
 * between steps is resumed by the worker; people reach only their own devices, admins only their
 * tenant's.
 */
import { randomBytes } from 'node:crypto';
import { getAddress, Wallet } from 'ethers';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validDelegateTypes } from '../../src/devices/delegates.ts';
import { signWithManagedOwner } from '../../src/flows/registry-signing.ts';
import { SimulatedCrash } from '../../src/flows/revoke-device.ts';
import { CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED } from '../../src/ssf/events.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { DeviceBrowser, eventually, SetReceiver } from '../helpers/devices.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';

let svc: TestService;
let hw: HardwareAttestation;
let receiver: SetReceiver;

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({
    ...hw.env,
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    OIDC_ALLOW_PRIVATE_CALLBACKS: 'true',
  });
  receiver = await SetReceiver.start();
}, 60_000);
afterAll(async () => {
  await receiver?.close();
  await svc?.destroy();
  hw?.remove();
});

interface Revocation {
  id: string;
  status: string;
  deviceId: string;
  steps: Array<{ name: string; status: string; at: string; detail?: Record<string, unknown> }>;
  deliveries: Array<{ jti: string; status: string }>;
}

let n = 0;
/** A person signed up on their laptop. */
async function person(): Promise<{ laptop: DeviceBrowser; accountId: string }> {
  const laptop = new DeviceBrowser(svc.url, `laptop-${++n}`);
  const r = await laptop.signUp(`device-owner-${n}`);
  expect(r.status).toBe(201);
  return { laptop, accountId: (r.body.account as { id: string }).id };
}

/**
 * A person with a laptop (passkey A) and a phone that registered its own passkey B; both signed in.
 * Adding B ends the laptop's session (a factor change), so the laptop signs in again.
 */
async function personWithPhone() {
  const { laptop, accountId } = await person();
  const phone = laptop.onDevice(`phone-${n}`);
  expect((await phone.signIn()).status).toBe(200);
  const phoneKey = new SoftAuthenticator();
  const added = await phone.addPasskey('Phone', {}, phoneKey);
  expect(added.status).toBe(201);
  expect((await laptop.signIn()).status).toBe(200);
  return {
    laptop,
    phone,
    accountId,
    laptopDeviceId: await laptop.currentDeviceId(),
    phoneDeviceId: await phone.currentDeviceId(),
    phonePasskeyId: (added.body as { id: string }).id,
    phoneKey,
  };
}

/** Adds `delegate` as a sigAuth delegate of the account's managed DID (what did-operations does). */
async function addDelegate(account: { did: string; address: string; tenantId: string }, delegate: string) {
  const { agent, chain, outbox } = svc.service;
  const identifier = await agent.didManagerGet({ did: account.did });
  const op = await signWithManagedOwner(agent, chain, identifier.controllerKeyId!, {
    kind: 'addDelegate',
    payload: { identity: getAddress(account.address), delegateType: 'sigAuth', delegate, validity: 86_400 },
  });
  const job = await outbox.enqueue({
    idempotencyKey: `test-add-delegate-${randomBytes(4).toString('hex')}`,
    ...op,
  });
  expect((await outbox.waitFor(job.id, 20_000)).status).toBe('confirmed');
}

const stepsOf = (r: Revocation) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));
const db = () => svc.service.store.db;

async function adminStatus(admin: DeviceBrowser | Awaited<ReturnType<typeof adminClient>>, id: string) {
  const r = await admin.call<Revocation>('GET', admin.t(`/api/admin/revocations/${id}`));
  expect(r.status).toBe(200);
  return r.body;
}

describe('device registry', () => {
  it('links the sign-up passkey and the session to the device they were made on, and shows it', async () => {
    const { laptop, accountId } = await person();
    const devices = await laptop.devices();
    expect(devices).toHaveLength(1);
    const device = devices[0]!;
    expect(device).toMatchObject({ current: true, state: 'trusted', delegate: null, revokedAt: null });
    const passkeys = device.passkeys as Array<{ id: string; status: string }>;
    expect(passkeys).toHaveLength(1);
    expect(device.attestation).toMatchObject({ passkeys: 1, formats: ['none'] });
    expect((device.lastSeen as { at: string }).at).toBeTruthy();
    const session = await db().session.findFirstOrThrow({ where: { accountId, endedAt: null } });
    expect(session.deviceId).toBe(device.id);
    expect((await db().passkey.findUniqueOrThrow({ where: { id: passkeys[0]!.id } })).deviceId).toBe(
      device.id,
    );

    const one = await laptop.call<{ history: Array<{ outcome: string }> }>(
      'GET',
      laptop.t(`/api/me/devices/${device.id}`),
    );
    expect(one.status).toBe(200);
    expect(one.body.history[0]).toMatchObject({ outcome: 'success' });
  });

  it('a step-up keeps the session on its device, and a passkey added there is linked to it', async () => {
    const { laptop, phone, phoneDeviceId, phonePasskeyId } = await personWithPhone();
    expect(phoneDeviceId).not.toBe(await laptop.currentDeviceId());
    expect((await db().passkey.findUniqueOrThrow({ where: { id: phonePasskeyId } })).deviceId).toBe(
      phoneDeviceId,
    );
    expect((await phone.stepUpWithPasskey()).status).toBe(200);
    expect(await phone.currentDeviceId()).toBe(phoneDeviceId);
  });

  it('names my device; another person cannot (404)', async () => {
    const { laptop } = await person();
    const id = await laptop.currentDeviceId();
    const r = await laptop.call('PATCH', laptop.t(`/api/me/devices/${id}`), { label: 'Work laptop' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ label: 'Work laptop' });
    const { laptop: other } = await person();
    expect((await other.call('PATCH', other.t(`/api/me/devices/${id}`), { label: 'mine' })).status).toBe(404);
    expect((await db().riskDevice.findUniqueOrThrow({ where: { id } })).label).toBe('Work laptop');
  });

  it('refuses to link a device to an address that is not a delegate of my DID', async () => {
    const { laptop } = await person();
    const id = await laptop.currentDeviceId();
    const r = await laptop.call('PATCH', laptop.t(`/api/me/devices/${id}`), {
      delegateAddress: Wallet.createRandom().address,
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'not_a_delegate' });
  });
});

describe('revoking my own device', () => {
  it('disables its passkey, ends its sessions, revokes its credential and delegate; my other device lives', async () => {
    const { laptop, phone, accountId, phoneDeviceId, phonePasskeyId, phoneKey } = await personWithPhone();
    // The phone holds a delegate key of the person's DID.
    const delegate = Wallet.createRandom().address;
    const account = await db().account.findUniqueOrThrow({ where: { id: accountId } });
    await addDelegate(account, delegate);
    expect(await validDelegateTypes(svc.service.chain, account.address, delegate)).toEqual(['sigAuth']);
    const link = await phone.call('PATCH', phone.t(`/api/me/devices/${phoneDeviceId}`), {
      delegateAddress: delegate,
    });
    expect(link.status).toBe(200);
    expect(link.body).toMatchObject({ delegate: { address: delegate } });
    const credential = await db().issuedCredential.findFirstOrThrow({ where: { passkeyId: phonePasskeyId } });

    const r = await laptop.call<Revocation>('POST', laptop.t(`/api/me/devices/${phoneDeviceId}/revoke`), {
      reason: 'lost on the train',
    });
    expect(r.status).toBe(202);
    expect(stepsOf(r.body)).toMatchObject({
      mark_revoked: 'done',
      disable_passkeys: 'done',
      end_sessions: 'done',
      revoke_credentials: 'done',
      verify_oidc_grants: 'done',
    });
    // At once: the phone is signed out, the laptop is not.
    expect((await phone.session()).status).toBe(401);
    expect((await laptop.session()).status).toBe(200);
    expect((await db().passkey.findUniqueOrThrow({ where: { id: phonePasskeyId } })).status).toBe('disabled');
    expect(await db().passkey.count({ where: { accountId, status: 'active' } })).toBe(1);
    const status = await laptop.call<{ credentials: Array<{ id: string; status: { revoked: boolean } }> }>(
      'GET',
      laptop.t('/api/me/credentials'),
    );
    expect(status.body.credentials.find((c) => c.id === credential.id)?.status.revoked).toBe(true);

    // The delegate step completes once the chain job is mined; then the registry reads it invalid.
    const done = await eventually(
      async () => (await laptop.call<Revocation>('GET', laptop.t(`/api/me/revocations/${r.body.id}`))).body,
      (v) => v.status === 'completed',
    );
    expect(stepsOf(done)).toMatchObject({ revoke_delegate: 'done', audit: 'done' });
    expect(await validDelegateTypes(svc.service.chain, account.address, delegate)).toEqual([]);
    const devices = await laptop.devices();
    expect(devices.find((d) => d.id === phoneDeviceId)).toMatchObject({ state: 'revoked' });
    // The phone cannot sign in with the disabled passkey.
    const phoneWithKey = new DeviceBrowser(svc.url, phone.seed, phoneKey);
    const refused = await phoneWithKey.signIn();
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    const events = await db().securityEvent.findMany({
      where: { accountId, type: { startsWith: 'device.' } },
    });
    expect(events.map((e) => e.type).sort()).toEqual(['device.revocation_completed', 'device.revoked']);
  });

  it('needs a recent AAL2 proof (RFC 9470 challenge otherwise)', async () => {
    const { laptop } = await person();
    const id = await laptop.currentDeviceId();
    const session = await db().session.findFirstOrThrow({ where: { deviceId: id, endedAt: null } });
    // Ten minutes later: the sign-in is no longer recent.
    const old = new Date(Date.now() - 10 * 60_000);
    await db().session.update({
      where: { id: session.id },
      data: { authTime: old, factors: session.factors.replace(/"at":\d+/g, `"at":${old.getTime()}`) },
    });
    const r = await laptop.call('POST', laptop.t(`/api/me/devices/${id}/revoke`), {});
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/insufficient_user_authentication/);
    expect((await db().riskDevice.findUniqueOrThrow({ where: { id } })).state).toBe('trusted');
  });

  it('revoking the device I am on signs me out', async () => {
    const { laptop } = await person();
    const id = await laptop.currentDeviceId();
    const r = await laptop.call<Revocation>('POST', laptop.t(`/api/me/devices/${id}/revoke`), {});
    expect(r.status).toBe(202);
    expect(r.headers.getSetCookie().join(';')).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/i);
    expect((await laptop.session()).status).toBe(401);
  });

  it('a person cannot revoke (or see the revocation of) someone else’s device: 404', async () => {
    const { laptop: alice } = await person();
    const aliceDevice = await alice.currentDeviceId();
    const { laptop: bob } = await person();
    const r = await bob.call('POST', bob.t(`/api/me/devices/${aliceDevice}/revoke`), {});
    expect(r.status).toBe(404);
    expect((await alice.session()).status).toBe(200);
    expect((await db().riskDevice.findUniqueOrThrow({ where: { id: aliceDevice } })).state).toBe('trusted');
    const mine = await alice.call<Revocation>('POST', alice.t(`/api/me/devices/${aliceDevice}/revoke`), {});
    expect((await bob.call('GET', bob.t(`/api/me/revocations/${mine.body.id}`))).status).toBe(404);
  });
});

describe('admin revocation', () => {
  it('shows every step, pushes CAEP SETs signed with the tenant key, and is idempotent', async () => {
    const admin = await adminClient(svc, hw, 'tenant-admin');
    const stream = await admin.call<{ id: string; hasAuthorization: boolean }>(
      'POST',
      admin.t('/api/admin/ssf/streams'),
      { endpointUrl: receiver.url, authorizationHeader: 'Bearer receiver-secret' },
    );
    expect(stream.status).toBe(201);
    expect(stream.body.hasAuthorization).toBe(true);
    const { phoneDeviceId, phone, accountId } = await personWithPhone();
    const before = receiver.received.length;

    const r = await admin.call<Revocation>('POST', admin.t(`/api/admin/devices/${phoneDeviceId}/revoke`), {
      reason: 'reported stolen',
    });
    expect(r.status).toBe(202);
    expect(r.body.steps.map((s) => s.name)).toEqual([
      'mark_revoked',
      'disable_passkeys',
      'end_sessions',
      'revoke_credentials',
      'verify_oidc_grants',
      'revoke_delegate',
      'push_signals',
      'audit',
    ]);
    expect(stepsOf(r.body)).toMatchObject({
      revoke_delegate: 'skipped',
      push_signals: 'done',
      audit: 'done',
    });
    expect(r.body.status).toBe('completed');
    expect((await phone.session()).status).toBe(401);

    // One session-revoked (the phone's browser session) and one credential-change (its passkey).
    const sets = (await receiver.waitFor(before + 2)).slice(before);
    expect(sets.every((s) => s.contentType === 'application/secevent+jwt')).toBe(true);
    expect(sets.every((s) => s.authorization === 'Bearer receiver-secret')).toBe(true);
    const jwks = createRemoteJWKSet(new URL(`${svc.url}/t/default/jwks`));
    const payloads = [];
    for (const s of sets) {
      expect(decodeProtectedHeader(s.token).typ).toBe('secevent+jwt');
      const { payload } = await jwtVerify(s.token, jwks, { issuer: `${svc.url}/t/default` });
      expect(payload.txn).toBe(r.body.id);
      payloads.push(
        payload as { events: Record<string, Record<string, unknown>>; sub_id: Record<string, unknown> },
      );
    }
    const types = payloads.map((p) => Object.keys(p.events)[0]).sort();
    expect(types).toEqual([CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED].sort());
    const change = payloads.find((p) => p.events[CAEP_CREDENTIAL_CHANGE])!;
    expect(change.sub_id).toEqual({ format: 'iss_sub', iss: `${svc.url}/t/default`, sub: accountId });
    expect(change.events[CAEP_CREDENTIAL_CHANGE]).toMatchObject({
      change_type: 'revoke',
      initiating_entity: 'admin',
      reason_admin: { en: 'reported stolen' },
    });
    const revoked = payloads.find((p) => p.events[CAEP_SESSION_REVOKED])!;
    expect(revoked.sub_id).toMatchObject({ format: 'complex', session: { format: 'opaque' } });
    const status = await eventually(
      () => adminStatus(admin, r.body.id),
      (v) => v.deliveries.length === 2 && v.deliveries.every((d) => d.status === 'delivered'),
    );
    expect(status.deliveries).toHaveLength(2);

    // Again: the same revocation, nothing re-done, nothing re-sent.
    const again = await admin.call<Revocation>(
      'POST',
      admin.t(`/api/admin/devices/${phoneDeviceId}/revoke`),
      {},
    );
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(r.body.id);
    expect(again.body.steps).toEqual(status.steps);
    expect(await db().deviceRevocation.count({ where: { deviceId: phoneDeviceId } })).toBe(1);
    expect(await db().securityEvent.count({ where: { accountId, type: 'device.revoked' } })).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.length).toBe(before + 2);
    expect((await admin.call('DELETE', admin.t(`/api/admin/ssf/streams/${stream.body.id}`))).status).toBe(
      204,
    );
  });

  it('retries a SET the receiver refused with 503 until it answers 202', async () => {
    const admin = await adminClient(svc, hw, 'tenant-admin');
    const stream = await admin.call<{ id: string }>('POST', admin.t('/api/admin/ssf/streams'), {
      endpointUrl: receiver.url,
      events: [CAEP_CREDENTIAL_CHANGE],
    });
    expect(stream.status).toBe(201);
    const { laptop } = await person();
    const id = await laptop.currentDeviceId();
    const before = receiver.received.length;
    receiver.failures = 1;
    const r = await admin.call<Revocation>('POST', admin.t(`/api/admin/devices/${id}/revoke`), {});
    expect(r.status).toBe(202);
    // Only the event type the stream asked for: one credential-change, no session-revoked.
    const delivered = await eventually(
      () => adminStatus(admin, r.body.id),
      (v) => v.deliveries.length === 1 && v.deliveries[0]!.status === 'delivered',
    );
    expect(delivered.deliveries[0]).toMatchObject({ attempts: 2 });
    expect(receiver.failures).toBe(0);
    expect(receiver.received.length).toBe(before + 1);
    expect((await admin.call('DELETE', admin.t(`/api/admin/ssf/streams/${stream.body.id}`))).status).toBe(
      204,
    );
  });

  it('two revocations of one device at once make one revocation', async () => {
    const helpdesk = await adminClient(svc, hw, 'helpdesk');
    const admin = await adminClient(svc, hw, 'tenant-admin');
    const { laptop } = await person();
    const id = await laptop.currentDeviceId();
    const [a, b] = await Promise.all([
      admin.call<Revocation>('POST', admin.t(`/api/admin/devices/${id}/revoke`), {}),
      helpdesk.call<Revocation>('POST', helpdesk.t(`/api/admin/devices/${id}/revoke`), {}),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.id).toBe(b.body.id);
    expect(await db().deviceRevocation.count({ where: { deviceId: id } })).toBe(1);
  });

  it('a crash inside the contain transaction leaves nothing; a crash between steps is resumed by the worker', async () => {
    const { laptop, phone, accountId, phoneDeviceId } = await personWithPhone();
    const revocations = svc.service.devices.revocations;
    const tenant = await db().tenant.findUniqueOrThrow({ where: { slug: 'default' } });
    const actor = { kind: 'admin' as const, id: 'test' };

    await expect(
      revocations.revoke({ tenantId: tenant.id }, phoneDeviceId, { actor }, { crashAfter: 'end_sessions' }),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    expect((await phone.session()).status).toBe(200);
    expect((await db().riskDevice.findUniqueOrThrow({ where: { id: phoneDeviceId } })).state).toBe('trusted');
    expect(await db().deviceRevocation.count({ where: { deviceId: phoneDeviceId } })).toBe(0);

    await expect(
      revocations.revoke(
        { tenantId: tenant.id },
        phoneDeviceId,
        { actor },
        { crashAfter: 'verify_oidc_grants' },
      ),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    const row = await db().deviceRevocation.findFirstOrThrow({ where: { deviceId: phoneDeviceId } });
    expect(row.status).toBe('running');
    const admin = await adminClient(svc, hw, 'auditor');
    const midway = await adminStatus(admin, row.id);
    expect(stepsOf(midway)).toMatchObject({
      end_sessions: 'done',
      verify_oidc_grants: 'done',
      revoke_delegate: 'pending',
      push_signals: 'pending',
      audit: 'pending',
    });
    expect((await phone.session()).status).toBe(401);
    expect((await laptop.session()).status).toBe(200);

    // The worker picks it up (after its lease) and finishes it.
    const done = await eventually(
      () => adminStatus(admin, row.id),
      (v) => v.status === 'completed',
    );
    expect(stepsOf(done)).toMatchObject({ revoke_delegate: 'skipped', audit: 'done' });
    expect(done.steps.find((s) => s.name === 'end_sessions')!.at).toBe(
      midway.steps.find((s) => s.name === 'end_sessions')!.at,
    );
    expect(
      await db().securityEvent.count({ where: { accountId, type: 'device.revocation_completed' } }),
    ).toBe(1);
  });
});

describe('admin tenant isolation and roles', () => {
  it('an admin of another tenant gets 404 for this tenant’s devices, people and revocations', async () => {
    await db().tenant.upsert({
      where: { slug: 'other' },
      create: { slug: 'other', displayName: 'Other' },
      update: {},
    });
    const outsider = await adminClient(svc, hw, 'tenant-admin', { tenant: 'other' });
    const { laptop, accountId } = await person();
    const deviceId = await laptop.currentDeviceId();
    const mine = await laptop.call<Revocation>('POST', laptop.t(`/api/me/devices/${deviceId}/revoke`), {});
    // Through its own tenant's API: the objects are not there.
    expect(
      (await outsider.call('POST', outsider.t(`/api/admin/devices/${deviceId}/revoke`), {})).status,
    ).toBe(404);
    expect((await outsider.call('GET', outsider.t(`/api/admin/people/${accountId}/devices`))).status).toBe(
      404,
    );
    expect((await outsider.call('GET', outsider.t(`/api/admin/revocations/${mine.body.id}`))).status).toBe(
      404,
    );
    // Through this tenant's API: nothing either.
    expect((await outsider.call('GET', `/t/default/api/admin/revocations/${mine.body.id}`)).status).toBe(404);
    expect((await outsider.call('POST', `/t/default/api/admin/devices/${deviceId}/revoke`, {})).status).toBe(
      404,
    );
  });

  it('an auditor reads devices but cannot revoke (403); a person without a role cannot read (403)', async () => {
    const auditor = await adminClient(svc, hw, 'auditor');
    const { laptop, accountId } = await person();
    const deviceId = await laptop.currentDeviceId();
    const list = await auditor.call<{ devices: Array<{ id: string }> }>(
      'GET',
      auditor.t(`/api/admin/people/${accountId}/devices`),
    );
    expect(list.status).toBe(200);
    expect(list.body.devices.map((d) => d.id)).toEqual([deviceId]);
    expect((await auditor.call('POST', auditor.t(`/api/admin/devices/${deviceId}/revoke`), {})).status).toBe(
      403,
    );
    expect((await laptop.call('GET', laptop.t(`/api/admin/people/${accountId}/devices`))).status).toBe(403);
    expect((await db().riskDevice.findUniqueOrThrow({ where: { id: deviceId } })).state).toBe('trusted');
  });
});
