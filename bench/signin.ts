/**
 * Passkey sign-in under concurrent load: each sign-in is the whole ceremony a browser runs (request
 * options, sign with the software authenticator, verify: assertion check, counter update, decision,
 * new session and its audit record in one transaction). The service runs in its own process; the
 * load generator (and its authenticator) shares the machine's other core.
 *
 * Reported beside the raw ES256 verify rate of this machine in the same run (node:crypto, one core),
 * the floor every WebAuthn server pays per sign-in. Runs on SQLite and, when TEST_POSTGRES_URL is set,
 * on PostgreSQL.
 */
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { AuthClient } from '../test/helpers/auth-client.ts';
import { freshPostgresUrl } from '../test/helpers/service.ts';
import { SoftAuthenticator } from '../test/helpers/webauthn/soft-authenticator.ts';
import { type Row, type Run, startServiceProcess, summarise } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SIGNIN_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_SIGNIN_CONCURRENCY ?? 32);
const PEOPLE = 256;

/** Raw ES256 verifications per second on one core (what a sign-in's signature check costs at least). */
export function rawEs256VerifyRate(seconds = 2): number {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(37 + 32, 7);
  const signature = createSign('sha256').update(data).sign(privateKey);
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) createVerify('sha256').update(data).verify(publicKey, signature);
    n += 100;
  }
  return n / ((performance.now() - started) / 1000);
}

async function signInOnce(client: AuthClient): Promise<boolean> {
  const r = await client.signIn();
  return r.status === 200;
}

/**
 * Closed loop: `concurrency` workers sign in back to back for `seconds`. Each worker has its own people:
 * one authenticator never runs two ceremonies at once (a real one cannot, and overlapping assertions
 * would rightly trip the clone check).
 */
async function closedLoop(people: AuthClient[], concurrency: number, seconds: number): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      const mine = people.filter((_, i) => i % concurrency === worker);
      for (let k = 0; performance.now() < end; k++) {
        const client = mine[k % mine.length]!;
        const t0 = performance.now();
        if (await signInOnce(client)) latencies.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  return summarise(latencies, errors, (performance.now() - started) / 1000);
}

/** Open loop: sign-ins started at a fixed `rate` per second for `seconds`, whatever the latency. */
async function openLoop(people: AuthClient[], rate: number, seconds: number): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const total = Math.round(rate * seconds);
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  const busy = new Set<AuthClient>();
  let skipped = 0;
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // The next person not in a ceremony (an authenticator runs one at a time).
    const client =
      people.find((p, j) => j >= i % people.length && !busy.has(p)) ?? people.find((p) => !busy.has(p));
    if (!client) {
      skipped++;
      continue;
    }
    busy.add(client);
    inflight.push(
      (async () => {
        const t0 = performance.now();
        if (await signInOnce(client)) latencies.push(performance.now() - t0);
        else errors++;
        busy.delete(client);
      })(),
    );
  }
  await Promise.all(inflight);
  return summarise(latencies, errors + skipped, (performance.now() - started) / 1000);
}

export async function measureOn(
  store: string,
  env: Record<string, string>,
  rawVerify: number,
): Promise<Row[]> {
  const service = await startServiceProcess({ AUTH_RATE_LIMIT_PER_MINUTE: '0', ...env });
  try {
    const origin = `http://localhost:${new URL(service.url).port}`;
    const people: AuthClient[] = [];
    for (let i = 0; i < PEOPLE; i++) {
      const client = new AuthClient(service.url, new SoftAuthenticator(), 'default', origin);
      const r = await client.signUp(`bench${i}`);
      if (r.status !== 201) throw new Error(`sign-up failed: ${r.status} ${JSON.stringify(r.body)}`);
      people.push(client);
    }
    await closedLoop(people, CONCURRENCY, 1); // warm-up
    const max = await closedLoop(people, CONCURRENCY, SECONDS);
    const half = await openLoop(people, max.rate / 2, SECONDS);
    return [
      {
        name: `passkey sign-in, ${store}, ${CONCURRENCY} concurrent`,
        value: max.rate,
        unit: 'sign-ins/s',
        target: '>= 1000/s',
        note: `p50 ${max.p50.toFixed(1)} ms, p99 ${max.p99.toFixed(1)} ms, ${((max.rate / rawVerify) * 100).toFixed(1)}% of raw ES256 verify, ${max.errors} errors`,
      },
      {
        name: `passkey sign-in, ${store}, open loop at half that rate`,
        value: half.p99,
        unit: 'ms p99',
        target: '< 50 ms',
        note: `${half.rate.toFixed(0)} sign-ins/s, p50 ${half.p50.toFixed(1)} ms, ${half.errors} errors`,
      },
    ];
  } finally {
    await service.stop();
  }
}

export async function signInBench(): Promise<Row[]> {
  const rawVerify = rawEs256VerifyRate();
  const rows: Row[] = [{ name: 'raw ES256 verify (node:crypto, one core)', value: rawVerify, unit: 'ops/s' }];
  rows.push(...(await measureOn('SQLite', {}, rawVerify)));
  const pgBase = process.env.TEST_POSTGRES_URL;
  if (pgBase) {
    const db = freshPostgresUrl(pgBase);
    try {
      rows.push(...(await measureOn('PostgreSQL', { DATABASE_URL: db.url }, rawVerify)));
    } finally {
      await db.drop();
    }
  } else {
    process.stdout.write('\nPostgreSQL sign-in benchmark skipped: TEST_POSTGRES_URL not set\n');
  }
  return rows;
}
