/**
 * The account API end to end on a real service and chain: managed and self-custody accounts, DID
 * sign-in, keys, export, taking ownership, linking a DID, deactivation; each checked on chain with
 * stock ethr-did-resolver (no Trustgate code on the verifying side).
 */
import { createJWT, ES256KSigner } from 'did-jwt';
import type { Resolver } from 'did-resolver';
import {
  type BaseWallet,
  Contract,
  encodeBytes32String,
  getBytes,
  JsonRpcProvider,
  Network,
  Wallet,
} from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryArtifact } from '../../src/chain/registry-artifact.ts';
import { didKeyHolder } from '../helpers/did-key.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';

let t: TestService;
let stock: Resolver;
let provider: JsonRpcProvider;
const network = Network.from(31337);
const base = () => `${t.url}/t/default/api`;

beforeAll(async () => {
  t = await startTestService();
  const facts = (await (await fetch(`${t.url}/api/chain`)).json()) as { rpcUrl: string; registry: string };
  provider = new JsonRpcProvider(facts.rpcUrl, network, { staticNetwork: network, cacheTimeout: -1 });
  stock = stockEthrResolver(provider, facts.registry);
});
afterAll(async () => {
  provider?.destroy();
  await t?.destroy();
});

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field in assertions.
type Json = Record<string, any>;

async function call(method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${base()}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Json) : {},
  };
}

const challenge = async () =>
  (await call('POST', '/did-auth/challenges')).body as { nonce: string; message: string; audience: string };

async function eip191Proof(wallet: BaseWallet) {
  const c = await challenge();
  return {
    nonce: c.nonce,
    did: `did:ethr:0x7a69:${wallet.address}`,
    signature: await wallet.signMessage(c.message),
  };
}

async function confirmed(jobId: string) {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${t.url}/api/chain/jobs/${jobId}`);
    const job = (await res.json()) as { status: string; lastError: string | null };
    if (job.status === 'confirmed') return job;
    if (job.status === 'failed') throw new Error(`job failed: ${job.lastError}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('job not confirmed in time');
}

describe('managed accounts', () => {
  it('creates an account whose did:ethr resolves on chain with stock ethr-did-resolver', async () => {
    const res = await call('POST', '/accounts', {});
    expect(res.status).toBe(201);
    const { token, account } = res.body;
    expect(account.did).toMatch(/^did:ethr:0x7a69:0x[0-9a-f]{40}$/);
    expect(account.custody).toBe('managed');
    const me = await call('GET', '/accounts/me', undefined, token);
    expect(me.status).toBe(200);
    expect(me.body.didDocument.id).toBe(account.did);
    const resolved = await stock.resolve(account.did);
    expect(resolved.didDocument).toEqual(me.body.didDocument);
  });

  it('lists keys, with Trustgate’s public key and never a private one', async () => {
    const { body } = await call('POST', '/accounts', {});
    const keys = await call('GET', '/accounts/me/keys', undefined, body.token);
    expect(keys.status).toBe(200);
    expect(keys.body.verificationMethods[0].id).toBe(`${body.account.did}#controller`);
    expect(keys.body.managedKeys).toHaveLength(1);
    expect(keys.body.managedKeys[0].publicKeyHex).toMatch(/^(0[23][0-9a-f]{64}|04[0-9a-f]{128})$/);
    expect(JSON.stringify(keys.body)).not.toMatch(/privateKey/i);
  });

  it('exports the DID with the chain facts needed to resolve it anywhere', async () => {
    const { body } = await call('POST', '/accounts', {});
    const res = await call('GET', '/accounts/me/export', undefined, body.token);
    expect(res.headers.get('content-disposition')).toMatch(/attachment/);
    expect(res.body.did).toBe(body.account.did);
    expect(res.body.chain.chainId).toBe(31337);
    expect(res.body.publicKeys).toHaveLength(1);
  });

  it('adds a device key as a delegate and revokes it; the contract then reads it invalid', async () => {
    const { body } = await call('POST', '/accounts', {});
    const device = Wallet.createRandom().address;
    const op = (operation: string, args: Record<string, unknown>, idempotencyKey: string) =>
      call('POST', '/accounts/me/did-operations', { operation, args, idempotencyKey }, body.token);
    const added = await op(
      'addDelegate',
      { delegateType: 'sigAuth', delegate: device, validity: 86_400 },
      'add-device-1',
    );
    expect(added.status).toBe(202);
    await confirmed(added.body.job.id);
    const registry = new Contract(t.service.chain.registryAddress, registryArtifact().abi, provider);
    const valid = () =>
      registry.getFunction('validDelegate')(
        body.account.address,
        encodeBytes32String('sigAuth'),
        device,
      ) as Promise<boolean>;
    expect(await valid()).toBe(true);
    const doc = (await stock.resolve(body.account.did)).didDocument!;
    expect(JSON.stringify(doc.verificationMethod).toLowerCase()).toContain(device.toLowerCase());

    // The same idempotency key is the same job, not a second transaction.
    const again = await op(
      'addDelegate',
      { delegateType: 'sigAuth', delegate: device, validity: 86_400 },
      'add-device-1',
    );
    expect(again.body.job.id).toBe(added.body.job.id);

    const revoked = await op(
      'revokeDelegate',
      { delegateType: 'sigAuth', delegate: device },
      'revoke-device-1',
    );
    await confirmed(revoked.body.job.id);
    expect(await valid()).toBe(false);
  });

  it('refuses DID operations with bad arguments, and owner changes through this route', async () => {
    const { body } = await call('POST', '/accounts', {});
    for (const payload of [
      {
        operation: 'addDelegate',
        args: { delegateType: 'root', delegate: Wallet.createRandom().address, validity: 1 },
        idempotencyKey: 'bad-1xxxxx',
      },
      {
        operation: 'addDelegate',
        args: { delegateType: 'sigAuth', delegate: '0x12', validity: 1 },
        idempotencyKey: 'bad-2xxxxx',
      },
      {
        operation: 'setAttribute',
        args: { name: 'x'.repeat(40), value: '0x01', validity: 1 },
        idempotencyKey: 'bad-3xxxxx',
      },
      {
        operation: 'changeOwner',
        args: { newOwner: Wallet.createRandom().address },
        idempotencyKey: 'bad-4xxxxx',
      },
    ]) {
      const res = await call('POST', '/accounts/me/did-operations', payload, body.token);
      expect(res.status, JSON.stringify(payload)).toBe(400);
    }
  });

  it('hands ownership to the person’s wallet and keeps a sigAuth delegate for Trustgate', async () => {
    const { body } = await call('POST', '/accounts', {});
    const wallet = Wallet.createRandom();
    const c = await challenge();
    const res = await call(
      'POST',
      '/accounts/me/ownership',
      { address: wallet.address, nonce: c.nonce, signature: await wallet.signMessage(c.message) },
      body.token,
    );
    expect(res.status).toBe(202);
    expect(res.body.ownerChangeEnqueued).toBe(true);
    for (const job of res.body.jobs) await confirmed(job.id);

    const doc = (await stock.resolve(body.account.did)).didDocument!;
    const controller = doc.verificationMethod!.find((m) => m.id.endsWith('#controller'))!;
    expect(controller.blockchainAccountId!.toLowerCase()).toBe(
      `eip155:31337:${wallet.address.toLowerCase()}`,
    );
    const delegate = doc.verificationMethod!.find((m) => m.id.includes('#delegate-'))!;
    expect(delegate.blockchainAccountId!.toLowerCase()).toBe(`eip155:31337:${body.account.address}`);
    expect(doc.authentication).toContain(delegate.id);
    const registry = new Contract(t.service.chain.registryAddress, registryArtifact().abi, provider);
    expect(
      await registry.getFunction('validDelegate')(
        body.account.address,
        encodeBytes32String('sigAuth'),
        body.account.address,
      ),
    ).toBe(true);
    const me = await call('GET', '/accounts/me', undefined, body.token);
    expect(me.body.account.custody).toBe('self');
    // Taking ownership again is a conflict, and a retry of the same request returns the same jobs.
    const again = await call(
      'POST',
      '/accounts/me/ownership',
      { address: wallet.address, nonce: 'x'.repeat(10), signature: `0x${'1'.repeat(130)}` },
      body.token,
    );
    expect(again.status).toBe(202);
    expect(again.body.jobs.map((j: { id: string }) => j.id)).toEqual(
      res.body.jobs.map((j: { id: string }) => j.id),
    );
  });

  it('refuses to hand ownership to a wallet the person did not prove to control', async () => {
    const { body } = await call('POST', '/accounts', {});
    const c = await challenge();
    const victim = Wallet.createRandom();
    const res = await call(
      'POST',
      '/accounts/me/ownership',
      {
        address: victim.address,
        nonce: c.nonce,
        signature: await Wallet.createRandom().signMessage(c.message),
      },
      body.token,
    );
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_proof');
  });

  it('deactivates a managed DID on chain', async () => {
    const { body } = await call('POST', '/accounts', {});
    const res = await call('POST', '/accounts/me/deactivation', {}, body.token);
    expect(res.status).toBe(202);
    await confirmed(res.body.job.id);
    expect((await stock.resolve(body.account.did)).didDocumentMetadata.deactivated).toBe(true);
    expect((await call('GET', '/accounts/me', undefined, body.token)).body.account.status).toBe(
      'deactivated',
    );
  });
});

describe('self-custody accounts and DID sign-in', () => {
  it('creates an account for a did:ethr the person proves to own, and signs them in with a JWT', async () => {
    const wallet = Wallet.createRandom();
    const created = await call('POST', '/accounts', { proof: await eip191Proof(wallet) });
    expect(created.status).toBe(201);
    expect(created.body.account.custody).toBe('self');

    const c = await challenge();
    const jwt = await createJWT(
      { aud: c.audience, nonce: c.nonce, exp: Math.floor(Date.now() / 1000) + 60 },
      { issuer: created.body.account.did, signer: ES256KSigner(getBytes(wallet.privateKey)) },
      { alg: 'ES256K' },
    );
    const signedIn = await call('POST', '/did-auth/tokens', { nonce: c.nonce, jwt });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.account.id).toBe(created.body.account.id);
    const replay = await call('POST', '/did-auth/tokens', { nonce: c.nonce, jwt });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('invalid_challenge');
  });

  it('refuses a second account for the same DID', async () => {
    const wallet = Wallet.createRandom();
    expect((await call('POST', '/accounts', { proof: await eip191Proof(wallet) })).status).toBe(201);
    const again = await call('POST', '/accounts', { proof: await eip191Proof(wallet) });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('account_exists');
  });

  it('deactivates a self-custody DID only with the owner’s signature, checked before any gas is spent', async () => {
    const wallet = Wallet.createRandom();
    const { body } = await call('POST', '/accounts', { proof: await eip191Proof(wallet) });
    const ask = await call('POST', '/accounts/me/deactivation', {}, body.token);
    expect(ask.status).toBe(400);
    expect(ask.body.digest).toMatch(/^0x[0-9a-f]{64}$/);

    const relayer = t.service.chain.relayer.address;
    const nonceBefore = await provider.getTransactionCount(relayer);
    const forged = await call(
      'POST',
      '/accounts/me/deactivation',
      { nonce: ask.body.nonce, signature: Wallet.createRandom().signingKey.sign(ask.body.digest).serialized },
      body.token,
    );
    expect(forged.status).toBe(400);
    expect(forged.body.code).toBe('invalid_signature');
    const stale = await call(
      'POST',
      '/accounts/me/deactivation',
      { nonce: '7', signature: wallet.signingKey.sign(ask.body.digest).serialized },
      body.token,
    );
    expect(stale.status).toBe(400);
    expect(stale.body.code).toBe('stale_nonce');
    expect(await provider.getTransactionCount(relayer)).toBe(nonceBefore);

    const ok = await call(
      'POST',
      '/accounts/me/deactivation',
      { nonce: ask.body.nonce, signature: wallet.signingKey.sign(ask.body.digest).serialized },
      body.token,
    );
    expect(ok.status).toBe(202);
    await confirmed(ok.body.job.id);
    expect((await stock.resolve(body.account.did)).didDocumentMetadata.deactivated).toBe(true);
  });

  it('relays a self-custody DID change signed by the owner, who pays no gas', async () => {
    const wallet = Wallet.createRandom();
    const { body } = await call('POST', '/accounts', { proof: await eip191Proof(wallet) });
    const key = Wallet.createRandom().signingKey.compressedPublicKey;
    const request = {
      operation: 'setAttribute',
      args: { name: 'did/pub/Secp256k1/veriKey/hex', value: key, validity: 86_400 },
      idempotencyKey: 'set-key-000001',
    };
    const ask = await call('POST', '/accounts/me/did-operations', request, body.token);
    expect(ask.status).toBe(400);
    const ownerSignature = {
      nonce: ask.body.nonce,
      signature: wallet.signingKey.sign(ask.body.digest).serialized,
    };
    const res = await call('POST', '/accounts/me/did-operations', { ...request, ownerSignature }, body.token);
    expect(res.status).toBe(202);
    await confirmed(res.body.job.id);
    const doc = (await stock.resolve(body.account.did)).didDocument!;
    expect(JSON.stringify(doc.verificationMethod)).toContain(key.slice(2));
    expect(await provider.getBalance(wallet.address)).toBe(0n);
  });

  it('links an external did:key and signs in with it', async () => {
    const { body } = await call('POST', '/accounts', {});
    const { did, signer, alg } = didKeyHolder('ed25519');
    const jwtFor = async () => {
      const c = await challenge();
      return {
        nonce: c.nonce,
        jwt: await createJWT(
          { aud: c.audience, nonce: c.nonce, exp: Math.floor(Date.now() / 1000) + 60 },
          { issuer: did, signer },
          { alg },
        ),
      };
    };
    const linked = await call('POST', '/accounts/me/linked-dids', await jwtFor(), body.token);
    expect(linked.status).toBe(201);
    const signedIn = await call('POST', '/did-auth/tokens', await jwtFor());
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.account.id).toBe(body.account.id);
    expect(signedIn.body.account.linkedDids).toEqual([did]);
  });
});

describe('account API refusals', () => {
  it('answers an address with a broken checksum with 400, not 500', async () => {
    const { body } = await call('POST', '/accounts', {});
    const c = await challenge();
    const mixed = `0x${'aB'.repeat(20)}`;
    const res = await call(
      'POST',
      '/accounts/me/ownership',
      { address: mixed, nonce: c.nonce, signature: `0x${'1'.repeat(130)}` },
      body.token,
    );
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_request');
  });

  it('runs one change of a DID at a time: a concurrent deactivation during a take-over is refused', async () => {
    const { body } = await call('POST', '/accounts', {});
    const wallet = Wallet.createRandom();
    const c = await challenge();
    const [ownership, deactivation] = await Promise.all([
      call(
        'POST',
        '/accounts/me/ownership',
        { address: wallet.address, nonce: c.nonce, signature: await wallet.signMessage(c.message) },
        body.token,
      ),
      new Promise((r) => setTimeout(r, 5)).then(() =>
        call('POST', '/accounts/me/deactivation', {}, body.token),
      ),
    ]);
    const statuses = [ownership.status, deactivation.status].sort();
    expect(statuses).toEqual([202, 409]);
    const refused = ownership.status === 409 ? ownership : deactivation;
    expect(['operation_in_progress', 'chain_job_pending']).toContain(refused.body.code);
  });

  it('keeps a deactivated account readable but refuses its token for anything else', async () => {
    const { body } = await call('POST', '/accounts', {});
    const res = await call('POST', '/accounts/me/deactivation', {}, body.token);
    await confirmed(res.body.job.id);
    const me = await call('GET', '/accounts/me', undefined, body.token);
    expect(me.status).toBe(200);
    expect(me.body.account.status).toBe('deactivated');
    expect((await call('GET', '/accounts/me/keys', undefined, body.token)).status).toBe(401);
    expect(
      (
        await call(
          'POST',
          '/accounts/me/linked-dids',
          { nonce: 'x'.repeat(10), jwt: 'a.b.c.d.e.f' },
          body.token,
        )
      ).status,
    ).toBe(401);
  });

  it('lets one DID have an account in each tenant (tenants share nothing)', async () => {
    await t.service.store.db.tenant.upsert({
      where: { slug: 'second' },
      create: { slug: 'second', displayName: 'Second' },
      update: {},
    });
    const wallet = Wallet.createRandom();
    expect((await call('POST', '/accounts', { proof: await eip191Proof(wallet) })).status).toBe(201);
    const c = (await (
      await fetch(`${t.url}/t/second/api/did-auth/challenges`, { method: 'POST' })
    ).json()) as { nonce: string; message: string };
    const res = await fetch(`${t.url}/t/second/api/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        proof: {
          nonce: c.nonce,
          did: `did:ethr:0x7a69:${wallet.address}`,
          signature: await wallet.signMessage(c.message),
        },
      }),
    });
    expect(res.status).toBe(201);
  });

  it('finds an account by any spelling of its did:ethr, and refuses a second account for another spelling', async () => {
    const wallet = Wallet.createRandom();
    const created = await call('POST', '/accounts', { proof: await eip191Proof(wallet) });
    expect(created.body.account.did).toBe(`did:ethr:0x7a69:${wallet.address.toLowerCase()}`);
    const c = await challenge();
    const lowerCase = `did:ethr:0x7a69:${wallet.address.toLowerCase()}`;
    const again = await call('POST', '/accounts', {
      proof: { nonce: c.nonce, did: lowerCase, signature: await wallet.signMessage(c.message) },
    });
    expect(again.status).toBe(409);
  });

  it('answers 401 with a Bearer challenge without a valid token', async () => {
    for (const token of [undefined, 'tga_not-a-real-token-0000']) {
      const res = await call('GET', '/accounts/me', undefined, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });

  it('does not accept a token of one tenant in another', async () => {
    const { body } = await call('POST', '/accounts', {});
    await t.service.store.db.tenant.create({ data: { slug: 'other', displayName: 'Other' } });
    const res = await fetch(`${t.url}/t/other/api/accounts/me`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(res.status).toBe(401);
    expect((await fetch(`${t.url}/t/nope/api/did-auth/challenges`, { method: 'POST' })).status).toBe(404);
  });

  it('answers malformed proofs with 400 and unknown DIDs with 401', async () => {
    expect((await call('POST', '/accounts', { proof: { nonce: 'short' } })).status).toBe(400);
    expect((await call('POST', '/accounts', { custody: 'root' })).status).toBe(400);
    const res = await call('POST', '/did-auth/tokens', await eip191Proof(Wallet.createRandom()));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unknown_account');
  });
});
