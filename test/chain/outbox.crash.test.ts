/**
 * Crash mid-job: the service (with its outbox worker) runs in a child process and is SIGKILLed while
 * chain jobs are pending and in flight. After a restart on the same data, every job is confirmed exactly
 * once: one registry event per idempotency key, no duplicates, none missing, and the relayer's on-chain
 * transaction count equals the number of jobs. Runs on SQLite, and on PostgreSQL when TEST_POSTGRES_URL
 * is set.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, JsonRpcProvider, Network, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ChainOutbox } from '../../src/chain/outbox.ts';
import { registryArtifact } from '../../src/chain/registry-artifact.ts';
import { createLogger } from '../../src/log.ts';
import { fromRoot } from '../../src/paths.ts';
import { openStore } from '../../src/store/index.ts';
import { freePort } from '../helpers/process.ts';
import { freshPostgresUrl, TEST_POSTGRES_URL, tempDir } from '../helpers/service.ts';

const network = Network.from(31337);
const JOBS_BEFORE_KILL = 150;
const JOBS_WHILE_DOWN = 20;

/** The child: a real service, whose outbox worker relays the jobs. */
const CHILD = `
import { loadConfig } from ${JSON.stringify(fromRoot('src', 'config.ts'))};
import { createLogger } from ${JSON.stringify(fromRoot('src', 'log.ts'))};
import { startService } from ${JSON.stringify(fromRoot('src', 'service.ts'))};
const config = loadConfig();
const log = createLogger({ level: 'warn' });
const service = await startService(config, { log });
const { relayer, registryAddress, rpcUrl } = service.chain;
process.stdout.write(JSON.stringify({ ready: true, relayer: relayer.address, registryAddress, rpcUrl }) + '\\n');
`;

interface Facts {
  relayer: string;
  registryAddress: string;
  rpcUrl: string;
}

async function startChild(
  script: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; facts: Facts }> {
  // node itself with tsx's loader (not the tsx launcher): SIGKILL must hit the process running the worker.
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: fromRoot(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const facts = await new Promise<Facts>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start:\n${out}`)), 25_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{"ready":true'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Facts);
      }
    });
    child.stderr!.on('data', (d) => {
      out += d;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code}:\n${out}`));
    });
  });
  return { child, facts };
}

async function until(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cases: Array<[string, () => { url?: string; drop: () => Promise<void> }]> = [
  ['SQLite', () => ({ drop: async () => {} })],
];
if (TEST_POSTGRES_URL) {
  cases.push(['PostgreSQL', () => freshPostgresUrl()]);
}

describe('chain outbox after a crash', () => {
  if (!TEST_POSTGRES_URL) it.skip('PostgreSQL variant skipped: TEST_POSTGRES_URL not set', () => {});

  for (const [name, database] of cases) {
    it(`confirms every job exactly once after SIGKILL mid-flight and a restart, on ${name}`, async () => {
      const dir = tempDir();
      const db = database();
      const script = join(dir.path, 'child.mts');
      writeFileSync(script, CHILD);
      const databaseUrl = db.url ?? `file:${join(dir.path, 'trustgate.db')}`;
      const env = {
        DATA_DIR: dir.path,
        DATABASE_URL: databaseUrl,
        PORT: String(await freePort()),
        CHAIN_PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      };
      let child: ChildProcess | undefined;
      const store = { current: undefined as Awaited<ReturnType<typeof openStore>> | undefined };
      try {
        const first = await startChild(script, env);
        child = first.child;
        const { relayer, registryAddress, rpcUrl } = first.facts;
        store.current = await openStore({ url: databaseUrl });
        const s = store.current;
        // Enqueue from this process straight into the shared database; the child's worker picks them up.
        const enqueuer = new ChainOutbox({
          store: s,
          chain: {
            chainId: 31337,
            provider: new JsonRpcProvider(rpcUrl, network, { staticNetwork: network }),
            relayer: new Wallet(Wallet.createRandom().privateKey),
            registryAddress,
          },
          log: createLogger({ level: 'silent' }),
        });
        const value = (i: number) => `0x${i.toString(16).padStart(4, '0')}`;
        const enqueue = (i: number) =>
          enqueuer.enqueue({
            idempotencyKey: `crash-${i}`,
            kind: 'setAttribute',
            payload: { identity: relayer, name: 'did/svc/Crash', value: value(i), validity: 3600 },
          });
        for (let i = 0; i < JOBS_BEFORE_KILL; i++) await enqueue(i);
        await until(
          async () => (await s.db.chainJob.count({ where: { status: 'confirmed' } })) >= 20,
          20_000,
          'the first confirmations',
        );
        first.child.kill('SIGKILL');
        await new Promise((r) => first.child.once('exit', r));
        const unfinished = await s.db.chainJob.count({ where: { status: { in: ['pending', 'sent'] } } });
        expect(unfinished, 'the kill must land while jobs are unfinished').toBeGreaterThan(0);

        for (let i = JOBS_BEFORE_KILL; i < JOBS_BEFORE_KILL + JOBS_WHILE_DOWN; i++) await enqueue(i);
        const total = JOBS_BEFORE_KILL + JOBS_WHILE_DOWN;

        const second = await startChild(script, env);
        child = second.child;
        await until(
          async () => (await s.db.chainJob.count({ where: { status: 'confirmed' } })) === total,
          25_000,
          'every job to be confirmed',
        );
        expect(await s.db.chainJob.count({ where: { status: 'failed' } })).toBe(0);

        const jobs = await s.db.chainJob.findMany({ orderBy: { nonce: 'asc' } });
        expect(jobs.map((j) => Number(j.nonce))).toEqual(Array.from({ length: total }, (_, i) => i));
        const provider = new JsonRpcProvider(second.facts.rpcUrl, network, { staticNetwork: network });
        try {
          const registry = new Contract(registryAddress, registryArtifact().abi, provider);
          const events = await registry.queryFilter(registry.filters.DIDAttributeChanged!(relayer), 0);
          const values = events.map((e) => (e as unknown as { args: { value: string } }).args.value).sort();
          expect(values).toEqual(Array.from({ length: total }, (_, i) => value(i)));
          expect(await provider.getTransactionCount(relayer, 'latest')).toBe(total);
        } finally {
          provider.destroy();
        }
      } finally {
        child?.kill('SIGKILL');
        await store.current?.close();
        dir.remove();
        await db.drop();
      }
    });
  }
});
