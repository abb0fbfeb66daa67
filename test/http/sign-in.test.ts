/**
 * Sign-in flows over HTTP with a software authenticator: sign up (account + DID + passkey + session),
 * sign out, sign in, DID sign-in, step up, factors, sessions, recovery.
 */
import { createJWT } from 'did-jwt';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import { didKeyHolder } from '../helpers/did-key.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000' });
});
afterAll(async () => {
  await svc?.destroy();
});

const AAL2 = 'http://idmanagement.gov/ns/assurance/aal/2';

describe('sign up with a passkey', () => {
  it('creates the account with its own did:ethr, stores the passkey and opens an AAL2 phishing-resistant session', async () => {
    const client = new AuthClient(svc.url);
    const r = await client.signUp('ada');
    expect(r.status).toBe(201);
    const account = r.body.account as { did: string; username: string };
    expect(account.did).toMatch(/^did:ethr:0x7a69:0x[0-9a-f]{40}$/);
    expect(account.username).toBe('ada');
    const session = r.body.session as Record<string, unknown>;
    expect(session).toMatchObject({ aal: 2, acr: 'phr', phr: true, phrh: false, factors: ['passkey'] });
    expect(session.amr).toEqual(['mfa', 'swk', 'user']);
    expect(client.cookies.has('tg_session')).toBe(true);
    const passkeys = await svc.service.store.db.passkey.findMany({
      where: { account: { did: account.did } },
    });
    expect(passkeys).toHaveLength(1);
    expect(passkeys[0]).toMatchObject({ fmt: 'none', attestationTrusted: false, hardwareBound: false });
    const me = await client.session();
    expect(me.status).toBe(200);
    expect(me.body.account.did).toBe(account.did);
  });

  it('refuses a taken username with 409 username_taken, and a malformed one with 400', async () => {
    const client = new AuthClient(svc.url);
    expect((await client.signUp('grace')).status).toBe(201);
    const again = await new AuthClient(svc.url).registrationOptions('Grace');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'username_taken' });
    const bad = await new AuthClient(svc.url).registrationOptions('a b');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_username' });
  });

  it('stores the session token only as a hash', async () => {
    const client = new AuthClient(svc.url);
    await client.signUp('hashcheck');
    const token = client.cookies.get('tg_session')!;
    const rows = await svc.service.store.db.session.findMany({ where: { id: token } });
    expect(rows).toHaveLength(0);
  });
});

describe('sign out and sign in', () => {
  it('signs out (the old cookie stops working) and signs in again with the passkey, with a new session id', async () => {
    const client = new AuthClient(svc.url);
    await client.signUp('linus');
    const before = client.cookies.get('tg_session')!;
    const out = await client.call('POST', client.t('/auth/sign-out'), {});
    expect(out.status).toBe(204);
    expect(client.cookies.has('tg_session')).toBe(false);
    const stale = client.fork();
    stale.cookies.set('tg_session', before);
    expect((await stale.session()).status).toBe(401);

    const r = await client.signIn();
    expect(r.status).toBe(200);
    expect((r.body.account as { username: string }).username).toBe('linus');
    expect(client.cookies.get('tg_session')).not.toBe(before);
    expect((await client.session()).body.session).toMatchObject({ aal: 2, acr: 'phr' });
  });

  it('records a signin.succeeded event with the assurance reached', async () => {
    const client = new AuthClient(svc.url);
    const up = await client.signUp('events');
    await client.signIn();
    const events = await svc.service.store.db.securityEvent.findMany({
      where: { accountId: (up.body.account as { id: string }).id },
      orderBy: { createdAt: 'asc' },
    });
    expect(events.map((e) => e.type)).toEqual(['signup.succeeded', 'signin.succeeded']);
    expect(JSON.parse(events[1]!.detail)).toMatchObject({ aal: 2, factors: ['passkey'], decision: 'allow' });
  });
});

describe('DID sign-in', () => {
  it('signs in an account created with a DID (amr pop, AAL1)', async () => {
    const key = didKeyHolder('ed25519');
    // An account whose DID is linked: create a managed account then link the did:key.
    const client = new AuthClient(svc.url);
    const up = await client.signUp('didholder');
    const account = up.body.account as { id: string; did: string };
    await svc.service.store.db.linkedDid.create({
      data: {
        tenantId: (await svc.service.store.db.account.findUniqueOrThrow({ where: { id: account.id } }))
          .tenantId,
        accountId: account.id,
        did: key.did,
      },
    });
    const fresh = new AuthClient(svc.url);
    const challenge = await fresh.call<{ nonce: string; audience: string }>(
      'POST',
      fresh.t('/auth/did/challenge'),
      {},
    );
    expect(challenge.status).toBe(200);
    const jwt = await createJWT(
      { nonce: challenge.body.nonce, aud: challenge.body.audience, exp: Math.floor(Date.now() / 1000) + 60 },
      { issuer: key.did, signer: key.signer },
      { alg: key.alg },
    );
    const r = await fresh.call('POST', fresh.t('/auth/did/verify'), { nonce: challenge.body.nonce, jwt });
    expect(r.body).toMatchObject({ session: { aal: 1 } });
    expect(r.status).toBe(200);
    expect(r.body.session).toMatchObject({ aal: 1, factors: ['did'], phr: false });
    expect((r.body.session as { amr: string[] }).amr).toEqual(['pop', 'swk']);
  });
});

describe('step up and factors', () => {
  it('enrols TOTP (secret, otpauth URI, SVG QR), steps up with it to AAL2 with mfa, and rotates the session id', async () => {
    const client = new AuthClient(svc.url);
    await client.signUp('totpuser');
    const start = await client.call<{ secret: string; uri: string; qrSvg: string }>(
      'POST',
      client.t('/api/me/totp'),
      {},
    );
    expect(start.status).toBe(200);
    expect(start.headers.get('cache-control')).toBe('no-store');
    expect(start.body.uri).toMatch(/^otpauth:\/\/totp\//);
    expect(start.body.qrSvg).toContain('<svg');
    const confirm = await client.call('POST', client.t('/api/me/totp/confirm'), {
      code: await generate({ secret: start.body.secret }),
    });
    expect(confirm.status).toBe(200);
    const factors = await client.call<{ totp: { confirmed: boolean } }>('GET', client.t('/api/me/factors'));
    expect(factors.body.totp.confirmed).toBe(true);

    const before = client.cookies.get('tg_session');
    // The confirming code's step is used: the next step's code is needed. Wait for it only if needed.
    const code = await generate({ secret: start.body.secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const up = await client.call('POST', client.t('/auth/step-up/totp'), { code });
    expect(up.status).toBe(200);
    expect(up.body.session).toMatchObject({ aal: 2, factors: ['passkey', 'totp'] });
    expect((up.body.session as { amr: string[] }).amr).toContain('otp');
    expect(client.cookies.get('tg_session')).not.toBe(before);
    const stale = client.fork();
    stale.cookies.set('tg_session', before!);
    expect((await stale.session()).status).toBe(401);
  });

  it('asks for step-up (RFC 9470) before removing a factor when the sign-in is not recent, then allows it', async () => {
    const client = new AuthClient(svc.url);
    await client.signUp('remover');
    const second = await client.addPasskey('Second', {}, new SoftAuthenticator());
    expect(second.status).toBe(201);
    const id = (second.body as { id: string }).id;
    // Age the session's last authentication past five minutes.
    await svc.service.store.db.session.updateMany({
      where: { endedAt: null, account: { username: 'remover' } },
      data: { authTime: new Date(Date.now() - 10 * 60_000) },
    });
    const refused = await client.call('DELETE', client.t(`/api/me/passkeys/${id}`));
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'insufficient_user_authentication' });
    const challenge = refused.headers.get('www-authenticate')!;
    expect(challenge).toContain('error="insufficient_user_authentication"');
    expect(challenge).toContain(`acr_values="${AAL2}"`);
    expect(challenge).toContain('max_age=300');

    expect((await client.stepUpWithPasskey()).status).toBe(200);
    const removed = await client.call('DELETE', client.t(`/api/me/passkeys/${id}`));
    expect(removed.status).toBe(204);
    const factors = await client.call<{ passkeys: unknown[] }>('GET', client.t('/api/me/factors'));
    expect(factors.body.passkeys).toHaveLength(1);
  });

  it('refuses to remove the last passkey (409 last_passkey)', async () => {
    const client = new AuthClient(svc.url);
    await client.signUp('lastone');
    const factors = await client.call<{ passkeys: Array<{ id: string }> }>(
      'GET',
      client.t('/api/me/factors'),
    );
    const r = await client.call('DELETE', client.t(`/api/me/passkeys/${factors.body.passkeys[0]!.id}`));
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'last_passkey' });
  });

  it('ends every other session when a factor changes', async () => {
    const laptop = new AuthClient(svc.url);
    await laptop.signUp('twodevices');
    const phone = laptop.fork();
    expect((await phone.signIn()).status).toBe(200);
    expect((await phone.session()).status).toBe(200);
    const codes = await laptop.call<{ codes: string[] }>('POST', laptop.t('/api/me/recovery-codes'), {});
    expect(codes.status).toBe(200);
    expect((await phone.session()).status).toBe(401);
    expect((await laptop.session()).status).toBe(200);
  });

  it('lists my sessions and ends one of them', async () => {
    const a = new AuthClient(svc.url);
    await a.signUp('sessions');
    const b = a.fork();
    await b.signIn();
    const list = await a.call<{ sessions: Array<{ id: string; current: boolean }> }>(
      'GET',
      a.t('/api/me/sessions'),
    );
    expect(list.body.sessions).toHaveLength(2);
    const other = list.body.sessions.find((s) => !s.current)!;
    expect((await a.call('DELETE', a.t(`/api/me/sessions/${other.id}`))).status).toBe(204);
    expect((await b.session()).status).toBe(401);
    expect((await a.call('DELETE', a.t(`/api/me/sessions/${other.id}`))).status).toBe(404);
  });
});

describe('recovery', () => {
  it('signs in with a recovery code, ends other sessions, asks for a new passkey, and clears the prompt once one is enrolled', async () => {
    const old = new AuthClient(svc.url);
    await old.signUp('recoverme');
    const codes = (await old.call<{ codes: string[] }>('POST', old.t('/api/me/recovery-codes'), {})).body
      .codes;
    expect(codes).toHaveLength(10);

    const lost = new AuthClient(svc.url);
    const r = await lost.call('POST', lost.t('/auth/recovery'), { username: 'recoverme', code: codes[3] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ next: 'enrol_passkey', session: { aal: 1, mustEnrolPasskey: true } });
    expect((await old.session()).status).toBe(401);

    const added = await lost.addPasskey('New phone', {}, new SoftAuthenticator());
    expect(added.status).toBe(201);
    expect((await lost.session()).body.session).toMatchObject({ mustEnrolPasskey: false });
  });
});
