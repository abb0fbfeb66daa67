/**
 * Time from a device revocation on instance A to refusal on instance B: two in-process instances share
 * PostgreSQL, Redis, one master key and one chain (as behind a load balancer). Each run signs a person
 * up on A with a device fingerprint, confirms B serves their session, then an admin revokes the device
 * on A while the device's browser polls B with its session cookie; the time is from sending the
 * revocation to B's first 401. N runs (BENCH_REVOCATION_RUNS, default 50); goal: under 1 s.
 * Skipped (with a message) without TEST_POSTGRES_URL and TEST_REDIS_URL.
 */
import { randomBytes } from 'node:crypto';
import { adminClient, hardwareAttestationEnv } from '../test/helpers/admin.ts';
import { DeviceBrowser } from '../test/helpers/devices.ts';
import {
  freshPostgresUrl,
  startTestService,
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  type TestService,
} from '../test/helpers/service.ts';
import { freePort, percentile, type Row } from './lib.ts';

const RUNS = Number(process.env.BENCH_REVOCATION_RUNS ?? 50);
const GOAL_MS = 1_000;

export async function revocationBench(): Promise<Row[]> {
  if (!TEST_POSTGRES_URL || !TEST_REDIS_URL) {
    process.stdout.write(
      '\nrevocation: skipped (two instances need PostgreSQL and Redis: set TEST_POSTGRES_URL and TEST_REDIS_URL)\n',
    );
    return [];
  }
  const db = freshPostgresUrl();
  const hw = await hardwareAttestationEnv();
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const shared: Record<string, string> = {
    ...hw.env,
    AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
    DATABASE_URL: db.url,
    MASTER_KEY: randomBytes(32).toString('base64url'),
    PUBLIC_URL: publicUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: `tg-bench-revocation-${randomBytes(4).toString('hex')}:`,
    LOG_LEVEL: 'warn',
  };
  let a: TestService | undefined;
  let b: TestService | undefined;
  try {
    a = await startTestService({ ...shared, PORT: String(port) });
    const facts = (await (await fetch(`${a.url}/api/chain`)).json()) as { rpcUrl: string; registry: string };
    b = await startTestService({
      ...shared,
      CHAIN_RPC_URL: facts.rpcUrl,
      REGISTRY_ADDRESS: facts.registry,
      RELAYER_PRIVATE_KEY: a.service.chain.relayer.privateKey,
    });
    const bUrl = b.url;
    const sessionAtB = (browser: DeviceBrowser) =>
      fetch(`${bUrl}/t/default/auth/session`, { headers: { cookie: browser.cookieHeader() } }).then((r) => {
        void r.arrayBuffer();
        return r.status;
      });

    let admin = await adminClient(a, hw, 'tenant-admin');
    let adminSince = Date.now();
    const toRefusal: number[] = [];
    const toAnswer: number[] = [];
    let polls = 0;
    for (let i = 0; i < RUNS; i++) {
      // Admin changes need an AAL3 proof from the last 5 minutes: a fresh admin every few minutes.
      if (Date.now() - adminSince > 3 * 60_000) {
        admin = await adminClient(a, hw, 'tenant-admin');
        adminSince = Date.now();
      }
      const browser = new DeviceBrowser(a.url, `bench-device-${i}`);
      const up = await browser.signUp(`bench-revoke-${i}-${randomBytes(3).toString('hex')}`);
      if (up.status !== 201) throw new Error(`sign-up failed: ${up.status}`);
      const deviceId = await browser.currentDeviceId();
      if ((await sessionAtB(browser)) !== 200)
        throw new Error('B does not serve the session before revocation');

      const t0 = performance.now();
      const revoking = admin.call('POST', admin.t(`/api/admin/devices/${deviceId}/revoke`), {}).then((r) => {
        if (r.status !== 202) throw new Error(`revoke answered ${r.status}: ${JSON.stringify(r.body)}`);
        toAnswer.push(performance.now() - t0);
      });
      for (;;) {
        polls++;
        if ((await sessionAtB(browser)) === 401) break;
        if (performance.now() - t0 > 10_000) throw new Error('B still serves the session after 10 s');
      }
      toRefusal.push(performance.now() - t0);
      await revoking;
    }
    toRefusal.sort((x, y) => x - y);
    toAnswer.sort((x, y) => x - y);
    const p99 = percentile(toRefusal, 99);
    return [
      {
        name: 'revoke on A → refusal on B, p50',
        value: percentile(toRefusal, 50),
        unit: 'ms',
        target: `< ${GOAL_MS}`,
      },
      {
        name: 'revoke on A → refusal on B, p99',
        value: p99,
        unit: 'ms',
        target: `< ${GOAL_MS}`,
        note: p99 < GOAL_MS ? 'goal met' : 'GOAL MISSED',
      },
      { name: 'revoke on A → refusal on B, max', value: toRefusal.at(-1)!, unit: 'ms' },
      { name: 'revocation request on A (202), p50', value: percentile(toAnswer, 50), unit: 'ms' },
      { name: 'revocation request on A (202), p99', value: percentile(toAnswer, 99), unit: 'ms' },
      { name: 'runs', value: RUNS, unit: 'count', note: `${polls} polls of B in all` },
    ];
  } finally {
    await b?.destroy();
    await a?.destroy();
    await db.drop();
    hw.remove();
  }
}
