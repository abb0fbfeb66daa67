import { Contract, encodeBytes32String, Wallet, ZeroAddress } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChainJobView, ChainOutbox } from '../../src/chain/outbox.ts';
import { registryArtifact } from '../../src/chain/registry-artifact.ts';
import {
  type DirectOp,
  deactivateOp,
  readOwnerAndNonce,
  registryInterface,
  signRegistryOp,
} from '../../src/chain/registry-ops.ts';
import { TrustgateError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { openStore } from '../../src/store/index.ts';
import {
  freshPostgresUrl,
  startTestService,
  TEST_POSTGRES_URL,
  type TestService,
} from '../helpers/service.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';

/** A random key as a plain Wallet (createRandom gives an HD wallet). */
const randomWallet = () => new Wallet(Wallet.createRandom().privateKey);
const log = createLogger({ level: 'silent' });
const HOUR = 3600;

describe('chain outbox', () => {
  let t: TestService;
  let outbox: ChainOutbox;
  let registry: Contract;
  let relayer: string;
  let key = 0;
  const nextKey = () => `test-${key++}`;

  beforeAll(async () => {
    t = await startTestService();
    const { chain } = t.service;
    outbox = t.service.outbox;
    registry = new Contract(chain.registryAddress, registryArtifact().abi, chain.provider);
    relayer = chain.relayer.address;
  });
  afterAll(async () => {
    await outbox?.stop();
    await t?.destroy();
  });

  const run = async (op: { kind: string; payload: unknown }, idempotencyKey = nextKey()) => {
    const job = await outbox.enqueue({ idempotencyKey, ...op });
    return outbox.waitFor(job.id, 10_000);
  };
  const confirmed = (job: ChainJobView) => {
    expect(job.status, job.lastError ?? '').toBe('confirmed');
    expect(job.blockNumber).toBeGreaterThan(0);
    return job;
  };
  const eventsOf = async (job: ChainJobView) => {
    const receipt = await t.service.chain.provider.getTransactionReceipt(job.txHash!);
    return receipt!.logs.map((l) => registryInterface().parseLog(l)!);
  };
  const validDelegate = (identity: string, type: string, delegate: string) =>
    registry.getFunction('validDelegate')(identity, encodeBytes32String(type), delegate) as Promise<boolean>;
  const signedBy = async (owner: Wallet, op: DirectOp) => {
    const { nonce } = await readOwnerAndNonce(t.service.chain, op.payload.identity);
    return signRegistryOp(owner.signingKey, t.service.chain.registryAddress, nonce, op);
  };
  const relayerState = async () => ({
    nonce: await t.service.chain.provider.getTransactionCount(relayer, 'latest'),
    balance: await t.service.chain.provider.getBalance(relayer),
  });

  it('relays direct delegate operations for an identity the relayer owns (sigAuth, veriKey, revoke)', async () => {
    const device = Wallet.createRandom().address;
    for (const delegateType of ['sigAuth', 'veriKey'] as const) {
      confirmed(
        await run({
          kind: 'addDelegate',
          payload: { identity: relayer, delegateType, delegate: device, validity: HOUR },
        }),
      );
      expect(await validDelegate(relayer, delegateType, device)).toBe(true);
    }
    const revoked = confirmed(
      await run({
        kind: 'revokeDelegate',
        payload: { identity: relayer, delegateType: 'sigAuth', delegate: device },
      }),
    );
    expect((await eventsOf(revoked))[0]?.name).toBe('DIDDelegateChanged');
    expect(await validDelegate(relayer, 'sigAuth', device)).toBe(false);
    expect(await validDelegate(relayer, 'veriKey', device)).toBe(true);
  });

  it('relays attribute set and revoke (public key, service endpoint) as raw bytes', async () => {
    const publicKey = `0x02${'ab'.repeat(32)}`;
    const set = confirmed(
      await run({
        kind: 'setAttribute',
        payload: {
          identity: relayer,
          name: 'did/pub/Secp256k1/veriKey/hex',
          value: publicKey,
          validity: HOUR,
        },
      }),
    );
    const [event] = await eventsOf(set);
    expect(event?.name).toBe('DIDAttributeChanged');
    expect(event?.args.value).toBe(publicKey);
    const endpoint = `0x${Buffer.from('https://hub.example/').toString('hex')}`;
    confirmed(
      await run({
        kind: 'setAttribute',
        payload: { identity: relayer, name: 'did/svc/HubService', value: endpoint, validity: HOUR },
      }),
    );
    const revoke = confirmed(
      await run({
        kind: 'revokeAttribute',
        payload: { identity: relayer, name: 'did/svc/HubService', value: endpoint },
      }),
    );
    expect((await eventsOf(revoke))[0]?.args.validTo).toBe(0n);
  });

  it("relays the owner's signed meta-transactions; the relayer pays and the owner's balance stays 0", async () => {
    const owner = randomWallet();
    const identity = owner.address;
    const device = Wallet.createRandom().address;
    const steps: DirectOp[] = [
      {
        kind: 'addDelegate',
        payload: { identity, delegateType: 'sigAuth', delegate: device, validity: HOUR },
      },
      { kind: 'setAttribute', payload: { identity, name: 'did/svc/Hub', value: '0x01', validity: HOUR } },
      { kind: 'revokeAttribute', payload: { identity, name: 'did/svc/Hub', value: '0x01' } },
      { kind: 'revokeDelegate', payload: { identity, delegateType: 'sigAuth', delegate: device } },
    ];
    const before = await relayerState();
    for (const step of steps) {
      const job = confirmed(await run(await signedBy(owner, step)));
      expect(job.kind).toBe(`${step.kind}Signed`);
      if (step.kind === 'addDelegate') expect(await validDelegate(identity, 'sigAuth', device)).toBe(true);
    }
    expect(await validDelegate(identity, 'sigAuth', device)).toBe(false);
    expect(await t.service.chain.provider.getBalance(owner.address)).toBe(0n);
    const after = await relayerState();
    expect(after.nonce).toBe(before.nonce + steps.length);
    expect(after.balance).toBeLessThan(before.balance);
  });

  it('changes owner with a signature, then the new owner deactivates the DID (owner 0x0)', async () => {
    const first = randomWallet();
    const second = randomWallet();
    const identity = first.address;
    confirmed(
      await run(
        await signedBy(first, { kind: 'changeOwner', payload: { identity, newOwner: second.address } }),
      ),
    );
    expect(await registry.getFunction('identityOwner')(identity)).toBe(second.address);

    const deactivated = confirmed(await run(await signedBy(second, deactivateOp(identity))));
    const [event] = await eventsOf(deactivated);
    expect(event?.name).toBe('DIDOwnerChanged');
    expect(event?.args.owner).toBe(ZeroAddress);
    const resolver = stockEthrResolver(t.service.chain.provider, t.service.chain.registryAddress);
    const result = await resolver.resolve(`did:ethr:0x7a69:${identity}`);
    expect(result.didDocumentMetadata.deactivated).toBe(true);
  });

  it('changes owner directly when the relayer owns the identity (managed DID handed to the relayer)', async () => {
    const managed = randomWallet();
    const identity = managed.address;
    confirmed(
      await run(await signedBy(managed, { kind: 'changeOwner', payload: { identity, newOwner: relayer } })),
    );
    const device = Wallet.createRandom().address;
    confirmed(
      await run({
        kind: 'addDelegate',
        payload: { identity, delegateType: 'veriKey', delegate: device, validity: HOUR },
      }),
    );
    expect(await validDelegate(identity, 'veriKey', device)).toBe(true);
    confirmed(await run(deactivateOp(identity)));
    expect(await registry.getFunction('owners')(identity)).toBe(ZeroAddress);
  });

  it('returns the same job for the same idempotency key, also for 20 concurrent enqueues (one tx)', async () => {
    const before = await relayerState();
    const op = {
      kind: 'setAttribute',
      payload: { identity: relayer, name: 'did/svc/X', value: '0x0a', validity: 60 },
    };
    const key = nextKey();
    const jobs = await Promise.all(
      Array.from({ length: 20 }, () => outbox.enqueue({ idempotencyKey: key, ...op })),
    );
    expect(new Set(jobs.map((j) => j.id)).size).toBe(1);
    const done = confirmed(await outbox.waitFor(jobs[0]!.id, 10_000));
    const again = await outbox.enqueue({ idempotencyKey: key, ...op });
    expect(again.id).toBe(done.id);
    expect(again.status).toBe('confirmed');
    expect(await t.service.store.db.chainJob.count({ where: { idempotencyKey: key } })).toBe(1);
    expect((await relayerState()).nonce).toBe(before.nonce + 1);
  });

  it('refuses an idempotency key reused for another operation with 409', async () => {
    const key = nextKey();
    await outbox.enqueue({ idempotencyKey: key, ...deactivateOp(Wallet.createRandom().address) });
    await expect(
      outbox.enqueue({ idempotencyKey: key, ...deactivateOp(Wallet.createRandom().address) }),
    ).rejects.toMatchObject({ status: 409, code: 'idempotency_key_reused' });
  });

  it('refuses a wrong signature or a stale nonce with 400 before any job or gas', async () => {
    const owner = randomWallet();
    const stranger = randomWallet();
    const op: DirectOp = {
      kind: 'addDelegate',
      payload: {
        identity: owner.address,
        delegateType: 'veriKey',
        delegate: stranger.address,
        validity: HOUR,
      },
    };
    const before = await relayerState();
    const jobsBefore = await t.service.store.db.chainJob.count();
    const registryAddress = t.service.chain.registryAddress;
    const cases = [
      ['invalid_signature', signRegistryOp(stranger.signingKey, registryAddress, 0n, op)],
      ['invalid_signature', signRegistryOp(owner.signingKey, Wallet.createRandom().address, 0n, op)],
      ['stale_nonce', signRegistryOp(owner.signingKey, registryAddress, 1n, op)],
    ] as const;
    for (const [code, signed] of cases) {
      const err = await outbox.enqueue({ idempotencyKey: nextKey(), ...signed }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrustgateError);
      expect(err).toMatchObject({ status: 400, code });
    }
    expect(await t.service.store.db.chainJob.count()).toBe(jobsBefore);
    expect(await relayerState()).toEqual(before);
  });

  it('fails a job whose simulation reverts (relayer not the owner) without taking a nonce', async () => {
    const before = await relayerState();
    const job = await run({
      kind: 'addDelegate',
      payload: {
        identity: Wallet.createRandom().address,
        delegateType: 'veriKey',
        delegate: relayer,
        validity: HOUR,
      },
    });
    expect(job).toMatchObject({
      status: 'failed',
      lastError: 'reverted: bad_actor',
      nonce: null,
      txHash: null,
    });
    expect(await relayerState()).toEqual(before);
  });

  it('shows the job status at GET /api/chain/jobs/:id', async () => {
    const done = await run({
      kind: 'setAttribute',
      payload: { identity: relayer, name: 'a', value: '0x01', validity: 60 },
    });
    const res = await fetch(`${t.url}/api/chain/jobs/${done.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: done.id,
      kind: 'setAttribute',
      status: 'confirmed',
      txHash: done.txHash,
    });
    expect(body).not.toHaveProperty('rawTx');
    expect(body).not.toHaveProperty('payload');
    const missing = await fetch(`${t.url}/api/chain/jobs/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('two workers on one database sign every job once with distinct, consecutive nonces', async () => {
    const { store, chain } = t.service;
    const second = new ChainOutbox({ store, chain, log, maxInFlight: 8 });
    second.start();
    try {
      const before = await relayerState();
      const jobs = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          outbox.enqueue({
            idempotencyKey: nextKey(),
            kind: 'setAttribute',
            payload: {
              identity: relayer,
              name: 'did/svc/Two',
              value: `0x${i.toString(16).padStart(4, '0')}`,
              validity: 60,
            },
          }),
        ),
      );
      const done = await Promise.all(jobs.map((j) => outbox.waitFor(j.id, 20_000)));
      for (const job of done) confirmed(job);
      const nonces = done.map((j) => j.nonce!).sort((a, b) => a - b);
      expect(nonces).toEqual(Array.from({ length: 60 }, (_, i) => before.nonce + i));
      expect((await relayerState()).nonce).toBe(before.nonce + 60);
    } finally {
      await second.stop();
    }
  });
});

describe('chain outbox on PostgreSQL with two instances', () => {
  if (!TEST_POSTGRES_URL) {
    it.skip('PostgreSQL variant skipped: TEST_POSTGRES_URL not set', () => {});
    return;
  }

  it('two workers with their own connection pools never reuse a nonce', async () => {
    const db = freshPostgresUrl();
    const t = await startTestService({ DATABASE_URL: db.url });
    const otherStore = await openStore({ url: db.url });
    const { chain } = t.service;
    const workers = [
      new ChainOutbox({ store: t.service.store, chain, log, maxInFlight: 8 }),
      new ChainOutbox({ store: otherStore, chain, log, maxInFlight: 8 }),
    ];
    try {
      for (const w of workers) w.start();
      const relayer = chain.relayer.address;
      const before = await chain.provider.getTransactionCount(relayer, 'latest');
      const jobs = await Promise.all(
        Array.from({ length: 80 }, (_, i) =>
          workers[i % 2]!.enqueue({
            idempotencyKey: `pg-${i}`,
            kind: 'setAttribute',
            payload: {
              identity: relayer,
              name: 'did/svc/Pg',
              value: `0x${i.toString(16).padStart(4, '0')}`,
              validity: 60,
            },
          }),
        ),
      );
      const done = await Promise.all(jobs.map((j) => workers[0]!.waitFor(j.id, 25_000)));
      for (const job of done) expect(job.status, job.lastError ?? '').toBe('confirmed');
      const nonces = done.map((j) => j.nonce!).sort((a, b) => a - b);
      expect(nonces).toEqual(Array.from({ length: 80 }, (_, i) => before + i));
      expect(await chain.provider.getTransactionCount(relayer, 'latest')).toBe(before + 80);
    } finally {
      for (const w of workers) await w.stop();
      await otherStore.close();
      await t.destroy();
      await db.drop();
    }
  });
});
