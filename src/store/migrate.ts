/**
 * Runtime migration runner: applies `prisma/<dialect>/migrations` at service start and from
 * `npm run db:migrate`, without Prisma's native schema engine (a download we cannot make offline) and
 * without the generated clients or the wasm engine (start stays fast).
 *
 * It keeps Prisma's own journal, `_prisma_migrations`, with Prisma's DDL and row protocol (row inserted,
 * script run, `applied_steps_count` bumped, `finished_at` set; `logs` on failure), so `prisma migrate
 * status` / `resolve` still work wherever the native engine exists. Rules it enforces:
 *   - an applied migration whose file changed on disk (checksum) stops the start;
 *   - a migration that failed earlier and was not resolved stops the start;
 *   - each migration runs in one transaction with its journal row, so a failure leaves the schema as it
 *     was and a journal row with the error in `logs` and no `finished_at`;
 *   - concurrent runners apply each migration once: PostgreSQL holds Prisma's advisory lock for the whole
 *     run; SQLite takes `BEGIN IMMEDIATE` per migration and re-reads the journal inside it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';

/** The two database dialects Trustgate supports. */
export type Dialect = 'sqlite' | 'postgres';

/** Prisma's provider name for each dialect, as written in `migration_lock.toml`. */
export const PRISMA_PROVIDER: Record<Dialect, 'sqlite' | 'postgresql'> = {
  sqlite: 'sqlite',
  postgres: 'postgresql',
};

/** Stable codes for everything that stops a migration run. */
export type MigrationErrorCode =
  | 'invalid_database_url'
  | 'invalid_migrations'
  | 'checksum_mismatch'
  | 'unresolved_failure'
  | 'migration_failed'
  | 'resolve_refused';

/** Why the runner refused to start or stopped; `migration` names the migration concerned, if one is. */
export class MigrationError extends Error {
  readonly code: MigrationErrorCode;
  readonly migration: string | undefined;

  constructor(
    code: MigrationErrorCode,
    message: string,
    options: { migration?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MigrationError';
    this.code = code;
    this.migration = options.migration;
  }
}

/** Where the runner reports progress (a pino logger or `console` fit). */
export interface MigrationLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface ApplyMigrationsOptions {
  /** `file:<path>` (SQLite, relative to the working directory) or `postgres(ql)://…[?schema=name]`. */
  url: string;
  /** Defaults to `prisma/<dialect>/migrations` in the project. */
  migrationsDir?: string;
  log?: MigrationLog;
}

/**
 * Dialect of a database URL: `postgres://` / `postgresql://` is PostgreSQL, `file:` is SQLite.
 * @throws MigrationError `invalid_database_url` for anything else.
 */
export function dialectOf(url: string): Dialect {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  if (url.startsWith('file:')) return 'sqlite';
  throw new MigrationError(
    'invalid_database_url',
    `Unsupported database URL "${redact(url)}": expected file:<path> (SQLite) or postgresql://… (PostgreSQL).`,
  );
}

/** The PostgreSQL schema named by Prisma's `?schema=` URL parameter, if any (Prisma's default is `public`). */
export function pgSchemaOf(url: string): string | undefined {
  return new URL(url).searchParams.get('schema') || undefined;
}

/** The URL to hand to `pg`: the same, without Prisma's `schema` parameter. */
export function pgConnectionStringOf(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.delete('schema');
  return parsed.toString();
}

/**
 * The file path of a `file:` URL, as given (relative paths are relative to the working directory).
 * @throws MigrationError `invalid_database_url` for query parameters, which the store would take as
 * part of the file name.
 */
export function sqlitePathOf(url: string): string {
  const path = url.replace(/^file:/, '');
  if (path === '' || path.includes('?')) {
    throw new MigrationError(
      'invalid_database_url',
      `Unsupported SQLite URL "${url}": expected file:<path>.`,
    );
  }
  return path;
}

/** The project's migrations directory for `dialect` (independent of the working directory). */
export function defaultMigrationsDir(dialect: Dialect): string {
  return fileURLToPath(new URL(`../../prisma/${dialect}/migrations`, import.meta.url));
}

/**
 * Applies every pending migration to the database at `url`, creating the SQLite file or the PostgreSQL
 * `?schema=` if missing. Resolves with the names applied, in order (empty when up to date).
 * @throws MigrationError when an applied migration was edited, an earlier failure is unresolved, or a
 * migration fails (its error is kept in `_prisma_migrations.logs`).
 */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<{ applied: string[] }> {
  const dialect = dialectOf(options.url);
  const migrations = await readMigrations(dialect, options.migrationsDir ?? defaultMigrationsDir(dialect));
  const log = options.log;
  const journal = await openJournal(options.url);
  try {
    const byName = new Map(migrations.map((m) => [m.name, m]));
    const rows = await journal.rows();
    checkHistory(rows, byName);
    for (const row of active(rows)) {
      if (!byName.has(row.migration_name)) {
        log?.warn(
          `Migration ${row.migration_name} is applied to ${journal.where} but missing from the migrations directory.`,
        );
      }
    }

    const applied: string[] = [];
    for (const migration of migrations) {
      if (isApplied(rows, migration.name)) continue;
      log?.info(`Applying migration ${migration.name} to ${journal.where}`);
      if (await applyOne(journal, migration)) applied.push(migration.name);
      else log?.info(`Migration ${migration.name} was applied by another runner meanwhile`);
    }
    log?.info(
      applied.length > 0
        ? `Applied ${applied.length} migration(s) to ${journal.where}`
        : `${journal.where} is up to date`,
    );
    return { applied };
  } finally {
    await journal.close();
  }
}

export interface ResolveMigrationOptions {
  url: string;
  /** The migration directory name, e.g. `20250101120000_init`. */
  migration: string;
  /**
   * `rolled-back`: you reverted the failed migration's partial effects; it will be applied again.
   * `applied`: you completed it by hand; it is recorded as applied without running it.
   */
  as: 'rolled-back' | 'applied';
  migrationsDir?: string;
  log?: MigrationLog;
}

/**
 * Marks a failed migration as rolled back or applied, the way `prisma migrate resolve` does, so the
 * runner starts again.
 * @throws MigrationError `resolve_refused` when the journal does not allow it.
 */
export async function resolveMigration(options: ResolveMigrationOptions): Promise<void> {
  const dialect = dialectOf(options.url);
  const name = options.migration;
  const journal = await openJournal(options.url);
  try {
    await journal.begin();
    try {
      const rows = await journal.rows();
      const failed = rows.filter((row) => row.migration_name === name && isFailed(row));
      if (options.as === 'rolled-back') {
        if (failed.length === 0) {
          throw new MigrationError('resolve_refused', `Migration ${name} is not in a failed state.`, {
            migration: name,
          });
        }
      } else {
        if (isApplied(rows, name)) {
          throw new MigrationError('resolve_refused', `Migration ${name} is already recorded as applied.`, {
            migration: name,
          });
        }
        const migrations = await readMigrations(
          dialect,
          options.migrationsDir ?? defaultMigrationsDir(dialect),
        );
        const migration = migrations.find((m) => m.name === name);
        if (!migration) {
          throw new MigrationError(
            'resolve_refused',
            `Migration ${name} does not exist in the migrations directory.`,
            {
              migration: name,
            },
          );
        }
        const now = journal.timestamp(new Date());
        await journal.insert({
          id: randomUUID(),
          checksum: migration.checksum,
          name,
          startedAt: now,
          finishedAt: now,
        });
      }
      for (const row of failed) await journal.update(row.id, { rolledBackAt: journal.timestamp(new Date()) });
      await journal.commit();
    } catch (error) {
      await journal.rollback();
      throw error;
    }
    options.log?.info(`Marked migration ${name} as ${options.as} in ${journal.where}`);
  } finally {
    await journal.close();
  }
}

// ---------------------------------------------------------------------------------------------------

interface Migration {
  name: string;
  script: string;
  checksum: string;
}

/** A `_prisma_migrations` row (timestamps as the driver returns them). */
interface JournalRow {
  id: string;
  checksum: string;
  finished_at: unknown;
  migration_name: string;
  logs: string | null;
  rolled_back_at: unknown;
  started_at: unknown;
  applied_steps_count: number;
}

async function readMigrations(dialect: Dialect, dir: string): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new MigrationError(
      'invalid_migrations',
      `Cannot read the migrations directory ${dir}: ${error.message}`,
    );
  });
  const lock = await readFile(join(dir, 'migration_lock.toml'), 'utf8').catch(() => undefined);
  const provider = lock?.match(/^\s*provider\s*=\s*"([^"]*)"/m)?.[1];
  if (provider !== undefined && provider !== PRISMA_PROVIDER[dialect]) {
    throw new MigrationError(
      'invalid_migrations',
      `${dir} holds ${provider} migrations, but the database is ${PRISMA_PROVIDER[dialect]}.`,
    );
  }
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  names.sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name, 'migration.sql')).catch((error: Error) => {
        throw new MigrationError(
          'invalid_migrations',
          `Migration ${name} has no readable migration.sql: ${error.message}`,
          {
            migration: name,
          },
        );
      });
      return { name, script: bytes.toString('utf8'), checksum: sha256(bytes) };
    }),
  );
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Prisma's comparison: a checkout that converted line endings (git autocrlf) is not an edit, so the
 * script matches with either line ending.
 */
function checksumMatches(script: string, checksum: string): boolean {
  const lf = script.replaceAll('\r\n', '\n');
  return [script, lf, lf.replaceAll('\n', '\r\n')].some((variant) => sha256(variant) === checksum);
}

const active = (rows: JournalRow[]) => rows.filter((row) => row.rolled_back_at === null);
const isFailed = (row: JournalRow) => row.finished_at === null && row.rolled_back_at === null;
const isApplied = (rows: JournalRow[], name: string) =>
  active(rows).some((row) => row.migration_name === name && row.finished_at !== null);

function checkHistory(rows: JournalRow[], byName: Map<string, Migration>): void {
  for (const row of active(rows)) {
    if (isFailed(row)) {
      const logs = row.logs ? `\n${row.logs.trim()}` : '';
      throw new MigrationError(
        'unresolved_failure',
        `Migration ${row.migration_name} failed (started ${describeTime(row.started_at)}) and is not resolved.${logs}\n` +
          `Fix the cause (its migration.sql, or the data it tripped on), then run ` +
          `\`npm run db:migrate -- --rolled-back ${row.migration_name}\` to apply it again, ` +
          `or \`--applied ${row.migration_name}\` if you completed it by hand.`,
        { migration: row.migration_name },
      );
    }
    const migration = byName.get(row.migration_name);
    if (migration && !checksumMatches(migration.script, row.checksum)) {
      throw new MigrationError(
        'checksum_mismatch',
        `Migration ${row.migration_name} was modified after it was applied (checksum ${row.checksum} in the database, ` +
          `${migration.checksum} on disk). Restore the original migration.sql and add a new migration instead.`,
        { migration: row.migration_name },
      );
    }
  }
}

/** Applies one migration in one transaction; false when another runner applied it meanwhile. */
async function applyOne(journal: Journal, migration: Migration): Promise<boolean> {
  const id = randomUUID();
  const startedAt = journal.timestamp(new Date());
  await journal.begin();
  try {
    // Re-read inside the lock: another runner may have applied (or failed) it since the first read.
    const rows = await journal.rows();
    if (isApplied(rows, migration.name)) {
      await journal.commit();
      return false;
    }
    checkHistory(rows, new Map([[migration.name, migration]]));
    await journal.insert({ id, checksum: migration.checksum, name: migration.name, startedAt });
    await journal.exec(migration.script);
    await journal.update(id, { appliedSteps: 1 });
    await journal.beforeCommit();
    await journal.update(id, { finishedAt: journal.timestamp(new Date()) });
    await journal.commit();
    return true;
  } catch (error) {
    await journal.rollback();
    if (error instanceof MigrationError) throw error;
    const logs = describeDbError(error);
    await journal
      .insert({ id, checksum: migration.checksum, name: migration.name, startedAt, logs })
      .catch((recordError: Error) => {
        throw new MigrationError(
          'migration_failed',
          `Migration ${migration.name} failed and could not be recorded as failed (${recordError.message}):\n${logs}`,
          { migration: migration.name, cause: error },
        );
      });
    throw new MigrationError(
      'migration_failed',
      `Migration ${migration.name} failed; its changes were rolled back and the error is recorded in ` +
        `_prisma_migrations.logs:\n${logs}`,
      { migration: migration.name, cause: error },
    );
  }
}

function describeDbError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown; detail?: unknown; position?: unknown };
  const lines = [`Database error code: ${typeof e?.code === 'string' ? e.code : 'unknown'}`, ''];
  lines.push('Database error:', String(e?.message ?? error));
  if (typeof e?.detail === 'string') lines.push(`Detail: ${e.detail}`);
  if (typeof e?.position === 'string') lines.push(`Position: ${e.position}`);
  return lines.join('\n');
}

function describeTime(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

// ---------------------------------------------------------------------------------------------------
// The journal of one database: its connection, its transactions and its `_prisma_migrations` table.

interface JournalInsert {
  id: string;
  checksum: string;
  name: string;
  startedAt: string | Date;
  finishedAt?: string | Date;
  logs?: string;
}

interface Journal {
  /** The database, for messages (never with credentials). */
  readonly where: string;
  rows(): Promise<JournalRow[]>;
  insert(row: JournalInsert): Promise<void>;
  update(
    id: string,
    change: { appliedSteps?: number; finishedAt?: string | Date; rolledBackAt?: string | Date },
  ): Promise<void>;
  exec(script: string): Promise<void>;
  begin(): Promise<void>;
  /** Last checks inside the transaction, before the row is marked finished. */
  beforeCommit(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  timestamp(date: Date): string | Date;
  close(): Promise<void>;
}

async function openJournal(url: string): Promise<Journal> {
  return dialectOf(url) === 'postgres' ? openPostgresJournal(url) : openSqliteJournal(url);
}

// Prisma's exact DDL for each dialect, so its engines read the table as their own.
const SQLITE_JOURNAL_DDL = `CREATE TABLE "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

const POSTGRES_JOURNAL_DDL = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

/** The advisory lock key Prisma's engine takes, so this runner and `prisma migrate deploy` exclude each other. */
const PRISMA_ADVISORY_LOCK = 72707369;

const SQLITE_BUSY_TIMEOUT_MS = 30_000;

const JOURNAL_COLUMNS =
  'id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count';

async function openSqliteJournal(url: string): Promise<Journal> {
  const path = sqlitePathOf(url);
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const { default: Database } = await import('better-sqlite3');
  const db: BetterSqlite3.Database = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    const exists = () =>
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'").get() !==
      undefined;
    if (!exists()) {
      db.exec('BEGIN IMMEDIATE');
      if (!exists()) db.exec(SQLITE_JOURNAL_DDL);
      db.exec('COMMIT');
    }
  } catch (error) {
    db.close();
    throw error;
  }

  return {
    where: `SQLite database ${path}`,
    rows: async () =>
      db
        .prepare(`SELECT ${JOURNAL_COLUMNS} FROM "_prisma_migrations" ORDER BY started_at ASC`)
        .all() as JournalRow[],
    insert: async (row) => {
      db.prepare(
        `INSERT INTO "_prisma_migrations" (id, checksum, started_at, finished_at, migration_name, logs)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(row.id, row.checksum, row.startedAt, row.finishedAt ?? null, row.name, row.logs ?? null);
    },
    update: async (id, change) => {
      if (change.appliedSteps !== undefined) {
        db.prepare(
          'UPDATE "_prisma_migrations" SET applied_steps_count = applied_steps_count + ? WHERE id = ?',
        ).run(change.appliedSteps, id);
      }
      if (change.finishedAt !== undefined) {
        db.prepare('UPDATE "_prisma_migrations" SET finished_at = ? WHERE id = ?').run(change.finishedAt, id);
      }
      if (change.rolledBackAt !== undefined) {
        db.prepare('UPDATE "_prisma_migrations" SET rolled_back_at = ? WHERE id = ?').run(
          change.rolledBackAt,
          id,
        );
      }
    },
    exec: async (script) => {
      db.exec(script);
    },
    begin: async () => {
      // Prisma's SQLite migrations rebuild tables (create new, copy, DROP old, rename) under
      // `PRAGMA foreign_keys=OFF`, a pragma SQLite ignores inside a transaction: with foreign keys on,
      // dropping the old table would cascade-delete child rows. So turn them off before BEGIN, and check
      // integrity before COMMIT instead (SQLite's documented procedure for schema changes).
      db.pragma('foreign_keys = OFF');
      db.exec('BEGIN IMMEDIATE');
    },
    beforeCommit: async () => {
      const violations = db.pragma('foreign_key_check') as unknown[];
      if (violations.length > 0) {
        throw Object.assign(
          new Error(`foreign key violations after migration: ${JSON.stringify(violations.slice(0, 5))}`),
          {
            code: 'SQLITE_CONSTRAINT_FOREIGNKEY',
          },
        );
      }
    },
    commit: async () => {
      db.exec('COMMIT');
      db.pragma('foreign_keys = ON');
    },
    rollback: async () => {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.pragma('foreign_keys = ON');
    },
    // Prisma (through its SQLite driver adapter) stores journal times as ISO 8601 text in UTC.
    timestamp: (date) => date.toISOString().replace('Z', '+00:00'),
    close: async () => {
      db.close();
    },
  };
}

async function openPostgresJournal(url: string): Promise<Journal> {
  const schema = pgSchemaOf(url) ?? 'public';
  const table = `${quoteIdent(schema)}."_prisma_migrations"`;
  const { default: pgModule } = await import('pg');
  const client: pg.Client = new pgModule.Client({ connectionString: pgConnectionStringOf(url) });
  // A connection dropped while idle emits 'error'; without a listener it would crash the process.
  client.on('error', () => {});
  const where = `PostgreSQL schema "${schema}" (${redact(pgConnectionStringOf(url))})`;
  await client.connect();
  try {
    // Held until close(): a second runner waits here, then finds nothing left to apply.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    // Only when missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when it exists.
    if (found.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await client.query(`SET search_path TO ${quoteIdent(schema)}`);
    const hasTable = await client.query('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [
      schema,
      '_prisma_migrations',
    ]);
    if (hasTable.rowCount === 0) await client.query(POSTGRES_JOURNAL_DDL);
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }

  return {
    where,
    rows: async () =>
      (await client.query<JournalRow>(`SELECT ${JOURNAL_COLUMNS} FROM ${table} ORDER BY started_at ASC`))
        .rows,
    insert: async (row) => {
      await client.query(
        `INSERT INTO ${table} (id, checksum, started_at, finished_at, migration_name, logs) VALUES ($1, $2, $3, $4, $5, $6)`,
        [row.id, row.checksum, row.startedAt, row.finishedAt ?? null, row.name, row.logs ?? null],
      );
    },
    update: async (id, change) => {
      if (change.appliedSteps !== undefined) {
        await client.query(
          `UPDATE ${table} SET applied_steps_count = applied_steps_count + $1 WHERE id = $2`,
          [change.appliedSteps, id],
        );
      }
      if (change.finishedAt !== undefined) {
        await client.query(`UPDATE ${table} SET finished_at = $1 WHERE id = $2`, [change.finishedAt, id]);
      }
      if (change.rolledBackAt !== undefined) {
        await client.query(`UPDATE ${table} SET rolled_back_at = $1 WHERE id = $2`, [
          change.rolledBackAt,
          id,
        ]);
      }
    },
    exec: async (script) => {
      // No parameters: the simple query protocol, which runs a multi-statement script.
      await client.query(script);
    },
    begin: async () => {
      // A previous script may have changed search_path; each migration starts in the target schema.
      await client.query(`SET search_path TO ${quoteIdent(schema)}`);
      await client.query('BEGIN');
    },
    beforeCommit: async () => {},
    commit: async () => {
      await client.query('COMMIT');
    },
    rollback: async () => {
      await client.query('ROLLBACK');
    },
    timestamp: (date) => date,
    close: async () => {
      // Ending the session releases the lock too; unlocking first just frees it sooner for a waiter.
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
