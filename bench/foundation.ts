/**
 * Foundation benchmarks: HTTP throughput of /healthz, and the latency of one ERC-1056 registry
 * transaction on the embedded chain over JSON-RPC (signed locally, sent raw, receipt read back).
 */
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { Contract, encodeBytes32String, JsonRpcProvider, Network, Wallet } from 'ethers';
import { registryArtifact } from '../src/chain/registry-artifact.ts';
import { fromRoot } from '../src/paths.ts';
import { freePort, percentile, type Row, type RunningService } from './lib.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const TX_COUNT = Number(process.env.BENCH_TX_COUNT ?? 200);

async function load(url: string) {
  // Warm up JIT and connections, then measure.
  await autocannon({ url, connections: 10, duration: 2 });
  const result = await autocannon({ url, connections: 50, pipelining: 1, duration: DURATION_S });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result;
}

/** A bare Express 5 app on the same machine in the same run: the ceiling our middleware is measured against. */
async function bareExpress(): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [fromRoot('bench', 'baseline-express.mjs')], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  try {
    return (await load(`http://127.0.0.1:${port}/healthz`)).requests.average;
  } finally {
    child.kill('SIGTERM');
  }
}

async function healthz(service: RunningService): Promise<Row[]> {
  const result = await load(`${service.url}/healthz`);
  const bare = await bareExpress();
  return [
    { name: 'GET /healthz throughput (50 connections)', value: result.requests.average, unit: 'req/s' },
    { name: 'GET /healthz latency p50', value: result.latency.p50, unit: 'ms' },
    { name: 'GET /healthz latency p99', value: result.latency.p99, unit: 'ms' },
    { name: 'bare Express 5 /healthz, same run (reference)', value: bare, unit: 'req/s' },
  ];
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

async function registryTx(service: RunningService): Promise<Row[]> {
  const facts = (await (await fetch(`${service.url}/api/chain`)).json()) as {
    rpcUrl: string;
    registry: string;
  };
  const network = Network.from(31337);
  const provider = new JsonRpcProvider(facts.rpcUrl, network, { staticNetwork: network, cacheTimeout: -1 });
  const wallet = Wallet.createRandom().connect(provider);
  const [funder] = (await rpc(facts.rpcUrl, 'eth_accounts', [])) as string[];
  await rpc(facts.rpcUrl, 'eth_sendTransaction', [
    { from: funder, to: wallet.address, value: '0x56bc75e2d63100000' },
  ]);
  const registry = new Contract(facts.registry, registryArtifact().abi, wallet);
  const name = encodeBytes32String('did/svc/HubService');
  const fee = (await provider.getFeeData()).maxFeePerGas! * 2n;

  // Raw JSON-RPC: sign locally, eth_sendRawTransaction, eth_getTransactionReceipt.
  const raw: number[] = [];
  for (let i = 0; i < TX_COUNT; i++) {
    const data = registry.interface.encodeFunctionData('setAttribute', [
      wallet.address,
      name,
      `0x${i.toString(16).padStart(4, '0')}`,
      3600,
    ]);
    const signed = await wallet.signTransaction({
      to: facts.registry,
      data,
      nonce: i,
      gasLimit: 120_000,
      maxFeePerGas: fee,
      maxPriorityFeePerGas: 1n,
      chainId: 31337,
      type: 2,
    });
    const t0 = performance.now();
    const hash = await rpc(facts.rpcUrl, 'eth_sendRawTransaction', [signed]);
    const receipt = (await rpc(facts.rpcUrl, 'eth_getTransactionReceipt', [hash])) as {
      status: string;
    } | null;
    raw.push(performance.now() - t0);
    if (receipt?.status !== '0x1') throw new Error(`registry tx ${i} not mined successfully`);
  }
  raw.sort((a, b) => a - b);

  // Through ethers' Contract API, as most callers would (nonce, gas estimation, wait()).
  const viaEthers: number[] = [];
  const setAttribute = registry.getFunction('setAttribute');
  for (let i = 0; i < Math.min(50, TX_COUNT); i++) {
    const t0 = performance.now();
    const tx = await setAttribute(wallet.address, name, '0x01', 3600);
    await tx.wait();
    viaEthers.push(performance.now() - t0);
  }
  viaEthers.sort((a, b) => a - b);
  provider.destroy();
  const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
  return [
    { name: 'registry tx over JSON-RPC, p50 (send raw + receipt)', value: percentile(raw, 50), unit: 'ms' },
    { name: 'registry tx over JSON-RPC, p99', value: percentile(raw, 99), unit: 'ms' },
    { name: 'registry tx over JSON-RPC, sequential rate', value: 1000 / mean, unit: 'tx/s' },
    { name: 'registry tx via ethers Contract + wait(), p50', value: percentile(viaEthers, 50), unit: 'ms' },
  ];
}

export async function foundationBench(service: RunningService): Promise<Row[]> {
  return [
    {
      name: 'service start (process spawn to ready, fresh data dir)',
      value: service.startMs,
      unit: 'ms',
      target: '< 15000',
    },
    ...(await healthz(service)),
    ...(await registryTx(service)),
  ];
}
