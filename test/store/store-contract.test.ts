/**
 * One contract suite for the store, run against every wiring (SQLite always, PostgreSQL when
 * TEST_POSTGRES_URL is set): transactions commit or roll back whole, concurrent transactions do not see
 * each other's uncommitted rows, portable types round-trip, and secrets are stored only sealed.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyRing, masterKeyFrom } from '../../src/crypto/envelope.ts';
import { getOrCreateSecret, readSecret } from '../../src/crypto/secrets.ts';
import type { Store } from '../../src/store/index.ts';
import { DEFAULT_TENANT, ensureDefaultTenant } from '../../src/tenants.ts';
import { type StoreWiring, storeWirings, useMigratedStore } from '../helpers/stores.ts';

function describeStoreContract(wiring: StoreWiring) {
  describe(`store contract: ${wiring.name}`, () => {
    const db = useMigratedStore(wiring);
    let store: Store;
    beforeAll(() => {
      store = db.store;
    });

    it('seeds the default tenant once, however often and concurrently start runs', async () => {
      await Promise.all([ensureDefaultTenant(store), ensureDefaultTenant(store), ensureDefaultTenant(store)]);
      const tenants = await store.db.tenant.findMany({ where: { slug: DEFAULT_TENANT } });
      expect(tenants).toHaveLength(1);
    });

    it('commits every write of a transaction together', async () => {
      const slug = `t-${randomBytes(4).toString('hex')}`;
      await store.tx(async (tx) => {
        await tx.tenant.create({ data: { slug, displayName: 'A' } });
        await tx.tenant.update({ where: { slug }, data: { displayName: 'B' } });
      });
      expect((await store.db.tenant.findUnique({ where: { slug } }))?.displayName).toBe('B');
    });

    it('rolls back every write of a transaction that throws (no half-written state)', async () => {
      const slug = `t-${randomBytes(4).toString('hex')}`;
      await expect(
        store.tx(async (tx) => {
          await tx.tenant.create({ data: { slug, displayName: 'A' } });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.db.tenant.findUnique({ where: { slug } })).toBeNull();
    });

    it('hides a transaction’s uncommitted rows from queries outside it', async () => {
      const slug = `t-${randomBytes(4).toString('hex')}`;
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let written!: () => void;
      const wrote = new Promise<void>((r) => {
        written = r;
      });
      const transaction = store.tx(async (tx) => {
        await tx.tenant.create({ data: { slug, displayName: 'uncommitted' } });
        written();
        await gate;
        throw new Error('roll back');
      });
      await wrote;
      // Outside the transaction: either we wait for it (SQLite) or we do not see its row (PostgreSQL).
      const outside = store.db.tenant.findUnique({ where: { slug } });
      setTimeout(release, 50);
      expect(await outside).toBeNull();
      await expect(transaction).rejects.toThrow('roll back');
      expect(await store.db.tenant.findUnique({ where: { slug } })).toBeNull();
    });

    it('keeps concurrent transactions isolated: a read-modify-write counter loses no update', async () => {
      const slug = `t-${randomBytes(4).toString('hex')}`;
      await store.db.tenant.create({ data: { slug, displayName: '0' } });
      const bump = () =>
        store.tx(async (tx) => {
          // Lock the row on PostgreSQL; SQLite serializes transactions.
          if (store.dialect === 'postgres')
            await tx.$queryRawUnsafe('SELECT 1 FROM "Tenant" WHERE slug = $1 FOR UPDATE', slug);
          const row = await tx.tenant.findUniqueOrThrow({ where: { slug } });
          await tx.tenant.update({
            where: { slug },
            data: { displayName: String(Number(row.displayName) + 1) },
          });
        });
      await Promise.all(Array.from({ length: 20 }, bump));
      expect((await store.db.tenant.findUniqueOrThrow({ where: { slug } })).displayName).toBe('20');
    });

    it('round-trips BigInt and Bytes exactly', async () => {
      const number = 2n ** 53n + 7n;
      const raw = new Uint8Array(randomBytes(200));
      await store.db.chainBlock.create({
        data: {
          number,
          hash: `0x${randomBytes(32).toString('hex')}`,
          timestamp: 1_700_000_000n,
          transactions: { create: [{ index: 0, hash: `0x${randomBytes(32).toString('hex')}`, raw }] },
        },
      });
      const row = await store.db.chainBlock.findUniqueOrThrow({
        where: { number },
        include: { transactions: true },
      });
      expect(row.number).toBe(number);
      expect(Buffer.from(row.transactions[0]!.raw).equals(Buffer.from(raw))).toBe(true);
    });

    it('stores secrets only sealed, creates each once under concurrency, and refuses another master key', async () => {
      const keys = new KeyRing(masterKeyFrom(randomBytes(32)));
      const purpose = `test.${randomBytes(4).toString('hex')}`;
      const results = await Promise.all(
        Array.from({ length: 5 }, () => getOrCreateSecret(store, keys, purpose, () => randomBytes(32))),
      );
      expect(new Set(results.map((r) => r.toString('hex'))).size).toBe(1);
      const row = await store.db.secret.findUniqueOrThrow({ where: { purpose } });
      expect(Buffer.from(row.envelope).includes(results[0]!)).toBe(false);
      expect(row.masterKeyId).toBe(keys.current.id);
      const stranger = new KeyRing(masterKeyFrom(randomBytes(32)));
      await expect(readSecret(store, stranger, purpose)).rejects.toThrow(/unknown master key/);
    });
  });
}

for (const wiring of storeWirings('store suite')) describeStoreContract(wiring);
