import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { problemBody } from '../../src/http/problem.ts';
import { FetchTimeoutError } from '../../src/net/errors.ts';
import { type ResolvedAddress, safeFetch } from '../../src/net/safe-fetch.ts';

/** A local HTTP server that counts TCP connections: a refused fetch must leave the count at zero. */
let server: Server;
let port: number;
let connections = 0;
let lastHost: string | undefined;
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/ok': (_req, res) => res.end('hello'),
  '/stall-headers': () => {},
  '/stall-body': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
  },
  '/big-chunked': (_req, res) => {
    res.writeHead(200);
    for (let i = 0; i < 20; i++) res.write(Buffer.alloc(10 * 1024, 97));
    res.end();
  },
  '/big-declared': (_req, res) => {
    res.writeHead(200, { 'content-length': String(200 * 1024) });
    res.end(Buffer.alloc(200 * 1024, 97));
  },
  '/exactly-cap': (_req, res) => res.end(Buffer.alloc(100 * 1024, 97)),
  '/redirect-metadata': (_req, res) => {
    res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
    res.end();
  },
  '/redirect-ok': (_req, res) => {
    res.writeHead(301, { location: '/ok' });
    res.end();
  },
  '/redirect-loop': (_req, res) => {
    res.writeHead(302, { location: '/redirect-loop' });
    res.end();
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    lastHost = req.headers.host;
    const route = routes[req.url ?? ''];
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  connections = 0;
});

const refusedFake = (answers: ResolvedAddress[]) => {
  const calls: string[] = [];
  return {
    calls,
    resolveHost: async (host: string) => {
      calls.push(host);
      return answers;
    },
  };
};

async function expectRefused(url: string, options: Parameters<typeof safeFetch>[1] = {}) {
  const started = performance.now();
  const error = await safeFetch(url, { timeoutMs: 2000, ...options }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, url).toMatchObject({ code: 'ssrf_refused', status: 400 });
  // Refusal happens before any connection: fast, and the local server saw nothing.
  expect(performance.now() - started, url).toBeLessThan(500);
  expect(connections, url).toBe(0);
}

describe('safe-fetch refuses literal private, loopback and link-local destinations without connecting', () => {
  const literals = () => [
    `https://127.0.0.1:${port}/ok`,
    `https://127.1:${port}/ok`,
    `https://2130706433:${port}/ok`,
    `https://0x7f.0.0.1:${port}/ok`,
    `https://0177.0.0.1:${port}/ok`,
    `https://[::1]:${port}/ok`,
    `https://[::ffff:127.0.0.1]:${port}/ok`,
    `https://[::ffff:7f00:1]:${port}/ok`,
    `https://[0:0:0:0:0:ffff:7f00:0001]:${port}/ok`,
    `https://0.0.0.0:${port}/ok`,
    'https://169.254.169.254/latest/meta-data/',
    'https://[::ffff:169.254.169.254]/latest/meta-data/',
    'https://[fe80::1]/',
    'https://10.0.0.1/',
    'https://172.16.5.4/',
    'https://192.168.1.1/',
    'https://100.64.0.1/',
    'https://[fc00::1]/',
    'https://[fd12:3456::1]/',
    'https://224.0.0.1/',
    'https://255.255.255.255/',
    'https://[ff02::1]/',
    'https://[::]/',
    'https://[64:ff9b::7f00:1]/',
    'https://[2002:7f00:1::1]/',
    'https://192.0.2.1/',
  ];

  it('for every address form the WHATWG parser normalizes (decimal, octal, hex, IPv4-mapped IPv6, NAT64, 6to4)', async () => {
    for (const url of literals()) {
      const dns = refusedFake([{ address: '93.184.216.34', family: 4 }]);
      await expectRefused(url, { resolveHost: dns.resolveHost });
      expect(dns.calls, url).toEqual([]);
    }
  });
});

describe('safe-fetch refuses hostnames whose DNS answers are not public', () => {
  it('when the only answer is private', async () => {
    await expectRefused(`https://intranet.example:${port}/ok`, {
      resolveHost: refusedFake([{ address: '10.1.2.3', family: 4 }]).resolveHost,
    });
  });

  it('when ANY answer is loopback, even if another is public', async () => {
    await expectRefused(`https://mixed.example:${port}/ok`, {
      resolveHost: refusedFake([
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]).resolveHost,
    });
  });

  it('when an answer is an IPv4-mapped or link-local IPv6 address', async () => {
    for (const address of ['::ffff:127.0.0.1', '::ffff:a9fe:a9fe', 'fe80::1', '::1']) {
      await expectRefused(`https://v6.example:${port}/ok`, {
        resolveHost: refusedFake([{ address, family: 6 }]).resolveHost,
      });
    }
  });

  it('for localhost through the real system resolver', async () => {
    await expectRefused(`https://localhost:${port}/ok`);
  });
});

describe('safe-fetch scheme rules', () => {
  it('refuses http, ftp and file URLs unless the host is allow-listed', async () => {
    const dns = refusedFake([{ address: '93.184.216.34', family: 4 }]);
    for (const url of [
      'http://93.184.216.34/',
      'http://public.example/',
      'ftp://public.example/',
      'file:///etc/passwd',
    ]) {
      await expectRefused(url, { resolveHost: dns.resolveHost });
    }
    expect(dns.calls).toEqual([]);
  });

  it('refuses credentials in the URL', async () => {
    await expectRefused(`http://user:pw@127.0.0.1:${port}/ok`, { allowHosts: [`127.0.0.1:${port}`] });
  });

  it('fetches an allow-listed development host over http, loopback included', async () => {
    const res = await safeFetch(`http://127.0.0.1:${port}/ok`, { allowHosts: [`127.0.0.1:${port}`] });
    expect(res.status).toBe(200);
    expect(res.text()).toBe('hello');
    const byName = await safeFetch(`http://localhost:${port}/ok`, {
      allowHosts: [`localhost:${port}`],
      resolveHost: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    expect(byName.text()).toBe('hello');
  });

  it('does not allow-list another port of an allow-listed host', async () => {
    await expectRefused(`http://127.0.0.1:${port}/ok`, { allowHosts: ['127.0.0.1:1'] });
  });
});

describe('safe-fetch connects to the vetted address only (DNS rebinding)', () => {
  it('uses the address it checked, not a second lookup, and keeps the hostname in Host', async () => {
    let lookups = 0;
    const res = await safeFetch(`http://rebind.test:${port}/ok`, {
      allowHosts: [`rebind.test:${port}`],
      resolveHost: async () => {
        lookups++;
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    // rebind.test has no DNS here: the connection can only have gone to the vetted address.
    expect(res.text()).toBe('hello');
    expect(lookups).toBe(1);
    expect(lastHost).toBe(`rebind.test:${port}`);
  });
});

describe('safe-fetch limits', () => {
  const allow = () => ({ allowHosts: [`127.0.0.1:${port}`] });

  it('times out when the upstream never sends headers', async () => {
    const started = performance.now();
    await expect(
      safeFetch(`http://127.0.0.1:${port}/stall-headers`, { ...allow(), timeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: 'fetch_timeout',
      status: 504,
    });
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('times out when the body stalls (the deadline covers the body)', async () => {
    await expect(
      safeFetch(`http://127.0.0.1:${port}/stall-body`, { ...allow(), timeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: 'fetch_timeout',
    });
  });

  it('refuses a streamed body over the cap and a declared one before reading it', async () => {
    await expect(safeFetch(`http://127.0.0.1:${port}/big-chunked`, allow())).rejects.toMatchObject({
      code: 'response_too_large',
      status: 502,
    });
    await expect(safeFetch(`http://127.0.0.1:${port}/big-declared`, allow())).rejects.toMatchObject({
      code: 'response_too_large',
    });
    const atCap = await safeFetch(`http://127.0.0.1:${port}/exactly-cap`, allow());
    expect(atCap.body.length).toBe(100 * 1024);
  });

  it('re-vets every redirect: a hop to the metadata address is refused', async () => {
    await expect(safeFetch(`http://127.0.0.1:${port}/redirect-metadata`, allow())).rejects.toMatchObject({
      code: 'ssrf_refused',
    });
    const followed = await safeFetch(`http://127.0.0.1:${port}/redirect-ok`, allow());
    expect(followed.text()).toBe('hello');
    const loop = await safeFetch(`http://127.0.0.1:${port}/redirect-loop`, allow());
    expect(loop.status).toBe(302);
  });

  it('reports upstream failures as 502/504 whose bodies reveal nothing', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const err = await safeFetch(`http://127.0.0.1:${closedPort}/`, {
      allowHosts: [`127.0.0.1:${closedPort}`],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'fetch_failed', status: 502, reason: 'connect' });
    const body = problemBody(new FetchTimeoutError(5000));
    expect(body).toEqual({
      type: 'urn:trustgate:problem:fetch_timeout',
      title: 'Upstream timeout',
      status: 504,
      code: 'fetch_timeout',
    });
  });
});
