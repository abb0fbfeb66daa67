/**
 * The chain connection: the embedded chain (default) or any EVM JSON-RPC (`CHAIN_RPC_URL`), the ERC-1056
 * registry on it, and the relayer account that pays gas.
 */
import { randomBytes } from 'node:crypto';
import {
  BrowserProvider,
  getAddress,
  type JsonRpcApiProvider,
  JsonRpcProvider,
  Network,
  Wallet,
} from 'ethers';
import type { Config } from '../config.ts';
import type { KeyRing } from '../crypto/envelope.ts';
import { getOrCreateSecret } from '../crypto/secrets.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import { withTimeout } from '../util/timeout.ts';
import { EmbeddedChain } from './embedded.ts';
import { startRpcServer } from './rpc-server.ts';

export interface ChainConnection {
  readonly mode: 'embedded' | 'external';
  readonly chainId: number;
  /** JSON-RPC URL advertised to outside verifiers. */
  readonly rpcUrl: string;
  /** The ERC-1056 registry (checksummed). */
  readonly registryAddress: string;
  /** The AuditAnchor contract (checksummed); undefined when audit anchoring is off. */
  readonly auditAnchorAddress?: string | undefined;
  /** ethers provider the service uses (in process for the embedded chain). */
  readonly provider: JsonRpcApiProvider;
  /** The gas-paying relayer, connected to `provider`. */
  readonly relayer: Wallet;
  /** Current block number; throws when the chain does not answer within `timeoutMs`. */
  ping(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

const RELAYER_SECRET = 'chain.relayer';

/** Connects to the configured chain, starting the embedded one when no CHAIN_RPC_URL is set. */
export async function connectChain(
  config: Config,
  deps: { store: Store; keys: KeyRing; log: Logger },
): Promise<ChainConnection> {
  return config.embeddedChain ? startEmbedded(config, deps) : connectExternal(config, deps.log);
}

async function startEmbedded(
  config: Config,
  deps: { store: Store; keys: KeyRing; log: Logger },
): Promise<ChainConnection> {
  const relayerKey = await getOrCreateSecret(deps.store, deps.keys, RELAYER_SECRET, () => randomBytes(32));
  const relayerAddress = new Wallet(`0x${relayerKey.toString('hex')}`).address;
  const chain = await EmbeddedChain.start({ store: deps.store, log: deps.log, relayerAddress });
  let server: Awaited<ReturnType<typeof startRpcServer>>;
  try {
    server = await startRpcServer(chain.provider, {
      host: config.CHAIN_HOST,
      port: config.CHAIN_PORT,
      log: deps.log,
    });
  } catch (err) {
    await chain.stop();
    throw err;
  }
  const network = Network.from(chain.chainId);
  const provider = new BrowserProvider(chain.provider, network, {
    staticNetwork: network,
    cacheTimeout: -1,
    pollingInterval: 50,
  });
  const relayer = new Wallet(`0x${relayerKey.toString('hex')}`, provider);
  return {
    mode: 'embedded',
    chainId: chain.chainId,
    rpcUrl: config.CHAIN_PUBLIC_RPC_URL ?? server.url.replace('://0.0.0.0', '://127.0.0.1'),
    registryAddress: chain.registryAddress,
    auditAnchorAddress: chain.auditAnchorAddress,
    provider,
    relayer,
    ping: (timeoutMs) => withTimeout(provider.getBlockNumber(), timeoutMs, 'chain did not answer'),
    close: async () => {
      await server.close();
      await chain.stop();
      provider.destroy();
    },
  };
}

/** Masks credentials that RPC URLs often carry in the path or query (API keys). */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * CHAIN_RPC_URL may embed an API key (userinfo, path or query); advertise it only when it plainly has
 * none, and otherwise ask the operator for CHAIN_PUBLIC_RPC_URL.
 */
function advertisableUrl(url: string): string | undefined {
  const u = new URL(url);
  const bare = !u.username && !u.password && !u.search && (u.pathname === '/' || u.pathname === '');
  return bare ? `${u.protocol}//${u.host}` : undefined;
}

async function connectExternal(config: Config, log: Logger): Promise<ChainConnection> {
  const url = config.CHAIN_RPC_URL!;
  const where = describeUrl(url);
  const probe = new JsonRpcProvider(url, undefined, { staticNetwork: false, cacheTimeout: -1 });
  let chainId: number;
  try {
    const network = await withTimeout(probe._detectNetwork(), 10_000, 'no answer within 10 s');
    chainId = Number(network.chainId);
  } catch (err) {
    throw new StartupError(`The chain at CHAIN_RPC_URL (${where}) is unreachable: ${(err as Error).message}`);
  } finally {
    probe.destroy();
  }
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(url, network, { staticNetwork: network, cacheTimeout: -1 });
  const registryAddress = getAddress(config.REGISTRY_ADDRESS!);
  const code = await withTimeout(provider.getCode(registryAddress), 10_000, 'no answer within 10 s').catch(
    (err: Error) => {
      provider.destroy();
      throw new StartupError(`The chain at ${where} did not answer eth_getCode: ${err.message}`);
    },
  );
  if (code === '0x') {
    provider.destroy();
    throw new StartupError(
      `No contract code at REGISTRY_ADDRESS ${registryAddress} on chain ${chainId} (${where}). ` +
        'Deploy the ERC-1056 registry there, or fix REGISTRY_ADDRESS / CHAIN_RPC_URL ' +
        '(did:ethr resolution would otherwise fail with cryptic BAD_DATA errors).',
    );
  }
  const key = config.RELAYER_PRIVATE_KEY!;
  const relayer = new Wallet(key.startsWith('0x') ? key : `0x${key}`, provider);
  const auditAnchorAddress = await externalAuditAnchor(config, provider, where, chainId, log);
  log.info(
    {
      chainId,
      rpc: where,
      registry: registryAddress,
      auditAnchor: auditAnchorAddress,
      relayer: relayer.address,
    },
    'connected to external chain',
  );
  return {
    mode: 'external',
    chainId,
    rpcUrl: config.CHAIN_PUBLIC_RPC_URL ?? advertisableUrl(url) ?? '',
    registryAddress,
    auditAnchorAddress,
    provider,
    relayer,
    ping: (timeoutMs) => withTimeout(provider.getBlockNumber(), timeoutMs, 'chain did not answer'),
    close: async () => provider.destroy(),
  };
}

/** AUDIT_ANCHOR_ADDRESS on an external chain: optional (anchoring is off without it), code checked. */
async function externalAuditAnchor(
  config: Config,
  provider: JsonRpcProvider,
  where: string,
  chainId: number,
  log: Logger,
): Promise<string | undefined> {
  if (!config.AUDIT_ANCHOR_ADDRESS) {
    log.warn(
      'AUDIT_ANCHOR_ADDRESS is not set: audit chain heads are NOT anchored on chain (the hash chain is still ' +
        'kept and verified, but a rewrite of the whole log after an edit would go undetected)',
    );
    return undefined;
  }
  const address = getAddress(config.AUDIT_ANCHOR_ADDRESS);
  const code = await withTimeout(provider.getCode(address), 10_000, 'no answer within 10 s').catch(
    (err: Error) => {
      provider.destroy();
      throw new StartupError(`The chain at ${where} did not answer eth_getCode: ${err.message}`);
    },
  );
  if (code === '0x') {
    provider.destroy();
    throw new StartupError(
      `No contract code at AUDIT_ANCHOR_ADDRESS ${address} on chain ${chainId} (${where}). Deploy ` +
        'contracts/AuditAnchor.sol there with the relayer as anchor key, or unset AUDIT_ANCHOR_ADDRESS.',
    );
  }
  return address;
}
