/**
 * Status entries for issuing (`reserve` in memory, `commitWithin` in the issuer's transaction), on every
 * store wiring: nothing is written before the commit, a rolled-back commit leaves nothing behind, an index
 * another instance took meanwhile and a list other instances filled are conflicts (never a double
 * allocation, never past capacity), and the next reservation moves on to the next list.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { StatusAllocationConflict, StatusLists } from '../../src/credentials/status-lists.ts';
import type { Store } from '../../src/store/index.ts';
import { type StoreWiring, storeWirings, useMigratedStore } from '../helpers/stores.ts';

function describeReservation(wiring: StoreWiring) {
  describe(`status reservations: ${wiring.name}`, () => {
    const db = useMigratedStore(wiring);
    let store: Store;
    let lists: StatusLists;
    beforeAll(() => {
      store = db.store;
      lists = new StatusLists(store);
    });
    const tenant = () => `tenant-${randomUUID()}`;
    const entriesOf = (credentialId: string) => store.db.statusEntry.count({ where: { credentialId } });
    const allocatedOf = async (listId: string) =>
      (await store.db.statusList.findUniqueOrThrow({ where: { id: listId } })).allocated;

    it('writes no entry when reserving, leases capacity in blocks, and writes the entries in the commit', async () => {
      const tenantId = tenant();
      const reserved = await lists.reserve(tenantId, ['revocation', 'suspension']);
      expect(reserved.map((r) => r.purpose)).toEqual(['revocation', 'suspension']);
      expect(new Set(reserved.map((r) => r.listId)).size).toBe(2);
      expect(
        await store.db.statusEntry.count({ where: { listId: { in: reserved.map((r) => r.listId) } } }),
      ).toBe(0);
      // One lease of 64 per list counts the capacity this instance hands out from memory.
      for (const r of reserved) expect(await allocatedOf(r.listId)).toBe(64);
      await store.tx((tx) => lists.commitWithin(tx, reserved, 'cred-1'));
      expect(await entriesOf('cred-1')).toBe(2);
      // The next 63 reservations per list come out of the same lease: the list rows are not touched.
      const more = await Promise.all(
        Array.from({ length: 63 }, () => lists.reserve(tenantId, ['revocation'])),
      );
      expect(await allocatedOf(reserved[0]!.listId)).toBe(64);
      expect(new Set(more.map(([r]) => r!.index)).size).toBe(63);
      await lists.reserve(tenantId, ['revocation']);
      expect(await allocatedOf(reserved[0]!.listId)).toBe(128);
    });

    it('leaves no entry behind when the committing transaction rolls back', async () => {
      const tenantId = tenant();
      const reserved = await lists.reserve(tenantId, ['revocation', 'suspension']);
      const failure = new Error('the credential could not be recorded');
      await expect(
        store.tx(async (tx) => {
          await lists.commitWithin(tx, reserved, 'cred-rolled-back');
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await entriesOf('cred-rolled-back')).toBe(0);
      expect(
        await store.db.statusEntry.count({ where: { listId: { in: reserved.map((r) => r.listId) } } }),
      ).toBe(0);
    });

    it('turns an index another instance took meanwhile into index_taken, allocating nothing twice', async () => {
      const tenantId = tenant();
      const [mine] = await lists.reserve(tenantId, ['revocation']);
      // Another instance (its own StatusLists over the same database) takes that very index first.
      await store.db.statusEntry.create({
        data: { listId: mine!.listId, index: mine!.index, credentialId: 'theirs' },
      });
      const err = await store.tx((tx) => lists.commitWithin(tx, [mine!], 'mine')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StatusAllocationConflict);
      expect((err as StatusAllocationConflict).reason).toBe('index_taken');
      expect(await entriesOf('mine')).toBe(0);
      const holders = await store.db.statusEntry.findMany({
        where: { listId: mine!.listId, index: mine!.index },
      });
      expect(holders.map((h) => h.credentialId)).toEqual(['theirs']);
      // Reserving again never offers the index this instance saw taken.
      const again = await lists.reserve(tenantId, ['revocation']);
      expect(again[0]!.index).not.toBe(mine!.index);
    });

    it('never counts past a list’s capacity, however many instances lease, and then starts the next list', async () => {
      const tenantId = tenant();
      const small = new StatusLists(store, { leaseSize: 4 });
      const [first] = await small.reserve(tenantId, ['suspension']);
      expect(await allocatedOf(first!.listId)).toBe(4);
      // Other instances counted all but two entries of the capacity (half of 131072) meanwhile.
      await store.db.statusList.update({ where: { id: first!.listId }, data: { allocated: 65_534 } });
      const others = new StatusLists(store, { leaseSize: 4 });
      const got = await Promise.all(
        Array.from({ length: 8 }, () => others.reserve(tenantId, ['suspension'])),
      );
      const onFirst = got.filter(([r]) => r!.listId === first!.listId);
      // The other instance got only the two entries left; the rest moved on to list 1.
      expect(onFirst).toHaveLength(2);
      expect(await allocatedOf(first!.listId)).toBe(65_536);
      const summaries = await others.list(tenantId, 'suspension');
      expect(summaries.map((s) => s.sequence)).toEqual([0, 1]);
      expect(summaries[1]!.allocated).toBe(8);
      // This instance uses up its own lease on list 0, then moves on as well.
      const mine = await Promise.all(
        Array.from({ length: 4 }, () => small.reserve(tenantId, ['suspension'])),
      );
      expect(mine.filter(([r]) => r!.listId === first!.listId)).toHaveLength(3);
      expect(await allocatedOf(first!.listId)).toBe(65_536);
    });

    it('never gives two concurrent reservations of one instance the same index', async () => {
      const tenantId = tenant();
      const reserved = await Promise.all(
        Array.from({ length: 2000 }, () => lists.reserve(tenantId, ['revocation'])),
      );
      const indexes = reserved.map(([r]) => r!.index);
      expect(new Set(indexes).size).toBe(2000);
      expect(new Set(reserved.map(([r]) => r!.listId)).size).toBe(1);
    });

    it('reads many entries’ bits with one read per list, scoped to the tenant', async () => {
      const tenantId = tenant();
      const a = await lists.allocate(tenantId, 'revocation');
      const b = await lists.allocate(tenantId, 'revocation');
      const c = await lists.allocate(tenantId, 'suspension');
      await lists.setStatus(b.listId, b.index, true);
      await lists.setStatus(c.listId, c.index, true);
      expect(await lists.statuses([a, b, c], { tenantId })).toEqual([false, true, true]);
      expect(await lists.statuses([a, b, c], { tenantId: 'someone-else' })).toEqual([false, false, false]);
      expect(await lists.statuses([])).toEqual([]);
    });
  });
}

for (const wiring of storeWirings('status reservations')) describeReservation(wiring);
