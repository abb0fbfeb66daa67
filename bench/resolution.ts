import {
  BrowserProvider,
  Contract,
  ContractFactory,
  encodeBytes32String,
  toUtf8Bytes,
  type Wallet,
} from 'ethers';
import { registryArtifact } from '../src/chain/registry-artifact.ts';
import { DidResolverService } from '../src/identity/resolver/index.ts';
import {
  HARDHAT_CHAIN_ID,
  type InProcessChain,
  startInProcessChain,
} from '../test/helpers/hardhat-network.ts';
import { stockEthrResolver } from '../test/helpers/stock-resolver.ts';
import { percentile, type Row } from './lib.ts';

const CACHED_ITERATIONS = Number(process.env.BENCH_RESOLVE_ITERATIONS ?? 100_000);
const UNCACHED_RUNS = Number(process.env.BENCH_UNCACHED_RUNS ?? 5);
const CHANGES = [0, 10, 50, 200];

function countingProvider(chain: InProcessChain) {
  const counter = { calls: 0 };
  const provider = new BrowserProvider(
    {
      request: (args: { method: string; params?: unknown[] }) => {
        counter.calls++;
        return chain.provider.request(args);
      },
    },
    HARDHAT_CHAIN_ID,
    { staticNetwork: true, cacheTimeout: -1 },
  );
  return { provider, counter };
}

async function identityWithChanges(
  chain: InProcessChain,
  registryAddress: string,
  changes: number,
): Promise<Wallet> {
  const wallet = await chain.fundedWallet();
  const registry = new Contract(registryAddress, registryArtifact().abi, wallet);
  const setAttribute = registry.getFunction('setAttribute');
  const name = encodeBytes32String('did/svc/HubService');
  for (let i = 0; i < changes; i++) {
    await (
      await setAttribute(wallet.address, name, toUtf8Bytes(`https://hub-${i}.example.com`), 86_400)
    ).wait();
  }
  return wallet;
}

async function measure(runs: number, once: () => Promise<number>): Promise<{ ms: number; calls: number }> {
  const times: number[] = [];
  let calls = 0;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    calls = await once();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { ms: percentile(times, 50), calls };
}

export async function resolutionBench(): Promise<Row[]> {
  const chain = await startInProcessChain();
  try {
    const artifact = registryArtifact();
    const deployed = await new ContractFactory(artifact.abi, artifact.bytecode, chain.signers[0]).deploy();
    await deployed.waitForDeployment();
    const registryAddress = await deployed.getAddress();

    const ourRpc = countingProvider(chain);
    const ours = new DidResolverService({
      ethr: [{ names: ['hardhat'], chainId: HARDHAT_CHAIN_ID, registryAddress, rpc: ourRpc.provider }],
    });
    const stockRpc = countingProvider(chain);
    const stock = stockEthrResolver(stockRpc.provider, registryAddress, { name: 'hardhat' });

    const dids = new Map<number, string>();
    for (const changes of CHANGES) {
      const wallet = await identityWithChanges(chain, registryAddress, changes);
      dids.set(changes, `did:ethr:0x7a69:${wallet.address}`);
    }

    const rows: Row[] = [];
    // Uncached: the index is stopped and emptied before each resolution, so only the resolution's own
    // round trips are counted (no watcher polls).
    const index = ours.ethrIndex('0x7a69')!;
    await index.sync();
    for (const changes of CHANGES) {
      const did = dids.get(changes)!;
      const mine = await measure(UNCACHED_RUNS, async () => {
        index.clear();
        const before = ourRpc.counter.calls;
        await ours.resolve(did);
        return ourRpc.counter.calls - before;
      });
      const theirs = await measure(Math.min(UNCACHED_RUNS, 3), async () => {
        const before = stockRpc.counter.calls;
        const result = await stock.resolve(did);
        if (result.didResolutionMetadata.error) throw new Error(String(result.didResolutionMetadata.message));
        return stockRpc.counter.calls - before;
      });
      rows.push(
        {
          name: `uncached did:ethr, ${changes} changes: Trustgate`,
          value: mine.ms,
          unit: 'ms',
          note: `${mine.calls} RPC calls`,
        },
        {
          name: `uncached did:ethr, ${changes} changes: stock ethr-did-resolver`,
          value: theirs.ms,
          unit: 'ms',
          note: `${theirs.calls} RPC calls`,
        },
      );
    }

    // Cached, with the watcher polling as in the service.
    await ours.start();
    for (const changes of [10, 200]) {
      const did = dids.get(changes)!;
      for (let i = 0; i < 5000; i++) await ours.resolve(did);
      const samples = new Float64Array(CACHED_ITERATIONS);
      const callsBefore = ourRpc.counter.calls;
      const loopStarted = performance.now();
      for (let i = 0; i < CACHED_ITERATIONS; i++) {
        const started = performance.now();
        await ours.resolve(did);
        samples[i] = performance.now() - started;
        // Let the watcher's timer run, as it would between HTTP requests.
        if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
      }
      const elapsed = performance.now() - loopStarted;
      const sorted = Array.from(samples).sort((a, b) => a - b);
      const polls = ourRpc.counter.calls - callsBefore;
      rows.push(
        {
          name: `cached did:ethr (${changes} changes) p50`,
          value: percentile(sorted, 50) * 1000,
          unit: 'µs',
        },
        {
          name: `cached did:ethr (${changes} changes) p99`,
          value: percentile(sorted, 99) * 1000,
          unit: 'µs',
          target: '< 1000 µs',
        },
        {
          name: `cached did:ethr (${changes} changes) throughput, one core`,
          value: CACHED_ITERATIONS / (elapsed / 1000),
          unit: 'ops/s',
          target: '>= 20000',
          note: `wall clock incl. timing and yields; ${polls} watcher RPC calls meanwhile, none from resolutions`,
        },
      );
    }
    await ours.stop();
    return rows;
  } finally {
    chain.close();
  }
}
