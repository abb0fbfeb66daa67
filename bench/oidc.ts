/**
 * OpenID Connect under load, the service in its own process: the authorization code exchange at the
 * token endpoint (client authentication, code lookup and single-use consumption, PKCE, grant and account
 * reads, an access token written, an ES256 ID token signed) and token introspection. Codes are minted
 * beforehand through the real authorization endpoint by signed-in people, so the timed part is only the
 * endpoint under test. Runs on SQLite and, when TEST_POSTGRES_URL is set, on PostgreSQL.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { AuthClient } from '../test/helpers/auth-client.ts';
import { browse } from '../test/helpers/oidc.ts';
import { freshPostgresUrl } from '../test/helpers/service.ts';
import { SoftAuthenticator } from '../test/helpers/webauthn/soft-authenticator.ts';
import { type Row, type Run, startServiceProcess, summarise } from './lib.ts';

const SECONDS = Number(process.env.BENCH_OIDC_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_OIDC_CONCURRENCY ?? 32);
const CODES = Number(process.env.BENCH_OIDC_CODES ?? 6000);
const PEOPLE = 32;
const REDIRECT = 'http://127.0.0.1:9/cb';

/** Runs `task` from `concurrency` workers until `until()` says stop; rate over the elapsed time. */
async function closedLoop(
  concurrency: number,
  task: (worker: number) => Promise<boolean | undefined>,
): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (;;) {
        const t0 = performance.now();
        const ok = await task(worker);
        if (ok === undefined) return;
        if (ok) latencies.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  return summarise(latencies, errors, (performance.now() - started) / 1000);
}

async function createClient(dataDir: string, env: Record<string, string>) {
  const { stdout } = await promisify(execFile)(
    'npx',
    [
      'tsx',
      'src/cli/oidc-client.ts',
      'create',
      'default',
      '--name',
      'Bench',
      '--redirect-uri',
      REDIRECT,
      '--first-party',
    ],
    { env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'error', ...env } },
  );
  const client = JSON.parse(stdout) as { client_id: string; client_secret: string };
  return {
    id: client.client_id,
    basic: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
  };
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function measureOn(store: string, env: Record<string, string>): Promise<Row[]> {
  const service = await startServiceProcess({ AUTH_RATE_LIMIT_PER_MINUTE: '0', ...env });
  try {
    const origin = `http://localhost:${new URL(service.url).port}`;
    const issuer = `${service.url}/t/default`;
    const client = await createClient(service.dataDir, env);
    const people: AuthClient[] = [];
    for (let i = 0; i < PEOPLE; i++) {
      const person = new AuthClient(service.url, new SoftAuthenticator(), 'default', origin);
      const r = await person.signUp(`oidcbench${i}`);
      if (r.status !== 201) throw new Error(`sign-up failed: ${r.status}`);
      people.push(person);
    }
    const authorizeUrl = (challenge: string) =>
      `${issuer}/authorize?${new URLSearchParams({
        client_id: client.id,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      })}`;
    // First authorization per person: sign-in and consent interactions; afterwards one hop per code.
    for (const person of people) {
      const { challenge } = pkce();
      const hops = await browse(person, authorizeUrl(challenge), REDIRECT);
      if (!hops.at(-1)?.location?.includes('code='))
        throw new Error('first authorization did not yield a code');
    }
    const codes: Array<{ code: string; verifier: string }> = [];
    const mint = await closedLoop(CONCURRENCY, async (worker) => {
      if (codes.length >= CODES) return undefined;
      const { verifier, challenge } = pkce();
      const person = people[worker % people.length]!;
      const res = await fetch(authorizeUrl(challenge), {
        redirect: 'manual',
        headers: { cookie: person.cookieHeader() },
      });
      await res.arrayBuffer();
      const code = new URL(res.headers.get('location') ?? 'x:', REDIRECT).searchParams.get('code');
      if (!code) return false;
      codes.push({ code, verifier });
      return true;
    });

    const tokens: string[] = [];
    let next = 0;
    const exchange = await closedLoop(CONCURRENCY, async () => {
      const item = codes[next++];
      if (!item) return undefined;
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { authorization: client.basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: item.code,
          redirect_uri: REDIRECT,
          code_verifier: item.verifier,
        }),
      });
      const body = (await res.json()) as { access_token?: string };
      if (res.status !== 200 || !body.access_token) return false;
      tokens.push(body.access_token);
      return true;
    });

    // Introspection with autocannon (a lighter load generator than fetch), cycling through the tokens.
    let i = 0;
    const introspectBody = () =>
      new URLSearchParams({
        token: tokens[i++ % tokens.length]!,
        token_type_hint: 'access_token',
      }).toString();
    const introspectOptions = {
      url: `${issuer}/introspect`,
      method: 'POST' as const,
      connections: CONCURRENCY,
      headers: { authorization: client.basic, 'content-type': 'application/x-www-form-urlencoded' },
      requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: introspectBody() }) }],
    };
    await autocannon({ ...introspectOptions, duration: 1 });
    const result = await autocannon({ ...introspectOptions, duration: SECONDS });
    const introspect = {
      rate: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.non2xx + result.errors,
    };

    return [
      {
        name: `OIDC authorization (code minting), ${store}`,
        value: mint.rate,
        unit: 'codes/s',
        note: `signed-in browser, one hop; p99 ${mint.p99.toFixed(1)} ms, ${mint.errors} errors`,
      },
      {
        name: `OIDC code exchange at /token, ${store}, ${CONCURRENCY} concurrent`,
        value: exchange.rate,
        unit: 'exchanges/s',
        target: '>= 1000/s',
        note: `${tokens.length} codes, p50 ${exchange.p50.toFixed(1)} ms, p99 ${exchange.p99.toFixed(1)} ms, ${exchange.errors} errors`,
      },
      {
        name: `OIDC token introspection, ${store}, ${CONCURRENCY} concurrent`,
        value: introspect.rate,
        unit: 'calls/s',
        target: '>= 5000/s',
        note: `p50 ${introspect.p50.toFixed(1)} ms, p99 ${introspect.p99.toFixed(1)} ms, ${introspect.errors} errors`,
      },
    ];
  } finally {
    await service.stop();
  }
}

export async function oidcBench(): Promise<Row[]> {
  const rows = await measureOn('SQLite', {});
  const pgBase = process.env.TEST_POSTGRES_URL;
  if (pgBase) {
    const db = freshPostgresUrl(pgBase);
    try {
      rows.push(...(await measureOn('PostgreSQL', { DATABASE_URL: db.url })));
    } finally {
      await db.drop();
    }
  } else {
    process.stdout.write('\nPostgreSQL OIDC benchmark skipped: TEST_POSTGRES_URL not set\n');
  }
  return rows;
}
