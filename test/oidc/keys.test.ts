/**
 * A tenant's OpenID Connect keys (src/oidc/keys.ts) on SQLite and PostgreSQL: the first load makes a
 * current and a next key for ES256, EdDSA, RS256 and cookies; rotation promotes the published next
 * key, keeps the old current published as previous and retires the one before; concurrent loads and
 * rotations (several instances) end with exactly one current key per algorithm; private parts are
 * sealed; a token signed before a rotation still verifies after it, at the unit and at the service.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, type JWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KeyRing, masterKeyFrom } from '../../src/crypto/envelope.ts';
import { OidcKeys, oidcKeyContext, SIGNING_ALGS, type TenantKeySet } from '../../src/oidc/keys.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { makeClient, rpConfig, signInToApp } from '../helpers/oidc.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { type StoreWiring, storeWirings, useMigratedStore } from '../helpers/stores.ts';

const DAY_MS = 86_400_000;
const ROTATION_MS = 90 * DAY_MS;
const ALGS = [...SIGNING_ALGS.map((alg) => ({ use: 'sig', alg })), { use: 'cookie', alg: 'HS256' }];

/** A clock the test moves by hand. */
function clock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let nowMs = start;
  return {
    now: () => nowMs,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

/** The public half of a private JWK (what a verifier sees). */
function publicJwk(jwk: Record<string, unknown>): JWK {
  const { kid, alg, use } = jwk as { kid: string; alg: string; use: string };
  const pub = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ format: 'jwk' }) as JWK;
  return { ...pub, kid, alg, use };
}

const publicJwks = (set: TenantKeySet) => ({ keys: set.jwks.keys.map(publicJwk) });

function keysSuite(wiring: StoreWiring) {
  describe(`OIDC keys on ${wiring.name}`, () => {
    const w = useMigratedStore(wiring);
    const ring = new KeyRing(masterKeyFrom(randomBytes(32)));
    const others: Store[] = [];

    /**
     * What another instance would use: its own connection pool on PostgreSQL. SQLite is the
     * single-instance mode (better-sqlite3 blocks the event loop while it waits for a lock, so two
     * connections in one process deadlock): there the concurrency is two loads on one store.
     */
    async function otherInstanceStore(): Promise<Store> {
      if (wiring.name === 'SQLite') return w.store;
      const store = await openStore({ url: w.url });
      others.push(store);
      return store;
    }
    afterAll(async () => {
      await Promise.all(others.map((s) => s.close()));
    });

    let n = 0;
    async function newTenant(): Promise<string> {
      const t = await w.store.db.tenant.create({
        data: { slug: `keys-${wiring.name.toLowerCase()}-${++n}`, displayName: 'Keys' },
      });
      return t.id;
    }

    const keysFor = (now: () => number, store = w.store) =>
      new OidcKeys({ store, keys: ring, rotationMs: ROTATION_MS, now });

    const rowsOf = (tenantId: string) =>
      w.store.db.oidcKey.findMany({ where: { tenantId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });

    /** `{ 'sig/ES256': { current: [ids], next: [ids], … }, … }` */
    async function statesOf(tenantId: string) {
      const out: Record<string, Record<string, string[]>> = {};
      for (const r of await rowsOf(tenantId)) {
        const key = `${r.use}/${r.alg}`;
        const byState = out[key] ?? {};
        byState[r.state] = [...(byState[r.state] ?? []), r.id];
        out[key] = byState;
      }
      return out;
    }

    it('makes a current and a next key for ES256, EdDSA, RS256 and cookies on first load', async () => {
      const tenantId = await newTenant();
      const t = clock();
      const set = await keysFor(t.now).load(tenantId);
      const states = await statesOf(tenantId);
      for (const { use, alg } of ALGS) {
        expect(states[`${use}/${alg}`]?.current, `${use}/${alg}`).toHaveLength(1);
        expect(states[`${use}/${alg}`]?.next, `${use}/${alg}`).toHaveLength(1);
        expect(states[`${use}/${alg}`]?.previous).toBeUndefined();
      }
      // Both signing keys of every algorithm are published, the current ES256 key first (it signs).
      expect(set.jwks.keys).toHaveLength(6);
      expect(set.jwks.keys[0]).toMatchObject({ alg: 'ES256', kid: states['sig/ES256']!.current![0] });
      expect(set.jwks.keys.map((k) => k.alg).sort()).toEqual([
        'ES256',
        'ES256',
        'EdDSA',
        'EdDSA',
        'RS256',
        'RS256',
      ]);
      expect(new Set(set.jwks.keys.map((k) => k.kid)).size).toBe(6);
      expect(set.cookieKeys).toHaveLength(2);
      // A second load changes nothing.
      const again = await keysFor(t.now).load(tenantId);
      expect(again.fingerprint).toBe(set.fingerprint);
      expect(await rowsOf(tenantId)).toHaveLength(8);
    });

    it('promotes the published next key after the rotation period, keeps the old one as previous, retires the one before', async () => {
      const tenantId = await newTenant();
      const t = clock();
      const first = await keysFor(t.now).load(tenantId);
      const gen1 = await statesOf(tenantId);

      t.advance(ROTATION_MS - 1_000);
      expect((await keysFor(t.now).load(tenantId)).fingerprint).toBe(first.fingerprint);

      t.advance(1_000);
      const second = await keysFor(t.now).load(tenantId);
      const gen2 = await statesOf(tenantId);
      for (const { use, alg } of ALGS) {
        const k = `${use}/${alg}`;
        // The next key, already published, now signs; the old current is still published.
        expect(gen2[k]!.current).toEqual(gen1[k]!.next);
        expect(gen2[k]!.previous).toEqual(gen1[k]!.current);
        expect(gen2[k]!.next).toHaveLength(1);
        expect(gen1[k]!.current).not.toContain(gen2[k]!.next![0]);
        expect(gen1[k]!.next).not.toContain(gen2[k]!.next![0]);
      }
      expect(first.jwks.keys.map((k) => k.kid)).toContain(gen2['sig/ES256']!.current![0]);
      expect(second.jwks.keys).toHaveLength(9);
      expect(second.jwks.keys[0]!.kid).toBe(gen2['sig/ES256']!.current![0]);
      // Cookies: the new current signs, the previous and next still verify.
      expect(second.cookieKeys).toHaveLength(3);
      expect(second.cookieKeys[0]).toBe(first.cookieKeys[1]);
      expect(second.cookieKeys).toContain(first.cookieKeys[0]);

      t.advance(ROTATION_MS);
      const third = await keysFor(t.now).load(tenantId);
      const gen3 = await statesOf(tenantId);
      for (const { use, alg } of ALGS) {
        const k = `${use}/${alg}`;
        expect(gen3[k]!.current).toEqual(gen2[k]!.next);
        expect(gen3[k]!.previous).toEqual(gen2[k]!.current);
        expect(gen3[k]!.retired).toEqual(gen1[k]!.current);
      }
      const published = third.jwks.keys.map((k) => k.kid);
      for (const retired of ALGS.filter((a) => a.use === 'sig').map(
        (a) => gen1[`sig/${a.alg}`]!.current![0]!,
      )) {
        expect(published).not.toContain(retired);
      }
      expect(third.cookieKeys).not.toContain(first.cookieKeys[0]);
      const retiredRow = await w.store.db.oidcKey.findUniqueOrThrow({
        where: { id: gen1['sig/ES256']!.current![0]! },
      });
      expect(retiredRow.retiredAt?.getTime()).toBe(t.now());
    });

    it('ends two concurrent rotations (two instances) with exactly one current key per algorithm', async () => {
      const tenantId = await newTenant();
      const t = clock();
      await keysFor(t.now).load(tenantId);
      const other = await otherInstanceStore();
      for (let round = 0; round < 3; round++) {
        t.advance(ROTATION_MS);
        const before = await statesOf(tenantId);
        const [a, b] = await Promise.all([
          keysFor(t.now).load(tenantId),
          keysFor(t.now, other).load(tenantId),
        ]);
        const after = await statesOf(tenantId);
        for (const { use, alg } of ALGS) {
          const k = `${use}/${alg}`;
          expect(after[k]!.current, `${k} round ${round}`).toHaveLength(1);
          expect(after[k]!.next, `${k} round ${round}`).toHaveLength(1);
          expect(after[k]!.previous, `${k} round ${round}`).toHaveLength(1);
          // Rotated once, not twice: the key published as next is the one that took over.
          expect(after[k]!.current).toEqual(before[k]!.next);
        }
        expect(a.fingerprint).toBe(b.fingerprint);
      }
    });

    it('ends two concurrent first loads of a new tenant (two instances) with one current and one next key per algorithm', async () => {
      for (let round = 0; round < 3; round++) {
        const tenantId = await newTenant();
        const t = clock();
        const other = await otherInstanceStore();
        const [a, b] = await Promise.all([
          keysFor(t.now).load(tenantId),
          keysFor(t.now, other).load(tenantId),
        ]);
        const states = await statesOf(tenantId);
        for (const { use, alg } of ALGS) {
          const k = `${use}/${alg}`;
          expect(states[k]!.current, `${k} round ${round}`).toHaveLength(1);
          expect(states[k]!.next, `${k} round ${round}`).toHaveLength(1);
        }
        // Both instances sign with the same key.
        expect(a.jwks.keys[0]!.kid).toBe(states['sig/ES256']!.current![0]);
        expect(b.jwks.keys[0]!.kid).toBe(states['sig/ES256']!.current![0]);
        expect(a.cookieKeys[0]).toBe(b.cookieKeys[0]);
      }
    });

    it('stores private parts sealed under the master key, bound to tenant and row', async () => {
      const tenantId = await newTenant();
      const set = await keysFor(clock().now).load(tenantId);
      const rows = await rowsOf(tenantId);
      for (const jwk of set.jwks.keys) {
        const row = rows.find((r) => r.id === jwk.kid)!;
        const envelope = Buffer.from(row.envelope);
        const d = String(jwk.d);
        expect(d.length).toBeGreaterThan(20);
        expect(envelope.includes(Buffer.from(d))).toBe(false);
        expect(envelope.includes(Buffer.from(d, 'base64url'))).toBe(false);
        expect(envelope.includes(Buffer.from('"d"'))).toBe(false);
        expect(row.masterKeyId).toBe(ring.current.id);
        // Copied to another tenant or row, the envelope does not open.
        expect(() => ring.open(envelope, oidcKeyContext('another-tenant', row.id))).toThrow();
        expect(() => ring.open(envelope, oidcKeyContext(tenantId, 'another-row'))).toThrow();
      }
      for (const [i, row] of rows.filter((r) => r.use === 'cookie' && r.state === 'current').entries()) {
        const secret = Buffer.from(set.cookieKeys[i]!, 'base64url');
        expect(secret).toHaveLength(32);
        expect(Buffer.from(row.envelope).includes(secret)).toBe(false);
      }
    });

    it('verifies a token signed before a rotation with the JWKS after it, until its key retires', async () => {
      const tenantId = await newTenant();
      const t = clock();
      const before = await keysFor(t.now).load(tenantId);
      const signer = before.jwks.keys[0]!;
      expect(signer.alg).toBe('ES256');
      const token = await new SignJWT({ sub: 'someone' })
        .setProtectedHeader({ alg: 'ES256', kid: String(signer.kid) })
        .setIssuer('https://issuer.example')
        .sign(privateKeyOf(signer));

      t.advance(ROTATION_MS);
      const after = await keysFor(t.now).load(tenantId);
      const { payload } = await jwtVerify(token, createLocalJWKSet(publicJwks(after)), {
        issuer: 'https://issuer.example',
      });
      expect(payload.sub).toBe('someone');
      // The key that signs now was in the JWKS verifiers fetched before the rotation.
      expect(after.jwks.keys[0]!.kid).not.toBe(signer.kid);
      expect(publicJwks(before).keys.map((k) => k.kid)).toContain(after.jwks.keys[0]!.kid);

      t.advance(ROTATION_MS);
      const retired = await keysFor(t.now).load(tenantId);
      await expect(jwtVerify(token, createLocalJWKSet(publicJwks(retired)))).rejects.toMatchObject({
        code: 'ERR_JWKS_NO_MATCHING_KEY',
      });
    });
  });
}

/** The signing key of a private JWK from the key set. */
function privateKeyOf(jwk: Record<string, unknown>) {
  const { kid: _k, alg: _a, use: _u, ...key } = jwk;
  return createPrivateKey({ key: key as never, format: 'jwk' });
}

for (const wiring of storeWirings('OIDC keys')) keysSuite(wiring);

describe('key rotation at the service', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000', RISK_ENABLED: 'false' });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await svc?.destroy();
  });

  it('keeps an ID token signed before a rotation verifiable with the JWKS published after it', async () => {
    const issuer = `${svc.url}/t/default`;
    const browser = new AuthClient(svc.url);
    expect((await browser.signUp('rotating')).status).toBe(201);
    const { client, clientSecret } = await makeClient(svc.service);
    const config = await rpConfig(issuer, client.client_id, clientSecret);
    const jwksBefore = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: JWK[] };
    const { tokens: before } = await signInToApp(config, browser);
    const oldKid = decodeProtectedHeader(before.id_token!).kid;
    expect(jwksBefore.keys.map((k) => k.kid)).toContain(oldKid);

    // The current keys are due (as if the rotation period had passed); the provider notices at its
    // next key check, which this instance makes a minute after the last one.
    const tenant = await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } });
    await svc.service.store.db.oidcKey.updateMany({
      where: { tenantId: tenant.id, state: 'current' },
      data: { activatedAt: new Date(Date.now() - 91 * DAY_MS) },
    });
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 61_000);

    const jwksAfter = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: JWK[] };
    expect(jwksAfter.keys.every((k) => k.d === undefined)).toBe(true);
    expect(jwksAfter.keys.map((k) => k.kid)).toContain(oldKid);
    const { payload } = await jwtVerify(before.id_token!, createLocalJWKSet(jwksAfter), {
      issuer,
      audience: client.client_id,
      currentDate: new Date(realNow()),
    });
    expect(payload.sub).toBeTruthy();

    // A new sign-in is signed by the key that was published as next before the rotation.
    const { tokens: after } = await signInToApp(config, browser);
    const newKid = decodeProtectedHeader(after.id_token!).kid;
    expect(newKid).not.toBe(oldKid);
    expect(jwksBefore.keys.map((k) => k.kid)).toContain(newKid);
    await jwtVerify(after.id_token!, createLocalJWKSet(jwksAfter), {
      issuer,
      currentDate: new Date(realNow() + 61_000),
    });
    vi.restoreAllMocks();
  });
});
