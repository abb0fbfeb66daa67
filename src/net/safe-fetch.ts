/**
 * The one way Trustgate fetches a URL someone else chose (did:web documents, status lists, metadata,
 * webhooks): DESIGN.md invariant 6.
 *
 * Rules, in the order they are checked:
 * 1. https only; http only for an allow-listed host (development). No credentials in the URL.
 * 2. A literal address must be public unicast (see address-policy.ts). The WHATWG URL parser has already
 *    turned decimal, octal and hex IPv4 forms (`2130706433`, `0x7f.1`) and IPv6 spellings into canonical
 *    literals, so they meet the same check.
 * 3. A hostname is resolved here, and refused if ANY answer is not public: an attacker's DNS can mix a
 *    public and a private answer and let the connector pick.
 * 4. The connection goes to the address vetted in 3 (a `lookup` that returns it), never to a second DNS
 *    answer, so DNS rebinding between check and connect gains nothing. SNI and Host stay the hostname.
 * 5. One deadline covers DNS, connect, headers and body; the body is capped while it streams.
 * 6. Redirects (GET only) are followed at most `maxRedirects` times, each target vetted from rule 1.
 * Allow-listed hosts (`host` or `host:port`) skip rules 2-3: that is how tests and development reach
 * `localhost`.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIpLiteral, isPublicAddress } from './address-policy.ts';
import { FetchFailedError, FetchTimeoutError, ResponseTooLargeError, SsrfRefusedError } from './errors.ts';

/** A resolved address, as `dns.lookup(host, { all: true })` returns them. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a hostname to every address it has (injectable for tests: no outside DNS here). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SafeFetchOptions {
  /**
   * Hosts (`name` or `name:port`, lower case) exempt from the address rules and allowed over http, e.g.
   * `['localhost:8443']` in development. Never put a production host here.
   */
  allowHosts?: readonly string[];
  /** Deadline for DNS, connect, headers and body together (default 5000 ms). */
  timeoutMs?: number;
  /** Largest body accepted (default 100 KB); larger answers fail with `response_too_large`. */
  maxBytes?: number;
  /** Redirects followed for GET, each one vetted like the first URL (default 3; 0 returns the 3xx). */
  maxRedirects?: number;
  /** DNS resolution (default `dns.lookup` with `all: true`). */
  resolveHost?: HostResolver;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** A fully read response. */
export interface SafeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  url: string;
  body: Buffer;
  text(): string;
  /** Parses the body as JSON; throws `fetch_failed` (protocol) when it is not. */
  json(): unknown;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_BYTES = 100 * 1024;
const DEFAULT_MAX_REDIRECTS = 3;

const systemResolver: HostResolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** A safe fetch with `defaults` applied (per-call options win). */
export function createSafeFetch(
  defaults: SafeFetchOptions = {},
): (url: string | URL, options?: SafeFetchOptions) => Promise<SafeResponse> {
  return (url, options = {}) => safeFetch(url, { ...defaults, ...options });
}

/** Fetches `url` under the rules above; throws the typed errors of ./errors.ts. */
export async function safeFetch(url: string | URL, options: SafeFetchOptions = {}): Promise<SafeResponse> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const maxRedirects = options.method === 'POST' ? 0 : (options.maxRedirects ?? DEFAULT_MAX_REDIRECTS);
  let current = toUrl(url);
  let headers = { ...options.headers };
  for (let hop = 0; ; hop++) {
    const response = await fetchOnce(current, { ...options, headers }, deadline, timeoutMs);
    const location = response.headers.location;
    if (response.status < 300 || response.status >= 400 || !location || hop >= maxRedirects) {
      return response;
    }
    const next = toUrl(location, current);
    // Credentials meant for one origin never follow a redirect to another.
    if (next.origin !== current.origin) headers = withoutAuthorization(headers);
    current = next;
  }
}

function toUrl(input: string | URL, base?: URL): URL {
  try {
    return new URL(input, base);
  } catch {
    throw new SsrfRefusedError('scheme', 'The destination is not a valid URL.');
  }
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !['authorization', 'cookie'].includes(name.toLowerCase())),
  );
}

function isAllowListed(url: URL, allowHosts: readonly string[] | undefined): boolean {
  if (!allowHosts || allowHosts.length === 0) return false;
  const host = url.host.toLowerCase();
  const hostname = url.hostname.toLowerCase();
  return allowHosts.some((entry) => {
    const e = entry.toLowerCase();
    return e === host || (!e.includes(':') && e === hostname) || (e.startsWith('[') && e === host);
  });
}

/** Rules 1-3: returns the address to connect to, or throws `ssrf_refused`. */
async function vet(url: URL, options: SafeFetchOptions): Promise<ResolvedAddress | undefined> {
  const allowListed = isAllowListed(url, options.allowHosts);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowListed)) {
    throw new SsrfRefusedError('scheme');
  }
  if (url.username || url.password) throw new SsrfRefusedError('credentials');
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIpLiteral(hostname)) {
    if (!allowListed && !isPublicAddress(hostname)) throw new SsrfRefusedError('address');
    return undefined; // Node connects to a literal without DNS.
  }
  let answers: ResolvedAddress[];
  try {
    answers = await (options.resolveHost ?? systemResolver)(hostname);
  } catch (err) {
    throw new FetchFailedError('dns', err);
  }
  if (answers.length === 0) throw new FetchFailedError('dns');
  if (!allowListed && answers.some((a) => !isPublicAddress(a.address))) throw new SsrfRefusedError('dns');
  return answers[0];
}

/** A `lookup` that ignores DNS and answers with the vetted address (rule 4). */
function pinnedLookup(vetted: ResolvedAddress): LookupFunction {
  return ((_hostname: string, opts: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (opts?.all) callback(null, [{ address: vetted.address, family: vetted.family }]);
    else callback(null, vetted.address, vetted.family);
  }) as LookupFunction;
}

async function fetchOnce(
  url: URL,
  options: SafeFetchOptions,
  deadline: AbortSignal,
  timeoutMs: number,
): Promise<SafeResponse> {
  const vetted = await raceDeadline(vet(url, options), deadline, timeoutMs);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return new Promise<SafeResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener('abort', onAbort);
      req.destroy();
      reject(err);
    };
    const onAbort = () => fail(new FetchTimeoutError(timeoutMs));
    const req = request(
      {
        protocol: url.protocol,
        host: hostname,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: options.method ?? 'GET',
        headers: { 'user-agent': 'Trustgate', ...options.headers },
        agent: false,
        ...(vetted ? { lookup: pinnedLookup(vetted) } : {}),
        ...(url.protocol === 'https:' && !isIpLiteral(hostname) ? { servername: hostname } : {}),
      },
      (res: IncomingMessage) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes)
          return fail(new ResponseTooLargeError(maxBytes));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) return fail(new ResponseTooLargeError(maxBytes));
          chunks.push(chunk);
        });
        res.on('error', (err) => fail(new FetchFailedError('protocol', err)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          deadline.removeEventListener('abort', onAbort);
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            url: url.toString(),
            body,
            text: () => body.toString('utf8'),
            json: () => {
              try {
                return JSON.parse(body.toString('utf8')) as unknown;
              } catch (err) {
                throw new FetchFailedError('protocol', err);
              }
            },
          });
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => fail(new FetchFailedError(failureOf(err), err)));
    if (deadline.aborted) return onAbort();
    deadline.addEventListener('abort', onAbort, { once: true });
    req.end(options.body);
  });
}

function failureOf(err: NodeJS.ErrnoException): 'connect' | 'tls' | 'protocol' | 'dns' {
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return 'dns';
  if (err.code?.startsWith('ERR_TLS') || err.code?.includes('CERT') || err.code === 'EPROTO') return 'tls';
  if (err.code?.startsWith('HPE_')) return 'protocol';
  return 'connect';
}

function raceDeadline<T>(promise: Promise<T>, deadline: AbortSignal, timeoutMs: number): Promise<T> {
  if (deadline.aborted) return Promise.reject(new FetchTimeoutError(timeoutMs));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new FetchTimeoutError(timeoutMs));
    deadline.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => deadline.removeEventListener('abort', onAbort));
  });
}
