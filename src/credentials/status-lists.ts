/**
 * A tenant's W3C Bitstring Status Lists (v1.0), one series per purpose (`revocation`, `suspension`).
 *
 * - Allocation picks a uniformly random free index of the tenant's current list, so an index says
 *   nothing about issuance order; the (listId, index) primary key makes it collision-free across
 *   instances (a collision retries with another index).
 * - A list takes entries until `fillThreshold` of it is allocated, then the next list is started, so
 *   random picks rarely collide and stay unpredictable.
 *   The unique (tenant, purpose, sequence) lets exactly one instance start the next list.
 * - Bit changes are read-modify-write of the whole bitstring inside one transaction. On PostgreSQL the
 *   list row is locked (`FOR NO KEY UPDATE`: the key never changes, so it does not block entry inserts);
 *   SQLite transactions already run one at a time. Concurrent flips of different bits therefore never
 *   lose an update. Every change bumps `version`, the published list's ETag.
 * - Revocation is final (spec): a revoked entry cannot be reinstated.
 * - Issuing (`reserve`, then `commitWithin`) picks indexes in memory and writes them in the issuer's own
 *   transaction, together with the credential: an entry never exists without its credential, and a
 *   credential costs one transaction of inserts. Each instance keeps a bitmap of the indexes it knows are
 *   taken in the tenant's current list (loaded once per list), so its own picks never collide; a pick
 *   taken by another instance meanwhile fails the unique key and is picked again.
 * - Capacity for issuing is leased: an instance counts a block of entries (`leaseSize`) against the list
 *   in one conditional update, then hands them out from memory. The list row (which carries the whole
 *   bitstring) is then rewritten once per block instead of once per credential, and `allocated` never
 *   passes the capacity, whatever the number of instances. `allocated` therefore counts entries allocated
 *   or leased; a lease an instance never uses (it stopped) only starts the next list a little earlier.
 */
import { randomInt } from 'node:crypto';
import { ConflictError, InvalidRequestError, TrustgateError } from '../errors.ts';
import { isUniqueViolation, type Store, type Tx } from '../store/index.ts';
import {
  createBitstring,
  encodeBitstring,
  getBit,
  MIN_STATUS_LIST_BITS,
  StatusIndexOutOfRangeError,
  setBit,
} from './bitstring.ts';

export { StatusIndexOutOfRangeError } from './bitstring.ts';

/** What a list's bits mean (the spec's `statusPurpose`); only these two are supported. */
export type StatusPurpose = 'revocation' | 'suspension';

/** The status purposes Trustgate issues. */
export const STATUS_PURPOSES: readonly StatusPurpose[] = ['revocation', 'suspension'];

/** 404 `status_list_not_found`: no such list (also for a list of another tenant). */
export class StatusListNotFoundError extends TrustgateError {
  constructor(listId: string) {
    super('status_list_not_found', 404, 'Not found', `Status list ${listId} does not exist.`);
  }
}

/** 404 `status_entry_not_found`: the index was never allocated, so it carries no credential's status. */
export class StatusEntryNotFoundError extends TrustgateError {
  constructor(listId: string, index: number) {
    super(
      'status_entry_not_found',
      404,
      'Not found',
      `Index ${index} of status list ${listId} is not allocated.`,
    );
  }
}

/** 409 `revocation_is_final`: a revoked credential cannot be reinstated. */
export class RevocationIsFinalError extends ConflictError {
  constructor() {
    super('revocation_is_final', 'A revoked credential cannot be reinstated: revocation is final.');
  }
}

/** A credential's place in a status list (the spec's BitstringStatusListEntry, minus URLs). */
export interface StatusAllocation {
  listId: string;
  index: number;
  purpose: StatusPurpose;
}

/** A list without its bits. */
export interface StatusListSummary {
  listId: string;
  tenantId: string;
  purpose: StatusPurpose;
  sequence: number;
  size: number;
  allocated: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What `GET /status/{listId}` publishes (inside a signed BitstringStatusListCredential). */
export interface EncodedStatusList {
  listId: string;
  tenantId: string;
  purpose: StatusPurpose;
  size: number;
  /** GZIP + base64url multibase (`u…`), exactly the spec's `encodedList`. */
  encodedList: string;
  /** Bumped on every bit change. */
  version: number;
  /** A strong HTTP ETag for this list version. */
  etag: string;
  updatedAt: Date;
}

/** The outcome of a status change. */
export interface StatusChange {
  /** False when the bit already had the requested value (no new version). */
  changed: boolean;
  version: number;
}

export interface StatusListsOptions {
  /** Bits per new list (default 131072; at least that, a multiple of 8). */
  size?: number;
  /** Start the next list once this share of a list is allocated (default 0.5). */
  fillThreshold?: number;
  /** Entries an instance leases at once for issuing (default 64). */
  leaseSize?: number;
}

/** Restricts a lookup to one tenant: another tenant's list then looks like no list at all. */
export interface TenantScope {
  tenantId?: string;
}

/** An index picked for a credential but not written yet (`reserve`, then `commitWithin`). */
export interface ReservedAllocation extends StatusAllocation {
  tenantId: string;
}

/**
 * Thrown by `commitWithin` when a reserved index was taken by another instance meanwhile. The caller's
 * transaction must roll back; reserving again picks elsewhere.
 */
export class StatusAllocationConflict extends Error {
  readonly reason = 'index_taken';
  constructor() {
    super('status allocation conflict: index_taken');
    this.name = 'StatusAllocationConflict';
  }
}

/** What this instance knows about the list a tenant's credentials get their indexes from. */
interface Cursor {
  listId: string;
  size: number;
  sequence: number;
  capacity: number;
  /** Indexes known to be taken: loaded from the list's entries, plus this instance's own picks. */
  taken: Uint8Array;
  takenCount: number;
  /** Entries this instance has counted against the list and not handed out yet. */
  leased: number;
  /** The lease being taken, when one is (concurrent reservations wait for it). */
  leasing?: Promise<void>;
  /** Set when no lease is left to take: the next reservation starts the next list. */
  full: boolean;
}

const MAX_INDEX_ATTEMPTS = 32;
/** Thrown inside an allocation transaction to roll it back when the list is already at capacity. */
const LIST_FULL = Symbol('status list full');

/** Status lists over the store; see the module comment for the invariants. */
export class StatusLists {
  readonly #store: Store;
  readonly #size: number;
  readonly #fillThreshold: number;
  readonly #leaseSize: number;
  /** Per `tenantId:purpose`: the list reservations come from (loaded once, then kept in memory). */
  readonly #cursors = new Map<string, Promise<Cursor>>();
  readonly #cursorByList = new Map<string, Cursor>();

  constructor(store: Store, options: StatusListsOptions = {}) {
    this.#store = store;
    this.#size = createBitstring(options.size ?? MIN_STATUS_LIST_BITS).length * 8;
    const threshold = options.fillThreshold ?? 0.5;
    if (!(threshold > 0 && threshold < 1)) throw new RangeError('fillThreshold must be in (0, 1).');
    this.#fillThreshold = threshold;
    this.#leaseSize = options.leaseSize ?? 64;
    if (!(Number.isInteger(this.#leaseSize) && this.#leaseSize >= 1)) {
      throw new RangeError('leaseSize must be a positive integer.');
    }
  }

  /**
   * Allocates a random free index in the tenant's current list for `purpose`. With a `credentialId`
   * that already has an entry for this tenant and purpose, returns that entry instead.
   */
  async allocate(tenantId: string, purpose: StatusPurpose, credentialId?: string): Promise<StatusAllocation> {
    checkPurpose(purpose);
    if (credentialId !== undefined) {
      const existing = await this.#store.db.statusEntry.findFirst({
        where: { credentialId, list: { tenantId, purpose } },
        select: { listId: true, index: true },
      });
      if (existing) return { ...existing, purpose };
    }
    for (;;) {
      const list = await this.#currentList(tenantId, purpose);
      for (let attempt = 0; attempt < MAX_INDEX_ATTEMPTS; attempt++) {
        const index = randomInt(list.size);
        try {
          await this.#store.tx(async (tx) => {
            await tx.statusEntry.create({
              data: { listId: list.id, index, credentialId: credentialId ?? null },
            });
            // Locking the list row last keeps it held for one round trip; the increments are serialized
            // on it, so the cap holds under concurrency. (The entry's foreign-key check takes only a
            // KEY SHARE lock, which setStatus's FOR NO KEY UPDATE does not conflict with: no deadlock.)
            const { allocated } = await tx.statusList.update({
              where: { id: list.id },
              data: { allocated: { increment: 1 } },
              select: { allocated: true },
            });
            if (allocated > this.#capacity(list.size)) throw LIST_FULL;
          });
          return { listId: list.id, index, purpose };
        } catch (err) {
          if (err === LIST_FULL) break;
          if (!isUniqueViolation(err)) throw err;
          // Either the index was taken (try another) or this credential already has an entry here.
          if (credentialId !== undefined) {
            const existing = await this.#store.db.statusEntry.findUnique({
              where: { listId_credentialId: { listId: list.id, credentialId } },
            });
            if (existing) return { listId: list.id, index: existing.index, purpose };
          }
        }
      }
      // The list filled up under us (or collided too often): move on to the next list.
      await this.#startNextList(tenantId, purpose, list.sequence);
    }
  }

  /**
   * Picks, for each purpose, a random index of the tenant's current list that this instance does not
   * know to be taken, out of this instance's lease (taking a new lease when it is used up), and writes no
   * entry: `commitWithin` writes the picks in the caller's transaction. A pick that is never committed
   * stays unused by this instance (the database still has it free); `release` gives its lease back.
   */
  async reserve(tenantId: string, purposes: readonly StatusPurpose[]): Promise<ReservedAllocation[]> {
    const reserved: ReservedAllocation[] = [];
    for (const purpose of purposes) {
      checkPurpose(purpose);
      for (;;) {
        const cursor = await this.#cursor(tenantId, purpose);
        if (cursor.leased === 0 && !cursor.full) {
          cursor.leasing ??= this.#lease(cursor).finally(() => {
            cursor.leasing = undefined;
          });
          await cursor.leasing;
          continue;
        }
        if (cursor.full || cursor.takenCount >= cursor.size - 1) {
          await this.#moveOn(tenantId, purpose, cursor);
          continue;
        }
        cursor.leased--;
        // At most `capacity` (half the list by default) is taken, so a few tries find a free index.
        let index = randomInt(cursor.size);
        while (getBit(cursor.taken, index)) index = randomInt(cursor.size);
        markTaken(cursor, index);
        reserved.push({ tenantId, listId: cursor.listId, index, purpose });
        break;
      }
    }
    return reserved;
  }

  /** Gives the lease of reservations that will not be committed back to this instance. */
  release(reserved: readonly ReservedAllocation[]): void {
    for (const r of reserved) {
      const cursor = this.#cursorByList.get(r.listId);
      if (cursor && !cursor.full) cursor.leased++;
    }
  }

  /**
   * Writes reserved entries inside `tx` (their capacity was counted by the lease), for `credentialId`,
   * or for `credentialId[i]` each when several credentials are written at once. Throws
   * `StatusAllocationConflict` when another instance took an index meanwhile: roll back and reserve again.
   */
  async commitWithin(
    tx: Tx,
    reserved: readonly ReservedAllocation[],
    credentialId: string | readonly string[],
  ): Promise<void> {
    if (reserved.length === 0) return;
    if (typeof credentialId !== 'string' && credentialId.length !== reserved.length) {
      throw new Error('invalid_argument: one credential id per reserved entry');
    }
    const idOf = (i: number) => (typeof credentialId === 'string' ? credentialId : credentialId[i]!);
    try {
      await tx.statusEntry.createMany({
        data: reserved.map((r, i) => ({ listId: r.listId, index: r.index, credentialId: idOf(i) })),
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new StatusAllocationConflict();
      throw err;
    }
  }

  /**
   * Sets the status bit of an allocated entry: `true` revokes or suspends, `false` reinstates
   * (refused for `revocation`). Setting a bit to its current value changes nothing. With `tx`, the
   * change is part of the caller's transaction (e.g. removing a passkey revokes its credential).
   */
  async setStatus(
    listId: string,
    index: number,
    value: boolean,
    scope: TenantScope = {},
    tx?: Tx,
  ): Promise<StatusChange> {
    if (tx) return this.#setStatusIn(tx, listId, index, value, scope);
    return this.#store.tx((t) => this.#setStatusIn(t, listId, index, value, scope));
  }

  async #setStatusIn(
    tx: Tx,
    listId: string,
    index: number,
    value: boolean,
    scope: TenantScope,
  ): Promise<StatusChange> {
    if (this.#store.dialect === 'postgres') {
      await tx.$queryRaw`SELECT "id" FROM "StatusList" WHERE "id" = ${listId} FOR NO KEY UPDATE`;
    }
    const list = await tx.statusList.findUnique({ where: { id: listId } });
    if (!list || (scope.tenantId !== undefined && list.tenantId !== scope.tenantId)) {
      throw new StatusListNotFoundError(listId);
    }
    checkRange(index, list.size);
    const entry = await tx.statusEntry.findUnique({ where: { listId_index: { listId, index } } });
    if (!entry) throw new StatusEntryNotFoundError(listId, index);
    const current = getBit(list.bits, index);
    if (current === value) return { changed: false, version: list.version };
    if (current && list.purpose === 'revocation') throw new RevocationIsFinalError();
    const updated = await tx.statusList.update({
      where: { id: listId },
      data: { bits: toBytes(setBit(list.bits, index, value)), version: { increment: 1 } },
      select: { version: true },
    });
    return { changed: true, version: updated.version };
  }

  /**
   * The status bits of many entries, reading each distinct list once (a holder's credentials share a
   * few lists). Entries of lists outside `scope` or out of range read as unset.
   */
  async statuses(
    entries: ReadonlyArray<{ listId: string; index: number }>,
    scope: TenantScope = {},
  ): Promise<boolean[]> {
    const ids = [...new Set(entries.map((e) => e.listId))];
    if (ids.length === 0) return [];
    const lists = await this.#store.db.statusList.findMany({
      where: { id: { in: ids }, ...(scope.tenantId !== undefined ? { tenantId: scope.tenantId } : {}) },
      select: { id: true, bits: true, size: true },
    });
    const byId = new Map(lists.map((l) => [l.id, l]));
    return entries.map((e) => {
      const list = byId.get(e.listId);
      return list !== undefined && Number.isInteger(e.index) && e.index >= 0 && e.index < list.size
        ? getBit(list.bits, e.index)
        : false;
    });
  }

  /** The status bit at `index` (true = revoked / suspended). */
  async getStatus(listId: string, index: number, scope: TenantScope = {}): Promise<boolean> {
    const list = await this.#find(listId, scope);
    checkRange(index, list.size);
    return getBit(list.bits, index);
  }

  /** The list in its published form: the spec's `encodedList` plus what an HTTP layer needs. */
  async encodedList(listId: string, scope: TenantScope = {}): Promise<EncodedStatusList> {
    const list = await this.#find(listId, scope);
    return {
      listId: list.id,
      tenantId: list.tenantId,
      purpose: list.purpose as StatusPurpose,
      size: list.size,
      encodedList: encodeBitstring(list.bits),
      version: list.version,
      etag: `"${list.id}.${list.version}"`,
      updatedAt: list.updatedAt,
    };
  }

  /** A tenant's lists, oldest first, optionally for one purpose. */
  async list(tenantId: string, purpose?: StatusPurpose): Promise<StatusListSummary[]> {
    const rows = await this.#store.db.statusList.findMany({
      where: { tenantId, ...(purpose ? { purpose } : {}) },
      orderBy: [{ purpose: 'asc' }, { sequence: 'asc' }],
      select: summaryFields,
    });
    return rows.map(toSummary);
  }

  async #find(listId: string, scope: TenantScope) {
    const list = await this.#store.db.statusList.findUnique({ where: { id: listId } });
    if (!list || (scope.tenantId !== undefined && list.tenantId !== scope.tenantId)) {
      throw new StatusListNotFoundError(listId);
    }
    return list;
  }

  /** How many entries a list of `size` takes before the next list is started. */
  #capacity(size: number): number {
    return Math.max(1, Math.floor(size * this.#fillThreshold));
  }

  /** The reservation cursor of the tenant's current list for `purpose`, loaded once. */
  #cursor(tenantId: string, purpose: StatusPurpose): Promise<Cursor> {
    const key = `${tenantId}:${purpose}`;
    let cursor = this.#cursors.get(key);
    if (!cursor) {
      cursor = this.#loadCursor(tenantId, purpose);
      this.#cursors.set(key, cursor);
      cursor.catch(() => {
        if (this.#cursors.get(key) === cursor) this.#cursors.delete(key);
      });
    }
    return cursor;
  }

  async #loadCursor(tenantId: string, purpose: StatusPurpose): Promise<Cursor> {
    const list = await this.#currentList(tenantId, purpose);
    // Once per list and instance: the indexes already taken (at most `capacity` rows).
    const entries = await this.#store.db.statusEntry.findMany({
      where: { listId: list.id },
      select: { index: true },
    });
    const cursor: Cursor = {
      listId: list.id,
      size: list.size,
      sequence: list.sequence,
      capacity: this.#capacity(list.size),
      taken: new Uint8Array(list.size / 8),
      takenCount: 0,
      leased: 0,
      full: false,
    };
    for (const { index } of entries) if (index >= 0 && index < list.size) markTaken(cursor, index);
    this.#cursorByList.set(list.id, cursor);
    return cursor;
  }

  /**
   * Counts up to `leaseSize` entries against the cursor's list, only as far as its capacity allows (one
   * conditional update, so instances together never pass it); none left marks the cursor full.
   */
  async #lease(cursor: Cursor): Promise<void> {
    for (;;) {
      const row = await this.#store.db.statusList.findUnique({
        where: { id: cursor.listId },
        select: { allocated: true },
      });
      const room = row ? cursor.capacity - row.allocated : 0;
      if (room <= 0) {
        cursor.full = true;
        return;
      }
      const n = Math.min(this.#leaseSize, room);
      const { count } = await this.#store.db.statusList.updateMany({
        where: { id: cursor.listId, allocated: row!.allocated },
        data: { allocated: { increment: n } },
      });
      // Another instance counted entries in between: read again.
      if (count === 1) {
        cursor.leased += n;
        return;
      }
    }
  }

  /** The cursor's list is full: start the next list (once, whichever instance wins) and forget the cursor. */
  async #moveOn(tenantId: string, purpose: StatusPurpose, cursor: Cursor): Promise<void> {
    const key = `${tenantId}:${purpose}`;
    const current = this.#cursors.get(key);
    if (current && (await current) === cursor) this.#cursors.delete(key);
    this.#cursorByList.delete(cursor.listId);
    await this.#startNextList(tenantId, purpose, cursor.sequence);
  }

  /** The list to allocate from: the newest one, or a new one when it is full enough (or none exists). */
  async #currentList(tenantId: string, purpose: StatusPurpose) {
    for (;;) {
      const newest = await this.#store.db.statusList.findFirst({
        where: { tenantId, purpose },
        orderBy: { sequence: 'desc' },
        select: { id: true, size: true, sequence: true, allocated: true },
      });
      if (newest && newest.allocated < this.#capacity(newest.size)) return newest;
      await this.#startNextList(tenantId, purpose, newest ? newest.sequence : -1);
    }
  }

  /** Creates list `after + 1`; losing the race to another instance is fine (its list is used). */
  async #startNextList(tenantId: string, purpose: StatusPurpose, after: number): Promise<void> {
    try {
      await this.#store.db.statusList.create({
        data: {
          tenantId,
          purpose,
          sequence: after + 1,
          size: this.#size,
          bits: toBytes(createBitstring(this.#size)),
        },
        select: { id: true },
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }
}

const summaryFields = {
  id: true,
  tenantId: true,
  purpose: true,
  sequence: true,
  size: true,
  allocated: true,
  version: true,
  createdAt: true,
  updatedAt: true,
} as const;

function toSummary(row: {
  id: string;
  tenantId: string;
  purpose: string;
  sequence: number;
  size: number;
  allocated: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}): StatusListSummary {
  const { id, purpose, ...rest } = row;
  return { listId: id, purpose: purpose as StatusPurpose, ...rest };
}

function checkPurpose(purpose: string): asserts purpose is StatusPurpose {
  if (!(STATUS_PURPOSES as readonly string[]).includes(purpose)) {
    throw new InvalidRequestError(`Unsupported status purpose: ${purpose}.`);
  }
}

function checkRange(index: number, size: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= size)
    throw new StatusIndexOutOfRangeError(index, size);
}

function markTaken(cursor: Cursor, index: number): void {
  const mask = 0x80 >> (index & 7);
  const byte = cursor.taken[index >> 3] ?? 0;
  if ((byte & mask) !== 0) return;
  cursor.taken[index >> 3] = byte | mask;
  cursor.takenCount++;
}

/** Prisma's Bytes fields want a Uint8Array backed by a plain ArrayBuffer. */
function toBytes(bits: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(bits.length));
  out.set(bits);
  return out;
}
