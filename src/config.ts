/**
 * Trustgate's configuration: one typed schema, read from the environment and, optionally, a JSON file
 * named by `CONFIG_FILE` (the environment wins). Every option has a one-line description and a safe
 * default; `npm run config` prints the effective configuration with secrets masked.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

// 0 asks the OS for any free port (tests run several instances side by side).
const port = z.coerce.number().int().min(0).max(65_535);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
/** A comma-separated list (blank entries dropped), default empty. */
const commaList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
const ethAddress = z
  .string()
  .trim()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');

/** The schema of every option. `meta.secret` marks values that are never printed or logged. */
export const configSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .meta({ description: 'Runtime mode; `production` refuses development secrets and requires PUBLIC_URL.' }),
  HOST: optionalString.meta({
    description: 'Interface the HTTP server binds to (default 127.0.0.1, or 0.0.0.0 in production).',
  }),
  PORT: port.default(3000).meta({ description: 'HTTP port of the service.' }),
  PUBLIC_URL: optionalString.meta({
    description: 'External base URL (issuer prefix); default http://localhost:PORT, required in production.',
  }),
  DATA_DIR: z
    .string()
    .default('./data')
    .meta({ description: 'Directory for the embedded database, generated development keys and chain data.' }),
  DATABASE_URL: optionalString.meta({
    description:
      'file:<path> for SQLite (default file:DATA_DIR/trustgate.db) or postgresql://… for PostgreSQL.',
    secret: true,
  }),
  REDIS_URL: optionalString.meta({
    description: 'Redis for shared ephemeral state; required to run more than one instance.',
    secret: true,
  }),
  REDIS_PREFIX: z.string().default('tg:').meta({ description: 'Prefix for every Redis key and channel.' }),
  CHAIN_HOST: z
    .string()
    .default('127.0.0.1')
    .meta({ description: 'Interface the embedded chain’s JSON-RPC binds to.' }),
  CHAIN_PORT: port.default(8545).meta({ description: 'JSON-RPC port of the embedded chain.' }),
  CHAIN_RPC_URL: optionalString.meta({
    description: 'JSON-RPC URL of an external EVM chain; when set, no embedded chain is started.',
    secret: true,
  }),
  CHAIN_PUBLIC_RPC_URL: optionalString.meta({
    description: 'RPC URL advertised to outside verifiers at /api/chain (default: the URL the service uses).',
  }),
  REGISTRY_ADDRESS: ethAddress.optional().meta({
    description: 'ERC-1056 registry address on the external chain (required with CHAIN_RPC_URL).',
  }),
  AUDIT_ANCHOR_ADDRESS: ethAddress.optional().meta({
    description:
      'AuditAnchor contract on the external chain (anchor key: the relayer); unset, audit heads are not anchored.',
  }),
  AUDIT_ANCHOR_EVERY: z.coerce.number().int().min(1).max(1_000_000).default(100).meta({
    description: 'Anchor a tenant’s audit chain head on chain after this many new records.',
  }),
  AUDIT_ANCHOR_MINUTES: z.coerce.number().positive().max(10_080).default(10).meta({
    description: 'Anchor a tenant’s audit chain head at least this often (minutes) while it has new records.',
  }),
  RELAYER_PRIVATE_KEY: optionalString.meta({
    description:
      'Hex private key of the gas-paying relayer on an external chain (generated for the embedded one).',
    secret: true,
  }),
  MASTER_KEY: optionalString.meta({
    description:
      '32-byte key (base64url) wrapping every stored secret; generated into DATA_DIR in development only.',
    secret: true,
  }),
  MASTER_KEY_PREVIOUS: optionalString.meta({
    description:
      'Comma-separated older master keys that still open (never seal) envelopes, while `npm run keys:rotate-master` re-seals.',
    secret: true,
  }),
  DID_WEB_ALLOW_HOSTS: commaList.meta({
    description: 'Development only: host[:port] list that did:web may fetch over http and on loopback.',
  }),
  TRUST_PROXY: z.string().default('false').meta({
    description: 'Express trust-proxy setting: false, loopback, or a comma-separated list of CIDRs.',
  }),
  RP_NAME: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .default('Trustgate')
    .meta({ description: 'Name people see in their passkey prompts (WebAuthn relying party name).' }),
  ATTESTATION_ROOTS_DIR: optionalString.meta({
    description:
      'Directory of trusted attestation root certificates (*.pem; a subdirectory named after a format, e.g. tpm/, applies to that format only).',
  }),
  MDS_BLOB: optionalString.meta({
    description:
      'FIDO Metadata Service (MDS3) BLOB: a file path or an https URL; its signature chain is verified.',
  }),
  MDS_ROOT_CERTS: optionalString.meta({
    description:
      'Comma-separated PEM files trusted to sign the MDS BLOB (default: the FIDO roots that ship with SimpleWebAuthn, GlobalSign Root CA - R3 and Root R46).',
  }),
  AUTH_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(60).meta({
    description: 'Sign-in, sign-up and step-up attempts allowed per IP address per minute (0: no limit).',
  }),
  RISK_ENABLED: bool.default(true).meta({
    description:
      'Score every sign-in for risk and let the tenant policy decide (false: allow at the level reached).',
  }),
  RISK_GEO_DB: z.string().trim().default('packaged').meta({
    description:
      'IP geolocation: `packaged` (the GeoLite2 city data that ships with Trustgate), comma-separated mmdb files (MaxMind GeoIP2/GeoLite2 City, DB-IP), or `off`.',
  }),
  RISK_ASN_DATA: z.string().trim().default('packaged').meta({
    description:
      'ASN data for the network signal: `packaged`, `<ipv4.csv>,<ipv6.csv>` in the ip-location-db layout, or `off`. Loaded in the background after start.',
  }),
  RISK_HOSTING_ASNS: commaList
    .transform((v) => v.map(Number))
    .pipe(z.array(z.number().int().positive()))
    .meta({ description: 'Extra ASNs to treat as hosting or datacenter networks (comma-separated).' }),
  RISK_DENY_LISTS: commaList.meta({
    description: 'Files of IPs/CIDRs whose sign-ins score high (e.g. a Tor exit list), comma-separated.',
  }),
  RISK_ALLOW_LISTS: commaList.meta({
    description: 'Files of IPs/CIDRs shown to the policy as allow-listed (never lowers other signals).',
  }),
  RISK_MAX_SPEED_KMH: z.coerce
    .number()
    .positive()
    .default(900)
    .meta({ description: 'Travel faster than this between sign-ins is impossible.' }),
  OIDC_KEY_ROTATION_DAYS: z.coerce.number().positive().max(3650).default(90).meta({
    description:
      'Days an OpenID Connect signing or cookie key signs before the next one (published in advance) takes over; the old one stays published for a period.',
  }),
  OIDC_ALLOW_PRIVATE_CALLBACKS: bool.default(false).meta({
    description:
      'Let back-channel logout reach loopback and private addresses (development, tests); off, such callbacks are refused (SSRF guard).',
  }),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 100kb')
    .default('100kb')
    .meta({ description: 'Largest accepted request body.' }),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .meta({ description: 'Log level (JSON logs on stdout).' }),
  SHUTDOWN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10_000)
    .meta({ description: 'How long a graceful shutdown waits for in-flight requests.' }),
  READY_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(50)
    .default(1_500)
    .meta({ description: 'Timeout of each dependency check in /readyz.' }),
  METRICS_ENABLED: bool.default(true).meta({ description: 'Serve Prometheus metrics at /metrics.' }),
});

export type RawConfig = z.infer<typeof configSchema>;

/** The effective configuration, with every default resolved. */
export interface Config extends Omit<RawConfig, 'HOST' | 'PUBLIC_URL' | 'DATABASE_URL' | 'DATA_DIR'> {
  HOST: string;
  PUBLIC_URL: string;
  DATABASE_URL: string;
  /** Absolute path of DATA_DIR. */
  DATA_DIR: string;
  /** Whether the service starts its own chain (no CHAIN_RPC_URL). */
  embeddedChain: boolean;
}

/** Keys whose values are secrets. */
export const secretKeys: ReadonlySet<string> = new Set(
  Object.entries(configSchema.shape)
    .filter(([, schema]) => (schema.meta() as { secret?: boolean } | undefined)?.secret === true)
    .map(([key]) => key),
);

/** Reads the optional JSON config file named by CONFIG_FILE. */
function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE ${path} cannot be read: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`CONFIG_FILE ${path} must hold a JSON object of option names to values`);
  }
  const unknown = Object.keys(parsed).filter((k) => !(k in configSchema.shape));
  if (unknown.length > 0)
    throw new ConfigError(`CONFIG_FILE ${path} has unknown options: ${unknown.join(', ')}`);
  return parsed as Record<string, unknown>;
}

/**
 * Loads the configuration from `env` (default `process.env`) and the optional CONFIG_FILE, resolves
 * defaults, and enforces the production rules. Throws ConfigError with every problem listed.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const fromFile = readConfigFile(env.CONFIG_FILE);
  const input: Record<string, unknown> = { ...fromFile };
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined) input[key] = value;
  }
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const raw = result.data;
  const production = raw.NODE_ENV === 'production';
  const problems: string[] = [];
  if (production && !raw.PUBLIC_URL) problems.push('PUBLIC_URL is required when NODE_ENV=production');
  if (raw.PUBLIC_URL) {
    try {
      const url = new URL(raw.PUBLIC_URL);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push('PUBLIC_URL must be http(s)');
      if (production && url.protocol !== 'https:') problems.push('PUBLIC_URL must be https in production');
    } catch {
      problems.push('PUBLIC_URL is not a URL');
    }
  }
  if (raw.CHAIN_RPC_URL && !raw.REGISTRY_ADDRESS) {
    problems.push('REGISTRY_ADDRESS is required with CHAIN_RPC_URL (the ERC-1056 registry on that chain)');
  }
  if (raw.CHAIN_RPC_URL && !raw.RELAYER_PRIVATE_KEY) {
    problems.push('RELAYER_PRIVATE_KEY is required with CHAIN_RPC_URL (the account that pays gas)');
  }
  if (raw.RELAYER_PRIVATE_KEY && !/^(0x)?[0-9a-fA-F]{64}$/.test(raw.RELAYER_PRIVATE_KEY)) {
    problems.push('RELAYER_PRIVATE_KEY must be a 32-byte hex private key');
  }
  if (production && !raw.CHAIN_RPC_URL) {
    problems.push(
      'CHAIN_RPC_URL is required when NODE_ENV=production (the embedded chain is for development)',
    );
  }
  if (production && raw.DID_WEB_ALLOW_HOSTS.length > 0) {
    problems.push('DID_WEB_ALLOW_HOSTS is for development: it lets did:web reach http and loopback hosts');
  }
  if (production && /veramo/i.test(env.DEBUG ?? '')) {
    // Veramo's debug output prints every agent call's arguments, private keys included (invariant 3).
    problems.push('DEBUG must not enable veramo:* logs in production: they print key material');
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);

  const dataDir = resolve(raw.DATA_DIR);
  return {
    ...raw,
    HOST: raw.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    PUBLIC_URL: (raw.PUBLIC_URL ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, ''),
    DATA_DIR: dataDir,
    DATABASE_URL: raw.DATABASE_URL ?? `file:${resolve(dataDir, 'trustgate.db')}`,
    embeddedChain: !raw.CHAIN_RPC_URL,
  };
}

/** Masks a secret for display: keeps the URL scheme and host of URLs, hides everything else. */
export function maskSecret(value: string): string {
  try {
    const url = new URL(value);
    if (url.host) return `${url.protocol}//${url.username ? '***@' : ''}${url.host}/***`;
  } catch {
    // not a URL
  }
  return '***';
}

/** The effective configuration as printable rows, secrets masked. */
export function describeConfig(config: Config): Array<{ key: string; value: string; description: string }> {
  return Object.entries(configSchema.shape).map(([key, schema]) => {
    const value = (config as unknown as Record<string, unknown>)[key];
    const text = value === undefined ? '(unset)' : String(value);
    const description = (schema.meta() as { description?: string } | undefined)?.description ?? '';
    return {
      key,
      value: value !== undefined && secretKeys.has(key) ? maskSecret(text) : text,
      description,
    };
  });
}
