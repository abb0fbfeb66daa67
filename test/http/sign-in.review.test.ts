/**
 * Regression tests for the sign-in security review: a new factor never counts as a recent proof; two
 * "something you have" factors stay AAL1; concurrent removals keep a passkey; accounts made by DID can
 * add a passkey; a registered credential cannot be registered again; a demanded step-up holds the
 * session back; step-ups expire; a suspected clone is contained; strangers cannot lock a person out
 * of recovery; IPv6 addresses are limited by /64.
 */
import { createJWT } from 'did-jwt';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressKey } from '../../src/flows/auth-context.ts';
import { storePasskey } from '../../src/flows/enrol-factor.ts';
import type { DecisionPoint } from '../../src/policy/decision.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { didKeyHolder } from '../helpers/did-key.ts';
import {
  freshPostgresUrl,
  startTestService,
  TEST_POSTGRES_URL,
  type TestService,
} from '../helpers/service.ts';
import { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';

/** Accounts whose DID sign-ins the test decision point sends to step up. */
const demandStepUp = new Set<string>();

/** Demands AAL2 of some accounts' DID sign-ins (a stand-in for the risk engine), allows the rest. */
const stepUpDidSignIns: DecisionPoint = {
  decide: async (attempt) =>
    attempt.action === 'sign_in' && demandStepUp.has(attempt.accountId ?? '') && attempt.assurance.aal < 2
      ? { outcome: 'step_up', required: { aal: 2 }, reasons: ['test.did_needs_aal2'] }
      : { outcome: 'allow', reasons: [] },
};

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService(
    { AUTH_RATE_LIMIT_PER_MINUTE: '100000', TRUST_PROXY: 'loopback' },
    { decisions: stepUpDidSignIns },
  );
});
afterAll(async () => {
  await svc?.destroy();
});

let n = 0;
async function person(options: ConstructorParameters<typeof SoftAuthenticator>[0] = {}) {
  const username = `review${++n}`;
  const client = new AuthClient(svc.url, new SoftAuthenticator(options));
  const r = await client.signUp(username);
  expect(r.status).toBe(201);
  return { client, username, accountId: (r.body.account as { id: string }).id };
}

const ageSessions = (accountId: string, minutes = 10) =>
  svc.service.store.db.session.updateMany({
    where: { accountId, endedAt: null },
    data: { authTime: new Date(Date.now() - minutes * 60_000) },
  });

async function enrolTotp(client: AuthClient) {
  const start = await client.call<{ secret: string }>('POST', client.t('/api/me/totp'), {});
  expect(start.status).toBe(200);
  const code = await generate({ secret: start.body.secret });
  expect((await client.call('POST', client.t('/api/me/totp/confirm'), { code })).status).toBe(200);
  return start.body.secret;
}

describe('a new factor is never the recent proof', () => {
  it('asks for step-up before adding a passkey or TOTP to a session whose last proof is old', async () => {
    const { client, accountId } = await person();
    await ageSessions(accountId);
    const options = await client.call('POST', client.t('/api/me/passkeys/options'), {});
    expect(options.status).toBe(401);
    expect(options.body).toMatchObject({ code: 'insufficient_user_authentication' });
    expect((await client.call('POST', client.t('/api/me/totp'), {})).status).toBe(401);
  });

  it('does not refresh the session’s auth_time with a newly added passkey', async () => {
    const { client, accountId } = await person();
    const added = await client.addPasskey('Key 2', {}, new SoftAuthenticator());
    expect(added.status).toBe(201);
    await ageSessions(accountId);
    const factors = await client.call<{ passkeys: Array<{ id: string; name: string }> }>(
      'GET',
      client.t('/api/me/factors'),
    );
    const original = factors.body.passkeys.find((p) => p.name !== 'Key 2')!;
    const r = await client.call('DELETE', client.t(`/api/me/passkeys/${original.id}`));
    expect(r.status).toBe(401);
  });
});

describe('assurance counts factor types, not factors', () => {
  it('keeps a recovery-code session stepped up with TOTP at AAL1 (both are something you have)', async () => {
    const { client, username } = await person();
    const secret = await enrolTotp(client);
    const codes = (await client.call<{ codes: string[] }>('POST', client.t('/api/me/recovery-codes'), {}))
      .body.codes;
    const lost = new AuthClient(svc.url);
    expect((await lost.call('POST', lost.t('/auth/recovery'), { username, code: codes[0] })).status).toBe(
      200,
    );
    const code = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const up = await lost.call('POST', lost.t('/auth/step-up/totp'), { code });
    expect(up.status).toBe(200);
    expect(up.body.session).toMatchObject({ aal: 1 });
    expect((up.body.session as { amr: string[] }).amr).not.toContain('mfa');
    // AAL1 cannot remove the person's passkeys.
    const factors = await lost.call<{ passkeys: Array<{ id: string }> }>('GET', lost.t('/api/me/factors'));
    expect(
      (await lost.call('DELETE', lost.t(`/api/me/passkeys/${factors.body.passkeys[0]!.id}`))).status,
    ).toBe(401);
  });
});

describe('passkey registration edge cases', () => {
  it('lets an account created by DID add its first passkey (a user handle is made on first use)', async () => {
    const holder = didKeyHolder('ed25519');
    const api = await fetch(`${svc.url}/t/default/api/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const created = (await api.json()) as { account: { id: string } };
    const tenantId = (await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
    await svc.service.store.db.linkedDid.create({
      data: { tenantId, accountId: created.account.id, did: holder.did },
    });
    const client = new AuthClient(svc.url);
    const challenge = await client.call<{ nonce: string; audience: string }>(
      'POST',
      client.t('/auth/did/challenge'),
      {},
    );
    const jwt = await createJWT(
      { nonce: challenge.body.nonce, aud: challenge.body.audience, exp: Math.floor(Date.now() / 1000) + 60 },
      { issuer: holder.did, signer: holder.signer },
      { alg: holder.alg },
    );
    const signedIn = await client.call('POST', client.t('/auth/did/verify'), {
      nonce: challenge.body.nonce,
      jwt,
    });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toMatchObject({ session: { aal: 1, pending: null } });
    const added = await client.addPasskey('First');
    expect(added.status).toBe(201);
    const session = await client.session();
    expect(session.body.session).toMatchObject({ aal: 2, phr: true });
  });

  it('answers a credential id that is already registered with 409 credential_exists, not a 500', async () => {
    const first = await person();
    const second = await person();
    const taken = await svc.service.store.db.passkey.findFirstOrThrow({
      where: { accountId: first.accountId },
    });
    const account = await svc.service.store.db.account.findUniqueOrThrow({ where: { id: second.accountId } });
    const attempt = svc.service.store.tx((tx) =>
      storePasskey(tx, account, {
        credentialId: taken.credentialId,
        publicKey: new Uint8Array(taken.publicKey),
        counter: 0,
        transports: [],
        attestation: {
          fmt: 'none',
          aaguid: taken.aaguid,
          trusted: false,
          backupEligible: false,
          backedUp: false,
          hardwareBound: false,
        },
      }),
    );
    await expect(attempt).rejects.toMatchObject({ code: 'credential_exists', status: 409 });
    expect(await svc.service.store.db.passkey.count({ where: { accountId: second.accountId } })).toBe(1);
  });
});

describe('a demanded step-up', () => {
  it('holds a DID sign-in back until the person steps up with a passkey, then lets it through', async () => {
    const { client, accountId } = await person();
    const holder = didKeyHolder('p256');
    const tenantId = (await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
    await svc.service.store.db.linkedDid.create({ data: { tenantId, accountId, did: holder.did } });
    demandStepUp.add(accountId);
    const browser = client.fork();
    const challenge = await browser.call<{ nonce: string; audience: string }>(
      'POST',
      browser.t('/auth/did/challenge'),
      {},
    );
    const jwt = await createJWT(
      { nonce: challenge.body.nonce, aud: challenge.body.audience, exp: Math.floor(Date.now() / 1000) + 60 },
      { issuer: holder.did, signer: holder.signer },
      { alg: holder.alg },
    );
    const r = await browser.call('POST', browser.t('/auth/did/verify'), { nonce: challenge.body.nonce, jwt });
    expect(r.body).toMatchObject({ next: 'step_up', session: { pending: { aal: 2 } } });
    const blocked = await browser.call('GET', browser.t('/api/me/sessions'));
    expect(blocked.status).toBe(401);
    expect(blocked.headers.get('www-authenticate')).toContain('insufficient_user_authentication');
    const up = await browser.stepUpWithPasskey();
    expect(up.status).toBe(200);
    expect(up.body.session).toMatchObject({ aal: 2, pending: null });
    expect((await browser.call('GET', browser.t('/api/me/sessions'))).status).toBe(200);
  });
});

describe('step-up expiry', () => {
  it('drops a session back to its sign-in level once the step-up window has passed', async () => {
    const { client, accountId } = await person({ backupEligible: true });
    const secret = await enrolTotp(client);
    const code = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const up = await client.call('POST', client.t('/auth/step-up/totp'), { code });
    expect((up.body.session as { amr: string[] }).amr).toContain('otp');
    // Move the step-up's proof time back past the tenant's window (15 minutes by default).
    const row = await svc.service.store.db.session.findFirstOrThrow({ where: { accountId, endedAt: null } });
    const proofs = JSON.parse(row.factors) as Array<{ elevated?: boolean; at?: number }>;
    for (const p of proofs) if (p.elevated) p.at = Date.now() - 16 * 60_000;
    await svc.service.store.db.session.update({
      where: { id: row.id },
      data: { factors: JSON.stringify(proofs) },
    });
    const after = await client.session();
    expect(after.status).toBe(200);
    expect((after.body.session as { amr: string[] }).amr).not.toContain('otp');
    expect(after.body.session).toMatchObject({ factors: ['passkey'] });
  });
});

describe('suspected clones', () => {
  it('disables the passkey and ends the sessions it opened', async () => {
    const { client, accountId } = await person();
    const other = client.fork();
    expect((await other.signIn()).status).toBe(200);
    const credential = client.authenticator.credentials[0]!;
    client.authenticator.setCounter(credential.id, 0);
    const clone = client.fork();
    expect((await clone.signIn()).body).toMatchObject({ code: 'suspected_clone' });
    expect((await other.session()).status).toBe(401);
    const passkey = await svc.service.store.db.passkey.findFirstOrThrow({ where: { accountId } });
    expect(passkey.status).toBe('disabled');
    client.authenticator.setCounter(credential.id, 100);
    expect((await client.fork().signIn()).body).toMatchObject({ code: 'credential_disabled' });
  });
});

describe('recovery limits', () => {
  it('never lets a stranger elsewhere lock a person out of recovery', async () => {
    const { client, username } = await person();
    const codes = (await client.call<{ codes: string[] }>('POST', client.t('/api/me/recovery-codes'), {}))
      .body.codes;
    const stranger = new AuthClient(svc.url);
    const answers: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await stranger.call(
        'POST',
        stranger.t('/auth/recovery'),
        { username, code: 'ABCD-EFGH-JKMN-PQRS' },
        { 'x-forwarded-for': '203.0.113.5' },
      );
      answers.push(r.status);
    }
    expect(answers.slice(0, 5).every((s) => s === 401)).toBe(true);
    expect(answers.at(-1)).toBe(429);
    const owner = new AuthClient(svc.url);
    const r = await owner.call(
      'POST',
      owner.t('/auth/recovery'),
      { username, code: codes[0] },
      { 'x-forwarded-for': '198.51.100.7' },
    );
    expect(r.status).toBe(200);
  });

  it('keys IPv6 addresses by their /64', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb::2'));
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
  });
});

describe('concurrent removals (PostgreSQL)', () => {
  if (!TEST_POSTGRES_URL) {
    it.skip('PostgreSQL concurrent-removal test skipped: TEST_POSTGRES_URL not set', () => {});
    return;
  }
  let pg: TestService;
  let db: ReturnType<typeof freshPostgresUrl>;
  beforeAll(async () => {
    db = freshPostgresUrl();
    pg = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000', DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await pg?.destroy();
    await db?.drop();
  });

  it('keeps at least one passkey when both are removed at once', async () => {
    for (let round = 0; round < 5; round++) {
      const client = new AuthClient(pg.url);
      expect((await client.signUp(`race${round}`)).status).toBe(201);
      expect((await client.addPasskey('Second', {}, new SoftAuthenticator())).status).toBe(201);
      const factors = await client.call<{ passkeys: Array<{ id: string }> }>(
        'GET',
        client.t('/api/me/factors'),
      );
      const results = await Promise.all(
        factors.body.passkeys.map((p) => client.call('DELETE', client.t(`/api/me/passkeys/${p.id}`))),
      );
      expect(results.map((r) => r.status).sort()).toEqual([204, 409]);
    }
  });
});
