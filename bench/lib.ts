/** Shared pieces of the benchmarks: a Trustgate child process, percentiles, the results table and file. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { fromRoot } from '../src/paths.ts';
import { type Service, startService } from '../src/service.ts';
import { freePort, spawnMain } from '../test/helpers/process.ts';

export { freePort };

export interface Row {
  name: string;
  value: number;
  unit: string;
  target?: string;
  note?: string;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** A load run: completed operations per second, latency percentiles (ms) and failures. */
export interface Run {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Summarises the latencies (ms, any order; sorted in place) of a run that took `elapsedS` seconds. */
export function summarise(latencies: number[], errors: number, elapsedS: number): Run {
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / elapsedS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
}

export interface RunningService {
  url: string;
  /** The service's DATA_DIR (CLIs run against it share its database and keys). */
  dataDir: string;
  chainPort: number;
  startMs: number;
  stop(): Promise<void>;
}

/** Starts `npm start`'s entry point in its own process (the server gets its own core). */
export async function startServiceProcess(env: Record<string, string> = {}): Promise<RunningService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'trustgate-bench-'));
  const port = await freePort();
  const chainPort = await freePort();
  const started = performance.now();
  const main = spawnMain(
    { DATA_DIR: dataDir, PORT: String(port), CHAIN_PORT: String(chainPort), LOG_LEVEL: 'warn', ...env },
    { inherit: true },
  );
  await main.waitForOutput('Trustgate is ready', 60_000);
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    chainPort,
    startMs: performance.now() - started,
    stop: async () => {
      main.child.kill('SIGTERM');
      await main.exit;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Prints the rows as a table and writes them (with machine facts) to bench/results/. */
export function report(suite: string, rows: Row[]): string {
  const width = Math.max(...rows.map((r) => r.name.length), 10);
  const lines = [
    `${'benchmark'.padEnd(width)}  ${'value'.padStart(12)}  unit        target`,
    `${'-'.repeat(width)}  ${'-'.repeat(12)}  ----------  ------`,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(width)}  ${r.value.toFixed(r.value < 10 ? 2 : 0).padStart(12)}  ${r.unit.padEnd(10)}  ${r.target ?? ''}${r.note ? `  (${r.note})` : ''}`,
    ),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  const dir = fromRoot('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const result = {
    suite,
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    rows,
  };
  const file = join(dir, `${suite}-${result.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, `${suite}-latest.json`), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\nwrote ${file}\n`);
  return file;
}

/** Runs `measure` against a fresh in-process service (SQLite, embedded chain, free ports), then removes it. */
export async function withOwnService<T>(name: string, measure: (service: Service) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), `trustgate-bench-${name}-`));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    CHAIN_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  });
  const service = await startService(config, { log: createLogger({ level: 'warn' }) });
  try {
    return await measure(service);
  } finally {
    await service.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
