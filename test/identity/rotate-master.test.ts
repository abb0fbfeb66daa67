/**
 * Master key rotation (`npm run keys:rotate-master`): every private key, secret and TOTP secret sealed under the old
 * key is re-sealed under the new one, after which the old key is no longer needed; a second run is a
 * no-op; a row rewritten concurrently is never clobbered; rows under an unknown key are reported, not lost.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generate } from 'otplib';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { EnvelopeError, KeyRing, masterKeyFrom } from '../../src/crypto/envelope.ts';
import { loadKeyRing } from '../../src/crypto/master-key.ts';
import { getOrCreateSecret, readSecret } from '../../src/crypto/secrets.ts';
import { TotpFactor } from '../../src/factors/totp.ts';
import { rotateMasterKey } from '../../src/identity/keys-rotation.ts';
import { PrismaPrivateKeyStore } from '../../src/identity/veramo-stores.ts';
import { createLogger } from '../../src/log.ts';
import { OidcKeys } from '../../src/oidc/keys.ts';
import { fromRoot } from '../../src/paths.ts';
import { ssfStreamContext } from '../../src/ssf/streams.ts';
import { MemoryState } from '../../src/state/memory.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { applyMigrations } from '../../src/store/migrate.ts';
import { type StoreWiring, storeWirings, useMigratedStore } from '../helpers/stores.ts';
import { tempDir } from '../helpers/tmp.ts';

const run = promisify(execFile);
const silent = createLogger({ level: 'silent' });
const hex = (n: number) => randomBytes(n).toString('hex');

/** Fills a fresh database with private keys and secrets sealed under `ring`. */
async function seed(store: Store, ring: KeyRing, count: number) {
  const pks = new PrismaPrivateKeyStore(store, ring);
  const privateKeys = new Map<string, string>();
  const secrets = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const privateKeyHex = hex(32);
    const { alias } = await pks.importKey({ type: 'Secp256k1', privateKeyHex });
    privateKeys.set(alias, privateKeyHex);
    const purpose = `test.${hex(4)}`;
    secrets.set(purpose, await getOrCreateSecret(store, ring, purpose, () => randomBytes(32)));
  }
  return { privateKeys, secrets };
}

async function expectReadableWith(store: Store, ring: KeyRing, seeded: Awaited<ReturnType<typeof seed>>) {
  const pks = new PrismaPrivateKeyStore(store, ring);
  for (const [alias, privateKeyHex] of seeded.privateKeys) {
    expect((await pks.getKey({ alias })).privateKeyHex).toBe(privateKeyHex);
  }
  for (const [purpose, value] of seeded.secrets)
    expect(await readSecret(store, ring, purpose)).toEqual(value);
}

function describeRotation(wiring: StoreWiring) {
  describe(`master key rotation: ${wiring.name}`, () => {
    const w = useMigratedStore(wiring);
    let store: Store;
    const oldKey = masterKeyFrom(randomBytes(32));
    const newKey = masterKeyFrom(randomBytes(32));
    const oldRing = new KeyRing(oldKey);
    const bothRing = new KeyRing(newKey, [oldKey]);
    const newOnly = new KeyRing(newKey);

    beforeAll(() => {
      store = w.store;
    });

    it('re-seals every row under the new key; afterwards the old key is no longer needed', async () => {
      const seeded = await seed(store, oldRing, 5);
      // Before: a ring without the old key cannot read the rows.
      const [firstAlias] = seeded.privateKeys.keys();
      await expect(new PrismaPrivateKeyStore(store, newOnly).getKey({ alias: firstAlias! })).rejects.toThrow(
        EnvelopeError,
      );
      // Instances restarted with both keys read envelopes under either.
      await expectReadableWith(store, bothRing, seeded);

      const result = await rotateMasterKey(store, bothRing);

      expect(result.privateKeys).toMatchObject({ resealed: 5, unreadable: 0 });
      expect(result.secrets).toMatchObject({ resealed: 5, unreadable: 0 });
      expect(result.remaining).toBe(0);
      expect(await store.db.privateKey.count({ where: { masterKeyId: { not: newKey.id } } })).toBe(0);
      expect(await store.db.secret.count({ where: { masterKeyId: { not: newKey.id } } })).toBe(0);
      await expectReadableWith(store, newOnly, seeded);
    });

    it('re-seals TOTP secrets too: the factor verifies with the new key alone', async () => {
      const tenant = await store.db.tenant.upsert({
        where: { slug: 'rotation' },
        create: { slug: 'rotation', displayName: 'Rotation' },
        update: {},
      });
      const account = await store.db.account.create({
        data: { tenantId: tenant.id, did: `did:ethr:0x7a69:0x${hex(20)}`, address: `0x${hex(20)}` },
      });
      const state = new MemoryState();
      const before = new TotpFactor({ store, keys: oldRing, state });
      const { secret } = await before.startEnrolment(account, 'Rotation');
      await before.confirmEnrolment(account, await generate({ secret }));

      const result = await rotateMasterKey(store, bothRing);
      expect(result.totpSecrets).toMatchObject({ resealed: 1, unreadable: 0 });
      expect(result.remaining).toBe(0);
      const after = new TotpFactor({ store, keys: newOnly, state });
      const next = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
      expect((await after.verify(account, next)).kind).toBe('totp');
    });

    it('re-seals OpenID Connect keys too: the key set loads with the new key alone', async () => {
      const tenant = await store.db.tenant.upsert({
        where: { slug: 'rotation-oidc' },
        create: { slug: 'rotation-oidc', displayName: 'Rotation OIDC' },
        update: {},
      });
      const rotationMs = 90 * 86_400_000;
      const before = await new OidcKeys({ store, keys: oldRing, rotationMs }).load(tenant.id);
      const result = await rotateMasterKey(store, bothRing);
      // ES256, EdDSA and RS256 signing keys and the cookie key, each current and next.
      expect(result.oidcKeys).toMatchObject({ resealed: 8, unreadable: 0 });
      expect(result.remaining).toBe(0);
      const after = await new OidcKeys({ store, keys: newOnly, rotationMs }).load(tenant.id);
      expect(after.jwks).toEqual(before.jwks);
      expect(after.cookieKeys).toEqual(before.cookieKeys);
    });

    it("re-seals Shared Signals receivers' authorization headers too", async () => {
      const tenant = await store.db.tenant.upsert({
        where: { slug: 'rotation-ssf' },
        create: { slug: 'rotation-ssf', displayName: 'Rotation SSF' },
        update: {},
      });
      const id = randomUUID();
      const header = Buffer.from('Bearer receiver-secret', 'utf8');
      await store.db.ssfStream.create({
        data: {
          id,
          tenantId: tenant.id,
          endpointUrl: 'https://receiver.example/events',
          masterKeyId: oldKey.id,
          authEnvelope: new Uint8Array(oldRing.seal(header, ssfStreamContext(tenant.id, id))),
        },
      });
      const result = await rotateMasterKey(store, bothRing);
      expect(result.ssfStreams).toMatchObject({ resealed: 1, unreadable: 0 });
      expect(result.remaining).toBe(0);
      const row = await store.db.ssfStream.findUniqueOrThrow({ where: { id } });
      expect(row.masterKeyId).toBe(newKey.id);
      expect(newOnly.open(row.authEnvelope!, ssfStreamContext(tenant.id, id)).toString('utf8')).toBe(
        'Bearer receiver-secret',
      );
    });

    it('is a no-op when run again', async () => {
      const before = await store.db.privateKey.findMany({ orderBy: { alias: 'asc' } });
      const result = await rotateMasterKey(store, bothRing);
      expect(result.privateKeys).toEqual({ resealed: 0, current: before.length, retried: 0, unreadable: 0 });
      expect(result.secrets.resealed).toBe(0);
      expect(result.remaining).toBe(0);
      expect(await store.db.privateKey.findMany({ orderBy: { alias: 'asc' } })).toEqual(before);
    });

    it('does not clobber a row rewritten between its read and its write', async () => {
      const seeded = await seed(store, oldRing, 2);
      const [alias] = seeded.privateKeys.keys();
      const [purpose] = seeded.secrets.keys();
      const rotatedKey = hex(32);
      const rotatedSecret = randomBytes(32);
      let interfered = 0;
      const result = await rotateMasterKey(store, bothRing, {
        beforeCompareAndSet: async (table, id) => {
          // A concurrent writer (still on the old key) replaces the very row being re-sealed, once each.
          if (table === 'PrivateKey' && id === alias && interfered === 0) {
            interfered++;
            await store.db.privateKey.update({
              where: { alias },
              data: {
                envelope: new Uint8Array(oldRing.seal(Buffer.from(rotatedKey, 'hex'), `privatekey:${alias}`)),
              },
            });
          }
          if (table === 'Secret' && interfered === 1) {
            const row = await store.db.secret.findUniqueOrThrow({ where: { id } });
            if (row.purpose !== purpose) return;
            interfered++;
            await store.db.secret.update({
              where: { id },
              data: { envelope: new Uint8Array(oldRing.seal(rotatedSecret, `secret:${purpose}`)) },
            });
          }
        },
      });
      expect(interfered).toBe(2);
      expect(result.privateKeys.retried).toBe(1);
      expect(result.secrets.retried).toBe(1);
      expect(result.remaining).toBe(0);
      // The concurrent writes won, and are now under the new key too.
      expect((await new PrismaPrivateKeyStore(store, newOnly).getKey({ alias: alias! })).privateKeyHex).toBe(
        rotatedKey,
      );
      expect(await readSecret(store, newOnly, purpose!)).toEqual(rotatedSecret);
    });

    it('reports rows under a key it does not hold, leaves them intact and re-seals the rest', async () => {
      const lost = new KeyRing(masterKeyFrom(randomBytes(32)));
      const orphan = await seed(store, lost, 1);
      const fresh = await seed(store, oldRing, 1);
      const [orphanAlias] = orphan.privateKeys.keys();
      const before = await store.db.privateKey.findUniqueOrThrow({ where: { alias: orphanAlias! } });

      const result = await rotateMasterKey(store, bothRing);

      expect(result.privateKeys).toMatchObject({ resealed: 1, unreadable: 1 });
      expect(result.secrets).toMatchObject({ resealed: 1, unreadable: 1 });
      expect(result.remaining).toBe(2);
      expect(await store.db.privateKey.findUniqueOrThrow({ where: { alias: orphanAlias! } })).toEqual(before);
      await expectReadableWith(store, newOnly, fresh);
      await expectReadableWith(store, lost, orphan);
      // Clean up so later tests see a fully rotated database.
      await store.db.privateKey.delete({ where: { alias: orphanAlias! } });
      await store.db.secret.deleteMany({ where: { purpose: { in: [...orphan.secrets.keys()] } } });
    });
  });
}

for (const wiring of storeWirings('rotation suite')) describeRotation(wiring);

describe('loadKeyRing (MASTER_KEY_PREVIOUS)', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const c = randomBytes(32);

  it('seals under MASTER_KEY and opens under any key in MASTER_KEY_PREVIOUS', () => {
    const ring = loadKeyRing(
      loadConfig({
        MASTER_KEY: a.toString('base64url'),
        MASTER_KEY_PREVIOUS: ` ${b.toString('hex')}, ${c.toString('base64url')} ,`,
      }),
      silent,
    );
    expect(ring.current.id).toBe(masterKeyFrom(a).id);
    for (const key of [b, c]) {
      const envelope = new KeyRing(masterKeyFrom(key)).seal(Buffer.from('x'), 'ctx');
      expect(ring.open(envelope, 'ctx').toString()).toBe('x');
    }
    expect(KeyRing.keyIdOf(ring.seal(Buffer.from('y'), 'ctx'))).toBe(masterKeyFrom(a).id);
  });

  it('refuses a malformed previous key without echoing it', () => {
    const bad = 'not-a-key-but-a-secret-value';
    const attempt = () =>
      loadKeyRing(loadConfig({ MASTER_KEY: a.toString('base64url'), MASTER_KEY_PREVIOUS: bad }), silent);
    expect(attempt).toThrow(/MASTER_KEY_PREVIOUS entry 1/);
    try {
      attempt();
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
    }
  });
});

describe('npm run keys:rotate-master', () => {
  it('re-seals a database from the command line, prints counts, and reports a clean second run', async () => {
    const dir = tempDir();
    try {
      const url = `file:${join(dir.path, 'cli.db')}`;
      await applyMigrations({ url });
      const oldKey = randomBytes(32);
      const newKey = randomBytes(32);
      const store = await openStore({ url });
      const seeded = await seed(store, new KeyRing(masterKeyFrom(oldKey)), 2);
      await store.close();

      const env = {
        ...process.env,
        NODE_ENV: 'test',
        DATA_DIR: dir.path,
        DATABASE_URL: url,
        MASTER_KEY: newKey.toString('base64url'),
        MASTER_KEY_PREVIOUS: oldKey.toString('base64url'),
      };
      const tsx = fromRoot('node_modules', '.bin', 'tsx');
      const script = fromRoot('src', 'cli', 'rotate-master.ts');
      const first = await run(tsx, [script], { env, cwd: fromRoot() });
      expect(first.stdout).toContain('private keys resealed 2');
      expect(first.stdout).toContain('secrets      resealed 2');
      expect(first.stdout).toContain('MASTER_KEY_PREVIOUS can be dropped');
      expect(first.stdout + first.stderr).not.toContain(newKey.toString('base64url'));

      const second = await run(tsx, [script], { env, cwd: fromRoot() });
      expect(second.stdout).toContain('private keys resealed 0, already current 2');

      const reopened = await openStore({ url });
      await expectReadableWith(reopened, new KeyRing(masterKeyFrom(newKey)), seeded);
      await reopened.close();

      // Without the old key, rows under it are reported and the command fails.
      const other = await openStore({ url });
      await seed(other, new KeyRing(masterKeyFrom(oldKey)), 1);
      await other.close();
      const { MASTER_KEY_PREVIOUS: _p, ...withoutPrevious } = env;
      const failed = await run(tsx, [script], { env: withoutPrevious, cwd: fromRoot() }).catch(
        (err: { code: number; stdout: string }) => err,
      );
      expect((failed as { code?: number }).code).toBe(1);
      expect(failed.stdout).toContain('still under another master key');
    } finally {
      dir.remove();
    }
  });
});
