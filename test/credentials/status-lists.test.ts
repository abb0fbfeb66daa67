/**
 * Status lists on every store wiring (SQLite always, PostgreSQL when TEST_POSTGRES_URL is set):
 * collision-free random allocation under concurrency, no lost update when bits of one list flip
 * concurrently, revocation is final, suspension is reversible, every change bumps the version, and the
 * published `encodedList` decodes to the stored bits.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBitstring, getBit } from '../../src/credentials/bitstring.ts';
import {
  RevocationIsFinalError,
  StatusEntryNotFoundError,
  StatusIndexOutOfRangeError,
  StatusListNotFoundError,
  StatusLists,
} from '../../src/credentials/status-lists.ts';
import type { Store } from '../../src/store/index.ts';
import { type StoreWiring, storeWirings, useMigratedStore } from '../helpers/stores.ts';

function describeStatusLists(wiring: StoreWiring) {
  describe(`status lists: ${wiring.name}`, () => {
    const db = useMigratedStore(wiring);
    let store: Store;
    let lists: StatusLists;
    beforeAll(() => {
      store = db.store;
      lists = new StatusLists(store);
    });
    const tenant = () => `tenant-${randomUUID()}`;

    it('gives 500 concurrent allocations 500 distinct indexes in one 131072-entry list', async () => {
      const tenantId = tenant();
      const got = await Promise.all(
        Array.from({ length: 500 }, (_, i) => lists.allocate(tenantId, 'revocation', `cred-${i}`)),
      );
      expect(new Set(got.map((a) => a.index)).size).toBe(500);
      expect(new Set(got.map((a) => a.listId)).size).toBe(1);
      const [summary] = await lists.list(tenantId);
      expect(summary).toMatchObject({ purpose: 'revocation', size: 131_072, allocated: 500, sequence: 0 });
      expect(await store.db.statusEntry.count({ where: { listId: summary?.listId } })).toBe(500);
      const bytes = (await store.db.statusList.findUniqueOrThrow({ where: { id: summary?.listId ?? '' } }))
        .bits;
      expect(bytes.length).toBe(16_384);
    });

    it('picks indexes at random across the whole list, not in sequence', async () => {
      const tenantId = tenant();
      const indexes: number[] = [];
      for (let batch = 0; batch < 10; batch++) {
        const got = await Promise.all(
          Array.from({ length: 20 }, () => lists.allocate(tenantId, 'suspension')),
        );
        indexes.push(...got.map((a) => a.index));
      }
      const size = 131_072;
      // Each eighth of the range should get about 25 of 200; a sequential allocator puts all in one.
      const buckets = new Array<number>(8).fill(0);
      for (const i of indexes)
        buckets[Math.floor((i / size) * 8)] = (buckets[Math.floor((i / size) * 8)] ?? 0) + 1;
      for (const count of buckets) expect(count).toBeGreaterThan(5);
      const ascendingSteps = indexes.slice(1).filter((v, i) => v === (indexes[i] ?? -2) + 1).length;
      expect(ascendingSteps).toBeLessThan(3);
      expect(Math.max(...indexes) - Math.min(...indexes)).toBeGreaterThan(size / 2);
    });

    it('gives one credential one entry per list, however often it is allocated', async () => {
      const tenantId = tenant();
      const first = await lists.allocate(tenantId, 'revocation', 'cred-x');
      const again = await Promise.all([1, 2, 3].map(() => lists.allocate(tenantId, 'revocation', 'cred-x')));
      expect(again).toEqual([first, first, first]);
      const concurrent = await Promise.all(
        [1, 2, 3].map(() => lists.allocate(tenantId, 'suspension', 'cred-x')),
      );
      expect(new Set(concurrent.map((a) => `${a.listId}:${a.index}`)).size).toBe(1);
      expect(
        await store.db.statusEntry.count({ where: { credentialId: 'cred-x', list: { tenantId } } }),
      ).toBe(2);
    });

    it('starts the next list once the fill threshold is reached, exactly once under concurrency', async () => {
      const small = new StatusLists(store, { fillThreshold: 0.0002 }); // 26.2 of 131072 entries
      const tenantId = tenant();
      const got = await Promise.all(Array.from({ length: 60 }, () => small.allocate(tenantId, 'suspension')));
      const summaries = await small.list(tenantId, 'suspension');
      expect(summaries.length).toBe(3);
      expect(summaries.map((s) => s.allocated)).toEqual([26, 26, 8]);
      expect(summaries.map((s) => s.sequence)).toEqual(summaries.map((_, i) => i));
      expect(summaries.reduce((n, s) => n + s.allocated, 0)).toBe(60);
      const keys = new Set(got.map((a) => `${a.listId}:${a.index}`));
      expect(keys.size).toBe(60);
    });

    it('loses no update when 100 different bits of one list flip concurrently', async () => {
      const tenantId = tenant();
      const entries = await Promise.all(
        Array.from({ length: 100 }, () => lists.allocate(tenantId, 'revocation')),
      );
      const listId = entries[0]?.listId ?? '';
      const before = (await lists.encodedList(listId)).version;
      const changes = await Promise.all(entries.map((e) => lists.setStatus(e.listId, e.index, true)));
      expect(changes.every((c) => c.changed)).toBe(true);
      const after = await lists.encodedList(listId);
      expect(after.version).toBe(before + 100);
      const bits = decodeBitstring(after.encodedList);
      for (const e of entries) expect(getBit(bits, e.index)).toBe(true);
      let set = 0;
      for (const byte of bits) for (let b = byte; b; b &= b - 1) set++;
      expect(set).toBe(100);
    });

    it('flips bits while entries of the same list are being allocated, without deadlock or loss', async () => {
      const tenantId = tenant();
      const first = await Promise.all(
        Array.from({ length: 40 }, () => lists.allocate(tenantId, 'suspension')),
      );
      const [flips, more] = await Promise.all([
        Promise.all(first.map((e) => lists.setStatus(e.listId, e.index, true))),
        Promise.all(Array.from({ length: 40 }, () => lists.allocate(tenantId, 'suspension'))),
      ]);
      expect(flips.every((c) => c.changed)).toBe(true);
      const listId = first[0]?.listId ?? '';
      const bits = decodeBitstring((await lists.encodedList(listId)).encodedList);
      for (const e of first) expect(getBit(bits, e.index)).toBe(true);
      for (const e of more) expect(getBit(bits, e.index)).toBe(false);
      expect(new Set([...first, ...more].map((e) => e.index)).size).toBe(80);
    });

    it('refuses to reinstate a revoked credential (revocation is final)', async () => {
      const tenantId = tenant();
      const { listId, index } = await lists.allocate(tenantId, 'revocation', 'cred-r');
      expect(await lists.getStatus(listId, index)).toBe(false);
      await lists.setStatus(listId, index, true);
      expect(await lists.getStatus(listId, index)).toBe(true);
      const err = await lists.setStatus(listId, index, false).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RevocationIsFinalError);
      expect(err).toMatchObject({ code: 'revocation_is_final', status: 409 });
      expect(await lists.getStatus(listId, index)).toBe(true);
    });

    it('suspends and reinstates, bumping the version only when a bit changes', async () => {
      const tenantId = tenant();
      const { listId, index } = await lists.allocate(tenantId, 'suspension');
      const v0 = (await lists.encodedList(listId)).version;
      expect(await lists.setStatus(listId, index, true)).toEqual({ changed: true, version: v0 + 1 });
      expect(await lists.getStatus(listId, index)).toBe(true);
      expect(await lists.setStatus(listId, index, true)).toEqual({ changed: false, version: v0 + 1 });
      expect(await lists.setStatus(listId, index, false)).toEqual({ changed: true, version: v0 + 2 });
      expect(await lists.getStatus(listId, index)).toBe(false);
    });

    it('publishes an encodedList with a new ETag per version that decodes to the stored bits', async () => {
      const tenantId = tenant();
      const { listId, index } = await lists.allocate(tenantId, 'suspension');
      const a = await lists.encodedList(listId);
      expect(a).toMatchObject({ listId, tenantId, purpose: 'suspension', size: 131_072 });
      expect(a.encodedList).toMatch(/^u[A-Za-z0-9_-]+$/);
      expect(decodeBitstring(a.encodedList).every((b) => b === 0)).toBe(true);
      await lists.setStatus(listId, index, true);
      const b = await lists.encodedList(listId);
      expect(b.etag).not.toBe(a.etag);
      const stored = (await store.db.statusList.findUniqueOrThrow({ where: { id: listId } })).bits;
      expect(decodeBitstring(b.encodedList)).toEqual(new Uint8Array(stored));
      expect(getBit(decodeBitstring(b.encodedList), index)).toBe(true);
    });

    it('answers unknown lists, other tenants’ lists, unallocated and out-of-range indexes with typed errors', async () => {
      const tenantId = tenant();
      const { listId, index } = await lists.allocate(tenantId, 'revocation');
      await expect(lists.encodedList(randomUUID())).rejects.toMatchObject({
        code: 'status_list_not_found',
        status: 404,
      });
      await expect(lists.setStatus(randomUUID(), 0, true)).rejects.toBeInstanceOf(StatusListNotFoundError);
      await expect(lists.setStatus(listId, index, true, { tenantId: tenant() })).rejects.toBeInstanceOf(
        StatusListNotFoundError,
      );
      await expect(lists.getStatus(listId, index, { tenantId: tenant() })).rejects.toBeInstanceOf(
        StatusListNotFoundError,
      );
      for (const bad of [-1, 131_072, 0.5]) {
        await expect(lists.setStatus(listId, bad, true)).rejects.toBeInstanceOf(StatusIndexOutOfRangeError);
        await expect(lists.getStatus(listId, bad)).rejects.toMatchObject({
          code: 'status_index_out_of_range',
        });
      }
      const unallocated = index === 0 ? 1 : 0;
      await expect(lists.setStatus(listId, unallocated, true)).rejects.toBeInstanceOf(
        StatusEntryNotFoundError,
      );
      expect(await lists.getStatus(listId, index, { tenantId })).toBe(false);
    });

    it('lists a tenant’s lists per purpose, without other tenants’ lists', async () => {
      const tenantId = tenant();
      await lists.allocate(tenantId, 'revocation');
      await lists.allocate(tenantId, 'suspension');
      await lists.allocate(tenant(), 'revocation');
      const all = await lists.list(tenantId);
      expect(all.map((s) => s.purpose)).toEqual(['revocation', 'suspension']);
      expect(all.every((s) => s.tenantId === tenantId)).toBe(true);
      expect(await lists.list(tenantId, 'suspension')).toHaveLength(1);
    });
  });
}

for (const wiring of storeWirings('status lists')) describeStatusLists(wiring);
