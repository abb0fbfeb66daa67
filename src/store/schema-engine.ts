/**
 * Prisma's schema engine compiled to WebAssembly, driven through driver adapters, so migrations can be
 * diffed offline (the native engine is a download this environment cannot make).
 *
 * Development tooling only (`npm run db:migration`, the migration tests): the runtime runner in
 * `migrate.ts` never loads this module, and its dependencies are devDependencies.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type ParserOptions, PGlite } from '@electric-sql/pglite';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import {
  bindMigrationAwareSqlAdapterFactory,
  type ColumnType,
  ColumnTypeEnum,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
  type Transaction,
} from '@prisma/driver-adapter-utils';
import type { DiffTarget, MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg';
import * as engineBindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';
import { type Dialect, PRISMA_PROVIDER } from './migrate.ts';

export type { DiffTarget, MigrationList };

let bindingsReady: Promise<void> | undefined;
let poisoned: string | undefined;

/** The slice of the WebAssembly API used here (the project's `lib` has no WebAssembly declarations). */
const wasmApi = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(
        bytes: Uint8Array,
        imports: object,
      ): Promise<{ instance: { exports: Record<string, unknown> } }>;
      RuntimeError: new () => Error;
    };
  }
).WebAssembly;

class PanicRegistry {
  message = '';
  set_message(message: string): void {
    this.message = `RuntimeError: ${message}`;
  }
  get(): string {
    return this.message;
  }
}

/**
 * Instantiates the wasm module once per process. The package's own entry point imports the `.wasm`
 * file as an ES module, which Node 20 cannot do without a flag, so the bytes are instantiated by hand
 * against the generated JS glue (the same thing `prisma`'s bundle does for its other wasm modules).
 */
function loadBindings(): Promise<void> {
  bindingsReady ??= (async () => {
    const globals = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry };
    // The glue reports Rust panics through this global; without it a panic surfaces as a TypeError.
    globals.PRISMA_WASM_PANIC_REGISTRY ??= new PanicRegistry();
    const gluePath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(join(dirname(gluePath), 'schema_engine_bg.wasm'));
    const { instance } = await wasmApi.instantiate(bytes, { './schema_engine_bg.js': engineBindings });
    engineBindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
  })();
  return bindingsReady;
}

/**
 * Runs `fn` with a schema engine for `dialect` whose databases are throwaway: an in-memory SQLite
 * (better-sqlite3) or an in-memory PGlite. The engine and its databases are freed afterwards.
 */
export async function withSchemaEngine<T>(
  dialect: Dialect,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  if (poisoned) throw new Error(`Schema engine unusable in this process after an earlier ${poisoned}`);
  await loadBindings();
  const factory = dialect === 'sqlite' ? new SqliteShadowFactory() : new PGliteAdapterFactory();
  const adapter = bindMigrationAwareSqlAdapterFactory(factory);
  // A Rust panic surfaces as an uncaught WebAssembly.RuntimeError thrown from a callback, not as a
  // rejection: turn it into this call's error. The instance is unusable afterwards (and the glue's
  // module-level state cannot be reset), so later calls in this process fail fast.
  let onPanic: (error: unknown) => void = () => {};
  const panicked = new Promise<never>((_resolve, reject) => {
    onPanic = (error) => {
      if (!(error instanceof wasmApi.RuntimeError)) throw error;
      const registry = (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry })
        .PRISMA_WASM_PANIC_REGISTRY;
      poisoned = `schema engine panic: ${registry?.get() || error.message}`;
      reject(new Error(poisoned));
    };
  });
  process.prependListener('uncaughtException', onPanic);
  try {
    const engine = await Promise.race([
      engineBindings.SchemaEngine.new({ datamodels: undefined }, () => {}, adapter),
      panicked,
    ]);
    try {
      return await Promise.race([fn(engine), panicked]);
    } finally {
      // After a panic the instance is unusable and freeing it may throw again.
      try {
        engine.free();
      } catch {}
    }
  } catch (error) {
    // Driver errors reach the engine as "External error id#N"; the real error waits in the registry.
    const message = describeEngineError(error).replace(/External error id#(\d+)/g, (text, id: string) => {
      const record = adapter.errorRegistry.consumeError(Number(id));
      return record ? `${text}: ${describeEngineError(record.error)}` : text;
    });
    throw new Error(`Schema engine (${dialect}) failed: ${message}`, { cause: error });
  } finally {
    process.removeListener('uncaughtException', onPanic);
    if (factory instanceof PGliteAdapterFactory) await factory.close();
  }
}

/**
 * Diffs two schema sources and returns the SQL script that turns `from` into `to`, or `null` when
 * they describe the same database.
 */
export async function diffScript(dialect: Dialect, from: DiffTarget, to: DiffTarget): Promise<string | null> {
  return withSchemaEngine(dialect, async (engine) => {
    const result = await engine.diff({
      from,
      to,
      script: true,
      exitCode: true,
      filters: { externalTables: [], externalEnums: [] },
    });
    // With `exitCode: true` the engine answers 2 for a non-empty diff and 0 for an empty one.
    return result.exitCode === 2 ? (result.stdout ?? '') : null;
  });
}

/** A diff target for a Prisma schema's models (no database involved). */
export function schemaTarget(path: string, content: string): DiffTarget {
  return { tag: 'schemaDatamodel', files: [{ path, content }] };
}

/** The `migration_lock.toml` Prisma writes next to a dialect's migrations. */
export function migrationLockToml(dialect: Dialect): string {
  return `# Please do not edit this file manually
# It should be added in your version-control system (e.g., Git)
provider = "${PRISMA_PROVIDER[dialect]}"
`;
}

/**
 * Loads a migrations directory the way the Prisma CLI does: each subdirectory with its
 * `migration.sql`, sorted by name, plus the lock file. A missing directory is an empty history; a
 * missing lock file is taken as the dialect's (the engine needs it to pick a connector).
 */
export async function readMigrationList(dialect: Dialect, migrationsDir: string): Promise<MigrationList> {
  const lockfile = {
    path: 'migration_lock.toml',
    content: await readFile(join(migrationsDir, 'migration_lock.toml'), 'utf8').catch(() =>
      migrationLockToml(dialect),
    ),
  };
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    },
  );
  const directories = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  directories.sort();
  const migrationDirectories = await Promise.all(
    directories.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8').then(
          (value) => ({ tag: 'ok' as const, value }),
          (error: Error) => ({ tag: 'error' as const, value: error.message }),
        ),
      },
    })),
  );
  return { baseDir: migrationsDir, lockfile, migrationDirectories, shadowDbInitScript: '' };
}

function describeEngineError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const { message, error_code: code } = error as { message?: unknown; error_code?: unknown };
    if (typeof message === 'string') return typeof code === 'string' ? `${code}: ${message}` : message;
    return JSON.stringify(error);
  }
  return String(error);
}

/**
 * The engine replays each migration into the shadow database as one `executeRaw` call, which
 * better-sqlite3 refuses for more than one statement ("The supplied SQL string contains more than one
 * statement"). Statements without parameters therefore go through `executeScript` (SQLite's `exec`).
 */
class SqliteShadowFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'sqlite' as const;
  readonly adapterName = 'trustgate-better-sqlite3-shadow';
  readonly #inner = new PrismaBetterSqlite3({ url: ':memory:' });

  connect(): Promise<SqlDriverAdapter> {
    return this.#inner.connect();
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const db = await this.#inner.connectToShadowDb();
    return {
      provider: db.provider,
      adapterName: db.adapterName,
      queryRaw: (query) => db.queryRaw(query),
      executeRaw: async (query) => {
        if (query.args.length > 0) return db.executeRaw(query);
        await db.executeScript(query.sql);
        return 0;
      },
      executeScript: (script) => db.executeScript(script),
      startTransaction: (isolationLevel) => db.startTransaction(isolationLevel),
      dispose: () => db.dispose(),
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// A minimal driver adapter over in-memory PGlite. It returns the same column types and value shapes as
// @prisma/adapter-pg (whose introspection queries the engine was written against): node-postgres' text
// parsers, with adapter-pg's overrides for dates, times, numerics, JSON and bytea.

const OID = {
  BOOL: 16,
  BYTEA: 17,
  CHAR: 18,
  NAME: 19,
  INT8: 20,
  INT2: 21,
  INT4: 23,
  TEXT: 25,
  OID: 26,
  JSON: 114,
  FLOAT4: 700,
  FLOAT8: 701,
  MONEY: 790,
  BPCHAR: 1042,
  VARCHAR: 1043,
  DATE: 1082,
  TIME: 1083,
  TIMESTAMP: 1114,
  TIMESTAMPTZ: 1184,
  TIMETZ: 1266,
  NUMERIC: 1700,
  UUID: 2950,
  JSONB: 3802,
  BOOL_ARRAY: 1000,
  BYTEA_ARRAY: 1001,
  CHAR_ARRAY: 1002,
  NAME_ARRAY: 1003,
  INT2_ARRAY: 1005,
  INT4_ARRAY: 1007,
  TEXT_ARRAY: 1009,
  BPCHAR_ARRAY: 1014,
  VARCHAR_ARRAY: 1015,
  INT8_ARRAY: 1016,
  FLOAT4_ARRAY: 1021,
  FLOAT8_ARRAY: 1022,
  OID_ARRAY: 1028,
  TIMESTAMP_ARRAY: 1115,
  DATE_ARRAY: 1182,
  TIME_ARRAY: 1183,
  TIMESTAMPTZ_ARRAY: 1185,
  NUMERIC_ARRAY: 1231,
  UUID_ARRAY: 2951,
  JSONB_ARRAY: 3807,
  JSON_ARRAY: 199,
} as const;

const COLUMN_TYPES = new Map<number, ColumnType>([
  [OID.INT2, ColumnTypeEnum.Int32],
  [OID.INT4, ColumnTypeEnum.Int32],
  [OID.INT8, ColumnTypeEnum.Int64],
  [OID.OID, ColumnTypeEnum.Int64],
  [OID.FLOAT4, ColumnTypeEnum.Float],
  [OID.FLOAT8, ColumnTypeEnum.Double],
  [OID.BOOL, ColumnTypeEnum.Boolean],
  [OID.CHAR, ColumnTypeEnum.Character],
  [OID.DATE, ColumnTypeEnum.Date],
  [OID.TIME, ColumnTypeEnum.Time],
  [OID.TIMETZ, ColumnTypeEnum.Time],
  [OID.TIMESTAMP, ColumnTypeEnum.DateTime],
  [OID.TIMESTAMPTZ, ColumnTypeEnum.DateTime],
  [OID.NUMERIC, ColumnTypeEnum.Numeric],
  [OID.MONEY, ColumnTypeEnum.Numeric],
  [OID.JSON, ColumnTypeEnum.Json],
  [OID.JSONB, ColumnTypeEnum.Json],
  [OID.UUID, ColumnTypeEnum.Uuid],
  [OID.BYTEA, ColumnTypeEnum.Bytes],
  [OID.INT2_ARRAY, ColumnTypeEnum.Int32Array],
  [OID.INT4_ARRAY, ColumnTypeEnum.Int32Array],
  [OID.INT8_ARRAY, ColumnTypeEnum.Int64Array],
  [OID.OID_ARRAY, ColumnTypeEnum.Int64Array],
  [OID.FLOAT4_ARRAY, ColumnTypeEnum.FloatArray],
  [OID.FLOAT8_ARRAY, ColumnTypeEnum.DoubleArray],
  [OID.NUMERIC_ARRAY, ColumnTypeEnum.NumericArray],
  [OID.BOOL_ARRAY, ColumnTypeEnum.BooleanArray],
  [OID.CHAR_ARRAY, ColumnTypeEnum.CharacterArray],
  [OID.TEXT_ARRAY, ColumnTypeEnum.TextArray],
  [OID.NAME_ARRAY, ColumnTypeEnum.TextArray],
  [OID.VARCHAR_ARRAY, ColumnTypeEnum.TextArray],
  [OID.BPCHAR_ARRAY, ColumnTypeEnum.TextArray],
  [OID.DATE_ARRAY, ColumnTypeEnum.DateArray],
  [OID.TIME_ARRAY, ColumnTypeEnum.TimeArray],
  [OID.TIMESTAMP_ARRAY, ColumnTypeEnum.DateTimeArray],
  [OID.TIMESTAMPTZ_ARRAY, ColumnTypeEnum.DateTimeArray],
  [OID.JSON_ARRAY, ColumnTypeEnum.JsonArray],
  [OID.JSONB_ARRAY, ColumnTypeEnum.JsonArray],
  [OID.BYTEA_ARRAY, ColumnTypeEnum.BytesArray],
  [OID.UUID_ARRAY, ColumnTypeEnum.UuidArray],
]);

type TextParser = (value: string) => unknown;

const pgTextParser = (oid: number) => pg.types.getTypeParser(oid, 'text') as TextParser;

const identity: TextParser = (value) => value;
const arrayOf =
  (element: TextParser): TextParser =>
  (value) =>
    (pgTextParser(OID.TEXT_ARRAY)(value) as (string | null)[]).map((item) =>
      item === null ? null : element(item),
    );
const timestamp: TextParser = (value) => `${value.replace(' ', 'T')}+00:00`;
const timestamptz: TextParser = (value) => value.replace(' ', 'T').replace(/[+-]\d{2}(:\d{2})?$/, '+00:00');
const timetz: TextParser = (value) => value.replace(/[+-]\d{2}(:\d{2})?$/, '');

const PARSER_OVERRIDES = new Map<number, TextParser>([
  [OID.NUMERIC, identity],
  [OID.NUMERIC_ARRAY, arrayOf(identity)],
  [OID.DATE, identity],
  [OID.DATE_ARRAY, arrayOf(identity)],
  [OID.TIME, identity],
  [OID.TIME_ARRAY, arrayOf(identity)],
  [OID.TIMETZ, timetz],
  [OID.TIMESTAMP, timestamp],
  [OID.TIMESTAMP_ARRAY, arrayOf(timestamp)],
  [OID.TIMESTAMPTZ, timestamptz],
  [OID.TIMESTAMPTZ_ARRAY, arrayOf(timestamptz)],
  [OID.MONEY, (value) => value.slice(1)],
  [OID.JSON, identity],
  [OID.JSONB, identity],
  [OID.JSON_ARRAY, arrayOf(identity)],
  [OID.JSONB_ARRAY, arrayOf(identity)],
]);

// PGlite looks parsers up by type id; a proxy answers for every id, as node-postgres' registry does.
const PARSERS = new Proxy(
  {},
  {
    get: (_target, key) =>
      typeof key === 'string' ? (PARSER_OVERRIDES.get(Number(key)) ?? pgTextParser(Number(key))) : undefined,
  },
) as ParserOptions;

function columnTypeOf(oid: number): ColumnType {
  return COLUMN_TYPES.get(oid) ?? ColumnTypeEnum.Text;
}

function toDriverAdapterError(error: unknown): unknown {
  const e = error as {
    code?: unknown;
    severity?: unknown;
    message?: unknown;
    detail?: unknown;
    hint?: unknown;
  };
  if (typeof e?.code !== 'string') return error;
  return new DriverAdapterError({
    kind: 'postgres',
    code: e.code,
    severity: typeof e.severity === 'string' ? e.severity : 'ERROR',
    message: String(e.message),
    detail: typeof e.detail === 'string' ? e.detail : undefined,
    column: undefined,
    hint: typeof e.hint === 'string' ? e.hint : undefined,
  });
}

class PGliteQueryable {
  readonly provider = 'postgres' as const;
  readonly adapterName = 'trustgate-pglite';

  constructor(protected readonly db: () => Promise<PGlite>) {}

  async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    const result = await this.perform(query);
    return {
      columnNames: result.fields.map((field) => field.name),
      columnTypes: result.fields.map((field) => columnTypeOf(field.dataTypeID)),
      rows: result.rows,
    };
  }

  async executeRaw(query: SqlQuery): Promise<number> {
    if (query.args.length === 0) {
      // Without parameters use the simple protocol, which (unlike a prepared statement) accepts the
      // multi-statement migration scripts the engine replays into the shadow database.
      try {
        const results = await (await this.db()).exec(query.sql);
        return results.reduce((sum, result) => sum + (result.affectedRows ?? 0), 0);
      } catch (error) {
        throw toDriverAdapterError(error);
      }
    }
    return (await this.perform(query)).affectedRows ?? 0;
  }

  private async perform(query: SqlQuery) {
    try {
      return await (await this.db()).query<unknown[]>(query.sql, query.args, {
        rowMode: 'array',
        parsers: PARSERS,
      });
    } catch (error) {
      throw toDriverAdapterError(error);
    }
  }
}

class PGliteTransaction extends PGliteQueryable implements Transaction {
  // The engine sends COMMIT / ROLLBACK itself; these only mark the end of the transaction.
  readonly options = { usePhantomQuery: false };
  async commit(): Promise<void> {}
  async rollback(): Promise<void> {}
}

class PGliteAdapter extends PGliteQueryable implements SqlDriverAdapter {
  async executeScript(script: string): Promise<void> {
    try {
      await (await this.db()).exec(script);
    } catch (error) {
      throw toDriverAdapterError(error);
    }
  }

  async startTransaction(): Promise<Transaction> {
    await this.executeRaw({ sql: 'BEGIN', args: [], argTypes: [] });
    return new PGliteTransaction(this.db);
  }

  getConnectionInfo() {
    return { schemaName: 'public', supportsRelationJoins: true };
  }

  // The factory owns the PGlite instances and closes them all at the end.
  async dispose(): Promise<void> {}
}

let freshDataDir: Promise<File | Blob> | undefined;

/**
 * A new, empty in-memory PGlite. Its initdb takes about 2 s, so it runs once per process: later
 * databases load a snapshot of that fresh cluster (about 0.4 s).
 */
async function freshPGlite(): Promise<PGlite> {
  freshDataDir ??= (async () => {
    const template = await PGlite.create();
    try {
      return await template.dumpDataDir('none');
    } finally {
      await template.close();
    }
  })();
  return PGlite.create({ loadDataDir: await freshDataDir });
}

/**
 * Hands out in-memory PGlite databases: one main database (which a diff only asks for its version),
 * and a fresh one per shadow database. They start on first query.
 */
class PGliteAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres' as const;
  readonly adapterName = 'trustgate-pglite';
  readonly #instances: Promise<PGlite>[] = [];

  async connect(): Promise<SqlDriverAdapter> {
    return new PGliteAdapter(this.#lazy());
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    return new PGliteAdapter(this.#lazy());
  }

  async close(): Promise<void> {
    const instances = await Promise.allSettled(this.#instances.splice(0));
    await Promise.all(instances.map((db) => (db.status === 'fulfilled' ? db.value.close() : undefined)));
  }

  #lazy(): () => Promise<PGlite> {
    let db: Promise<PGlite> | undefined;
    return () => {
      if (!db) {
        db = freshPGlite();
        this.#instances.push(db);
      }
      return db;
    };
  }
}
