/**
 * Master key rotation: re-seals every envelope at rest (`PrivateKey`, `Secret`, `TotpFactor`) that is not under the key
 * ring's current master key, so the previous key can then be dropped.
 *
 * Safe while the service runs: each row is re-sealed on its own with a compare-and-set on the envelope it
 * read (`UPDATE … WHERE pk = ? AND envelope = <old>`), a single atomic statement, so a row rewritten
 * concurrently is never clobbered: it is read again and retried. Nothing is held open while decrypting.
 * Idempotent and resumable: only rows whose `masterKeyId` is not current are visited, so a second run
 * (or a run after an interruption) does only what is left.
 */
import { KeyRing } from '../crypto/envelope.ts';
import { secretContext } from '../crypto/secrets.ts';
import { totpContext } from '../factors/totp.ts';
import { oidcKeyContext } from '../oidc/keys.ts';
import { ssfStreamContext } from '../ssf/streams.ts';
import type { Store } from '../store/index.ts';
import { privateKeyContext } from './veramo-stores.ts';

/** What happened to the rows of one table. */
export interface RotationCounts {
  /** Re-sealed under the current master key by this run. */
  resealed: number;
  /** Already under the current master key. */
  current: number;
  /** Changed by someone else between read and write; read again and retried. */
  retried: number;
  /** Sealed under a master key the ring does not hold (or tampered): left as they are. */
  unreadable: number;
}

export interface RotationResult {
  /** Id of the current master key every readable row is now under. */
  masterKeyId: string;
  privateKeys: RotationCounts;
  secrets: RotationCounts;
  totpSecrets: RotationCounts;
  /** OpenID Connect signing and cookie keys. */
  oidcKeys: RotationCounts;
  /** Shared Signals receivers' authorization headers. */
  ssfStreams: RotationCounts;
  /** Rows still not under the current key; 0 means the previous keys can be dropped. */
  remaining: number;
}

/** Test seam: runs after a row was read and re-sealed, before the compare-and-set writes it. */
export interface RotationHooks {
  beforeCompareAndSet?: (table: TableName, id: string) => Promise<void>;
}

const BATCH = 100;
const MAX_ATTEMPTS = 5;

type TableName = 'PrivateKey' | 'Secret' | 'TotpFactor' | 'OidcKey' | 'SsfStream';

interface Table {
  name: TableName;
  /** Ids of rows not under `keyId`, after `cursor`, in id order. */
  pending(keyId: string, cursor: string | undefined): Promise<string[]>;
  read(id: string): Promise<{ masterKeyId: string; envelope: Uint8Array; context: string } | null>;
  /** Writes `envelope` if the row still holds `expected`; whether it did. */
  swap(id: string, expected: Uint8Array, envelope: Uint8Array, keyId: string): Promise<boolean>;
  countCurrent(keyId: string): Promise<number>;
  countRemaining(keyId: string): Promise<number>;
}

function privateKeyTable(store: Store): Table {
  const db = store.db;
  return {
    name: 'PrivateKey',
    pending: async (keyId, cursor) =>
      (
        await db.privateKey.findMany({
          where: { masterKeyId: { not: keyId }, ...(cursor !== undefined ? { alias: { gt: cursor } } : {}) },
          orderBy: { alias: 'asc' },
          take: BATCH,
          select: { alias: true },
        })
      ).map((r) => r.alias),
    read: async (alias) => {
      const row = await db.privateKey.findUnique({ where: { alias } });
      return (
        row && { masterKeyId: row.masterKeyId, envelope: row.envelope, context: privateKeyContext(alias) }
      );
    },
    swap: async (alias, expected, envelope, keyId) =>
      (
        await db.privateKey.updateMany({
          where: { alias, envelope: { equals: new Uint8Array(expected) } },
          data: { envelope: new Uint8Array(envelope), masterKeyId: keyId },
        })
      ).count === 1,
    countCurrent: (keyId) => db.privateKey.count({ where: { masterKeyId: keyId } }),
    countRemaining: (keyId) => db.privateKey.count({ where: { masterKeyId: { not: keyId } } }),
  };
}

/** The calls rotation makes on an id-keyed table with `masterKeyId` and `envelope` columns. */
interface EnvelopeDelegate<Row> {
  findMany(args: {
    where: { masterKeyId: { not: string }; id?: { gt: string } };
    orderBy: { id: 'asc' };
    take: number;
    select: { id: true };
  }): Promise<Array<{ id: string }>>;
  findUnique(args: { where: { id: string } }): Promise<Row | null>;
  updateMany(args: {
    where: { id: string; envelope: { equals: Uint8Array<ArrayBuffer> } };
    data: { envelope: Uint8Array<ArrayBuffer>; masterKeyId: string };
  }): Promise<{ count: number }>;
  count(args: { where: { masterKeyId: string | { not: string } } }): Promise<number>;
}

/** A table whose rows are keyed by `id`; `contextOf` is the envelope context its owner seals with. */
function idKeyedTable<Row extends { masterKeyId: string; envelope: Uint8Array }>(
  name: TableName,
  delegate: EnvelopeDelegate<Row>,
  contextOf: (row: Row) => string,
): Table {
  return {
    name,
    pending: async (keyId, cursor) =>
      (
        await delegate.findMany({
          where: { masterKeyId: { not: keyId }, ...(cursor !== undefined ? { id: { gt: cursor } } : {}) },
          orderBy: { id: 'asc' },
          take: BATCH,
          select: { id: true },
        })
      ).map((r) => r.id),
    read: async (id) => {
      const row = await delegate.findUnique({ where: { id } });
      return row && { masterKeyId: row.masterKeyId, envelope: row.envelope, context: contextOf(row) };
    },
    swap: async (id, expected, envelope, keyId) =>
      (
        await delegate.updateMany({
          where: { id, envelope: { equals: new Uint8Array(expected) } },
          data: { envelope: new Uint8Array(envelope), masterKeyId: keyId },
        })
      ).count === 1,
    countCurrent: (keyId) => delegate.count({ where: { masterKeyId: keyId } }),
    countRemaining: (keyId) => delegate.count({ where: { masterKeyId: { not: keyId } } }),
  };
}

// Same contexts as src/crypto/secrets.ts and src/factors/totp.ts seal with.
const secretTable = (store: Store) =>
  idKeyedTable('Secret', store.db.secret, (row) => secretContext(row.purpose));
const totpTable = (store: Store) =>
  idKeyedTable('TotpFactor', store.db.totpFactor, (row) => totpContext(row.id));
/** Shared Signals streams: the receiver's authorization header, when one is set (`authEnvelope`). */
function ssfStreamTable(store: Store): Table {
  const db = store.db;
  return {
    name: 'SsfStream',
    pending: async (keyId, cursor) =>
      (
        await db.ssfStream.findMany({
          where: {
            authEnvelope: { not: null },
            masterKeyId: { not: keyId },
            ...(cursor !== undefined ? { id: { gt: cursor } } : {}),
          },
          orderBy: { id: 'asc' },
          take: BATCH,
          select: { id: true },
        })
      ).map((r) => r.id),
    read: async (id) => {
      const row = await db.ssfStream.findUnique({ where: { id } });
      if (!row?.authEnvelope || !row.masterKeyId) return null;
      return {
        masterKeyId: row.masterKeyId,
        envelope: row.authEnvelope,
        context: ssfStreamContext(row.tenantId, row.id),
      };
    },
    swap: async (id, expected, envelope, keyId) =>
      (
        await db.ssfStream.updateMany({
          where: { id, authEnvelope: { equals: new Uint8Array(expected) } },
          data: { authEnvelope: new Uint8Array(envelope), masterKeyId: keyId },
        })
      ).count === 1,
    countCurrent: (keyId) =>
      db.ssfStream.count({ where: { authEnvelope: { not: null }, masterKeyId: keyId } }),
    countRemaining: (keyId) =>
      db.ssfStream.count({ where: { authEnvelope: { not: null }, masterKeyId: { not: keyId } } }),
  };
}

const oidcKeyTable = (store: Store) =>
  idKeyedTable('OidcKey', store.db.oidcKey, (row) => oidcKeyContext(row.tenantId, row.id));

// `contended`: rewritten concurrently on every attempt; left for the next run (it stays in `remaining`).
type Outcome = 'resealed' | 'current' | 'unreadable' | 'gone' | 'contended';

async function resealRow(
  table: Table,
  id: string,
  keys: KeyRing,
  counts: RotationCounts,
  hooks: RotationHooks,
): Promise<Outcome> {
  for (let attempt = 1; ; attempt++) {
    const row = await table.read(id);
    if (!row) return 'gone';
    if (row.masterKeyId === keys.current.id) return 'current';
    let envelope: Buffer;
    if (KeyRing.keyIdOf(row.envelope) === keys.current.id) {
      // Already sealed under the current key; only the recorded id lags behind.
      envelope = Buffer.from(row.envelope);
    } else {
      let plaintext: Buffer;
      try {
        plaintext = keys.open(row.envelope, row.context);
      } catch {
        return 'unreadable';
      }
      try {
        envelope = keys.seal(plaintext, row.context);
      } finally {
        plaintext.fill(0);
      }
    }
    await hooks.beforeCompareAndSet?.(table.name, id);
    if (await table.swap(id, row.envelope, envelope, keys.current.id)) return 'resealed';
    counts.retried++;
    if (attempt >= MAX_ATTEMPTS) return 'contended';
  }
}

async function rotateTable(table: Table, keys: KeyRing, hooks: RotationHooks): Promise<RotationCounts> {
  const counts: RotationCounts = { resealed: 0, current: 0, retried: 0, unreadable: 0 };
  let cursor: string | undefined;
  for (;;) {
    const ids = await table.pending(keys.current.id, cursor);
    if (ids.length === 0) break;
    for (const id of ids) {
      const outcome = await resealRow(table, id, keys, counts, hooks);
      if (outcome === 'resealed') counts.resealed++;
      else if (outcome === 'unreadable') counts.unreadable++;
      cursor = id;
    }
  }
  counts.current = (await table.countCurrent(keys.current.id)) - counts.resealed;
  return counts;
}

/**
 * Re-seals every `PrivateKey`, `Secret`, `TotpFactor` and `OidcKey` envelope (and Shared Signals receivers' headers) not under `keys.current` (opening it with any key the
 * ring holds). Run it after every instance seals under the new key; when `remaining` is 0, drop the old key.
 */
export async function rotateMasterKey(
  store: Store,
  keys: KeyRing,
  hooks: RotationHooks = {},
): Promise<RotationResult> {
  const privateKeys = await rotateTable(privateKeyTable(store), keys, hooks);
  const secrets = await rotateTable(secretTable(store), keys, hooks);
  const totpSecrets = await rotateTable(totpTable(store), keys, hooks);
  const oidcKeys = await rotateTable(oidcKeyTable(store), keys, hooks);
  const ssfStreams = await rotateTable(ssfStreamTable(store), keys, hooks);
  const remaining =
    (await privateKeyTable(store).countRemaining(keys.current.id)) +
    (await secretTable(store).countRemaining(keys.current.id)) +
    (await totpTable(store).countRemaining(keys.current.id)) +
    (await oidcKeyTable(store).countRemaining(keys.current.id)) +
    (await ssfStreamTable(store).countRemaining(keys.current.id));
  return { masterKeyId: keys.current.id, privateKeys, secrets, totpSecrets, oidcKeys, ssfStreams, remaining };
}
