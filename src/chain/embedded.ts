/**
 * The embedded chain: an in-process Hardhat network whose state survives restarts.
 *
 * Hardhat keeps no state across restarts, so every block that carries transactions is journaled in the
 * database (its signed transactions and timestamp) before the sender gets its answer. At start a
 * fresh network is created on the same genesis and the journal is replayed block for block, with the
 * original timestamps; each replayed block must reproduce the journaled block hash, so a divergence is
 * caught at start instead of surfacing as a wrong DID document later.
 *
 * Only transactions change state: Hardhat's cheat methods (`evm_*`, `hardhat_*`) could rewrite history
 * or mint state the journal cannot replay, so this chain refuses them. A chain that persists is a chain.
 */
import { createRequire } from 'node:module';
import {
  ContractFactory,
  getAddress,
  getCreateAddress,
  Interface,
  keccak256,
  Signature,
  Transaction,
} from 'ethers';
import { StartupError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import { Mutex } from '../util/mutex.ts';
import { auditAnchorArtifact } from './audit-anchor.ts';
import { type Eip1193Provider, type RequestArguments, RpcError } from './eip1193.ts';
import { ChainJournal, type JournaledBlock } from './journal.ts';
import { registryArtifact } from './registry-artifact.ts';

const require = createRequire(import.meta.url);

/** Chain id of the embedded chain (Hardhat's). */
export const EMBEDDED_CHAIN_ID = 31337;
/** Hardhat's first default account (publicly known key): deploys the registry and funds the relayer. */
const FUNDING_BALANCE = 1000n * 10n ** 18n;
const LOW_BALANCE = 10n * 10n ** 18n;

/** Methods that mine a block; they run one at a time and are journaled before they answer. */
const WRITE_METHODS = new Set(['eth_sendRawTransaction', 'eth_sendTransaction']);
/** Read-only or signing method families the embedded chain serves. */
const ALLOWED_PREFIXES = ['eth_', 'net_', 'web3_'];
const ALLOWED_METHODS = new Set(['debug_traceTransaction', 'debug_traceCall']);
const REFUSED_METHODS = new Set(['eth_mining', 'eth_coinbase']);

/** Whether the public face of the embedded chain serves `method`. */
export function isAllowedMethod(method: string): boolean {
  if (ALLOWED_METHODS.has(method)) return true;
  if (REFUSED_METHODS.has(method)) return false;
  return ALLOWED_PREFIXES.some((p) => method.startsWith(p));
}

interface RpcTx {
  hash: string;
  type: string;
  chainId?: string;
  nonce: string;
  to: string | null;
  value: string;
  input: string;
  gas: string;
  gasPrice?: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
  accessList?: Array<{ address: string; storageKeys: string[] }>;
  v: string;
  r: string;
  s: string;
  yParity?: string;
}

interface RpcBlock {
  number: string;
  hash: string;
  timestamp: string;
  transactions: RpcTx[];
}

/** Rebuilds the signed raw transaction from its JSON-RPC form; checks it hashes to the same hash. */
export function rawTransactionOf(tx: RpcTx): string {
  const type = Number(tx.type);
  const typed = type !== 0;
  const rebuilt = Transaction.from({
    type,
    chainId: tx.chainId === undefined ? undefined : BigInt(tx.chainId),
    nonce: Number(tx.nonce),
    to: tx.to,
    value: BigInt(tx.value),
    data: tx.input,
    gasLimit: BigInt(tx.gas),
    gasPrice: type === 2 ? null : tx.gasPrice === undefined ? null : BigInt(tx.gasPrice),
    maxFeePerGas: tx.maxFeePerGas === undefined ? null : BigInt(tx.maxFeePerGas),
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas === undefined ? null : BigInt(tx.maxPriorityFeePerGas),
    accessList: typed ? (tx.accessList ?? []) : null,
    signature: Signature.from({
      r: tx.r,
      s: tx.s,
      v: typed ? Number(tx.yParity ?? tx.v) + 27 : BigInt(tx.v),
    }),
  });
  if (rebuilt.hash !== tx.hash) {
    throw new Error(
      `cannot journal transaction ${tx.hash} of type ${type}: its raw form does not round-trip`,
    );
  }
  return rebuilt.serialized;
}

type HardhatProvider = Eip1193Provider & { removeAllListeners?: () => void };

async function createHardhatProvider(genesisTimestamp: bigint): Promise<HardhatProvider> {
  const { resolveConfig } = require('hardhat/internal/core/config/config-resolution') as {
    resolveConfig: (path: string, config: unknown) => unknown;
  };
  const { createProvider } = require('hardhat/internal/core/providers/construction') as {
    createProvider: (config: unknown, network: string) => Promise<HardhatProvider>;
  };
  const config = resolveConfig(import.meta.filename, {
    networks: {
      hardhat: {
        chainId: EMBEDDED_CHAIN_ID,
        initialDate: new Date(Number(genesisTimestamp) * 1000).toISOString(),
        mining: { auto: true, interval: 0, mempool: { order: 'fifo' } },
        // Otherwise every automined block is at least one second after the previous one, and a burst of
        // transactions drives block time ahead of the wall clock that resolvers compare validity with.
        allowBlocksWithSameTimestamp: true,
        // Pin the hardfork so a Hardhat upgrade cannot silently change how the journal replays.
        hardfork: 'cancun',
        loggingEnabled: false,
      },
    },
  });
  return createProvider(config, 'hardhat');
}

/**
 * The AuditAnchor of an embedded chain is the first contract that Hardhat's second default account
 * (used for nothing else by Trustgate) created with AuditAnchor's exact runtime code. Its address is
 * therefore found from the chain alone (no schema change, no file): usually the account's nonce-0
 * address. Answers the address, or null (with the account's next nonce) when there is none yet.
 */
export async function findEmbeddedAuditAnchor(
  request: (method: string, params: unknown[]) => Promise<unknown>,
): Promise<{ address: string | null; deployer: string; nextNonce: number }> {
  const accounts = (await request('eth_accounts', [])) as string[];
  const deployer = accounts[1];
  if (!deployer) throw new StartupError('the embedded chain has no second default account');
  const nextNonce = Number(await request('eth_getTransactionCount', [deployer, 'latest']));
  const runtime = (auditAnchorArtifact() as { deployedBytecode?: string }).deployedBytecode?.toLowerCase();
  for (let nonce = 0; nonce < nextNonce; nonce++) {
    const address = getCreateAddress({ from: deployer, nonce });
    const code = String(await request('eth_getCode', [address, 'latest'])).toLowerCase();
    if (code !== '0x' && code === runtime) return { address, deployer, nextNonce };
  }
  return { address: null, deployer, nextNonce };
}

export interface EmbeddedChainOptions {
  store: Store;
  log: Logger;
  /** Address of the relayer to fund. */
  relayerAddress: string;
}

/**
 * The running embedded chain. `provider` is its public face (journaling, cheat methods refused), used
 * both by the JSON-RPC server and in process by the service.
 */
export class EmbeddedChain {
  readonly chainId = EMBEDDED_CHAIN_ID;
  readonly provider: Eip1193Provider;
  private readonly writes = new Mutex();
  private journaledHead = 0n;
  /** Set while a mined block may not be journaled yet. */
  private journalBehind = false;
  private closed = false;
  /** The AuditAnchor contract (checksummed). */
  auditAnchorAddress = '';

  private constructor(
    private readonly inner: HardhatProvider,
    private readonly journal: ChainJournal,
    private readonly log: Logger,
    public registryAddress: string,
  ) {
    this.provider = { request: (args) => this.request(args) };
  }

  /** Starts the chain: replays the journal, then deploys the registry and funds the relayer if needed. */
  static async start(options: EmbeddedChainOptions): Promise<EmbeddedChain> {
    const journal = new ChainJournal(options.store);
    const log = options.log.child({ component: 'embedded-chain' });
    const started = performance.now();
    let meta = await journal.meta();
    const genesisTimestamp = meta?.genesisTimestamp ?? BigInt(Math.floor(Date.now() / 1000));
    const inner = await createHardhatProvider(genesisTimestamp);
    const genesis = (await inner.request({
      method: 'eth_getBlockByNumber',
      params: ['0x0', false],
    })) as RpcBlock;
    if (!meta) {
      meta = await journal.createMeta({
        chainId: EMBEDDED_CHAIN_ID,
        genesisTimestamp,
        genesisHash: genesis.hash,
      });
    } else if (meta.genesisHash !== genesis.hash) {
      throw new StartupError(
        `The embedded chain's genesis changed (journal ${meta.genesisHash}, now ${genesis.hash}); ` +
          'was Hardhat upgraded? The journal cannot be replayed onto a different genesis.',
      );
    }

    const replayed = await replayJournal(inner, journal, genesisTimestamp);
    const chain = new EmbeddedChain(inner, journal, log, meta.registryAddress ?? '');
    chain.journaledHead = replayed.head;
    // Let the chain's clock run on real time again (replaying blocks set it to the last block's time).
    const lag = BigInt(Math.floor(Date.now() / 1000)) - replayed.lastTimestamp;
    if (lag > 0n) await inner.request({ method: 'evm_increaseTime', params: [Number(lag)] });

    await chain.ensureRegistry(meta.registryAddress);
    await chain.ensureFunded(options.relayerAddress);
    await chain.ensureAuditAnchor(options.relayerAddress);
    log.info(
      { blocks: replayed.blocks, head: Number(replayed.head), ms: Math.round(performance.now() - started) },
      'embedded chain ready',
    );
    return chain;
  }

  /** The public face: refuses cheat methods and journals every write before answering. */
  private async request(args: RequestArguments): Promise<unknown> {
    if (this.closed) throw new RpcError(-32000, 'the embedded chain is stopped');
    if (!isAllowedMethod(args.method)) {
      throw new RpcError(
        -32601,
        `Method ${args.method} is not available on Trustgate's persistent embedded chain`,
      );
    }
    // A block that was mined but not journaled must not be seen (it would vanish at the next restart):
    // until the journal has caught up, every request first retries the catch-up, or fails.
    if (this.journalBehind) await this.writes.run(() => this.catchUpJournal());
    if (!WRITE_METHODS.has(args.method)) return this.inner.request(args);
    return this.writes.run(async () => {
      const result = await this.inner.request(args);
      const raw =
        args.method === 'eth_sendRawTransaction' && Array.isArray(args.params)
          ? String(args.params[0])
          : undefined;
      this.journalBehind = true;
      await this.journalNewBlocks(raw).catch((err: unknown) => {
        this.log.error(
          { err },
          'journaling a mined block failed; the chain answers nothing until it catches up',
        );
        throw new RpcError(-32000, 'the embedded chain could not persist this block; retry');
      });
      this.journalBehind = false;
      return result;
    });
  }

  private async catchUpJournal(): Promise<void> {
    if (!this.journalBehind) return;
    try {
      await this.journalNewBlocks();
      this.journalBehind = false;
    } catch {
      throw new RpcError(-32000, 'the embedded chain cannot persist its blocks; retry later');
    }
  }

  private async journalNewBlocks(knownRaw?: string): Promise<void> {
    const latest = BigInt((await this.inner.request({ method: 'eth_blockNumber' })) as string);
    const knownHash = knownRaw ? keccak256(knownRaw) : undefined;
    for (let n = this.journaledHead + 1n; n <= latest; n++) {
      const block = (await this.inner.request({
        method: 'eth_getBlockByNumber',
        params: [`0x${n.toString(16)}`, true],
      })) as RpcBlock;
      const entry: JournaledBlock = {
        number: n,
        hash: block.hash,
        timestamp: BigInt(block.timestamp),
        transactions: block.transactions.map((tx) => ({
          hash: tx.hash,
          raw: tx.hash === knownHash && knownRaw ? knownRaw : rawTransactionOf(tx),
        })),
      };
      await this.journal.append(entry);
      this.journaledHead = n;
    }
  }

  private async ensureRegistry(recorded: string | null): Promise<void> {
    const [deployer] = (await this.inner.request({ method: 'eth_accounts' })) as string[];
    if (!deployer) throw new StartupError('the embedded chain has no funded accounts');
    let address = recorded;
    if (!address) {
      const nonce = Number(
        await this.inner.request({ method: 'eth_getTransactionCount', params: [deployer, 'latest'] }),
      );
      // Record the address before deploying: a crash in between redeploys to the same address.
      address = getCreateAddress({ from: deployer, nonce });
      await this.journal.setRegistryAddress(address);
    }
    this.registryAddress = getAddress(address);
    const code = (await this.inner.request({ method: 'eth_getCode', params: [address, 'latest'] })) as string;
    if (code !== '0x') return;
    const artifact = registryArtifact();
    const deployTx = await new ContractFactory(artifact.abi, artifact.bytecode).getDeployTransaction();
    const hash = (await this.request({
      method: 'eth_sendTransaction',
      params: [{ from: deployer, data: deployTx.data }],
    })) as string;
    const receipt = (await this.inner.request({ method: 'eth_getTransactionReceipt', params: [hash] })) as {
      contractAddress: string;
      status: string;
    };
    if (receipt.status !== '0x1' || getAddress(receipt.contractAddress) !== this.registryAddress) {
      throw new StartupError(
        `deploying the registry produced ${receipt.contractAddress} (status ${receipt.status}), expected ${this.registryAddress}`,
      );
    }
    this.log.info({ registry: this.registryAddress }, 'deployed the ERC-1056 registry');
  }

  /**
   * Deploys AuditAnchor on first start with the relayer as its anchor key, then hands ownership to the
   * relayer too: the deployer's key is Hardhat's publicly known one, the relayer's is sealed in the store.
   */
  private async ensureAuditAnchor(relayer: string): Promise<void> {
    const request = (method: string, params: unknown[]) => this.inner.request({ method, params });
    const found = await findEmbeddedAuditAnchor(request);
    if (found.address) {
      this.auditAnchorAddress = getAddress(found.address);
      return;
    }
    const artifact = auditAnchorArtifact();
    const deployTx = await new ContractFactory(artifact.abi, artifact.bytecode).getDeployTransaction(relayer);
    const hash = (await this.request({
      method: 'eth_sendTransaction',
      params: [{ from: found.deployer, data: deployTx.data }],
    })) as string;
    const receipt = (await this.inner.request({ method: 'eth_getTransactionReceipt', params: [hash] })) as {
      contractAddress: string;
      status: string;
    };
    if (receipt.status !== '0x1') throw new StartupError('deploying the AuditAnchor contract failed');
    const address = getAddress(receipt.contractAddress);
    await this.request({
      method: 'eth_sendTransaction',
      params: [
        {
          from: found.deployer,
          to: address,
          data: new Interface(artifact.abi).encodeFunctionData('transferOwnership', [relayer]),
        },
      ],
    });
    this.auditAnchorAddress = address;
    this.log.info({ auditAnchor: address }, 'deployed the AuditAnchor contract');
  }

  private async ensureFunded(relayer: string): Promise<void> {
    const balance = BigInt(
      (await this.inner.request({ method: 'eth_getBalance', params: [relayer, 'latest'] })) as string,
    );
    if (balance >= LOW_BALANCE) return;
    const [funder] = (await this.inner.request({ method: 'eth_accounts' })) as string[];
    await this.request({
      method: 'eth_sendTransaction',
      params: [{ from: funder, to: relayer, value: `0x${FUNDING_BALANCE.toString(16)}` }],
    });
    this.log.info({ relayer }, 'funded the relayer account');
  }

  /** Number of blocks in the journal (for status and tests). */
  journalLength(): Promise<number> {
    return this.journal.count();
  }

  /** Waits for in-flight writes, then stops answering. */
  async stop(): Promise<void> {
    await this.writes.run(async () => {
      this.closed = true;
    });
    this.inner.removeAllListeners?.();
  }
}

/** Replays the journal into a fresh network; every block must reproduce its journaled hash. */
async function replayJournal(
  inner: Eip1193Provider,
  journal: ChainJournal,
  genesisTimestamp: bigint,
): Promise<{ blocks: number; head: bigint; lastTimestamp: bigint }> {
  let blocks = 0;
  let head = 0n;
  let lastTimestamp = genesisTimestamp;
  await inner.request({ method: 'evm_setAutomine', params: [false] });
  try {
    for await (const block of journal.blocks()) {
      if (block.number !== head + 1n) {
        throw new StartupError(`the chain journal skips from block ${head} to ${block.number}`);
      }
      for (const tx of block.transactions) {
        await inner.request({ method: 'eth_sendRawTransaction', params: [tx.raw] });
      }
      await inner.request({ method: 'evm_mine', params: [Number(block.timestamp)] });
      const mined = (await inner.request({
        method: 'eth_getBlockByNumber',
        params: [`0x${block.number.toString(16)}`, false],
      })) as { hash: string } | null;
      if (mined?.hash !== block.hash) {
        throw new StartupError(
          `replaying the chain journal diverged at block ${block.number} (journal ${block.hash}, replay ${mined?.hash})`,
        );
      }
      head = block.number;
      lastTimestamp = block.timestamp;
      blocks++;
    }
  } finally {
    await inner.request({ method: 'evm_setAutomine', params: [true] });
  }
  return { blocks, head, lastTimestamp };
}
