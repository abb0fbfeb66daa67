/**
 * `npm run db:migrate`: applies pending migrations to `DATABASE_URL` (default `file:./data/trustgate.db`).
 *
 *   npm run db:migrate                          apply pending migrations
 *   npm run db:migrate -- --rolled-back <name>  a failed migration was reverted by hand: apply it again
 *   npm run db:migrate -- --applied <name>      a failed migration was completed by hand: record it
 */
import { parseArgs } from 'node:util';
import { applyMigrations, MigrationError, type MigrationLog, resolveMigration } from '../store/migrate.ts';

const DEFAULT_DATABASE_URL = 'file:./data/trustgate.db';

const log: MigrationLog = {
  info: (message) => process.stdout.write(`${message}\n`),
  warn: (message) => process.stderr.write(`warning: ${message}\n`),
};

try {
  const { values } = parseArgs({
    options: { 'rolled-back': { type: 'string' }, applied: { type: 'string' } },
    strict: true,
  });
  const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const rolledBack = values['rolled-back'];
  const applied = values.applied;
  if (rolledBack !== undefined && applied !== undefined) {
    throw new MigrationError('resolve_refused', 'Pass either --rolled-back or --applied, not both.');
  }
  if (rolledBack !== undefined)
    await resolveMigration({ url, migration: rolledBack, as: 'rolled-back', log });
  else if (applied !== undefined) await resolveMigration({ url, migration: applied, as: 'applied', log });
  else await applyMigrations({ url, log });
} catch (err) {
  const code = String((err as { code?: unknown }).code);
  if (err instanceof MigrationError || code.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${err instanceof Error ? err.message : err}\n`);
  } else if (/^E[A-Z]+$/.test(code)) {
    // Connection-level failures (ECONNREFUSED, ENOTFOUND, …): the message says it all.
    process.stderr.write(`Cannot reach the database: ${(err as Error).message}\n`);
  } else {
    throw err;
  }
  process.exit(1);
}
