import { createJWT, ES256KSigner, verifyJWT } from 'did-jwt';
import { type DIDResolutionResult, Resolver } from 'did-resolver';
import { BrowserProvider, encodeBase58, getBytes, hexlify, toUtf8Bytes, Wallet, ZeroAddress } from 'ethers';
import { getResolver } from 'ethr-did-resolver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DidResolverService } from '../../src/identity/resolver/index.ts';
import { bytes32, type DidRegistry, deployRegistry, mined } from '../contracts/registry-fixture.ts';
import { HARDHAT_CHAIN_ID, type InProcessChain, startInProcessChain } from '../helpers/hardhat-network.ts';

/** An ethers provider over the chain that counts the JSON-RPC requests it sends. */
function countingProvider(chain: InProcessChain) {
  const counter = { calls: 0, methods: [] as string[] };
  const provider = new BrowserProvider(
    {
      request: (args: { method: string; params?: unknown[] }) => {
        counter.calls++;
        counter.methods.push(args.method);
        return chain.provider.request(args);
      },
    },
    HARDHAT_CHAIN_ID,
    { staticNetwork: true, cacheTimeout: -1 },
  );
  return { provider, counter };
}

let chain: InProcessChain;
let registry: DidRegistry;
let registryAddress: string;
let stock: Resolver;
let stockCounter: { calls: number };
let ours: DidResolverService;
let oursCounter: { calls: number; methods: string[] };

const utf8 = (text: string) => hexlify(toUtf8Bytes(text));
const did = (address: string, network = '0x7a69') => `did:ethr:${network}:${address}`;

async function newIdentity(): Promise<{ wallet: Wallet; registry: DidRegistry }> {
  const wallet = await chain.fundedWallet();
  return { wallet, registry: registry.connect(wallet) };
}

/** Our result and the stock resolver's, at the same block (nothing is mined in between). */
async function bothResolve(id: string, accept?: string) {
  await ours.sync();
  const [mine, theirs] = await Promise.all([
    ours.resolvable().resolve(id, accept ? { accept } : {}),
    stock.resolve(id, accept ? { accept } : {}),
  ]);
  return { mine, theirs };
}

async function expectSameAsStock(id: string): Promise<DIDResolutionResult> {
  for (const accept of [undefined, 'application/did+json']) {
    const { mine, theirs } = await bothResolve(id, accept);
    expect(theirs.didResolutionMetadata.error).toBeUndefined();
    expect(mine).toEqual(theirs);
    // Key order too: serialized bytes are what a verifier hashes or diffs.
    expect(JSON.stringify(mine)).toBe(JSON.stringify(theirs));
  }
  return (await bothResolve(id)).mine;
}

beforeAll(async () => {
  chain = await startInProcessChain();
  registry = await deployRegistry(chain.signers[0]!);
  registryAddress = await registry.getAddress();
  const stockRpc = countingProvider(chain);
  stockCounter = stockRpc.counter;
  stock = new Resolver(
    getResolver({
      networks: [
        {
          name: 'hardhat',
          chainId: HARDHAT_CHAIN_ID,
          // biome-ignore lint/suspicious/noExplicitAny: ethr-did-resolver's types point at ethers' CommonJS build.
          provider: stockRpc.provider as any,
          registry: registryAddress,
          legacyNonce: false,
        },
      ],
    }),
  );
  const ourRpc = countingProvider(chain);
  oursCounter = ourRpc.counter;
  ours = new DidResolverService({
    ethr: [{ names: ['hardhat'], chainId: HARDHAT_CHAIN_ID, registryAddress, rpc: ourRpc.provider }],
    ethrIndex: { pollIntervalMs: 50 },
  });
  await ours.start();
});

afterAll(async () => {
  await ours?.stop();
  chain?.close();
});

describe('did:ethr documents are identical to stock ethr-did-resolver at the same block', () => {
  it('for a DID that never changed, under both the hex chain id and the network name', async () => {
    const address = Wallet.createRandom().address;
    const result = await expectSameAsStock(did(address));
    expect(result.didDocument?.verificationMethod).toHaveLength(1);
    await expectSameAsStock(did(address, 'hardhat'));
    await expectSameAsStock(did(address.toLowerCase()));
  });

  it('after an owner change (controller is the new owner)', async () => {
    const { wallet, registry: r } = await newIdentity();
    const newOwner = Wallet.createRandom().address;
    await mined(r.changeOwner(wallet.address, newOwner));
    const result = await expectSameAsStock(did(wallet.address));
    expect(result.didDocument?.verificationMethod?.[0]?.blockchainAccountId).toBe(`eip155:31337:${newOwner}`);
  });

  it('with delegates (veriKey, sigAuth), a revoked delegate and an expired delegate', async () => {
    const { wallet, registry: r } = await newIdentity();
    const [a, b, c, d] = [0, 1, 2, 3].map(() => Wallet.createRandom().address) as [
      string,
      string,
      string,
      string,
    ];
    await mined(r.addDelegate(wallet.address, bytes32('veriKey'), a, 86_400));
    await mined(r.addDelegate(wallet.address, bytes32('sigAuth'), b, 86_400));
    await mined(r.addDelegate(wallet.address, bytes32('veriKey'), c, 86_400));
    await mined(r.revokeDelegate(wallet.address, bytes32('veriKey'), c));
    // Long enough to be seen valid first even on a loaded machine, short enough to wait for its lapse.
    const shortValidity = 4;
    await mined(r.addDelegate(wallet.address, bytes32('veriKey'), d, shortValidity));
    const before = await expectSameAsStock(did(wallet.address));
    expect(JSON.stringify(before.didDocument)).toContain(d);
    // The short delegation lapses by the wall clock: the cached document drops it with no new event.
    await waitUntilSecondsPast((await latestTimestamp()) + shortValidity);
    const callsBefore = oursCounter.calls;
    const after = (await ours.resolvable().resolve(did(wallet.address))).didDocument;
    expect(JSON.stringify(after)).not.toContain(d);
    expect(JSON.stringify(after)).toContain(a);
    expect(oursCounter.calls - callsBefore).toBeLessThanOrEqual(2); // at most a watcher poll
    await expectSameAsStock(did(wallet.address));
  });

  it('with key and service attributes, revoked ones, and every key encoding', async () => {
    const { wallet, registry: r } = await newIdentity();
    const secp = Wallet.createRandom().signingKey.compressedPublicKey;
    const ed = `0x${'11'.repeat(32)}`;
    const x = `0x${'22'.repeat(32)}`;
    const set = (name: string, value: string) =>
      mined(r.setAttribute(wallet.address, bytes32(name), value, 86_400));
    await set('did/pub/Secp256k1/veriKey/hex', secp);
    await set('did/pub/Ed25519/veriKey/base58', ed);
    await set('did/pub/X25519/enc/base64', x);
    await set('did/pub/Secp256k1/sigAuth/hex', Wallet.createRandom().signingKey.compressedPublicKey);
    await set('did/svc/HubService', utf8('https://hub.example.com/'));
    await set(
      'did/svc/Messaging',
      utf8(JSON.stringify({ uri: 'https://m.example.com', accept: ['didcomm/v2'] })),
    );
    await set('did/svc/Revoked', utf8('https://gone.example.com/'));
    await mined(
      r.revokeAttribute(wallet.address, bytes32('did/svc/Revoked'), utf8('https://gone.example.com/')),
    );
    await mined(r.revokeAttribute(wallet.address, bytes32('did/pub/Ed25519/veriKey/base58'), ed));
    const result = await expectSameAsStock(did(wallet.address));
    expect(result.didDocument?.service).toHaveLength(2);
    expect(result.didDocument?.keyAgreement).toHaveLength(1);
    expect(JSON.stringify(result)).not.toContain(encodeBase58(ed));
  });

  it('for a deactivated DID (owner set to the zero address)', async () => {
    const { wallet, registry: r } = await newIdentity();
    await mined(r.addDelegate(wallet.address, bytes32('veriKey'), Wallet.createRandom().address, 86_400));
    await mined(r.changeOwner(wallet.address, ZeroAddress));
    const result = await expectSameAsStock(did(wallet.address));
    expect(result.didDocumentMetadata.deactivated).toBe(true);
  });

  it('for a public-key DID, with #controllerKey until the owner changes', async () => {
    const { wallet, registry: r } = await newIdentity();
    const keyDid = did(wallet.signingKey.compressedPublicKey);
    const fresh = await expectSameAsStock(keyDid);
    expect(fresh.didDocument?.verificationMethod?.map((v) => v.id)).toContain(`${keyDid}#controllerKey`);
    await mined(r.changeOwner(wallet.address, Wallet.createRandom().address));
    const moved = await expectSameAsStock(keyDid);
    expect(moved.didDocument?.verificationMethod?.map((v) => v.id)).not.toContain(`${keyDid}#controllerKey`);
  });

  it('for an earlier version (?versionId=), with nextVersionId', async () => {
    const { wallet, registry: r } = await newIdentity();
    const first = await mined(
      r.addDelegate(wallet.address, bytes32('veriKey'), Wallet.createRandom().address, 86_400),
    );
    await mined(
      r.setAttribute(wallet.address, bytes32('did/svc/HubService'), utf8('https://x.example'), 86_400),
    );
    const { mine, theirs } = await bothResolve(`${did(wallet.address)}?versionId=${first.blockNumber}`);
    expect(theirs.didResolutionMetadata.error).toBeUndefined();
    expect(mine).toEqual(theirs);
    expect(mine.didDocumentMetadata.nextVersionId).toBe(String(first.blockNumber + 1));
  });
});

describe('did:ethr cache freshness', () => {
  it('serves a cached document without any RPC', async () => {
    const { wallet, registry: r } = await newIdentity();
    await mined(r.addDelegate(wallet.address, bytes32('veriKey'), Wallet.createRandom().address, 86_400));
    await ours.sync();
    await ours.resolve(did(wallet.address));
    const index = ours.ethrIndex('0x7a69')!;
    await index.stop();
    await index.sync();
    const before = oursCounter.calls;
    for (let i = 0; i < 100; i++) await ours.resolve(did(wallet.address));
    expect(oursCounter.calls).toBe(before);
    await index.start();
  });

  it('reflects a new change once the watcher has seen its block (bounded wait), never older', async () => {
    const { wallet, registry: r } = await newIdentity();
    const id = did(wallet.address);
    await ours.resolve(id);
    for (let i = 0; i < 5; i++) {
      const receipt = await mined(
        r.setAttribute(wallet.address, bytes32('did/svc/S'), utf8(`https://${i}.example`), 86_400),
      );
      const started = Date.now();
      let seen: DIDResolutionResult;
      do {
        seen = await ours.resolve(id);
        if (seen.didDocumentMetadata.versionId === String(receipt.blockNumber)) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      } while (Date.now() - started < 1000);
      expect(seen.didDocumentMetadata.versionId).toBe(String(receipt.blockNumber));
      expect(Date.now() - started).toBeLessThan(1000);
    }
  });

  it('is current right after sync(): at most one block behind the head it saw', async () => {
    const { wallet, registry: r } = await newIdentity();
    const id = did(wallet.address);
    await ours.resolve(id);
    for (let i = 0; i < 5; i++) {
      const receipt = await mined(
        r.setAttribute(wallet.address, bytes32('did/svc/S'), utf8(`https://${i}.example`), 86_400),
      );
      await ours.sync();
      expect((await ours.resolve(id)).didDocumentMetadata.versionId).toBe(String(receipt.blockNumber));
    }
    await expectSameAsStock(id);
  });

  it('keeps changes made while the first (uncached) load is in flight', async () => {
    const { wallet, registry: r } = await newIdentity();
    const id = did(wallet.address);
    const pending = ours.resolve(id);
    const receipt = await mined(
      r.addDelegate(wallet.address, bytes32('veriKey'), Wallet.createRandom().address, 86_400),
    );
    await pending;
    await ours.sync();
    expect((await ours.resolve(id)).didDocumentMetadata.versionId).toBe(String(receipt.blockNumber));
    await expectSameAsStock(id);
  });

  it('hands out frozen documents, so a caller cannot corrupt the cache', async () => {
    const result = await ours.resolve(did(Wallet.createRandom().address));
    expect(() => {
      (result.didDocument!.verificationMethod as unknown[]).push({});
    }).toThrow(TypeError);
  });
});

describe('did:ethr uncached resolution cost does not grow with history', () => {
  it('takes the same bounded number of RPC calls for 0 and 50 changes (stock: one per change)', async () => {
    const { wallet, registry: r } = await newIdentity();
    for (let i = 0; i < 50; i++) {
      await mined(r.setAttribute(wallet.address, bytes32('did/svc/S'), utf8(`https://${i}.example`), 86_400));
    }
    const fresh = Wallet.createRandom().address;
    const index = ours.ethrIndex('0x7a69')!;
    await index.stop();
    await index.sync();
    const cost = async (id: string) => {
      index.clear();
      const before = oursCounter.calls;
      await ours.resolve(id);
      return oursCounter.calls - before;
    };
    const zero = await cost(did(fresh));
    const fifty = await cost(did(wallet.address));
    expect(zero).toBeLessThanOrEqual(2);
    expect(fifty).toBeLessThanOrEqual(2);
    const stockBefore = stockCounter.calls;
    await stock.resolve(did(wallet.address));
    expect(stockCounter.calls - stockBefore).toBeGreaterThanOrEqual(50);
    await index.start();
  });
});

describe('did:ethr through the did-resolver adapter', () => {
  it('verifies a did-jwt JWT signed by the DID owner, with a DID URL carrying a fragment', async () => {
    const wallet = Wallet.createRandom();
    const issuer = did(wallet.address);
    const jwt = await createJWT(
      { aud: 'trustgate', sub: 'x' },
      { issuer, signer: ES256KSigner(getBytes(wallet.privateKey), true), alg: 'ES256K-R' },
    );
    const verified = await verifyJWT(jwt, { resolver: ours.resolvable(), audience: 'trustgate' });
    expect(verified.issuer).toBe(issuer);
    expect(verified.signer.id).toBe(`${issuer}#controller`);
    const viaUrl = await ours.resolvable().resolve(`${issuer}#controller`);
    expect(viaUrl.didDocument?.id).toBe(issuer);
  });

  it('reports unknown networks, bad identifiers and unsupported methods as resolution errors', async () => {
    const resolvable = ours.resolvable();
    const address = Wallet.createRandom().address;
    expect((await resolvable.resolve(`did:ethr:mainnet:${address}`)).didResolutionMetadata.error).toBe(
      'unknownNetwork',
    );
    expect((await resolvable.resolve(`did:ethr:${address}`)).didResolutionMetadata.error).toBe(
      'unknownNetwork',
    );
    expect((await resolvable.resolve('did:ethr:0x7a69:0x1234')).didResolutionMetadata.error).toBe(
      'invalidDid',
    );
    expect(
      (await resolvable.resolve(`did:ethr:0x7a69:${address.replace(/[a-f]/, 'F')}`)).didResolutionMetadata
        .error,
    ).toMatch(/invalidDid/);
    expect((await resolvable.resolve('did:example:123')).didResolutionMetadata.error).toBe(
      'methodNotSupported',
    );
    expect((await resolvable.resolve('not a did')).didResolutionMetadata.error).toBe('invalidDid');
  });
});

async function latestTimestamp(): Promise<number> {
  const block = (await chain.provider.request({
    method: 'eth_getBlockByNumber',
    params: ['latest', false],
  })) as {
    timestamp: string;
  };
  return Number(block.timestamp);
}

async function waitUntilSecondsPast(seconds: number): Promise<void> {
  while (Math.floor(Date.now() / 1000) <= seconds) await new Promise((resolve) => setTimeout(resolve, 50));
}
