import { ChainOutbox, type OutboxChain } from '../src/chain/outbox.ts';
import { createLogger } from '../src/log.ts';
import type { Service } from '../src/service.ts';
import type { Store } from '../src/store/index.ts';
import { percentile, type Row, withOwnService } from './lib.ts';

const JOBS = Number(process.env.BENCH_RELAYER_JOBS ?? 500);
const RATE = Number(process.env.BENCH_RELAYER_RATE ?? 40);
const STEADY_S = Number(process.env.BENCH_RELAYER_SECONDS ?? 5);

const log = createLogger({ level: 'warn' });

async function confirmedCount(store: Store, prefix: string): Promise<number> {
  return store.db.chainJob.count({ where: { idempotencyKey: { startsWith: prefix }, status: 'confirmed' } });
}

async function until(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error('relayer bench: jobs did not confirm in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const attribute = (identity: string, i: number) => ({
  kind: 'setAttribute',
  payload: { identity, name: 'did/svc/Bench', value: `0x${i.toString(16).padStart(8, '0')}`, validity: 3600 },
});

/** Measures `store` + `chain`: a backlog drained with pipelining, then a steady load's latency. */
async function measure(store: Store, chain: OutboxChain): Promise<Row[]> {
  const run = Date.now().toString(36);
  const identity = chain.relayer.address;

  // Throughput: a backlog of JOBS jobs, drained by the worker from a standing start.
  const backlog = `bench-${run}-backlog-`;
  const outbox = new ChainOutbox({ store, chain, log });
  for (let i = 0; i < JOBS; i++)
    await outbox.enqueue({ idempotencyKey: `${backlog}${i}`, ...attribute(identity, i) });
  const started = performance.now();
  outbox.start();
  try {
    await until(async () => (await confirmedCount(store, backlog)) === JOBS, 120_000);
    const seconds = (performance.now() - started) / 1000;

    // Latency: RATE jobs per second for STEADY_S seconds, each timed from enqueue to confirmation.
    const steady = `bench-${run}-steady-`;
    const total = RATE * STEADY_S;
    const latencies: number[] = [];
    const waits: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const enqueued = performance.now();
      const job = await outbox.enqueue({ idempotencyKey: `${steady}${i}`, ...attribute(identity, JOBS + i) });
      waits.push(
        outbox.waitFor(job.id, 60_000).then((done) => {
          if (done.status !== 'confirmed') throw new Error(`bench job failed: ${done.lastError}`);
          latencies.push(performance.now() - enqueued);
        }),
      );
    }
    await Promise.all(waits);
    latencies.sort((a, b) => a - b);
    return [
      {
        name: `relayed registry writes, backlog of ${JOBS} (pipelined nonces)`,
        value: JOBS / seconds,
        unit: 'tx/s',
        target: '>= 50',
        note: 'confirmed; each a durable outbox job',
      },
      {
        name: `enqueue → confirmed latency p50 (${RATE} jobs/s steady)`,
        value: percentile(latencies, 50),
        unit: 'ms',
      },
      {
        name: `enqueue → confirmed latency p99 (${RATE} jobs/s steady)`,
        value: percentile(latencies, 99),
        unit: 'ms',
      },
    ];
  } finally {
    await outbox.stop();
  }
}

/**
 * The relayer benchmark. Given a service (in process), measures its store and chain; otherwise starts
 * a fresh embedded one (SQLite, embedded chain, free ports) and removes it afterwards.
 */
export async function relayerBench(service?: Pick<Service, 'store' | 'chain' | 'outbox'>): Promise<Row[]> {
  if (service) {
    await service.outbox.stop();
    return measure(service.store, service.chain);
  }
  return withOwnService('relayer', async (own) => {
    await own.outbox.stop();
    return measure(own.store, own.chain);
  });
}
