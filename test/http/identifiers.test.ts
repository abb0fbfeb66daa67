import { generateKeyPairSync } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Contract, concat, encodeBase58, toUtf8Bytes, Wallet, ZeroAddress } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryArtifact } from '../../src/chain/registry-artifact.ts';
import type { DidResolverService } from '../../src/identity/resolver/index.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let t: TestService;
let resolver: DidResolverService;
let web: Server;
let webPort: number;
let webConnections = 0;
let webHost: string;

const webDid = () => `did:web:localhost%3A${webPort}`;

const get = (did: string, accept?: string) =>
  fetch(`${t.url}/1.0/identifiers/${did}`, { headers: accept ? { accept } : {} });

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await res.json()) as { code: string; status: number; didResolutionMetadata?: { error: string } };
}

beforeAll(async () => {
  web = createServer((req, res) => {
    const docs: Record<string, object> = {
      '/.well-known/did.json': { '@context': ['https://www.w3.org/ns/did/v1'], id: webDid() },
      '/users/alice/did.json': {
        '@context': ['https://www.w3.org/ns/did/v1'],
        id: `${webDid()}:users:alice`,
      },
      '/users/mallory/did.json': { id: 'did:web:someone.else' },
    };
    const doc = docs[req.url ?? ''];
    if (doc) res.writeHead(200, { 'content-type': 'application/did+json' }).end(JSON.stringify(doc));
    else res.writeHead(404).end();
  });
  web.on('connection', () => {
    webConnections++;
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as AddressInfo).port;
  webHost = `localhost:${webPort}`;

  t = await startTestService(
    { DID_WEB_ALLOW_HOSTS: webHost },
    {
      didWeb: {
        resolveHost: async (host) =>
          host === 'intranet.example' ? [{ address: '10.1.2.3', family: 4 }] : lookup(host, { all: true }),
      },
    },
  );
  resolver = t.service.resolver;
});

afterAll(async () => {
  await t?.destroy();
  web?.closeAllConnections();
  await new Promise((resolve) => web?.close(resolve));
});

describe('GET /1.0/identifiers/{did} for did:ethr', () => {
  it('answers the DID resolution result by default, and the bare document on request', async () => {
    const relayer = t.service.chain.relayer;
    const registry = new Contract(t.service.chain.registryAddress, registryArtifact().abi, relayer);
    const tx = await registry.getFunction('setAttribute')(
      relayer.address,
      '0x6469642f7376632f487562536572766963650000000000000000000000000000',
      toUtf8Bytes('https://hub.example.com'),
      86_400,
    );
    await tx.wait();
    await resolver.sync();
    const did = `did:ethr:0x7a69:${relayer.address}`;

    const full = await get(did);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe(
      'application/ld+json; profile="https://w3id.org/did-resolution"; charset=utf-8',
    );
    const result = (await full.json()) as {
      didDocument: { id: string; service: unknown[] };
      didDocumentMetadata: object;
    };
    expect(result.didDocument.id).toBe(did);
    expect(result.didDocument.service).toHaveLength(1);
    expect(result.didDocumentMetadata).toHaveProperty('versionId');

    const ld = await get(did, 'application/did+ld+json');
    expect(ld.headers.get('content-type')).toMatch(/^application\/did\+ld\+json/);
    const ldDoc = (await ld.json()) as Record<string, unknown>;
    expect(ldDoc.id).toBe(did);
    expect(ldDoc['@context']).toBeDefined();
    expect(ldDoc).not.toHaveProperty('didDocument');

    const plain = (await (await get(did, 'application/did+json')).json()) as Record<string, unknown>;
    expect(plain.id).toBe(did);
    expect(plain).not.toHaveProperty('@context');

    const json = await get(did, 'application/json');
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await json.json()) as { didDocument: { id: string } }).didDocument.id).toBe(did);

    const encoded = await get(encodeURIComponent(did));
    expect(((await encoded.json()) as { didDocument: { id: string } }).didDocument.id).toBe(did);
  });

  it('resolves did:ethr:hardhat:… and a public-key DID', async () => {
    const wallet = Wallet.createRandom();
    for (const did of [
      `did:ethr:hardhat:${wallet.address}`,
      `did:ethr:0x7a69:${wallet.signingKey.compressedPublicKey}`,
    ]) {
      const res = await get(did);
      expect(res.status, did).toBe(200);
      expect(((await res.json()) as { didDocument: { id: string } }).didDocument.id).toBe(did);
    }
  });

  it('answers 410 with the result for a deactivated DID', async () => {
    const wallet = Wallet.createRandom().connect(t.service.chain.provider);
    const fund = await t.service.chain.relayer.sendTransaction({ to: wallet.address, value: 10n ** 17n });
    await fund.wait();
    const registry = new Contract(t.service.chain.registryAddress, registryArtifact().abi, wallet);
    await (await registry.getFunction('changeOwner')(wallet.address, ZeroAddress)).wait();
    await resolver.sync();
    const res = await get(`did:ethr:0x7a69:${wallet.address}`);
    expect(res.status).toBe(410);
    expect(
      ((await res.json()) as { didDocumentMetadata: { deactivated: boolean } }).didDocumentMetadata
        .deactivated,
    ).toBe(true);
  });

  it('refuses an unknown network with 400 unknown_network', async () => {
    const res = await get(`did:ethr:mainnet:${Wallet.createRandom().address}`);
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe('unknown_network');
  });
});

describe('GET /1.0/identifiers/{did} input errors', () => {
  it('answers 400 invalid_did for malformed DIDs', async () => {
    for (const did of [
      'not-a-did',
      'did:',
      'did:ethr',
      'did:ethr:',
      'did:Ethr:0x1',
      'did:ethr:0x7a69:0x1234',
      'did%3Aethr%3A',
      'did:web:a%2Fb',
    ]) {
      const res = await get(did);
      expect(res.status, did).toBe(400);
      const body = await problem(res);
      expect(body.code, did).toBe('invalid_did');
      expect(body.didResolutionMetadata?.error).toBe('invalidDid');
    }
  });

  it('answers 400 method_not_supported for a well-formed DID of another method', async () => {
    const res = await get('did:example:123456');
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe('method_not_supported');
  });

  it('answers 406 when no offered representation is acceptable', async () => {
    const res = await get(`did:ethr:0x7a69:${Wallet.createRandom().address}`, 'text/html');
    expect(res.status).toBe(406);
    expect((await problem(res)).code).toBe('not_acceptable');
  });
});

describe('GET /1.0/identifiers/{did} for did:key', () => {
  it('resolves an Ed25519 did:key without any network access', async () => {
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const raw = Buffer.from(jwk.x!, 'base64url');
    const did = `did:key:z${encodeBase58(concat(['0xed01', raw]))}`;
    const res = await get(did);
    expect(res.status).toBe(200);
    const result = (await res.json()) as {
      didDocument: { id: string; verificationMethod: unknown[] };
      didResolutionMetadata: object;
    };
    expect(result.didDocument.id).toBe(did);
    expect(result.didDocument.verificationMethod.length).toBeGreaterThan(0);
    expect(result.didResolutionMetadata).toEqual({ contentType: 'application/did+ld+json' });
  });

  it('answers 400 invalid_did for a did:key of an unknown key type', async () => {
    const res = await get('did:key:zABCDEFG');
    expect((await problem(res)).code).toBe('invalid_did');
  });
});

describe('GET /1.0/identifiers/{did} for did:web', () => {
  it('fetches the document from an allow-listed development host (root and path forms)', async () => {
    const root = await get(webDid());
    expect(root.status).toBe(200);
    expect(((await root.json()) as { didDocument: { id: string } }).didDocument.id).toBe(webDid());
    const alice = await get(`${webDid()}:users:alice`, 'application/did+ld+json');
    expect(((await alice.json()) as { id: string }).id).toBe(`${webDid()}:users:alice`);
  });

  it('answers 404 not_found for an unknown did:web path or host', async () => {
    for (const did of [`${webDid()}:users:nobody`, 'did:web:nonexistent.invalid']) {
      const res = await get(did);
      expect(res.status, did).toBe(404);
      expect((await problem(res)).code).toBe('not_found');
    }
  });

  it('answers 502 invalid_did_document when the host serves another DID', async () => {
    const res = await get(`${webDid()}:users:mallory`);
    expect(res.status).toBe(502);
    expect((await problem(res)).code).toBe('invalid_did_document');
  });

  it('refuses private, loopback, link-local and privately resolving hosts without connecting', async () => {
    webConnections = 0;
    for (const did of [
      'did:web:127.0.0.1',
      `did:web:127.0.0.1%3A${webPort}`,
      'did:web:169.254.169.254',
      `did:web:%5B%3A%3Affff%3A127.0.0.1%5D%3A${webPort}`,
      'did:web:%5B%3A%3Affff%3A7f00%3A1%5D',
      'did:web:2130706433',
      `did:web:localhost%3A${webPort + 1}`,
      'did:web:intranet.example',
    ]) {
      const res = await get(did);
      expect(res.status, did).toBe(400);
      expect((await problem(res)).code, did).toBe('ssrf_refused');
    }
    expect(webConnections).toBe(0);
  });

  it('rejects bracketed IPv6 written raw (not DID syntax) as invalid_did, still without connecting', async () => {
    webConnections = 0;
    const res = await get('did:web:[::ffff:127.0.0.1]');
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe('invalid_did');
    expect(webConnections).toBe(0);
  });
});

describe('the resolution route is documented', () => {
  it('appears in /openapi.json with its parameter', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as {
      paths: Record<string, { get?: { operationId: string } }>;
    };
    expect(doc.paths['/1.0/identifiers/{did}']?.get?.operationId).toBe('resolveDid');
  });
});
