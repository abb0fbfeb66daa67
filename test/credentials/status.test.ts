/**
 * Publishing and checking Bitstring Status Lists on a real service: a credential's status follows its
 * bit (revoked, suspended, reinstated); `GET /status/{id}` serves a signed, cacheable vc+jwt that plain
 * `jose` and `node:zlib` can check without Trustgate code; foreign lists are fetched only through the
 * SSRF guard, must be signed by the credential's own issuer, and are cached until they expire.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { getBytes, SigningKey } from 'ethers';
import { base64url, compactVerify, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBitstring, encodeBitstring, setBit } from '../../src/credentials/bitstring.ts';
import type { TenantIssuers } from '../../src/credentials/issuers.ts';
import { StatusChecker } from '../../src/credentials/status-check.ts';
import type { StatusLists, StatusPurpose } from '../../src/credentials/status-lists.ts';
import type { StatusListPublisher } from '../../src/credentials/status-publication.ts';
import { issueVcJwt, managedKeySigner, VC_V2_CONTEXT, verifyVcJwt } from '../../src/credentials/vc-jose.ts';
import { TrustgateError } from '../../src/errors.ts';
import { createManagedDid, type ManagedDid } from '../../src/identity/agent.ts';
import { createSafeFetch } from '../../src/net/safe-fetch.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let t: TestService;
let lists: StatusLists;
let issuers: TenantIssuers;
let publisher: StatusListPublisher;
let checker: StatusChecker;

beforeAll(async () => {
  t = await startTestService();
  ({ statusLists: lists, issuers, statusPublisher: publisher } = t.service.credentials);
  checker = new StatusChecker({
    fetch: createSafeFetch(),
    resolver: t.service.resolver,
    local: { publicUrl: t.url, publisher },
  });
}, 60_000);

afterAll(async () => {
  await t?.destroy();
});

let tenantCounter = 0;
const newTenant = () => `status-test-${process.pid}-${++tenantCounter}`;

function credentialBody(issuer: string, credentialStatus: unknown): Record<string, unknown> {
  return {
    '@context': [VC_V2_CONTEXT],
    id: `urn:uuid:${crypto.randomUUID()}`,
    type: ['VerifiableCredential', 'DeviceCredential'],
    issuer,
    validFrom: new Date(Date.now() - 60_000).toISOString(),
    credentialSubject: { id: 'did:example:holder', assurance: 'aal2' },
    credentialStatus,
  };
}

/** A credential of `tenantId`'s issuer with one status entry per purpose, signed as vc+jwt. */
async function issueWithStatus(tenantId: string, purposes: StatusPurpose[]) {
  const issuer = await issuers.get(tenantId);
  const allocations = [];
  for (const purpose of purposes) allocations.push(await lists.allocate(tenantId, purpose));
  const credential = credentialBody(
    issuer.did,
    allocations.map((a) => publisher.entryFor(a)),
  );
  const jws = await issueVcJwt({
    credential,
    issuerDid: issuer.did,
    kid: issuer.verificationMethod,
    sign: managedKeySigner(t.service.agent, issuer.kid),
  });
  return { issuer, allocations, credential, jws };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<TrustgateError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected ${code}, but it passed`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrustgateError);
  expect(err).toMatchObject({ code });
  return err as TrustgateError;
}

describe('a credential with a BitstringStatusListEntry on this service', () => {
  it('should carry entries pointing at /status/{listId} with the index as a decimal string', async () => {
    const { allocations, credential } = await issueWithStatus(newTenant(), ['revocation']);
    const [a] = allocations;
    expect(credential.credentialStatus).toEqual([
      {
        id: `${t.url}/status/${a?.listId}#${a?.index}`,
        type: 'BitstringStatusListEntry',
        statusPurpose: 'revocation',
        statusListIndex: String(a?.index),
        statusListCredential: `${t.url}/status/${a?.listId}`,
      },
    ]);
  });

  it('should pass while clear, fail as suspended, pass when reinstated, and fail as revoked for good', async () => {
    const { allocations, credential, jws } = await issueWithStatus(newTenant(), ['revocation', 'suspension']);
    const [revocation, suspension] = allocations as [(typeof allocations)[0], (typeof allocations)[0]];
    const verify = () => verifyVcJwt(jws, { resolver: t.service.resolver, checkStatus: checker.hook });

    expect((await checker.check(credential)).entries.map((e) => [e.statusPurpose, e.set])).toEqual([
      ['revocation', false],
      ['suspension', false],
    ]);
    expect((await verify()).verified).toBe(true);

    await lists.setStatus(suspension.listId, suspension.index, true);
    await expectCode(checker.check(credential), 'credential_suspended');
    await expectCode(verify(), 'credential_suspended');

    await lists.setStatus(suspension.listId, suspension.index, false);
    expect((await verify()).verified).toBe(true);

    await lists.setStatus(revocation.listId, revocation.index, true);
    const err = await expectCode(checker.check(credential), 'credential_revoked');
    expect(err.status).toBe(400);
    await expectCode(verify(), 'credential_revoked');
  });

  it("should refuse another tenant's list as status_list_invalid (its issuer differs)", async () => {
    const mine = await issuers.get(newTenant());
    const theirs = await lists.allocate(newTenant(), 'revocation');
    const credential = credentialBody(mine.did, publisher.entryFor(theirs));
    await expectCode(checker.check(credential), 'status_list_invalid');
  });

  it('should refuse a purpose that does not match the list, and an index past its end', async () => {
    const tenantId = newTenant();
    const issuer = await issuers.get(tenantId);
    const a = await lists.allocate(tenantId, 'revocation');
    const entry = publisher.entryFor(a);
    await expectCode(
      checker.check(credentialBody(issuer.did, { ...entry, statusPurpose: 'suspension' })),
      'status_list_invalid',
    );
    await expectCode(
      checker.check(credentialBody(issuer.did, { ...entry, statusListIndex: '131072' })),
      'status_index_out_of_range',
    );
  });

  it('should answer status_list_unavailable (4xx) for an unknown list of ours, without HTTP', async () => {
    const issuer = await issuers.get(newTenant());
    const err = await expectCode(
      checker.check(
        credentialBody(issuer.did, {
          type: 'BitstringStatusListEntry',
          statusPurpose: 'revocation',
          statusListIndex: '1',
          statusListCredential: `${t.url}/status/no-such-list`,
        }),
      ),
      'status_list_unavailable',
    );
    expect(err.status).toBe(400);
  });
});

describe('GET /status/{listId}', () => {
  it('should serve the signed list as application/vc+jwt with a stable ETag, 304 and Cache-Control', async () => {
    const tenantId = newTenant();
    const a = await lists.allocate(tenantId, 'revocation');
    const url = `${t.url}/status/${a.listId}`;

    const first = await fetch(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/vc+jwt');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    const maxAge = Number(/^public, max-age=(\d+)$/.exec(first.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(0);
    expect(maxAge).toBeLessThanOrEqual(300);
    const jws = await first.text();
    expect(jws.split('.')).toHaveLength(3);

    const again = await fetch(url);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe(jws); // the cached signature, not a new one

    const notModified = await fetch(url, { headers: { 'if-none-match': etag ?? '' } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('etag')).toBe(etag);
    expect(await notModified.text()).toBe('');

    await lists.setStatus(a.listId, a.index, true);
    const changed = await fetch(url, { headers: { 'if-none-match': etag ?? '' } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(await changed.text()).not.toBe(jws);
  });

  it('should answer 404 status_list_not_found as problem+json for an unknown list', async () => {
    const res = await fetch(`${t.url}/status/no-such-list`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'status_list_not_found', status: 404 });
  });
});

/** The managed key's public JWK, computed here rather than through the module under test. */
async function managedKeyJwk(kid: string): Promise<JWK> {
  const key = await t.service.agent.keyManagerGet({ kid });
  const point = getBytes(SigningKey.computePublicKey(`0x${key.publicKeyHex}`, false));
  return {
    kty: 'EC',
    crv: 'secp256k1',
    x: Buffer.from(point.subarray(1, 33)).toString('base64url'),
    y: Buffer.from(point.subarray(33, 65)).toString('base64url'),
  };
}

describe('interop: a verifier without Trustgate code', () => {
  it('should verify the list with plain jose and read the bit with node:zlib in spec bit order', async () => {
    const tenantId = newTenant();
    const issuer = await issuers.get(tenantId);
    const a = await lists.allocate(tenantId, 'revocation');
    const url = `${t.url}/status/${a.listId}`;
    const key = await importJWK(await managedKeyJwk(issuer.kid), 'ES256K');

    async function bitAt(index: number): Promise<boolean> {
      const res = await fetch(url);
      expect(res.headers.get('content-type')).toBe('application/vc+jwt');
      const { payload, protectedHeader } = await compactVerify(await res.text(), key, {
        algorithms: ['ES256K'],
      });
      expect(protectedHeader).toMatchObject({
        alg: 'ES256K',
        typ: 'vc+jwt',
        kid: `${issuer.did}#controller`,
      });
      const vc = JSON.parse(new TextDecoder().decode(payload));
      expect(vc).toMatchObject({
        '@context': ['https://www.w3.org/ns/credentials/v2'],
        id: url,
        type: ['VerifiableCredential', 'BitstringStatusListCredential'],
        issuer: issuer.did,
        credentialSubject: { id: `${url}#list`, type: 'BitstringStatusList', statusPurpose: 'revocation' },
      });
      expect(Date.parse(vc.validUntil)).toBeGreaterThan(Date.now());
      expect(Date.parse(vc.validFrom)).toBeLessThanOrEqual(Date.now());
      const encoded: string = vc.credentialSubject.encodedList;
      expect(encoded.startsWith('u')).toBe(true);
      const bits = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
      expect(bits.length * 8).toBeGreaterThanOrEqual(131_072);
      return ((bits[Math.floor(index / 8)] ?? 0) & (0x80 >> (index % 8))) !== 0;
    }

    expect(await bitAt(a.index)).toBe(false);
    await lists.setStatus(a.listId, a.index, true);
    expect(await bitAt(a.index)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Foreign lists, served by a local HTTP server

interface Served {
  server: Server;
  port: number;
  origin: string;
  requests: Map<string, number>;
  connections: () => number;
  routes: Map<string, () => Promise<{ body: string; headers?: Record<string, string> }>>;
}

async function serve(): Promise<Served> {
  const requests = new Map<string, number>();
  const routes: Served['routes'] = new Map();
  let connections = 0;
  const server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const route = routes.get(path);
    if (!route) return void res.writeHead(404).end();
    const { body, headers } = await route();
    res.writeHead(200, { 'content-type': 'application/vc+jwt', ...headers }).end(body);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    routes,
  };
}

describe('foreign status lists', () => {
  let remote: Served;
  let issuer: ManagedDid;
  let other: ManagedDid;
  let clock: number;
  let remoteChecker: StatusChecker;

  beforeAll(async () => {
    remote = await serve();
    issuer = await createManagedDid(t.service.agent);
    other = await createManagedDid(t.service.agent);
    clock = Date.now();
    remoteChecker = new StatusChecker({
      fetch: createSafeFetch({ allowHosts: [`127.0.0.1:${remote.port}`], timeoutMs: 2000 }),
      resolver: t.service.resolver,
      now: () => new Date(clock),
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => remote?.server.close(resolve));
  });

  /** A BitstringStatusListCredential for `url` signed by `signer`, valid from the test clock. */
  async function signedList(
    url: string,
    options: { signer?: ManagedDid; setIndex?: number; validSeconds?: number; purpose?: string } = {},
  ): Promise<string> {
    const signer = options.signer ?? issuer;
    let bits = createBitstring();
    if (options.setIndex !== undefined) bits = setBit(bits, options.setIndex, true);
    return issueVcJwt({
      credential: {
        '@context': [VC_V2_CONTEXT],
        id: url,
        type: ['VerifiableCredential', 'BitstringStatusListCredential'],
        issuer: signer.did,
        validFrom: new Date(clock - 1000).toISOString(),
        validUntil: new Date(clock + (options.validSeconds ?? 3600) * 1000).toISOString(),
        credentialSubject: {
          id: `${url}#list`,
          type: 'BitstringStatusList',
          statusPurpose: options.purpose ?? 'revocation',
          encodedList: encodeBitstring(bits),
        },
      },
      issuerDid: signer.did,
      sign: managedKeySigner(t.service.agent, signer.kid),
    });
  }

  /** Serves at `path` a list signed on every request (so it follows the test clock). */
  function serveList(path: string, options: Parameters<typeof signedList>[1] = {}, headers = {}): string {
    const url = `${remote.origin}${path}`;
    remote.routes.set(path, async () => ({ body: await signedList(url, options), headers }));
    return url;
  }

  const entry = (url: string, index: number) => ({
    type: 'BitstringStatusListEntry',
    statusPurpose: 'revocation',
    statusListIndex: String(index),
    statusListCredential: url,
  });

  it('should fetch an allow-listed list, verify it and read the bit', async () => {
    const clear = serveList('/lists/clear');
    const revoked = serveList('/lists/revoked', { setIndex: 4242 });
    const ok = await remoteChecker.check(credentialBody(issuer.did, entry(clear, 4242)));
    expect(ok.entries).toEqual([
      { statusPurpose: 'revocation', statusListCredential: clear, statusListIndex: 4242, set: false },
    ]);
    await expectCode(
      remoteChecker.check(credentialBody(issuer.did, entry(revoked, 4242))),
      'credential_revoked',
    );
    expect(
      (await remoteChecker.check(credentialBody(issuer.did, entry(revoked, 4243)))).entries[0]?.set,
    ).toBe(false);
  });

  it('should refuse loopback and metadata addresses that are not allow-listed, without connecting', async () => {
    const url = serveList('/lists/ssrf');
    const unguarded = new StatusChecker({ fetch: createSafeFetch(), resolver: t.service.resolver });
    const before = remote.connections();
    for (const target of [
      url,
      `https://127.0.0.1:${remote.port}/lists/ssrf`,
      'https://169.254.169.254/latest/meta-data/',
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      const err = await expectCode(
        unguarded.check(credentialBody(issuer.did, entry(target, 1))),
        'status_list_unavailable',
      );
      expect(err.status).toBe(400);
      expect(err.extensions).toEqual({ fetchError: 'ssrf_refused' });
    }
    // Allow-listing one host allows nothing else.
    await expectCode(
      remoteChecker.check(credentialBody(issuer.did, entry('https://169.254.169.254/list', 1))),
      'status_list_unavailable',
    );
    expect(remote.connections()).toBe(before);
  });

  it('should refuse a list signed by another issuer as status_list_invalid', async () => {
    const url = serveList('/lists/other-issuer', { signer: other });
    await expectCode(remoteChecker.check(credentialBody(issuer.did, entry(url, 1))), 'status_list_invalid');
  });

  it('should refuse a tampered list as status_list_invalid', async () => {
    const path = '/lists/tampered';
    const url = `${remote.origin}${path}`;
    remote.routes.set(path, async () => {
      const [h, p, s] = (await signedList(url, { setIndex: 7 })).split('.');
      const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p ?? '')));
      payload.credentialSubject.encodedList = encodeBitstring(createBitstring()); // "un-revoke" index 7
      return { body: `${h}.${base64url.encode(JSON.stringify(payload))}.${s}` };
    });
    const err = await expectCode(
      remoteChecker.check(credentialBody(issuer.did, entry(url, 7))),
      'status_list_invalid',
    );
    expect(err.cause).toMatchObject({ code: 'invalid_signature' });
  });

  it('should refuse a list served under another URL than its own id', async () => {
    const path = '/lists/moved';
    const elsewhere = `${remote.origin}/lists/original`;
    remote.routes.set(path, async () => ({ body: await signedList(elsewhere) }));
    await expectCode(
      remoteChecker.check(credentialBody(issuer.did, entry(`${remote.origin}${path}`, 1))),
      'status_list_invalid',
    );
  });

  it('should answer status_list_unavailable (5xx) when the list server answers 404', async () => {
    const err = await expectCode(
      remoteChecker.check(credentialBody(issuer.did, entry(`${remote.origin}/lists/missing`, 1))),
      'status_list_unavailable',
    );
    expect(err.status).toBe(502);
  });

  it('should keep fetched lists within the cache byte budget, dropping the oldest', async () => {
    const small = new StatusChecker({
      fetch: createSafeFetch({ allowHosts: [`127.0.0.1:${remote.port}`] }),
      resolver: t.service.resolver,
      maxCacheBytes: 20_000, // one 16 KiB list
      now: () => new Date(clock),
    });
    const first = credentialBody(issuer.did, entry(serveList('/lists/budget-1'), 1));
    const second = credentialBody(issuer.did, entry(serveList('/lists/budget-2'), 1));
    await small.check(first);
    await small.check(first);
    expect(remote.requests.get('/lists/budget-1')).toBe(1);
    await small.check(second);
    await small.check(first);
    expect(remote.requests.get('/lists/budget-1')).toBe(2);
  });

  it('should reuse a fetched list within max-age and refetch once it has passed', async () => {
    const path = '/lists/max-age';
    const url = serveList(path, {}, { 'cache-control': 'public, max-age=60' });
    const credential = credentialBody(issuer.did, entry(url, 9));
    await remoteChecker.check(credential);
    await remoteChecker.check(credential);
    expect(remote.requests.get(path)).toBe(1);
    clock += 61_000;
    await remoteChecker.check(credential);
    expect(remote.requests.get(path)).toBe(2);
  });

  it('should reuse a fetched list until its validUntil and refetch after it', async () => {
    const path = '/lists/valid-until';
    const url = serveList(path, { validSeconds: 120 });
    const credential = credentialBody(issuer.did, entry(url, 9));
    await Promise.all([remoteChecker.check(credential), remoteChecker.check(credential)]);
    expect(remote.requests.get(path)).toBe(1);
    clock += 100_000;
    await remoteChecker.check(credential);
    expect(remote.requests.get(path)).toBe(1);
    clock += 30_000;
    await remoteChecker.check(credential);
    expect(remote.requests.get(path)).toBe(2);
  });
});
