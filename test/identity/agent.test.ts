/**
 * The identity agent against a real service (SQLite store, embedded chain): managed did:ethr DIDs are
 * created without a transaction, resolve with stock ethr-did-resolver over the public JSON-RPC, sign JWTs
 * that did-jwt verifies, and sign registry meta-transactions the ERC-1056 contract accepts.
 */
import { createJWT, verifyJWT } from 'did-jwt';
import { Resolver } from 'did-resolver';
import {
  Contract,
  computeAddress,
  encodeBytes32String,
  getBytes,
  JsonRpcProvider,
  keccak256,
  recoverAddress,
  solidityPacked,
  Transaction,
  TypedDataEncoder,
  verifyMessage,
  verifyTypedData,
} from 'ethers';
import { getResolver } from 'ethr-did-resolver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadArtifact } from '../../src/chain/registry-artifact.ts';
import { KeyRing, masterKeyFrom } from '../../src/crypto/envelope.ts';
import {
  createIdentityAgent,
  createManagedDid,
  ethrDid,
  exportPublicMaterial,
  type IdentityAgent,
  ManagedKeySigner,
  signWithManagedKey,
} from '../../src/identity/agent.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let ts: TestService;
let agent: IdentityAgent;
let stockResolver: Resolver;
let rpc: JsonRpcProvider;

beforeAll(async () => {
  ts = await startTestService();
  const { chain, store } = ts.service;
  agent = createIdentityAgent({ store, keys: new KeyRing(masterKeyFrom(Buffer.alloc(32, 3))), chain });
  // An outside verifier: stock ethr-did-resolver over the advertised JSON-RPC, not the service's provider.
  rpc = new JsonRpcProvider(chain.rpcUrl, chain.chainId, { staticNetwork: true, cacheTimeout: -1 });
  stockResolver = new Resolver(
    getResolver({
      networks: [
        {
          name: `0x${chain.chainId.toString(16)}`,
          chainId: chain.chainId,
          rpcUrl: chain.rpcUrl,
          registry: chain.registryAddress,
          legacyNonce: false,
        },
      ],
    }),
  );
});

afterAll(async () => {
  rpc?.destroy();
  await ts?.destroy();
});

describe('identity agent', () => {
  it('creates a did:ethr:<chainIdHex>:<address> for a fresh secp256k1 key without sending a transaction', async () => {
    const { chain } = ts.service;
    const relayerNonce = await chain.provider.getTransactionCount(chain.relayer.address);
    const block = await chain.provider.getBlockNumber();

    const managed = await createManagedDid(agent, { alias: 'alice' });

    const key = await agent.keyManagerGet({ kid: managed.kid });
    const address = computeAddress(`0x${key.publicKeyHex}`);
    expect(key.type).toBe('Secp256k1');
    expect(managed.did).toBe(`did:ethr:0x7a69:${address.toLowerCase()}`);
    expect(managed.did).toBe(ethrDid(chain.chainId, address));
    expect(managed.address).toBe(address.toLowerCase());
    expect(managed.identifier.controllerKeyId).toBe(managed.kid);
    expect(await chain.provider.getBlockNumber()).toBe(block);
    expect(await chain.provider.getTransactionCount(chain.relayer.address)).toBe(relayerNonce);
    expect((await agent.didManagerGetByAlias({ alias: 'alice' })).did).toBe(managed.did);
  });

  it('gives plain didManagerCreate the same address form', async () => {
    const id = await agent.didManagerCreate();
    const key = await agent.keyManagerGet({ kid: id.controllerKeyId! });
    expect(id.did).toBe(ethrDid(31337, computeAddress(`0x${key.publicKeyHex}`)));
    expect(id.provider).toBe('did:ethr');
  });

  it('refuses a taken alias and leaves no orphan key behind', async () => {
    await createManagedDid(agent, { alias: 'bob' });
    const before = (await agent.didManagerFind()).length;
    const keysBefore = await ts.service.store.db.privateKey.count();
    await expect(createManagedDid(agent, { alias: 'bob' })).rejects.toThrow(/already exists/);
    expect((await agent.didManagerFind()).length).toBe(before);
    expect(await ts.service.store.db.privateKey.count()).toBe(keysBefore);
  });

  it('creates DIDs that stock ethr-did-resolver resolves on the real chain, controlled by the managed key', async () => {
    const managed = await createManagedDid(agent);
    const { didDocument, didResolutionMetadata } = await stockResolver.resolve(managed.did);
    expect(didResolutionMetadata.error).toBeUndefined();
    expect(didDocument?.id).toBe(managed.did);
    const controller = didDocument?.verificationMethod?.find((vm) => vm.id === `${managed.did}#controller`);
    expect(controller?.blockchainAccountId?.toLowerCase()).toBe(`eip155:31337:${managed.address}`);
    // The agent's own resolver agrees.
    const viaAgent = await agent.resolveDid({ didUrl: managed.did });
    expect(viaAgent.didDocument?.verificationMethod).toEqual(didDocument?.verificationMethod);
  });

  it('signs a JWT with the managed key that did-jwt verifies against the chain', async () => {
    const managed = await createManagedDid(agent);
    const jwt = await createJWT(
      { sub: managed.did, aud: 'https://rp.example', nonce: 'n-1' },
      {
        issuer: managed.did,
        signer: async (data) => agent.keyManagerSignJWT({ kid: managed.kid, data }),
        alg: 'ES256K',
      },
    );
    const verified = await verifyJWT(jwt, { resolver: stockResolver, audience: 'https://rp.example' });
    expect(verified.issuer).toBe(managed.did);
    expect(verified.payload.nonce).toBe('n-1');

    const other = await createManagedDid(agent);
    const forged = await createJWT(
      { sub: managed.did },
      {
        issuer: managed.did,
        signer: async (data) => agent.keyManagerSignJWT({ kid: other.kid, data }),
        alg: 'ES256K',
      },
    );
    await expect(verifyJWT(forged, { resolver: stockResolver })).rejects.toThrow(/invalid_signature/);
  });

  it('signs a registry meta-transaction digest that the ERC-1056 contract accepts from the relayer', async () => {
    const { chain } = ts.service;
    const managed = await createManagedDid(agent);
    const delegateKey = await agent.keyManagerCreate({ kms: 'local', type: 'Secp256k1' });
    const registry = new Contract(
      chain.registryAddress,
      loadArtifact('EthereumDIDRegistry').abi,
      chain.relayer,
    );
    const name = encodeBytes32String('did/pub/Secp256k1/veriKey/hex');
    const value = getBytes(`0x${delegateKey.publicKeyHex}`);
    const validity = 86_400n;
    const nonce = (await registry.getFunction('nonce')(managed.address)) as bigint;
    const digest = keccak256(
      solidityPacked(
        ['bytes1', 'bytes1', 'address', 'uint256', 'address', 'string', 'bytes32', 'bytes', 'uint256'],
        [
          '0x19',
          '0x00',
          chain.registryAddress,
          nonce,
          managed.address,
          'setAttribute',
          name,
          value,
          validity,
        ],
      ),
    );

    const sig = await signWithManagedKey(agent, managed.kid, digest);
    expect(recoverAddress(digest, sig).toLowerCase()).toBe(managed.address);
    const tx = await registry.getFunction('setAttributeSigned')(
      managed.address,
      sig.v,
      sig.r,
      sig.s,
      name,
      value,
      validity,
    );
    await tx.wait();

    const { didDocument } = await stockResolver.resolve(managed.did);
    const keys = didDocument?.verificationMethod ?? [];
    expect(keys.some((vm) => vm.publicKeyHex?.replace(/^0x/, '') === delegateKey.publicKeyHex)).toBe(true);
    // A replayed signature is refused: the owner's nonce moved on.
    await expect(
      registry
        .getFunction('setAttributeSigned')
        .staticCall(managed.address, sig.v, sig.r, sig.s, name, value, validity),
    ).rejects.toThrow(/bad_signature/);
  });

  it('refuses digests that are not 32 bytes', async () => {
    const managed = await createManagedDid(agent);
    await expect(signWithManagedKey(agent, managed.kid, '0x1234')).rejects.toThrow(/32 bytes/);
  });

  it('offers an ethers signer for a managed key: messages, typed data and transactions', async () => {
    const managed = await createManagedDid(agent);
    const signer = await ManagedKeySigner.create(agent, managed.kid, ts.service.chain.provider);
    expect((await signer.getAddress()).toLowerCase()).toBe(managed.address);

    const message = 'sign in to Trustgate';
    expect(verifyMessage(message, await signer.signMessage(message))).toBe(signer.address);

    const domain = { name: 'Trustgate', version: '1', chainId: 31337 };
    const types = { Login: [{ name: 'nonce', type: 'uint256' }] };
    const value = { nonce: 7n };
    expect(verifyTypedData(domain, types, value, await signer.signTypedData(domain, types, value))).toBe(
      signer.address,
    );
    expect(TypedDataEncoder.hash(domain, types, value)).toMatch(/^0x/);

    const raw = await signer.signTransaction({
      to: signer.address,
      value: 0n,
      nonce: 0,
      gasLimit: 21_000n,
      maxFeePerGas: 1n,
      maxPriorityFeePerGas: 1n,
      chainId: 31337n,
      type: 2,
    });
    expect(Transaction.from(raw).from).toBe(signer.address);
  });

  it('exports public material only: DID, address, public keys', async () => {
    const managed = await createManagedDid(agent, { alias: 'carol' });
    const material = await exportPublicMaterial(agent, managed.did);
    expect(material).toMatchObject({ did: managed.did, alias: 'carol', address: managed.address });
    expect(material.keys).toHaveLength(1);
    expect(JSON.stringify(material)).not.toMatch(/privateKey/i);
    const secret = await ts.service.store.db.privateKey.findUniqueOrThrow({ where: { alias: managed.kid } });
    expect(secret.masterKeyId).toHaveLength(16);
  });

  it('creates did:key identifiers too, and resolves them', async () => {
    const id = await agent.didManagerCreate({ provider: 'did:key', options: { keyType: 'Ed25519' } });
    expect(id.did).toMatch(/^did:key:z6Mk/);
    const { didDocument } = await agent.resolveDid({ didUrl: id.did });
    expect(didDocument?.id).toBe(id.did);
  });

  it('refuses on-chain did:ethr updates through Veramo (they go through the outbox)', async () => {
    const managed = await createManagedDid(agent);
    await expect(
      agent.didManagerAddService({
        did: managed.did,
        service: { id: `${managed.did}#svc`, type: 'LinkedDomains', serviceEndpoint: 'https://example.com' },
      }),
    ).rejects.toThrow(/outbox/);
  });
});
