/**
 * The risk engine in the sign-in flows, end to end: every attempt is scored and recorded with its
 * contributions; a device becomes known after an allowed sign-in; impossible travel from a new device
 * is refused by the default policy; X-Forwarded-For counts only from a trusted proxy; malformed risk
 * payloads are skipped, never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000', TRUST_PROXY: 'loopback' });
});
afterAll(async () => {
  await svc?.destroy();
});

const GERMANY = '91.0.0.1';
const USA = '8.8.8.8';

/** A plausible device payload (what web/assets/risk-capture.js sends). */
function device(seed: string) {
  const components: Record<string, string> = {};
  for (const name of [
    'audio',
    'canvas',
    'fonts',
    'hardware.cores',
    'math',
    'plugins',
    'webgl',
    'system.platform',
    'screen.depth',
    'locales.languages',
  ]) {
    components[name] = Buffer.from(`${seed}:${name}`).toString('hex').slice(0, 16);
  }
  return { thumbmark: Buffer.from(`thumb:${seed}`).toString('hex').padEnd(32, '0').slice(0, 32), components };
}

/** A browser at `ip` with `seed`'s device, sending its risk payload with every sign-in. */
function browserAt(client: AuthClient, ip: string, seed: string) {
  const risk = { device: device(seed) };
  const headers = {
    'x-forwarded-for': ip,
    'user-agent':
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  };
  return {
    async signUp(username: string) {
      const options = await client.call<{ options: Parameters<AuthClient['register']>[0] }>(
        'POST',
        client.t('/auth/sign-up/options'),
        { username },
        headers,
      );
      return client.call(
        'POST',
        client.t('/auth/sign-up/verify'),
        { response: client.register(options.body.options), risk },
        headers,
      );
    },
    async signIn() {
      const options = await client.call<{ options: Parameters<AuthClient['assert']>[0] }>(
        'POST',
        client.t('/auth/passkey/options'),
        {},
        headers,
      );
      return client.call(
        'POST',
        client.t('/auth/passkey/verify'),
        { response: client.assert(options.body.options), risk },
        headers,
      );
    },
  };
}

describe('risk in sign-in', () => {
  it('records every attempt with its score and contributions, and learns the device', async () => {
    const home = new AuthClient(svc.url);
    const at = browserAt(home, GERMANY, 'laptop');
    const up = await at.signUp('traveller');
    expect(up.status).toBe(201);
    const accountId = (up.body.account as { id: string }).id;
    const first = await svc.service.store.db.riskAttempt.findFirstOrThrow({ where: { accountId } });
    expect(first).toMatchObject({ outcome: 'success', decision: 'allow', country: 'DE', ip: GERMANY });
    expect(JSON.parse(first.reasons)).toContain('device.new');
    const devices = await svc.service.store.db.riskDevice.findMany({ where: { accountId } });
    expect(devices).toHaveLength(1);
    expect(devices[0]!.label).toMatch(/Chrome/);

    const again = await at.signIn();
    expect(again.status).toBe(200);
    const second = await svc.service.store.db.riskAttempt.findFirstOrThrow({
      where: { accountId },
      orderBy: { at: 'desc' },
    });
    const assessment = JSON.parse(second.assessment) as {
      contributions: Array<{ reason: string }>;
      level: string;
    };
    expect(assessment.contributions.map((c) => c.reason)).toContain('device.known');
    expect(assessment.level).toBe('low');
    expect(second.deviceId).toBe(devices[0]!.id);
  });

  it('refuses impossible travel from a new device (default policy) and records why', async () => {
    const home = new AuthClient(svc.url);
    const at = browserAt(home, GERMANY, 'desktop');
    const up = await at.signUp('jetsetter');
    const accountId = (up.body.account as { id: string }).id;
    // Minutes later, the same passkey (a synced one, say) from the other side of the world, on a new device.
    const thief = browserAt(home.fork(), USA, 'stranger');
    const r = await thief.signIn();
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'access_denied' });
    expect(r.body.reasons).toEqual(
      expect.arrayContaining(['travel.impossible', 'deny-impossible-travel-new-device']),
    );
    const denied = await svc.service.store.db.riskAttempt.findFirstOrThrow({
      where: { accountId, outcome: 'denied' },
    });
    expect(denied.country).toBe('US');
    const event = await svc.service.store.db.securityEvent.findFirstOrThrow({
      where: { accountId, type: 'sign_in.denied' },
    });
    expect(JSON.parse(event.detail).reasons).toContain('travel.impossible');
  });

  it('counts refused step-ups against the account (velocity), seen at the next sign-in', async () => {
    const client = new AuthClient(svc.url);
    const at = browserAt(client, GERMANY, 'velocity');
    const up = await at.signUp('fumbler');
    const accountId = (up.body.account as { id: string }).id;
    const start = await client.call<{ secret: string }>('POST', client.t('/api/me/totp'), {});
    const { generate } = await import('otplib');
    await client.call('POST', client.t('/api/me/totp/confirm'), {
      code: await generate({ secret: start.body.secret }),
    });
    for (let i = 0; i < 3; i++) {
      const wrong = await client.call('POST', client.t('/auth/step-up/totp'), { code: String(100000 + i) });
      expect(wrong.status).toBe(401);
    }
    expect((await at.signIn()).status).toBe(200);
    const last = await svc.service.store.db.riskAttempt.findFirstOrThrow({
      where: { accountId, decision: { not: '' } },
      orderBy: { at: 'desc' },
    });
    expect(JSON.parse(last.reasons)).toContain('velocity.account_failures');
    expect(await svc.service.store.db.riskAttempt.count({ where: { accountId, outcome: 'failure' } })).toBe(
      3,
    );
  });

  it('skips a malformed risk payload with a reason (never a 500, never lower risk)', async () => {
    const client = new AuthClient(svc.url);
    expect((await client.signUp('payloads')).status).toBe(201);
    const options = await client.signInOptions();
    const r = await client.call('POST', client.t('/auth/passkey/verify'), {
      response: client.assert(options.body.options),
      risk: { device: { thumbmark: 'not hex!', components: { __proto__: 'x' } }, typing: { keys: 'nope' } },
    });
    expect(r.status).toBe(200);
    const row = await svc.service.store.db.riskAttempt.findFirstOrThrow({ orderBy: { at: 'desc' } });
    const skipped = (JSON.parse(row.assessment) as { skipped: Array<{ signal: string; skipped: string }> })
      .skipped;
    expect(skipped.find((s) => s.signal === 'device')?.skipped).toMatch(/^malformed/);
  });

  it('refuses a risk payload that is not an object with 400', async () => {
    const client = new AuthClient(svc.url);
    expect((await client.signUp('badrisk')).status).toBe(201);
    const options = await client.signInOptions();
    const r = await client.call('POST', client.t('/auth/passkey/verify'), {
      response: client.assert(options.body.options),
      risk: 'fingerprint',
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'invalid_request' });
  });
});

describe('client addresses', () => {
  let direct: TestService;
  beforeAll(async () => {
    direct = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000' });
  });
  afterAll(async () => {
    await direct?.destroy();
  });

  it('ignores X-Forwarded-For unless it comes from a configured trusted proxy', async () => {
    const client = new AuthClient(direct.url);
    const options = await client.registrationOptions('spoofer');
    await client.call(
      'POST',
      client.t('/auth/sign-up/verify'),
      { response: client.register(options.body.options) },
      { 'x-forwarded-for': USA },
    );
    const row = await direct.service.store.db.riskAttempt.findFirstOrThrow({ orderBy: { at: 'desc' } });
    expect(row.ip).toBe('127.0.0.1');
    expect(row.country).toBeNull();
  });
});
