/** Starts real Trustgate services for tests: temp data dir, any free ports, silent logs. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import type { Route } from '../../src/http/routes.ts';
import { createLogger } from '../../src/log.ts';
import { type Service, type ServiceOptions, startService } from '../../src/service.ts';
import { freePort } from './process.ts';
import { tempDir } from './tmp.ts';

export { tempDir };

export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL;

/** A PostgreSQL URL with a fresh schema (dropped by `drop`). */
export function freshPostgresUrl(base = TEST_POSTGRES_URL!): {
  url: string;
  schema: string;
  drop: () => Promise<void>;
} {
  const schema = `tg_test_${randomBytes(5).toString('hex')}`;
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    schema,
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

export interface TestService {
  service: Service;
  url: string;
  dataDir: string;
  env: Record<string, string>;
  stop: () => Promise<void>;
  /** Stops and removes the data directory. */
  destroy: () => Promise<void>;
}

/** Starts a service with `env` on top of test defaults (embedded chain and HTTP on free ports). */
export async function startTestService(
  env: Record<string, string> = {},
  options: {
    dataDir?: string;
    extraRoutes?: Route[];
    logLines?: string[];
    didWeb?: ServiceOptions['didWeb'];
    decisions?: ServiceOptions['decisions'];
    /** Access tokens for the VC API (a test token table until the OIDC provider supplies them). */
    vcBearer?: ServiceOptions['vcBearer'];
  } = {},
): Promise<TestService> {
  const dir = options.dataDir ? { path: options.dataDir, remove: () => {} } : tempDir();
  // A known port, so PUBLIC_URL (issuer, status list URLs) is the address tests reach.
  const port = env.PORT ?? String(await freePort());
  const fullEnv: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: port,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    CHAIN_PORT: '0',
    DATA_DIR: dir.path,
    LOG_LEVEL: 'silent',
    // The ASN index takes about a second of CPU to build: suites that test the network signal turn it on.
    RISK_ASN_DATA: 'off',
    ...env,
  };
  const config = loadConfig(fullEnv);
  const service = await startService(config, {
    log: options.logLines
      ? createLogger({ level: 'debug' }, { write: (line: string) => options.logLines!.push(line) })
      : createLogger({ level: fullEnv.LOG_LEVEL }),
    extraRoutes: options.extraRoutes,
    didWeb: options.didWeb,
    decisions: options.decisions,
    vcBearer: options.vcBearer,
  });
  return {
    service,
    url: service.url,
    dataDir: dir.path,
    env: fullEnv,
    stop: () => service.stop(),
    destroy: async () => {
      await service.stop();
      dir.remove();
    },
  };
}
