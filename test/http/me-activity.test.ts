/**
 * `GET /t/:tenant/api/me/activity`: a person's security activity in plain language, from real sign-ins
 * behind a trusted proxy (X-Forwarded-For places them with the packaged city database): the sign-up
 * and sign-ins from Paris, a new device held for a step-up and completed with the security key (one
 * line), a refusal from Sydney with its reason, a passkey added, a device named by the person and
 * revoked by an administrator, an event type without a sentence. Only this account's rows in this
 * tenant: another person's activity never shows, nor addresses; bad `limit` is 400 problem+json.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/audit/events.ts';
import { DEFAULT_POLICY } from '../../src/policy/cedar/default-policy.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import type { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';

let svc: TestService;
let hw: HardwareAttestation;
let person: AuthClient;
let securityKey: SoftAuthenticator;
let other: AuthClient;
let accountId: string;

const PARIS = '92.154.0.1';
const PARIS_TOO = '86.245.0.1';
const SYDNEY = '203.2.218.1';
const CHROME_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

interface Item {
  id: string;
  at: string;
  type: string;
  title: string;
  detail: string | null;
  tone: 'info' | 'warn' | 'danger';
  place: string | null;
}

/** A plausible device payload (what web/assets/risk-capture.js sends). */
function device(seed: string) {
  const components: Record<string, string> = {};
  for (const name of ['audio', 'canvas', 'fonts', 'math', 'webgl', 'system.platform', 'screen.depth']) {
    components[name] = createHash('sha256').update(`${seed}:${name}`).digest('hex').slice(0, 16);
  }
  return { thumbmark: createHash('sha256').update(seed).digest('hex').slice(0, 32), components };
}

/** A browser at `ip` with `seed`'s device, sending its risk payload with each ceremony. */
function browserAt(client: AuthClient, ip: string, seed: string) {
  const risk = { device: device(seed) };
  const headers = { 'x-forwarded-for': ip, 'user-agent': CHROME_MAC };
  const ceremony = async (start: string, finish: string, sign: 'register' | 'assert', body = {}) => {
    const options = await client.call<{ options: never }>('POST', client.t(start), body, headers);
    const response =
      sign === 'register' ? client.register(options.body.options) : client.assert(options.body.options);
    return client.call('POST', client.t(finish), { response, risk }, headers);
  };
  return {
    signUp: (username: string) =>
      ceremony('/auth/sign-up/options', '/auth/sign-up/verify', 'register', { username }),
    signIn: () => ceremony('/auth/passkey/options', '/auth/passkey/verify', 'assert'),
    stepUp: () => ceremony('/auth/step-up/passkey/options', '/auth/step-up/passkey/verify', 'assert'),
  };
}

const activity = async (client: AuthClient, query = '') => {
  const r = await client.call<{ items: Item[] }>('GET', client.t(`/api/me/activity${query}`));
  expect(r.status).toBe(200);
  return r.body.items;
};

/** The tenant's policy, plus: a sign-in from a new device must step up with a hardware-bound key. */
async function requireHardwareKeyOnNewDevices() {
  const tenantId = (await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
  const text = `${DEFAULT_POLICY}
@id("new-device-needs-hardware-key")
@reason("A new device: sign in again with a hardware-bound passkey")
@max_age("300")
permit (principal, action == Action::"RequirePhrh", resource)
when { context.risk.reasons.contains("device.new") };
`;
  await svc.service.store.db.tenantPolicy.create({
    data: {
      tenantId,
      version: 1,
      text,
      status: 'active',
      activatedAt: new Date(),
      hash: createHash('sha256').update(text).digest('hex'),
    },
  });
  // The active policy is cached for 2 s.
  await new Promise((r) => setTimeout(r, 2_100));
}

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000', TRUST_PROXY: 'loopback' });
  // The person signs in with a synced passkey (AAL2) and keeps a security key for step-ups.
  person = new AuthClient(svc.url);
  securityKey = hw.securityKey();
  other = new AuthClient(svc.url);
  expect((await browserAt(other, SYDNEY, 'other-laptop').signUp('someone-else')).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await svc?.destroy();
  hw?.remove();
});

describe('my activity, as it happens', () => {
  it('starts with the account’s creation, placed in Paris, with the passkey and the browser', async () => {
    const up = await browserAt(person, PARIS, 'laptop').signUp('activity-person');
    expect(up.status).toBe(201);
    accountId = (up.body.account as { id: string }).id;
    const [first] = await activity(person);
    expect(first).toMatchObject({
      type: 'signup.succeeded',
      title: 'Account created from Paris',
      tone: 'info',
      place: 'Paris, France',
    });
    expect(first!.detail).toMatch(/^With your passkey “.+” on Chrome 131 \/ macOS\.$/);
  });

  it('names an added security key', async () => {
    const added = await person.addPasskey('Desk key', {}, securityKey);
    expect(added.status).toBe(201);
    const [latest] = await activity(person);
    expect(latest).toMatchObject({
      type: 'factor.enrolled',
      title: 'Security key “Desk key” added',
      tone: 'info',
    });
  });

  it('says “Signed in from Paris” for a sign-in from a known device', async () => {
    expect((await browserAt(person, PARIS, 'laptop').signIn()).status).toBe(200);
    const [latest] = await activity(person);
    expect(latest).toMatchObject({ type: 'signin.succeeded', title: 'Signed in from Paris', tone: 'info' });
  });

  it('reads a new device held for a step-up and the step-up as one line naming the factor', async () => {
    await requireHardwareKeyOnNewDevices();
    const tablet = person.fork();
    const held = await browserAt(tablet, PARIS_TOO, 'tablet').signIn();
    expect(held.status).toBe(200);
    // The same browser steps up with the security key.
    const withKey = new AuthClient(svc.url, securityKey);
    for (const [name, value] of tablet.cookies) withKey.cookies.set(name, value);
    expect((await browserAt(withKey, PARIS_TOO, 'tablet').stepUp()).status).toBe(200);
    const items = await activity(person);
    expect(items[0]).toMatchObject({
      type: 'stepup.succeeded',
      title: 'New sign-in from Paris on a new device: stepped up with your security key',
      tone: 'warn',
      place: 'Paris, France',
    });
    // The held sign-in is folded into that line.
    expect(items.filter((i) => i.type === 'signin.succeeded')).toHaveLength(1);
  });

  it('reports a refused key during a step-up as a failed extra check', async () => {
    const withKey = new AuthClient(svc.url, securityKey);
    for (const [name, value] of person.cookies) withKey.cookies.set(name, value);
    const refused = await withKey.stepUpWithPasskey({ origin: 'https://evil.example' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const [latest] = await activity(person);
    expect(latest).toMatchObject({ type: 'stepup.failed', title: 'Failed extra check', tone: 'warn' });
  });

  it('explains a refusal from Sydney in plain words', async () => {
    const thief = await browserAt(person.fork(), SYDNEY, 'stranger').signIn();
    expect(thief.status).toBe(403);
    const [latest] = await activity(person);
    expect(latest).toMatchObject({
      type: 'sign_in.denied',
      title: 'Sign-in refused from Sydney: too far from where you last signed in',
      tone: 'danger',
      place: 'Sydney, Australia',
    });
  });

  it('says an administrator revoked the device the person had named', async () => {
    const devices = await person.call<{ devices: Array<{ id: string; current: boolean }> }>(
      'GET',
      person.t('/api/me/devices'),
    );
    const tablet = devices.body.devices.find((d) => !d.current)!;
    expect(
      (await person.call('PATCH', person.t(`/api/me/devices/${tablet.id}`), { label: 'Work tablet' })).status,
    ).toBe(200);
    const helpdesk = await adminClient(svc, hw, 'helpdesk');
    const revoked = await helpdesk.call('POST', helpdesk.t(`/api/admin/devices/${tablet.id}/revoke`), {
      reason: 'reported lost',
    });
    expect(revoked.status).toBe(202);
    const item = (await activity(person)).find((i) => i.type === 'device.revoked');
    expect(item).toMatchObject({
      title: 'Device “Work tablet” revoked by an administrator',
      tone: 'warn',
    });
    expect(item!.detail).toContain('Reason given: reported lost');
    expect((await activity(person)).map((i) => i.title)).toContain('Device renamed to “Work tablet”');
  });

  it('records a passkey renamed and a session the person ended, each in the audit chain', async () => {
    const factors = await person.call<{ passkeys: Array<{ id: string; name: string }> }>(
      'GET',
      person.t('/api/me/factors'),
    );
    const passkey = factors.body.passkeys[0]!;
    const renamed = await person.call('PATCH', person.t(`/api/me/passkeys/${passkey.id}`), {
      name: 'Laptop key',
    });
    expect(renamed.status).toBe(200);
    const laptop = person.fork();
    expect((await laptop.signIn()).status).toBe(200);
    const sessions = await person.call<{ sessions: Array<{ id: string; current: boolean }> }>(
      'GET',
      person.t('/api/me/sessions'),
    );
    const theirs = sessions.body.sessions.find((x) => !x.current)!;
    expect((await person.call('DELETE', person.t(`/api/me/sessions/${theirs.id}`))).status).toBe(204);
    const titles = (await activity(person)).map((i) => i.title);
    expect(titles).toContain('Passkey renamed to “Laptop key”');
    expect(titles).toContain('You signed out one of your other sessions');
    const records = await svc.service.store.db.securityEvent.findMany({
      where: { accountId, type: { in: ['passkey.renamed', 'session.ended'] } },
    });
    expect(records.map((r) => r.type).sort()).toEqual(['passkey.renamed', 'session.ended']);
    expect(records.every((r) => r.seq !== null && r.hash !== null)).toBe(true);
    // A session that is not the person's (or no longer live) is not found, and nothing is recorded.
    expect((await person.call('DELETE', person.t(`/api/me/sessions/${theirs.id}`))).status).toBe(404);
    expect(
      await svc.service.store.db.securityEvent.count({ where: { accountId, type: 'session.ended' } }),
    ).toBe(1);
  });

  it('shows the person a refused sign-in with their passkey, without counting it against their account', async () => {
    const phished = await person.fork().signIn({ origin: 'https://login.evil.example' });
    expect(phished.status).toBe(401);
    const [latest] = await activity(person);
    expect(latest).toMatchObject({
      type: 'signin.failed',
      title: expect.stringMatching(/^Failed sign-in attempt/),
      tone: 'warn',
    });
    expect(latest!.detail).toContain('did not get in');
    // The risk engine's velocity still counts it by address and fingerprint only: a credential id is
    // not a secret, so it must not let anyone raise its owner's score.
    const failures = await svc.service.store.db.riskAttempt.findMany({
      where: { outcome: 'failure', action: 'sign_in', accountId },
    });
    expect(failures).toEqual([]);
    // Another person never sees it.
    expect((await activity(other)).map((i) => i.id)).not.toContain(latest!.id);
  });

  it('gives an event type without a sentence a readable title, never the bare code', async () => {
    const tenantId = (await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
    await recordEvent(svc.service.store, { tenantId, accountId, type: 'test.mystery_thing', detail: {} });
    const [latest] = await activity(person);
    expect(latest).toMatchObject({ type: 'test.mystery_thing', title: 'Security event: test mystery thing' });
  });

  it('lists newest first and honours limit', async () => {
    const items = await activity(person);
    expect(items.map((i) => i.at)).toEqual([...items.map((i) => i.at)].sort().reverse());
    expect(items.at(-1)!.type).toBe('signup.succeeded');
    const two = await activity(person, '?limit=2');
    expect(two).toEqual(items.slice(0, 2));
  });
});

describe('only mine', () => {
  it('never shows another person’s activity, nor network addresses', async () => {
    const theirs = await activity(other);
    expect(theirs.map((i) => i.type)).toEqual(['signup.succeeded']);
    expect(theirs[0]!.place).toBe('Sydney, Australia');
    const mine = await activity(person);
    expect(mine.map((i) => i.id)).not.toContain(theirs[0]!.id);
    const text = JSON.stringify(mine);
    expect(text).not.toContain('someone-else');
    for (const ip of [PARIS, PARIS_TOO, SYDNEY]) expect(text).not.toContain(ip);
  });

  it('answers 401 without a session and on another tenant’s path', async () => {
    await svc.service.store.db.tenant.create({ data: { slug: 'acme', displayName: 'Acme' } });
    expect((await new AuthClient(svc.url).call('GET', '/t/default/api/me/activity')).status).toBe(401);
    expect((await person.call('GET', '/t/acme/api/me/activity')).status).toBe(401);
  });

  it('refuses a bad limit with 400 problem+json invalid_request', async () => {
    for (const limit of ['0', '101', '2.5', 'many']) {
      const r = await person.call('GET', person.t(`/api/me/activity?limit=${limit}`));
      expect(r.status, limit).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ code: 'invalid_request' });
    }
  });
});
