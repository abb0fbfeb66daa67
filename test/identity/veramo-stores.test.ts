/**
 * One contract suite per Veramo store, run on SQLite and (when TEST_POSTGRES_URL is set) PostgreSQL,
 * mirroring Veramo's own store semantics; plus invariant 3 for private keys: never in plaintext in the
 * database, useless under another master key, bound to their alias.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { IIdentifier, IKey } from '@veramo/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { EnvelopeError, KeyRing, masterKeyFrom } from '../../src/crypto/envelope.ts';
import { PrismaDIDStore, PrismaKeyStore, PrismaPrivateKeyStore } from '../../src/identity/veramo-stores.ts';
import type { Store } from '../../src/store/index.ts';
import { sqlitePathOf } from '../../src/store/migrate.ts';
import { type StoreWiring, storeWirings, useMigratedStore } from '../helpers/stores.ts';

const ring = new KeyRing(masterKeyFrom(randomBytes(32)));
const hex = (n: number) => randomBytes(n).toString('hex');
const uniq = () => randomBytes(4).toString('hex');

function key(overrides: Partial<IKey> = {}): IKey {
  return {
    kid: `kid-${uniq()}`,
    kms: 'local',
    type: 'Secp256k1',
    publicKeyHex: `04${hex(64)}`,
    meta: { algorithms: ['ES256K', 'eth_rawSign'] },
    ...overrides,
  };
}

function identifier(overrides: Partial<IIdentifier> = {}): IIdentifier {
  const k = key();
  return {
    did: `did:ethr:0x7a69:0x${hex(20)}`,
    provider: 'did:ethr',
    alias: `alias-${uniq()}`,
    controllerKeyId: k.kid,
    keys: [k],
    services: [{ id: '#svc', type: 'LinkedDomains', serviceEndpoint: 'https://example.com' }],
    ...overrides,
  };
}

function describeVeramoStores(wiring: StoreWiring) {
  const name = wiring.name;
  const w = useMigratedStore(wiring);
  let store: Store;
  beforeAll(() => {
    store = w.store;
  });

  describe(`PrismaDIDStore contract: ${name}`, () => {
    it('imports an identifier and gets it back by did and by alias, keys and services included', async () => {
      const dids = new PrismaDIDStore(store);
      const id = identifier();
      expect(await dids.importDID(id)).toBe(true);
      expect(await dids.getDID({ did: id.did })).toEqual(id);
      expect(await dids.getDID({ alias: id.alias! })).toEqual(id);
    });

    it('omits alias and controllerKeyId when the identifier has none', async () => {
      const dids = new PrismaDIDStore(store);
      const { alias: _a, controllerKeyId: _c, ...bare } = identifier({ keys: [], services: [] });
      await dids.importDID(bare);
      expect(await dids.getDID({ did: bare.did })).toEqual(bare);
    });

    it('throws not_found for an unknown did or alias, and invalid_argument for both or neither', async () => {
      const dids = new PrismaDIDStore(store);
      await expect(dids.getDID({ did: 'did:ethr:0x7a69:0x00' })).rejects.toThrow(/^not_found/);
      await expect(dids.getDID({ alias: 'nobody' })).rejects.toThrow(/^not_found/);
      await expect(dids.getDID({ did: 'x', alias: 'y' } as { did: string })).rejects.toThrow(
        /^invalid_argument/,
      );
      await expect(dids.getDID({} as { did: string })).rejects.toThrow(/^invalid_argument/);
    });

    it('lists identifiers filtered by alias, by provider, or both', async () => {
      const dids = new PrismaDIDStore(store);
      const provider = `did:test-${uniq()}`;
      const a = identifier({ provider });
      const b = identifier({ provider });
      const c = identifier();
      for (const id of [a, b, c]) await dids.importDID(id);
      expect((await dids.listDIDs({ provider })).map((i) => i.did).sort()).toEqual([a.did, b.did].sort());
      expect(await dids.listDIDs({ alias: a.alias! })).toEqual([a]);
      expect(await dids.listDIDs({ alias: c.alias!, provider })).toEqual([]);
      const all = (await dids.listDIDs({})).map((i) => i.did);
      expect(all).toEqual(expect.arrayContaining([a.did, b.did, c.did]));
    });

    it('replaces alias, services and keys on re-import; dropped keys are unlinked, not deleted', async () => {
      const dids = new PrismaDIDStore(store);
      const keysStore = new PrismaKeyStore(store);
      const id = identifier();
      await dids.importDID(id);
      const added = key();
      const updated: IIdentifier = {
        ...id,
        alias: `renamed-${uniq()}`,
        keys: [added],
        controllerKeyId: added.kid,
        services: [],
      };
      await dids.importDID(updated);
      expect(await dids.getDID({ did: id.did })).toEqual(updated);
      await expect(dids.getDID({ alias: id.alias! })).rejects.toThrow(/^not_found/);
      expect(await keysStore.getKey({ kid: id.keys[0]!.kid })).toEqual(id.keys[0]);
    });

    it('refuses an alias that another identifier holds', async () => {
      const dids = new PrismaDIDStore(store);
      const a = identifier();
      await dids.importDID(a);
      await expect(dids.importDID(identifier({ alias: a.alias! }))).rejects.toThrow(/alias/);
      expect(await dids.getDID({ alias: a.alias! })).toEqual(a);
    });

    it('deletes an identifier (its keys stay, unlinked); deleting an unknown DID succeeds', async () => {
      const dids = new PrismaDIDStore(store);
      const keysStore = new PrismaKeyStore(store);
      const id = identifier();
      await dids.importDID(id);
      expect(await dids.deleteDID({ did: id.did })).toBe(true);
      await expect(dids.getDID({ did: id.did })).rejects.toThrow(/^not_found/);
      expect(await keysStore.getKey({ kid: id.keys[0]!.kid })).toEqual(id.keys[0]);
      expect(await dids.deleteDID({ did: id.did })).toBe(true);
    });

    it('never stores a private key handed in with an identifier', async () => {
      const dids = new PrismaDIDStore(store);
      const secret = hex(32);
      const id = identifier();
      id.keys[0]!.privateKeyHex = secret;
      await dids.importDID(id);
      const got = await dids.getDID({ did: id.did });
      expect(got.keys[0]).not.toHaveProperty('privateKeyHex');
      expect(JSON.stringify(await store.db.managedKey.findMany())).not.toContain(secret);
    });
  });

  describe(`PrismaKeyStore contract: ${name}`, () => {
    it('imports, gets, lists and deletes key metadata', async () => {
      const keysStore = new PrismaKeyStore(store);
      const k = key();
      expect(await keysStore.importKey(k)).toBe(true);
      expect(await keysStore.getKey({ kid: k.kid })).toEqual(k);
      expect(await keysStore.listKeys({})).toContainEqual(k);
      expect(await keysStore.deleteKey({ kid: k.kid })).toBe(true);
      await expect(keysStore.getKey({ kid: k.kid })).rejects.toThrow(/^not_found/);
    });

    it('updates a key imported again under the same kid', async () => {
      const keysStore = new PrismaKeyStore(store);
      const k = key();
      await keysStore.importKey(k);
      const changed = { ...k, meta: { algorithms: ['ES256K'], label: 'phone' } };
      await keysStore.importKey(changed);
      expect(await keysStore.getKey({ kid: k.kid })).toEqual(changed);
    });

    it('throws not_found when getting or deleting an unknown kid, invalid_argument without a kid', async () => {
      const keysStore = new PrismaKeyStore(store);
      await expect(keysStore.getKey({ kid: 'missing' })).rejects.toThrow(/^not_found/);
      await expect(keysStore.deleteKey({ kid: 'missing' })).rejects.toThrow(/^not_found/);
      await expect(keysStore.importKey({ kms: 'local' })).rejects.toThrow(/^invalid_argument/);
    });

    it('drops a privateKeyHex passed along with metadata', async () => {
      const keysStore = new PrismaKeyStore(store);
      const secret = hex(32);
      const k = key();
      await keysStore.importKey({ ...k, privateKeyHex: secret });
      expect(await keysStore.getKey({ kid: k.kid })).toEqual(k);
      expect(JSON.stringify(await store.db.managedKey.findMany())).not.toContain(secret);
    });
  });

  describe(`PrismaPrivateKeyStore contract: ${name}`, () => {
    it('imports under a given alias and returns the key to the KMS', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      const alias = `pk-${uniq()}`;
      const privateKeyHex = hex(32);
      expect(await pks.importKey({ alias, type: 'Secp256k1', privateKeyHex })).toEqual({
        alias,
        type: 'Secp256k1',
        privateKeyHex,
      });
      expect(await pks.getKey({ alias })).toEqual({ alias, type: 'Secp256k1', privateKeyHex });
      expect(await pks.listKeys({})).toContainEqual({ alias, type: 'Secp256k1', privateKeyHex });
    });

    it('generates an alias when none is given', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      const imported = await pks.importKey({ type: 'Ed25519', privateKeyHex: hex(64) });
      expect(imported.alias).toMatch(/^[0-9a-f-]{36}$/);
      expect((await pks.getKey({ alias: imported.alias })).privateKeyHex).toBe(imported.privateKeyHex);
    });

    it('accepts the same key again, refuses different material under a taken alias', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      const alias = `pk-${uniq()}`;
      const privateKeyHex = hex(32);
      await pks.importKey({ alias, type: 'Secp256k1', privateKeyHex });
      await expect(pks.importKey({ alias, type: 'Secp256k1', privateKeyHex })).resolves.toMatchObject({
        alias,
      });
      await expect(pks.importKey({ alias, type: 'Secp256k1', privateKeyHex: hex(32) })).rejects.toThrow(
        /^key_already_exists/,
      );
      expect((await pks.getKey({ alias })).privateKeyHex).toBe(privateKeyHex);
    });

    it('keeps exactly one key when the same alias is imported concurrently with different material', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      const alias = `pk-${uniq()}`;
      const candidates = [hex(32), hex(32), hex(32), hex(32)];
      const results = await Promise.allSettled(
        candidates.map((privateKeyHex) => pks.importKey({ alias, type: 'Secp256k1', privateKeyHex })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(String(r.reason)).toMatch(/key_already_exists/);
      }
      const stored = await pks.getKey({ alias });
      expect((won[0] as PromiseFulfilledResult<{ privateKeyHex: string }>).value.privateKeyHex).toBe(
        stored.privateKeyHex,
      );
    });

    it('throws not_found for an unknown alias; deletes a key', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      await expect(pks.getKey({ alias: 'missing' })).rejects.toThrow(/^not_found/);
      await expect(pks.deleteKey({ alias: 'missing' })).rejects.toThrow(/^not_found/);
      const { alias } = await pks.importKey({ type: 'Secp256k1', privateKeyHex: hex(32) });
      expect(await pks.deleteKey({ alias })).toBe(true);
      await expect(pks.getKey({ alias })).rejects.toThrow(/^not_found/);
    });

    it('normalises 0x-prefixed and upper-case hex', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      const privateKeyHex = hex(32);
      const { alias } = await pks.importKey({
        type: 'Secp256k1',
        privateKeyHex: `0x${privateKeyHex.toUpperCase()}`,
      });
      expect((await pks.getKey({ alias })).privateKeyHex).toBe(privateKeyHex);
      await expect(pks.importKey({ type: 'Secp256k1', privateKeyHex: 'zz' })).rejects.toThrow(
        /^invalid_argument/,
      );
    });

    it('stores no private key in plaintext: neither its hex nor its bytes appear in the row', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      const privateKeyHex = hex(32);
      const raw = Buffer.from(privateKeyHex, 'hex');
      const { alias } = await pks.importKey({ type: 'Secp256k1', privateKeyHex });
      const rows = await store.db.$queryRawUnsafe<Array<Record<string, unknown>>>(
        store.dialect === 'postgres'
          ? 'SELECT * FROM "PrivateKey" WHERE alias = $1'
          : 'SELECT * FROM "PrivateKey" WHERE alias = ?',
        alias,
      );
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      expect(row.masterKeyId).toBe(ring.current.id);
      for (const value of Object.values(row)) {
        const bytes =
          value instanceof Uint8Array
            ? Buffer.from(value)
            : Buffer.from(String(value instanceof Date ? '' : value));
        expect(bytes.includes(raw)).toBe(false);
        expect(bytes.toString('latin1').toLowerCase()).not.toContain(privateKeyHex);
        expect(bytes.toString('hex')).not.toContain(privateKeyHex);
      }
    });

    it('cannot be opened under another master key, nor when moved to another alias', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      const { alias } = await pks.importKey({ type: 'Secp256k1', privateKeyHex: hex(32) });
      const stranger = new PrismaPrivateKeyStore(store, new KeyRing(masterKeyFrom(randomBytes(32))));
      await expect(stranger.getKey({ alias })).rejects.toThrow(EnvelopeError);

      const row = await store.db.privateKey.findUniqueOrThrow({ where: { alias } });
      const moved = `moved-${uniq()}`;
      await store.db.privateKey.create({
        data: { alias: moved, type: row.type, masterKeyId: row.masterKeyId, envelope: row.envelope },
      });
      await expect(pks.getKey({ alias: moved })).rejects.toThrow(EnvelopeError);
    });

    it('never puts a private key in an error message', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      const alias = `pk-${uniq()}`;
      const first = hex(32);
      const second = hex(32);
      await pks.importKey({ alias, type: 'Secp256k1', privateKeyHex: first });
      const err = await pks
        .importKey({ alias, type: 'Secp256k1', privateKeyHex: second })
        .catch((e: Error) => e);
      expect(String((err as Error).message)).not.toContain(first);
      expect(String((err as Error).message)).not.toContain(second);
    });
  });

  if (name === 'SQLite') {
    it('SQLite: no private key appears anywhere in the database files (including the WAL)', async () => {
      const pks = new PrismaPrivateKeyStore(store, ring);
      const privateKeyHex = hex(32);
      await pks.importKey({ type: 'Secp256k1', privateKeyHex });
      const path = sqlitePathOf(w.url);
      const files = readdirSync(dirname(path))
        .filter((f) => f.startsWith(path.split('/').pop()!))
        .map((f) => join(dirname(path), f));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const content = readFileSync(file);
        expect(content.includes(Buffer.from(privateKeyHex, 'hex'))).toBe(false);
        expect(content.includes(Buffer.from(privateKeyHex, 'latin1'))).toBe(false);
      }
    });
  }
}

for (const wiring of storeWirings('Veramo store suites')) {
  describe(wiring.name, () => describeVeramoStores(wiring));
}
