/**
 * Attacks on sign-in, each of which must fail: replay, wrong origin, wrong RP ID, a challenge issued to
 * another browser, counter regression, missing user verification, TOTP reuse and guessing bursts,
 * non-ASCII digits, recovery-code reuse, session fixation, cross-site posts, user enumeration, floods.
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';

let svc: TestService;
beforeAll(async () => {
  // Sign-in mechanics under attack; the risk engine (which would rightly score this address's many
  // failures) is tested in test/http/risk.test.ts.
  svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000', RISK_ENABLED: 'false' });
});
afterAll(async () => {
  await svc?.destroy();
});

let n = 0;
/** A signed-up person in a fresh browser. */
async function person(options: ConstructorParameters<typeof SoftAuthenticator>[0] = {}) {
  const client = new AuthClient(svc.url, new SoftAuthenticator(options));
  const r = await client.signUp(`user${++n}`);
  expect(r.status).toBe(201);
  return { client, username: `user${n}`, accountId: (r.body.account as { id: string }).id };
}

describe('WebAuthn ceremonies', () => {
  it('refuses a replayed sign-in response (each challenge works once)', async () => {
    const { client } = await person();
    const options = await client.signInOptions();
    const response = client.assert(options.body.options);
    const first = await client.call('POST', client.t('/auth/passkey/verify'), { response });
    expect(first.status).toBe(200);
    const replay = await client.call('POST', client.t('/auth/passkey/verify'), { response });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ code: 'invalid_challenge' });
  });

  it('refuses two concurrent uses of one response: exactly one signs in', async () => {
    const { client } = await person();
    const options = await client.signInOptions();
    const response = client.assert(options.body.options);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => client.call('POST', client.t('/auth/passkey/verify'), { response })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it('refuses a response made for another origin', async () => {
    const { client } = await person();
    const r = await client.signIn({ origin: 'https://login.evil.example' });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'invalid_response' });
    expect(String(r.body.detail)).toMatch(/origin/i);
  });

  it('refuses a response signed for another RP ID', async () => {
    const { client } = await person();
    const r = await client.signIn({ rpId: 'evil.example' });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'invalid_response' });
  });

  it('refuses a registration for another origin or RP ID', async () => {
    const a = new AuthClient(svc.url);
    expect((await a.signUp('wrongorigin', { origin: 'https://evil.example' })).status).toBe(401);
    const b = new AuthClient(svc.url);
    expect((await b.signUp('wrongrpid', { rpId: 'evil.example' })).status).toBe(401);
    expect(
      await svc.service.store.db.account.count({ where: { username: { in: ['wrongorigin', 'wrongrpid'] } } }),
    ).toBe(0);
  });

  it('refuses a challenge issued to another browser', async () => {
    const { client } = await person();
    const attacker = new AuthClient(svc.url, client.authenticator);
    // The attacker obtains options in their own browser and gets the victim to sign them…
    const options = await attacker.signInOptions();
    const response = client.assert(options.body.options);
    // …but the victim's browser (another flow cookie) cannot use them, nor can the signed answer move.
    await client.signInOptions();
    const r = await client.call('POST', client.t('/auth/passkey/verify'), { response });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'invalid_challenge' });
  });

  it('refuses a sign-in challenge used for a step-up, and a step-up challenge of another session', async () => {
    const { client } = await person();
    const signInOptions = await client.signInOptions();
    const r = await client.call('POST', client.t('/auth/step-up/passkey/verify'), {
      response: client.assert(signInOptions.body.options),
    });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'invalid_challenge' });

    const other = client.fork();
    expect((await other.signIn()).status).toBe(200);
    const otherOptions = await other.call<{ options: Parameters<AuthClient['assert']>[0] }>(
      'POST',
      other.t('/auth/step-up/passkey/options'),
      {},
    );
    const stolen = await client.call('POST', client.t('/auth/step-up/passkey/verify'), {
      response: client.assert(otherOptions.body.options),
    });
    expect(stolen.status).toBe(401);
    expect(stolen.body).toMatchObject({ code: 'invalid_challenge' });
  });

  it('refuses a counter that goes backwards (suspected clone) and records a risk event', async () => {
    const { client, accountId } = await person();
    expect((await client.signIn()).status).toBe(200);
    expect((await client.signIn()).status).toBe(200);
    const credential = client.authenticator.credentials[0]!;
    client.authenticator.setCounter(credential.id, 1);
    const r = await client.signIn();
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'suspected_clone' });
    const events = await svc.service.store.db.securityEvent.findMany({
      where: { accountId, type: 'passkey.counter_regression' },
    });
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.detail)).toMatchObject({ seenCounter: 2, storedCounter: 2 });
  });

  it('accepts authenticators that always report counter 0 (no clone alarm)', async () => {
    const { client } = await person({ counterIncrement: 0 });
    expect((await client.signIn()).status).toBe(200);
    expect((await client.signIn()).status).toBe(200);
  });

  it('refuses a sign-in and a registration without user verification', async () => {
    const { client } = await person();
    const r = await client.signIn({ userVerified: false });
    expect(r.status).toBe(401);
    expect(String(r.body.detail)).toMatch(/verif/i);
    const fresh = new AuthClient(svc.url);
    const up = await fresh.signUp('nouv', { userVerified: false });
    expect(up.status).toBe(401);
  });

  it('refuses another person’s passkey for my step-up', async () => {
    const victim = await person();
    const attacker = await person();
    const options = await attacker.client.call<{ options: Parameters<AuthClient['assert']>[0] }>(
      'POST',
      attacker.client.t('/auth/step-up/passkey/options'),
      {},
    );
    // The attacker answers their own step-up challenge with the victim's passkey.
    const response = victim.client.authenticator.getAssertion(
      { ...options.body.options, allowCredentials: [] },
      { origin: attacker.client.origin },
    );
    const r = await attacker.client.call('POST', attacker.client.t('/auth/step-up/passkey/verify'), {
      response,
    });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'unknown_credential' });
  });
});

describe('TOTP and recovery codes', () => {
  async function withTotp() {
    const p = await person();
    const start = await p.client.call<{ secret: string }>('POST', p.client.t('/api/me/totp'), {});
    const confirmCode = await generate({ secret: start.body.secret });
    expect(
      (await p.client.call('POST', p.client.t('/api/me/totp/confirm'), { code: confirmCode })).status,
    ).toBe(200);
    return { ...p, secret: start.body.secret };
  }

  it('refuses a TOTP code reused within its step', async () => {
    const { client, secret } = await withTotp();
    const code = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    expect((await client.call('POST', client.t('/auth/step-up/totp'), { code })).status).toBe(200);
    const again = await client.call('POST', client.t('/auth/step-up/totp'), { code });
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ code: 'invalid_code' });
  });

  it('caps a burst of parallel TOTP guesses: at most 5 are verified, the rest get 429', async () => {
    const { client } = await withTotp();
    const guesses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        client.call('POST', client.t('/auth/step-up/totp'), { code: String(100000 + i) }),
      ),
    );
    const verified = guesses.filter((g) => g.status === 401);
    const limited = guesses.filter((g) => g.status === 429);
    expect(verified.length).toBeLessThanOrEqual(5);
    expect(verified.length + limited.length).toBe(30);
    expect(limited[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
    // The cap locks TOTP only: the person's passkey still works.
    expect((await client.stepUpWithPasskey()).status).toBe(200);
  });

  it('refuses non-ASCII digits with 400 invalid_code_format', async () => {
    const { client } = await withTotp();
    for (const code of ['١٢٣٤٥٦', '１２３４５６', '12345６']) {
      const r = await client.call('POST', client.t('/auth/step-up/totp'), { code });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'invalid_code_format' });
    }
  });

  it('refuses a recovery code used twice', async () => {
    const { client, username } = await person();
    const codes = (await client.call<{ codes: string[] }>('POST', client.t('/api/me/recovery-codes'), {}))
      .body.codes;
    const a = new AuthClient(svc.url);
    expect((await a.call('POST', a.t('/auth/recovery'), { username, code: codes[0] })).status).toBe(200);
    const b = new AuthClient(svc.url);
    const reuse = await b.call('POST', b.t('/auth/recovery'), { username, code: codes[0] });
    expect(reuse.status).toBe(401);
    expect(reuse.body).toMatchObject({ code: 'invalid_code' });
  });

  it('answers recovery for an unknown username exactly as for a wrong code (no enumeration)', async () => {
    const { username } = await person();
    const c = new AuthClient(svc.url);
    const code = 'ABCD-EFGH-JKMN-PQRS';
    const known = await c.call('POST', c.t('/auth/recovery'), { username, code });
    const unknown = await c.call('POST', c.t('/auth/recovery'), { username: 'nobody-here', code });
    expect(known.status).toBe(401);
    expect(unknown.status).toBe(known.status);
    const strip = (b: Record<string, unknown>) => ({ ...b, instance: undefined, requestId: undefined });
    expect(strip(unknown.body)).toEqual(strip(known.body));
  });
});

describe('sessions and cross-site requests', () => {
  it('never promotes a session id planted before sign-in (session fixation)', async () => {
    const attacker = await person();
    const plantedToken = attacker.client.cookies.get('tg_session')!;
    const victim = await person();
    await victim.client.call('POST', victim.client.t('/auth/sign-out'), {});
    // The attacker plants their own (valid) session cookie, and a made-up one, in the victim's browser.
    for (const planted of [plantedToken, 'A'.repeat(43)]) {
      victim.client.cookies.set('tg_session', planted);
      const r = await victim.client.signIn();
      expect(r.status).toBe(200);
      expect(victim.client.cookies.get('tg_session')).not.toBe(planted);
    }
    // The planted token never reaches the victim's account: the browser's previous session ended.
    const probe = attacker.client.fork();
    probe.cookies.set('tg_session', plantedToken);
    expect((await probe.session()).status).toBe(401);
    const planted = await svc.service.store.db.session.findFirstOrThrow({
      where: { accountId: attacker.accountId, endReason: 'replaced' },
    });
    expect(planted.endedAt).not.toBeNull();
  });

  it('refuses state-changing requests from another site (Origin, Sec-Fetch-Site) with 403 cross_site_request', async () => {
    const { client } = await person();
    const evil = await client.call(
      'POST',
      client.t('/api/me/recovery-codes'),
      {},
      { origin: 'https://evil.example' },
    );
    expect(evil.status).toBe(403);
    expect(evil.body).toMatchObject({ code: 'cross_site_request' });
    const nullOrigin = await client.call('POST', client.t('/auth/sign-out'), {}, { origin: 'null' });
    expect(nullOrigin.status).toBe(403);
    expect((await client.session()).status).toBe(200);
    expect(
      await svc.service.store.db.recoveryCode.count({ where: { account: { username: `user${n}` } } }),
    ).toBe(0);
  });

  it('refuses a cross-site HTML form post (no JSON content type) before it runs', async () => {
    const { client } = await person();
    const res = await fetch(`${svc.url}${client.t('/api/me/recovery-codes')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: client.cookieHeader() },
      body: 'a=1',
    });
    expect(res.status).toBe(415);
    const sameSiteForm = await fetch(`${svc.url}${client.t('/api/me/recovery-codes')}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: client.cookieHeader(),
        'sec-fetch-site': 'cross-site',
      },
      body: '{}',
    });
    expect(sameSiteForm.status).toBe(403);
  });

  it('sets the session cookie HttpOnly and SameSite=Lax', async () => {
    const c = new AuthClient(svc.url);
    const options = await c.registrationOptions(`cookie${++n}`);
    const res = await fetch(`${svc.url}${c.t('/auth/sign-up/verify')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: c.origin, cookie: c.cookieHeader() },
      body: JSON.stringify({ response: c.register(options.body.options) }),
    });
    const cookie = res.headers.getSetCookie().find((l) => l.startsWith('tg_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
  });

  it('ends an idle session', async () => {
    const { client } = await person();
    await svc.service.store.db.session.updateMany({
      where: { endedAt: null, account: { username: `user${n}` } },
      data: { idleExpiresAt: new Date(Date.now() - 1000) },
    });
    expect((await client.session()).status).toBe(401);
    const row = await svc.service.store.db.session.findFirst({
      where: { account: { username: `user${n}` } },
    });
    expect(row?.endReason).toBe('idle_timeout');
  });
});

describe('per-account limits', () => {
  it('limits step-ups per account and factor: the 31st passkey step-up in 5 minutes gets 429, TOTP still works', async () => {
    const { client } = await person();
    const start = await client.call<{ secret: string }>('POST', client.t('/api/me/totp'), {});
    await client.call('POST', client.t('/api/me/totp/confirm'), {
      code: await generate({ secret: start.body.secret }),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await client.stepUpWithPasskey()).status);
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses[30]).toBe(429);
    const code = await generate({ secret: start.body.secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    expect((await client.call('POST', client.t('/auth/step-up/totp'), { code })).status).toBe(200);
  });
});

describe('rate limits', () => {
  let limited: TestService;
  beforeAll(async () => {
    limited = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(async () => {
    await limited?.destroy();
  });

  it('limits sign-in attempts per IP address with 429 and Retry-After', async () => {
    const c = new AuthClient(limited.url);
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await c.signInOptions());
    expect(answers.slice(0, 5).every((a) => a.status === 200)).toBe(true);
    expect(answers[5]!.status).toBe(429);
    expect(answers[5]!.body).toMatchObject({ code: 'too_many_requests' });
    expect(answers[5]!.headers.get('retry-after')).toBe('60');
  });
});
