/**
 * Chain outage: service B relays through an external chain (service A's embedded chain over JSON-RPC).
 * While A is stopped, B's jobs wait and retry with backoff; when A comes back on the same data and port,
 * every job completes, each exactly once.
 */
import { Contract, JsonRpcProvider, Network, Wallet } from 'ethers';
import { afterAll, describe, expect, it } from 'vitest';
import { ChainOutbox } from '../../src/chain/outbox.ts';
import { registryArtifact } from '../../src/chain/registry-artifact.ts';
import { createLogger } from '../../src/log.ts';
import { startTestService, type TestService, tempDir } from '../helpers/service.ts';

const network = Network.from(31337);
const log = createLogger({ level: 'silent' });

describe('chain outbox during a chain outage', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('keeps jobs while the chain is down and completes each exactly once after it returns', async () => {
    const dir = tempDir();
    cleanup.push(() => dir.remove());
    let a: TestService = await startTestService({}, { dataDir: dir.path });
    const chainPort = new URL(a.service.chain.rpcUrl).port;
    const rpcUrl = a.service.chain.rpcUrl;
    const registryAddress = a.service.chain.registryAddress;

    // B's relayer is its own key, funded on A's chain by an unlocked development account.
    const relayerKey = new Wallet(Wallet.createRandom().privateKey);
    const funder = new JsonRpcProvider(rpcUrl, network, { staticNetwork: network, cacheTimeout: -1 });
    const [dev] = (await funder.send('eth_accounts', [])) as string[];
    await funder.send('eth_sendTransaction', [
      { from: dev, to: relayerKey.address, value: '0xde0b6b3a7640000' },
    ]);
    funder.destroy();

    const b = await startTestService({
      CHAIN_RPC_URL: rpcUrl,
      REGISTRY_ADDRESS: registryAddress,
      RELAYER_PRIVATE_KEY: relayerKey.privateKey,
    });
    cleanup.push(() => b.destroy());
    // This test drives a worker with short backoffs in place of the service's own.
    await b.service.outbox.stop();
    const outbox = new ChainOutbox({
      store: b.service.store,
      chain: b.service.chain,
      log,
      rpcTimeoutMs: 1_000,
      backoffBaseMs: 100,
      backoffMaxMs: 400,
      receiptPollMs: 100,
      idlePollMs: 50,
    });
    outbox.start();
    cleanup.push(() => outbox.stop());

    const identity = relayerKey.address;
    const value = (i: number) => `0x${i.toString(16).padStart(4, '0')}`;
    const enqueue = (i: number) =>
      outbox.enqueue({
        idempotencyKey: `outage-${i}`,
        kind: 'setAttribute',
        payload: { identity, name: 'did/svc/Outage', value: value(i), validity: 3600 },
      });

    const early = await Promise.all([0, 1, 2].map(enqueue));
    for (const job of early) expect((await outbox.waitFor(job.id, 10_000)).status).toBe('confirmed');

    await a.stop();
    const during = await Promise.all([3, 4, 5, 6, 7, 8, 9, 10].map(enqueue));
    await new Promise((r) => setTimeout(r, 1_500));
    for (const job of during) {
      const now = (await outbox.get(job.id))!;
      expect(now.status).toBe('pending');
      expect(now.attempts).toBeGreaterThan(0);
      expect(now.lastError).toBeTruthy();
    }

    a = await startTestService({ CHAIN_PORT: chainPort }, { dataDir: dir.path });
    cleanup.push(() => a.stop());
    const done = await Promise.all(during.map((j) => outbox.waitFor(j.id, 20_000)));
    for (const job of done) expect(job.status, job.lastError ?? '').toBe('confirmed');

    const provider = new JsonRpcProvider(rpcUrl, network, { staticNetwork: network, cacheTimeout: -1 });
    cleanup.push(() => provider.destroy());
    const registry = new Contract(registryAddress, registryArtifact().abi, provider);
    const events = await registry.queryFilter(registry.filters.DIDAttributeChanged!(identity), 0);
    const values = events.map((e) => (e as unknown as { args: { value: string } }).args.value).sort();
    expect(values).toEqual(Array.from({ length: 11 }, (_, i) => value(i)));
    expect(await provider.getTransactionCount(identity, 'latest')).toBe(11);
  });
});
