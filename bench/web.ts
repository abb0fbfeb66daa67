/**
 * The portal and console front end: what a browser downloads for each (the entry, its imports and
 * stylesheets, raw and gzip-compressed, as the server names them in the page), how long a cold Vite
 * build takes (what `npm install` and a first start after a change spend on it), and how long the
 * console's dashboard takes to aggregate a busy tenant's attempts (ATTEMPTS rows over 90 days) for a
 * 14-day and a 90-day window, on SQLite and, when TEST_POSTGRES_URL is set, on PostgreSQL.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fromRoot } from '../src/paths.ts';
import { riskDashboard } from '../src/risk/dashboard.ts';
import { openStore } from '../src/store/index.ts';
import { applyMigrations } from '../src/store/migrate.ts';
import { ensureWebBuild, WebAppManifest, webDistDir } from '../src/web/app-build.ts';
import { freshPostgresUrl } from '../test/helpers/service.ts';
import { percentile, type Row } from './lib.ts';

const ATTEMPTS = Number(process.env.BENCH_DASHBOARD_ATTEMPTS ?? 100_000);
const CITIES = [
  ['Paris', 'FR', 48.86, 2.35],
  ['Lyon', 'FR', 45.76, 4.84],
  ['Berlin', 'DE', 52.52, 13.4],
  ['Lagos', 'NG', 6.46, 3.39],
  ['Lima', 'PE', -12.05, -77.04],
  ['Sydney', 'AU', -33.87, 151.21],
  ['Toronto', 'CA', 43.65, -79.38],
  ['Tokyo', 'JP', 35.68, 139.69],
] as const;
const REASONS = [
  'device.new',
  'geo.new_country',
  'travel.fast',
  'network.hosting',
  'time.unusual',
  'typing.anomalous',
];

/** Median time (ms) of the dashboard over a tenant with ATTEMPTS attempts, for 14 and 90 days. */
async function dashboardOn(name: string, url: string): Promise<Row[]> {
  await applyMigrations({ url });
  const store = await openStore({ url });
  try {
    const tenant = await store.db.tenant.create({
      data: { slug: `bench-${Date.now()}`, displayName: 'Bench' },
    });
    const now = Date.now();
    for (let done = 0; done < ATTEMPTS; done += 5000) {
      const data = Array.from({ length: Math.min(5000, ATTEMPTS - done) }, (_, k) => {
        const i = done + k;
        const [city, country, lat, lon] = CITIES[i % CITIES.length]!;
        const score = (i * 37) % 101;
        const decision = score >= 80 ? 'deny' : score >= 45 ? 'step_up' : 'allow';
        return {
          tenantId: tenant.id,
          accountId: `account-${i % 5000}`,
          action: i % 10 === 0 ? 'step_up' : 'sign_in',
          at: new Date(now - ((i * 7919) % (90 * 86_400_000))),
          outcome: decision === 'deny' ? 'denied' : decision === 'step_up' ? 'step_up' : 'success',
          city,
          country,
          lat,
          lon,
          score,
          decision,
          reasons: JSON.stringify(REASONS.filter((_, r) => (i >> r) & 1)),
        };
      });
      await store.db.riskAttempt.createMany({ data });
    }
    const rows: Row[] = [];
    for (const days of [14, 90]) {
      const times: number[] = [];
      for (let run = 0; run < 12; run++) {
        const started = performance.now();
        await riskDashboard(store, { tenantId: tenant.id, days, labelOf: () => undefined });
        if (run >= 2) times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      rows.push({
        name: `dashboard, ${days} days of ${ATTEMPTS / 1000}k attempts (${name}), p50`,
        value: percentile(times, 50),
        unit: 'ms',
      });
    }
    return rows;
  } finally {
    await store.close();
  }
}

function weight(files: string[]): { raw: number; gzip: number } {
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = readFileSync(join(webDistDir, file.slice('/app/'.length)));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 6 }).length;
  }
  return { raw, gzip };
}

export async function webBench(): Promise<Row[]> {
  await ensureWebBuild();
  const manifest = new WebAppManifest();
  const rows: Row[] = [];
  for (const name of ['portal', 'console'] as const) {
    const entry = manifest.entry(name);
    const js = weight([entry.script, ...entry.preloads]);
    const css = weight(entry.styles);
    rows.push(
      {
        name: `${name}: JavaScript, gzip`,
        value: js.gzip / 1024,
        unit: 'KiB',
        note: `${(js.raw / 1024).toFixed(0)} KiB raw`,
      },
      {
        name: `${name}: CSS, gzip`,
        value: css.gzip / 1024,
        unit: 'KiB',
        note: `${(css.raw / 1024).toFixed(0)} KiB raw`,
      },
    );
  }

  const { build } = await import('vite');
  const outDir = mkdtempSync(join(tmpdir(), 'trustgate-bench-web-'));
  try {
    const started = performance.now();
    await build({ configFile: fromRoot('web', 'vite.config.ts'), logLevel: 'silent', build: { outDir } });
    rows.push({ name: 'cold build of both apps (vite)', value: performance.now() - started, unit: 'ms' });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(tmpdir(), 'trustgate-bench-dashboard-'));
  try {
    rows.push(...(await dashboardOn('SQLite', `file:${join(dir, 'store.db')}`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pg = process.env.TEST_POSTGRES_URL ? freshPostgresUrl(process.env.TEST_POSTGRES_URL) : undefined;
  if (pg) {
    try {
      rows.push(...(await dashboardOn('PostgreSQL', pg.url)));
    } finally {
      await pg.drop();
    }
  }
  return rows;
}
