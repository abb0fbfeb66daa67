/**
 * The store: one Prisma client over SQLite (embedded default) or PostgreSQL (production), chosen by the
 * URL. Both generated clients come from one schema, so they share one API; `Db` is its type.
 *
 * SQLite through Prisma shares one connection, so a query outside an interactive transaction could see
 * that transaction's uncommitted rows. In SQLite mode every interactive transaction therefore runs
 * alone, and queries outside it wait until it ends (a gate held for the transaction's lifetime).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { Logger } from '../log.ts';
import { PrismaClient as PostgresClient } from './generated/postgres/client.ts';
import { PrismaClient as SqliteClient } from './generated/sqlite/client.ts';
import { dialectOf, pgConnectionStringOf, pgSchemaOf, sqlitePathOf } from './migrate.ts';

/** The database client type (identical API for both dialects). */
export type Db = PostgresClient;
/** The client handed to a transaction callback. */
export type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly db: Db;
  /** Runs `fn` in one interactive transaction (serialized on SQLite). */
  tx<T>(fn: (tx: Tx) => Promise<T>, options?: { timeoutMs?: number }): Promise<T>;
  /** Throws if the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  url: string;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  log?: Logger;
}

const owners = new WeakMap<object, Store>();

/**
 * The store that opened client `db`, if any. Lets code handed a plain client (not a transaction) open
 * a transaction the store's way (serialized on SQLite).
 */
export function storeOf(db: Db | Tx): Store | undefined {
  return owners.get(db);
}

/** Whether `err` is Prisma's unique-constraint violation (P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'P2002';
}

/** Opens the store for `url` (it must already be migrated: see `applyMigrations`). */
export async function openStore(options: StoreOptions): Promise<Store> {
  const dialect = dialectOf(options.url);
  if (dialect === 'postgres') {
    const schema = pgSchemaOf(options.url);
    const adapter = new PrismaPg(
      {
        connectionString: pgConnectionStringOf(options.url),
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: 5_000,
        // Raw SQL is not schema-qualified by Prisma: point every connection's search_path at the schema.
        ...(schema ? { options: `-c search_path="${schema.replace(/"/g, '""')}"` } : {}),
      },
      schema ? { schema } : undefined,
    );
    const db = new PostgresClient({ adapter });
    const store: Store = {
      dialect,
      db,
      tx: (fn, opts) => db.$transaction(fn, { timeout: opts?.timeoutMs ?? 10_000, maxWait: 5_000 }),
      ping: async () => {
        await db.$queryRawUnsafe('SELECT 1');
      },
      close: () => db.$disconnect(),
    };
    await store.ping();
    owners.set(db, store);
    return store;
  }
  return openSqlite(options.url);
}

async function openSqlite(url: string): Promise<Store> {
  const path = sqlitePathOf(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const base = new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: path, timeout: 5_000 }) });

  const inTx = new AsyncLocalStorage<true>();
  let gate: Promise<void> = Promise.resolve();
  const waitForGate = async () => {
    // Loop: another transaction may have taken the gate while we waited for the previous one.
    for (;;) {
      const current = gate;
      await current;
      if (current === gate) return;
    }
  };

  const db = base.$extends({
    query: {
      async $allOperations({ args, query }) {
        if (!inTx.getStore()) await waitForGate();
        return query(args);
      },
    },
  }) as unknown as Db;

  const tx: Store['tx'] = async (fn, opts) => {
    if (inTx.getStore()) throw new Error('nested store.tx() is not supported');
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = gate;
    gate = previous.then(() => held);
    await previous;
    try {
      return await inTx.run(true, () =>
        db.$transaction((t) => fn(t as Tx), { timeout: opts?.timeoutMs ?? 10_000, maxWait: 5_000 }),
      );
    } finally {
      release();
    }
  };

  await db.$executeRawUnsafe('PRAGMA foreign_keys = ON');
  await db.$queryRawUnsafe('PRAGMA busy_timeout = 5000');
  // Write-ahead logging: a commit appends to the log (one fsync; `synchronous` stays FULL, so a commit
  // survives power loss) instead of writing a rollback journal and the database; readers never wait for
  // the writer. The mode is stored in the database file.
  await db.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  const store: Store = {
    dialect: 'sqlite',
    db,
    tx,
    ping: async () => {
      await db.$queryRawUnsafe('SELECT 1');
    },
    close: () => base.$disconnect(),
  };
  owners.set(db, store);
  return store;
}
