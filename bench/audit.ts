/**
 * Audit chain appends. Every security event is a record of its tenant's hash chain, appended inside the
 * transaction of the change it records and serialized per tenant on `AuditHead` (a row lock held until
 * commit on PostgreSQL; one transaction at a time on SQLite). Measured, for ONE tenant (the worst case:
 * every append contends for the same head), at concurrency 16:
 *
 *   - appends/s: a transaction holding only the chained append, beside an unchained insert of the same
 *     row (what recording an event cost before the chain)
 *   - a sign-in-shaped transaction (read the tenant, write a row, record the event) with the chained
 *     append and with the unchained insert
 *   - the passkey sign-in benchmark end to end (chain on), beside the last signin results if present
 *
 * Runs on SQLite and, when TEST_POSTGRES_URL is set, on PostgreSQL.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendRecord } from '../src/audit/chain.ts';
import { fromRoot } from '../src/paths.ts';
import { openStore, type Store, type Tx } from '../src/store/index.ts';
import { applyMigrations } from '../src/store/migrate.ts';
import { freshPostgresUrl } from '../test/helpers/service.ts';
import type { Row } from './lib.ts';
import { measureOn, rawEs256VerifyRate } from './signin.ts';

const SECONDS = Number(process.env.BENCH_AUDIT_SECONDS ?? 3);
const CONCURRENCY = 16;

async function rate(store: Store, unit: (tx: Tx, i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  const warm = performance.now() + 300;
  while (performance.now() < warm) await store.tx((tx) => unit(tx, done++));
  done = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await store.tx((tx) => unit(tx, done));
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

async function measureStore(name: string, url: string): Promise<Row[]> {
  await applyMigrations({ url });
  const store = await openStore({ url, poolSize: CONCURRENCY });
  try {
    const tenant = await store.db.tenant.create({
      data: { slug: `bench-${Date.now()}`, displayName: 'Bench' },
    });
    const tenantId = tenant.id;
    const event = (i: number) => ({
      tenantId,
      accountId: 'bench-account',
      type: 'signin.succeeded',
      ip: '192.0.2.1',
      detail: { aal: 2, amr: ['hwk', 'user'], factors: ['passkey'], decision: 'allow', i },
    });
    const unchained = (tx: Tx, i: number) =>
      tx.securityEvent.create({ data: { ...event(i), detail: JSON.stringify(event(i).detail) } });
    const chained = (tx: Tx, i: number) => appendRecord(tx, event(i));
    const change = async (tx: Tx, i: number) => {
      await tx.tenant.findUnique({ where: { id: tenantId } });
      await tx.securityEvent.create({ data: { tenantId, type: 'bench.change', detail: `{"i":${i}}` } });
    };

    const plain = await rate(store, unchained);
    const appends = await rate(store, chained);
    const unitPlain = await rate(store, async (tx, i) => {
      await change(tx, i);
      await unchained(tx, i);
    });
    const unitChained = await rate(store, async (tx, i) => {
      await change(tx, i);
      await chained(tx, i);
    });
    const head = await store.db.auditHead.findUniqueOrThrow({ where: { tenantId } });
    const count = await store.db.securityEvent.count({ where: { tenantId, seq: { not: null } } });
    if (head.seq !== count) throw new Error(`chain has ${count} records but head says ${head.seq}`);
    return [
      {
        name: `chained append alone, ${name}, one tenant, ${CONCURRENCY} concurrent`,
        value: appends,
        unit: 'appends/s',
        note: `unchained insert ${plain.toFixed(0)}/s; ${((1 / appends - 1 / plain) * 1000).toFixed(2)} ms more per event at full load`,
      },
      {
        name: `sign-in-shaped transaction + chained append, ${name}`,
        value: unitChained,
        unit: 'tx/s',
        note: `${unitPlain.toFixed(0)} tx/s with an unchained insert (${((unitChained / unitPlain) * 100).toFixed(0)}%); ${count} records chained, head consistent`,
      },
    ];
  } finally {
    await store.close();
  }
}

function previousSignIn(): string {
  const file = fromRoot('bench', 'results', 'signin-latest.json');
  if (!existsSync(file)) return 'no earlier bench/results/signin-latest.json to compare with';
  const prior = JSON.parse(readFileSync(file, 'utf8')) as { at: string; rows: Row[] };
  const row = prior.rows.find((r) => r.name.includes('SQLite') && r.unit === 'sign-ins/s');
  return row
    ? `signin-latest (${prior.at}): ${row.value.toFixed(0)} sign-ins/s`
    : 'signin-latest has no SQLite row';
}

export async function auditBench(): Promise<Row[]> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'trustgate-bench-audit-'));
  try {
    rows.push(...(await measureStore('SQLite', `file:${join(dir, 'audit.db')}`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pg = process.env.TEST_POSTGRES_URL ? freshPostgresUrl(process.env.TEST_POSTGRES_URL) : undefined;
  if (pg) {
    try {
      rows.push(...(await measureStore('PostgreSQL', pg.url)));
    } finally {
      await pg.drop();
    }
  } else {
    process.stdout.write('\nPostgreSQL audit benchmark skipped: TEST_POSTGRES_URL not set\n');
  }
  const before = previousSignIn();
  const rawVerify = rawEs256VerifyRate(1);
  const stores: Array<[string, Record<string, string>, number, (() => Promise<void>) | undefined]> = [
    ['SQLite', {}, rows[0]!.value, undefined],
  ];
  const pgSignIn = process.env.TEST_POSTGRES_URL
    ? freshPostgresUrl(process.env.TEST_POSTGRES_URL)
    : undefined;
  if (pgSignIn) stores.push(['PostgreSQL', { DATABASE_URL: pgSignIn.url }, rows[2]!.value, pgSignIn.drop]);
  for (const [name, env, appends, drop] of stores) {
    try {
      const signIn = await measureOn(name, env, rawVerify);
      for (const r of signIn)
        rows.push({ ...r, name: `${r.name} (audit chain on)`, note: `${r.note ?? ''}; ${before}` });
      const max = signIn.find((r) => r.unit === 'sign-ins/s');
      if (max) {
        rows.push({
          name: `audit append capacity used by the sign-in benchmark, ${name}`,
          value: (max.value / appends) * 100,
          unit: '% of cap',
          target: '< 50 %',
          note: `${max.value.toFixed(0)} sign-ins/s (one record each) against ${appends.toFixed(0)} chained appends/s on one tenant`,
        });
      }
    } finally {
      await drop?.();
    }
  }
  return rows;
}
