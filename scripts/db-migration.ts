/**
 * `npm run db:migration -- <name>`: writes the next migration for both dialects, offline.
 *
 * For each dialect, Prisma's wasm schema engine diffs the existing migrations (replayed into a throwaway
 * in-memory SQLite or PGlite database) against the schema, and the script lands in
 * `prisma/<dialect>/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql` with `migration_lock.toml` beside,
 * as `prisma migrate dev --create-only` would lay them out. Both dialects share the timestamp.
 */
import { realpathSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Dialect, defaultMigrationsDir, PRISMA_PROVIDER } from '../src/store/migrate.ts';
import {
  diffScript,
  migrationLockToml,
  readMigrationList,
  schemaTarget,
} from '../src/store/schema-engine.ts';
import { PG_SCHEMA_PATH, SQLITE_SCHEMA_PATH, sqliteSchemaIsCurrent } from './db-generate.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCHEMA_PATH: Record<Dialect, string> = { postgres: PG_SCHEMA_PATH, sqlite: SQLITE_SCHEMA_PATH };

/** Prisma's migration directory timestamp: UTC, `YYYYMMDDHHMMSS`. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Normalizes a migration name the way Prisma does: word characters only, at most 200 of them. */
function migrationName(raw: string): string {
  const name = raw
    .trim()
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 200);
  if (!name) throw new Error('Usage: npm run db:migration -- <name>   (e.g. add_devices)');
  return name;
}

/** The SQL that brings `dialect`'s migration history up to its schema, or null when nothing changed. */
export async function pendingMigrationScript(
  dialect: Dialect,
  migrationsDir: string,
): Promise<string | null> {
  const schema = await readFile(join(root, SCHEMA_PATH[dialect]), 'utf8');
  const history = await readMigrationList(dialect, migrationsDir);
  return diffScript(dialect, { tag: 'migrations', ...history }, schemaTarget(SCHEMA_PATH[dialect], schema));
}

async function checkLockfile(dialect: Dialect, migrationsDir: string): Promise<void> {
  const lock = await readFile(join(migrationsDir, 'migration_lock.toml'), 'utf8').catch(() => undefined);
  const provider = lock?.match(/^\s*provider\s*=\s*"([^"]*)"/m)?.[1];
  if (provider !== undefined && provider !== PRISMA_PROVIDER[dialect]) {
    throw new Error(
      `${migrationsDir}/migration_lock.toml says ${provider}, expected ${PRISMA_PROVIDER[dialect]}.`,
    );
  }
}

async function main(argv: string[]): Promise<void> {
  const name = migrationName(argv.filter((arg) => !arg.startsWith('-')).join('_'));
  if (!(await sqliteSchemaIsCurrent())) {
    throw new Error(
      `${SQLITE_SCHEMA_PATH} is out of date with ${PG_SCHEMA_PATH}: run \`npm run db:generate\` first.`,
    );
  }
  const directory = `${timestamp(new Date())}_${name}`;
  const dialects: Dialect[] = ['postgres', 'sqlite'];
  const scripts = await Promise.all(
    dialects.map(async (dialect) => {
      const migrationsDir = defaultMigrationsDir(dialect);
      await checkLockfile(dialect, migrationsDir);
      const started = Date.now();
      const script = await pendingMigrationScript(dialect, migrationsDir);
      return { dialect, migrationsDir, script, ms: Date.now() - started };
    }),
  );
  for (const { dialect, migrationsDir, script, ms } of scripts) {
    if (script === null) {
      process.stdout.write(`${dialect}: no schema changes, nothing written (${ms} ms)\n`);
      continue;
    }
    const target = join(migrationsDir, directory);
    // Not recursive for the last step: an existing directory (same second, same name) is an error.
    await mkdir(migrationsDir, { recursive: true });
    await mkdir(target);
    await writeFile(join(target, 'migration.sql'), script);
    const lockPath = join(migrationsDir, 'migration_lock.toml');
    const lock = await readFile(lockPath, 'utf8').catch(() => undefined);
    if (lock === undefined) await writeFile(lockPath, migrationLockToml(dialect));
    process.stdout.write(`${dialect}: wrote ${target.slice(root.length)}/migration.sql (${ms} ms)\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
