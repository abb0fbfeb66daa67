import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveSqliteSchema, PG_SCHEMA_PATH, SQLITE_SCHEMA_PATH } from '../../scripts/db-generate.ts';
import { pendingMigrationScript } from '../../scripts/db-migration.ts';
import {
  applyMigrations,
  type Dialect,
  defaultMigrationsDir,
  dialectOf,
  MigrationError,
  pgConnectionStringOf,
  pgSchemaOf,
  resolveMigration,
} from '../../src/store/migrate.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL;

/** A journal row reduced to what the assertions need. */
interface Row {
  name: string;
  checksum: string;
  finished: boolean;
  rolledBack: boolean;
  logs: string | null;
  steps: number;
}

/** One fresh, empty database of a dialect, with read access to its journal and tables. */
interface TestDb {
  url: string;
  journal(): Promise<Row[]>;
  hasTable(name: string): Promise<boolean>;
}

interface Harness {
  dialect: Dialect;
  fresh(): Promise<TestDb>;
}

async function migrationsOnDisk(dialect: Dialect): Promise<{ name: string; checksum: string }[]> {
  const dir = defaultMigrationsDir(dialect);
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  names.sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      checksum: createHash('sha256')
        .update(await readFile(join(dir, name, 'migration.sql')))
        .digest('hex'),
    })),
  );
}

/** A copy of the real migrations directory that a test may edit. */
async function copyOfMigrations(dialect: Dialect): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tg-migrations-${dialect}-`));
  await cp(defaultMigrationsDir(dialect), dir, { recursive: true });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function addMigration(dir: string, name: string, script: string): Promise<void> {
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(join(dir, name, 'migration.sql'), script);
}

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const toRow = (r: Record<string, unknown>): Row => ({
  name: String(r.migration_name),
  checksum: String(r.checksum),
  finished: r.finished_at !== null,
  rolledBack: r.rolled_back_at !== null,
  logs: r.logs as string | null,
  steps: Number(r.applied_steps_count),
});

function sqliteHarness(): Harness {
  let dir: string | undefined;
  return {
    dialect: 'sqlite',
    async fresh() {
      if (!dir) {
        const created = await mkdtemp(join(tmpdir(), 'tg-sqlite-'));
        dir = created;
        cleanups.push(() => rm(created, { recursive: true, force: true }));
      }
      // A subdirectory that does not exist yet: the runner creates it.
      const path = join(dir, randomBytes(4).toString('hex'), 'trustgate.db');
      const read = <T>(fn: (db: Database.Database) => T): T => {
        const db = new Database(path, { readonly: true });
        try {
          return fn(db);
        } finally {
          db.close();
        }
      };
      return {
        url: `file:${path}`,
        journal: async () =>
          read((db) =>
            (
              db.prepare('SELECT * FROM _prisma_migrations ORDER BY started_at').all() as Record<
                string,
                unknown
              >[]
            ).map(toRow),
          ),
        hasTable: async (name) =>
          read(
            (db) =>
              db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !==
              undefined,
          ),
      };
    },
  };
}

function postgresHarness(baseUrl: string): Harness {
  const pool = new pg.Pool({ connectionString: pgConnectionStringOf(baseUrl), max: 2 });
  const schemas: string[] = [];
  cleanups.push(async () => {
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });
  return {
    dialect: 'postgres',
    async fresh() {
      const schema = `tg_test_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      const url = new URL(pgConnectionStringOf(baseUrl));
      url.searchParams.set('schema', schema);
      return {
        url: url.toString(),
        journal: async () =>
          (await pool.query(`SELECT * FROM "${schema}"._prisma_migrations ORDER BY started_at`)).rows.map(
            toRow,
          ),
        hasTable: async (name) =>
          (await pool.query('SELECT to_regclass($1) AS t', [`"${schema}"."${name}"`])).rows[0]?.t !== null,
      };
    },
  };
}

/** The runner's contract, the same for every dialect. */
function runnerContract(harness: Harness) {
  const { dialect } = harness;

  it('applies every migration to a fresh database, journals each with its checksum, and a second run applies nothing', async () => {
    const db = await harness.fresh();
    const onDisk = await migrationsOnDisk(dialect);
    expect(onDisk.length).toBeGreaterThan(0);

    const first = await applyMigrations({ url: db.url });
    expect(first.applied).toEqual(onDisk.map((m) => m.name));
    expect(await db.hasTable('Tenant')).toBe(true);
    expect(await db.journal()).toEqual(
      onDisk.map((m) => ({
        name: m.name,
        checksum: m.checksum,
        finished: true,
        rolledBack: false,
        logs: null,
        steps: 1,
      })),
    );

    const second = await applyMigrations({ url: db.url });
    expect(second.applied).toEqual([]);
    expect(await db.journal()).toHaveLength(onDisk.length);
  });

  it('refuses to start when an applied migration was edited on disk (checksum mismatch)', async () => {
    const db = await harness.fresh();
    const dir = await copyOfMigrations(dialect);
    await applyMigrations({ url: db.url, migrationsDir: dir });
    const [first] = await migrationsOnDisk(dialect);
    await writeFile(
      join(dir, first!.name, 'migration.sql'),
      `${await readFile(join(dir, first!.name, 'migration.sql'), 'utf8')}\n-- edited\n`,
    );

    const refused = await applyMigrations({ url: db.url, migrationsDir: dir }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MigrationError);
    expect(refused).toMatchObject({ code: 'checksum_mismatch', migration: first!.name });
    expect((refused as Error).message).toContain(
      `Migration ${first!.name} was modified after it was applied`,
    );
  });

  it('rolls back a failing migration, journals it with logs and no finished_at, and refuses later runs until resolved', async () => {
    const db = await harness.fresh();
    const dir = await copyOfMigrations(dialect);
    const broken = '99990101000000_broken';
    await addMigration(dir, broken, 'CREATE TABLE "Partial" (id INTEGER);\nSELECT * FROM "NoSuchTable";\n');

    const failed = await applyMigrations({ url: db.url, migrationsDir: dir }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ name: 'MigrationError', code: 'migration_failed', migration: broken });
    expect((failed as Error).message).toContain(`Migration ${broken} failed`);
    expect((failed as Error).message).toContain('NoSuchTable');
    expect(await db.hasTable('Partial')).toBe(false);
    expect(await db.hasTable('Tenant')).toBe(true);
    const failedRow = (await db.journal()).find((row) => row.name === broken);
    expect(failedRow).toMatchObject({ finished: false, rolledBack: false, steps: 0 });
    expect(failedRow?.logs).toContain('NoSuchTable');

    const refused = await applyMigrations({ url: db.url, migrationsDir: dir }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'unresolved_failure', migration: broken });
    expect((refused as Error).message).toContain(`Migration ${broken} failed`);

    await addMigration(dir, broken, 'CREATE TABLE "Partial" (id INTEGER);\n');
    await resolveMigration({ url: db.url, migration: broken, as: 'rolled-back' });
    expect(await applyMigrations({ url: db.url, migrationsDir: dir })).toEqual({ applied: [broken] });
    expect(await db.hasTable('Partial')).toBe(true);
  });

  it('does not run a failed migration again once it is marked as applied by hand', async () => {
    const db = await harness.fresh();
    const dir = await copyOfMigrations(dialect);
    const broken = '99990101000000_broken';
    await addMigration(dir, broken, 'SELECT * FROM "NoSuchTable";\n');
    await expect(applyMigrations({ url: db.url, migrationsDir: dir })).rejects.toMatchObject({
      code: 'migration_failed',
    });

    await resolveMigration({ url: db.url, migration: broken, as: 'applied', migrationsDir: dir });
    expect(await applyMigrations({ url: db.url, migrationsDir: dir })).toEqual({ applied: [] });
    const rows = (await db.journal()).filter((row) => row.name === broken);
    expect(rows.map(({ finished, rolledBack }) => ({ finished, rolledBack }))).toEqual([
      { finished: false, rolledBack: true },
      { finished: true, rolledBack: false },
    ]);
    await expect(
      resolveMigration({ url: db.url, migration: broken, as: 'rolled-back' }),
    ).rejects.toMatchObject({
      code: 'resolve_refused',
    });
  });
}

describe('SQLite schema derivation', () => {
  it('the committed SQLite schema is the one derived from the PostgreSQL schema (run `npm run db:generate`)', async () => {
    const pgSchema = await readFile(join(root, PG_SCHEMA_PATH), 'utf8');
    expect(await readFile(join(root, SQLITE_SCHEMA_PATH), 'utf8')).toBe(deriveSqliteSchema(pgSchema));
  });

  it('changes only the datasource provider and the client output', () => {
    const derived = deriveSqliteSchema(
      'generator client {\n  provider = "prisma-client"\n  output = "../../src/store/generated/postgres"\n}\n' +
        'datasource db {\n  provider = "postgresql"\n}\nmodel A {\n  id String @id // postgresql\n}\n',
    );
    expect(derived).toContain('output = "../../src/store/generated/sqlite"');
    expect(derived).toContain('datasource db {\n  provider = "sqlite"\n}');
    expect(derived).toContain('id String @id // postgresql');
    expect(() => deriveSqliteSchema('model A {\n  id String @id\n}\n')).toThrow(/provider = "postgresql"/);
  });
});

describe('schema and migrations agree (run `npm run db:migration -- <name>` after editing the schema)', () => {
  it.each(['sqlite', 'postgres'] as const)(
    '%s: replaying the migrations leaves nothing to migrate to reach the schema',
    async (dialect) => {
      const script = await pendingMigrationScript(dialect, defaultMigrationsDir(dialect));
      expect(script, `the ${dialect} migrations are behind the schema; missing SQL:\n${script}`).toBeNull();
    },
  );
});

describe('database URLs', () => {
  it('tells the dialect from the URL and refuses anything else', () => {
    expect(dialectOf('file:./data/trustgate.db')).toBe('sqlite');
    expect(dialectOf('postgresql://u@h/db')).toBe('postgres');
    expect(dialectOf('postgres://u@h/db?schema=x')).toBe('postgres');
    expect(() => dialectOf('mysql://u:secret@h/db')).toThrow(
      /Unsupported database URL "mysql:\/\/u:\*\*\*@h\/db"/,
    );
  });

  it("reads Prisma's ?schema= parameter and strips it for pg", () => {
    expect(pgSchemaOf('postgresql://u@h/db?schema=tenant_a')).toBe('tenant_a');
    expect(pgSchemaOf('postgresql://u@h/db')).toBeUndefined();
    expect(pgConnectionStringOf('postgresql://u@h:5432/db?schema=tenant_a&sslmode=require')).toBe(
      'postgresql://u@h:5432/db?sslmode=require',
    );
  });
});

describe('migration runner on SQLite', () => {
  runnerContract(sqliteHarness());

  it('two processes starting at once apply each migration once', async () => {
    const db = await sqliteHarness().fresh();
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/migrate.ts')], {
          cwd: root,
          env: { ...process.env, DATABASE_URL: db.url },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (d) => {
          output += d;
        });
        child.stderr.on('data', (d) => {
          output += d;
        });
        child.on('exit', (code) =>
          code === 0 ? resolve(output) : reject(new Error(`exit ${code}: ${output}`)),
        );
      });
    const outputs = await Promise.all([run(), run()]);
    const onDisk = await migrationsOnDisk('sqlite');
    const appliedCounts = outputs.map((output) => Number(output.match(/Applied (\d+) migration/)?.[1] ?? 0));
    expect(appliedCounts[0]! + appliedCounts[1]!).toBe(onDisk.length);
    expect((await db.journal()).map((row) => row.name)).toEqual(onDisk.map((m) => m.name));
  });
});

if (TEST_POSTGRES_URL) {
  describe('migration runner on PostgreSQL', () => {
    const harness = postgresHarness(TEST_POSTGRES_URL);
    runnerContract(harness);

    it('two runners starting at once against one fresh schema apply each migration once', async () => {
      const db = await harness.fresh();
      const [a, b] = await Promise.all([applyMigrations({ url: db.url }), applyMigrations({ url: db.url })]);
      const onDisk = (await migrationsOnDisk('postgres')).map((m) => m.name);
      expect([...a.applied, ...b.applied].sort()).toEqual(onDisk);
      expect((await db.journal()).map((row) => row.name)).toEqual(onDisk);
    });
  });
} else {
  it.skip('PostgreSQL suite skipped: TEST_POSTGRES_URL not set', () => {});
}
