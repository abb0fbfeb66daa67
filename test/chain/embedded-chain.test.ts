import { Contract, encodeBytes32String, JsonRpcProvider, Network, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryArtifact } from '../../src/chain/registry-artifact.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startService } from '../../src/service.ts';
import {
  freshPostgresUrl,
  startTestService,
  TEST_POSTGRES_URL,
  type TestService,
} from '../helpers/service.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';
import { tempDir } from '../helpers/tmp.ts';

const network = Network.from(31337);

async function rpc(url: string, method: string, params: unknown[] = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
}

interface ChainFacts {
  rpcUrl: string;
  registry: string;
  chainId: number;
  mode: string;
}
const chainFacts = async (t: TestService) => (await (await fetch(`${t.url}/api/chain`)).json()) as ChainFacts;

/**
 * As an outside party would: fund a fresh wallet from an unlocked dev account over JSON-RPC, then have
 * it set a DID attribute on the registry with a transaction it signs itself.
 */
async function outsideWalletSetsAttribute(facts: ChainFacts) {
  const provider = new JsonRpcProvider(facts.rpcUrl, network, { staticNetwork: network, cacheTimeout: -1 });
  const wallet = Wallet.createRandom().connect(provider);
  const [funder] = (await provider.send('eth_accounts', [])) as string[];
  const fund = await provider.send('eth_sendTransaction', [
    { from: funder, to: wallet.address, value: '0xde0b6b3a7640000' },
  ]);
  await provider.waitForTransaction(fund);
  const registry = new Contract(facts.registry, registryArtifact().abi, wallet);
  const value = `0x${'ab'.repeat(33)}`;
  const setAttribute = registry.getFunction('setAttribute');
  const tx = await setAttribute(
    wallet.address,
    encodeBytes32String('did/pub/Secp256k1/veriKey/hex'),
    value,
    86_400,
  );
  const receipt = await tx.wait();
  const changed = (await registry.getFunction('changed')(wallet.address)) as bigint;
  provider.destroy();
  return { identity: wallet.address, value, blockNumber: receipt!.blockNumber, changed };
}

async function resolveWithStockResolver(facts: ChainFacts, address: string) {
  const provider = new JsonRpcProvider(facts.rpcUrl, network, { staticNetwork: network, cacheTimeout: -1 });
  const resolver = stockEthrResolver(provider, facts.registry);
  const result = await resolver.resolve(`did:ethr:0x7a69:${address}`);
  provider.destroy();
  return result;
}

describe('embedded chain', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('deploys the registry and funds the relayer on first start', async () => {
    const facts = await chainFacts(t);
    expect(facts.mode).toBe('embedded');
    expect(facts.chainId).toBe(31337);
    const code = await rpc(facts.rpcUrl, 'eth_getCode', [facts.registry, 'latest']);
    expect(String(code.result).length).toBeGreaterThan(100);
    const balance = await rpc(facts.rpcUrl, 'eth_getBalance', [t.service.chain.relayer.address, 'latest']);
    expect(BigInt(String(balance.result))).toBeGreaterThanOrEqual(10n ** 20n);
  });

  it('refuses cheat methods that would rewrite history', async () => {
    const { rpcUrl } = await chainFacts(t);
    for (const method of [
      'evm_mine',
      'evm_revert',
      'evm_snapshot',
      'hardhat_setBalance',
      'hardhat_reset',
      'evm_setAutomine',
    ]) {
      const res = await rpc(rpcUrl, method, []);
      expect(res.error?.code, method).toBe(-32601);
    }
  });

  it('answers JSON-RPC batches in order and rejects malformed requests', async () => {
    const { rpcUrl } = await chainFacts(t);
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 'a', method: 'eth_chainId', params: [] },
        { jsonrpc: '2.0', id: 'b', method: 'net_version', params: [] },
        { id: 'c', method: 'eth_chainId' },
      ]),
    });
    const body = (await res.json()) as Array<{ id: string; result?: string; error?: { code: number } }>;
    expect(body.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(body[0]?.result).toBe('0x7a69');
    expect(body[2]?.error?.code).toBe(-32600);
    const parse = await (await fetch(rpcUrl, { method: 'POST', body: '{oops' })).json();
    expect((parse as { error: { code: number } }).error.code).toBe(-32700);
  });

  it('answers nothing while a mined block cannot be journaled, and catches up once it can', async () => {
    const facts = await chainFacts(t);
    const db = t.service.store.db;
    const [funder] = (await rpc(facts.rpcUrl, 'eth_accounts')).result as string[];
    await db.$executeRawUnsafe('ALTER TABLE "ChainTransaction" RENAME TO "ChainTransactionAway"');
    try {
      const send = await rpc(facts.rpcUrl, 'eth_sendTransaction', [
        { from: funder, to: funder, value: '0x1' },
      ]);
      expect(send.error?.code).toBe(-32000);
      // The block exists in memory but not in the journal: reads are refused rather than showing it.
      const read = await rpc(facts.rpcUrl, 'eth_blockNumber');
      expect(read.error?.code).toBe(-32000);
    } finally {
      await db.$executeRawUnsafe('ALTER TABLE "ChainTransactionAway" RENAME TO "ChainTransaction"');
    }
    const head = Number((await rpc(facts.rpcUrl, 'eth_blockNumber')).result);
    const last = await db.chainBlock.findFirst({ orderBy: { number: 'desc' } });
    expect(Number(last!.number)).toBe(head);
  });

  it('fails to start with a clear message when CHAIN_PORT is taken', async () => {
    const port = new URL((await chainFacts(t)).rpcUrl).port;
    await expect(startTestService({ CHAIN_PORT: port })).rejects.toThrow(/CHAIN_PORT \d+ .*already in use/);
  });
});

describe('embedded chain state survives restarts', () => {
  const cases: Array<[string, () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>]> =
    [['SQLite', async () => ({ env: {}, cleanup: async () => {} })]];
  if (TEST_POSTGRES_URL) {
    cases.push([
      'PostgreSQL',
      async () => {
        const db = freshPostgresUrl();
        return { env: { DATABASE_URL: db.url }, cleanup: db.drop };
      },
    ]);
  } else {
    it.skip('PostgreSQL variant skipped: TEST_POSTGRES_URL not set', () => {});
  }

  for (const [name, setup] of cases) {
    it(`keeps a DID attribute set by an outside wallet, at the same block, on ${name}`, async () => {
      const { env, cleanup } = await setup();
      const dir = tempDir();
      try {
        const first = await startTestService(env, { dataDir: dir.path });
        const before = await chainFacts(first);
        const change = await outsideWalletSetsAttribute(before);
        const head = Number((await rpc(before.rpcUrl, 'eth_blockNumber')).result);
        const blockBefore = (
          await rpc(before.rpcUrl, 'eth_getBlockByNumber', [`0x${head.toString(16)}`, false])
        ).result as { hash: string };
        await first.stop();

        const second = await startTestService(env, { dataDir: dir.path });
        try {
          const after = await chainFacts(second);
          expect(after.registry).toBe(before.registry);
          expect(Number((await rpc(after.rpcUrl, 'eth_blockNumber')).result)).toBe(head);
          const blockAfter = (
            await rpc(after.rpcUrl, 'eth_getBlockByNumber', [`0x${head.toString(16)}`, false])
          ).result as { hash: string };
          expect(blockAfter.hash).toBe(blockBefore.hash);

          const registry = new Contract(
            after.registry,
            registryArtifact().abi,
            new JsonRpcProvider(after.rpcUrl, network, { staticNetwork: network }),
          );
          expect((await registry.getFunction('changed')(change.identity)) as bigint).toBe(change.changed);
          expect(Number(change.changed)).toBe(change.blockNumber);

          const resolved = await resolveWithStockResolver(after, change.identity);
          const keys = JSON.stringify(resolved.didDocument?.verificationMethod ?? []);
          expect(keys.toLowerCase()).toContain(change.value.slice(2));

          // New blocks after the restart run on wall-clock time again.
          const next = await outsideWalletSetsAttribute(after);
          expect(next.blockNumber).toBeGreaterThan(head);
          const block = (
            await rpc(after.rpcUrl, 'eth_getBlockByNumber', [`0x${next.blockNumber.toString(16)}`, false])
          ).result as { timestamp: string };
          expect(Math.abs(Number(block.timestamp) - Date.now() / 1000)).toBeLessThan(30);
        } finally {
          await second.stop();
        }
      } finally {
        dir.remove();
        await cleanup();
      }
    });
  }

  it('refuses to start when the journal no longer replays to the recorded blocks', async () => {
    const dir = tempDir();
    try {
      const first = await startTestService({}, { dataDir: dir.path });
      await outsideWalletSetsAttribute(await chainFacts(first));
      const last = await first.service.store.db.chainBlock.findFirst({ orderBy: { number: 'desc' } });
      await first.service.store.db.chainBlock.update({
        where: { number: last!.number },
        data: { hash: `0x${'00'.repeat(32)}` },
      });
      await first.stop();
      await expect(startTestService({}, { dataDir: dir.path })).rejects.toThrow(/diverged at block/);
    } finally {
      dir.remove();
    }
  });
});

describe('external chain', () => {
  let provider: TestService;
  beforeAll(async () => {
    provider = await startTestService();
  });
  afterAll(async () => {
    await provider?.destroy();
  });

  const externalEnv = (facts: ChainFacts, registry = facts.registry) => ({
    CHAIN_RPC_URL: facts.rpcUrl,
    REGISTRY_ADDRESS: registry,
    RELAYER_PRIVATE_KEY: Wallet.createRandom().privateKey,
  });

  it('refuses to start when no contract code is at REGISTRY_ADDRESS', async () => {
    const facts = await chainFacts(provider);
    const env = externalEnv(facts, Wallet.createRandom().address);
    await expect(startTestService(env)).rejects.toThrow(
      /No contract code at REGISTRY_ADDRESS 0x[0-9a-fA-F]{40} on chain 31337/,
    );
  });

  it('refuses to start when the chain is unreachable', async () => {
    const dir = tempDir();
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: dir.path,
      CHAIN_RPC_URL: 'http://127.0.0.1:1',
      REGISTRY_ADDRESS: Wallet.createRandom().address,
      RELAYER_PRIVATE_KEY: Wallet.createRandom().privateKey,
    });
    await expect(startService(config, { log: createLogger({ level: 'silent' }) })).rejects.toThrow(
      /CHAIN_RPC_URL \(http:\/\/127\.0\.0\.1:1\) is unreachable/,
    );
    dir.remove();
  });

  it('reports the chain in /readyz when it goes away, and keeps serving what does not need it', async () => {
    const chainHost = await startTestService();
    const facts = await chainFacts(chainHost);
    const app = await startTestService({ ...externalEnv(facts), READY_TIMEOUT_MS: '500' });
    try {
      const ready = await fetch(`${app.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await chainFacts(app)) as ChainFacts).mode).toBe('external');

      await chainHost.destroy();
      const down = await fetch(`${app.url}/readyz`);
      expect(down.status).toBe(503);
      expect(down.headers.get('content-type')).toMatch(/problem\+json/);
      const body = (await down.json()) as { code: string; failing: string[]; detail: string };
      expect(body.code).toBe('not_ready');
      expect(body.failing).toEqual(['chain']);
      expect(body.detail).toContain('chain');
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${app.url}/api/chain`)).status).toBe(200);
    } finally {
      await app.destroy();
    }
  });
});
