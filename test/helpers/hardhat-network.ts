/**
 * In-process Hardhat chains for tests.
 *
 * Loads the project's Hardhat runtime (hardhat.config.cts, so the same compiler settings and network options
 * as `npx hardhat compile`) and builds a fresh EDR-backed `hardhat` network per call: chains are independent,
 * so a suite that moves time forward cannot leak into another suite's clock. A transaction costs a few
 * milliseconds; building a chain about half a second; loading Hardhat once per process about 0.7 s.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BrowserProvider, hexlify, type JsonRpcSigner, randomBytes, Wallet } from 'ethers';
import type { EthereumProvider } from 'hardhat/types/provider.js';
import type { HardhatRuntimeEnvironment } from 'hardhat/types/runtime.js';

const require = createRequire(import.meta.url);

/** Chain id of Hardhat's built-in network (0x7a69), as configured in hardhat.config.cts. */
export const HARDHAT_CHAIN_ID = 31337;

/** A running in-process chain. */
export interface InProcessChain {
  /** The raw EIP-1193 provider (EDR), for `hardhat_*` / `evm_*` methods and libraries that want EIP-1193. */
  provider: EthereumProvider;
  /** ethers v6 provider over `provider`, with caching off so back-to-back transactions see fresh nonces. */
  ethers: BrowserProvider;
  /** Hardhat's unlocked, pre-funded default accounts (20). */
  signers: JsonRpcSigner[];
  /** A new random key holding 1000 ETH on this chain, for tests that need a private key (raw signatures). */
  fundedWallet(): Promise<Wallet>;
  /** Moves the chain clock forward by `seconds` and mines a block stamped with the new time. */
  increaseTime(seconds: number): Promise<void>;
  /** Releases the ethers provider. The EDR chain itself is freed by garbage collection. */
  close(): void;
}

let hre: HardhatRuntimeEnvironment | undefined;

/**
 * The project's Hardhat runtime environment, loaded once per process.
 *
 * Hardhat's CLI registers ts-node before reading a TypeScript config, but importing `hardhat` as a library
 * does not; without it, Node parses hardhat.config.cts as plain JavaScript and fails on the first type.
 */
export function loadHardhat(): HardhatRuntimeEnvironment {
  if (hre === undefined) {
    // Pin the config so discovery does not depend on the directory Vitest was started from.
    process.env.HARDHAT_CONFIG ??= fileURLToPath(new URL('../../hardhat.config.cts', import.meta.url));
    require('ts-node/register/transpile-only');
    hre = require('hardhat') as HardhatRuntimeEnvironment;
  }
  return hre;
}

/** Starts a fresh, empty `hardhat` network chain in this process. */
export async function startInProcessChain(): Promise<InProcessChain> {
  const runtime = loadHardhat();
  const { createProvider } = require('hardhat/internal/core/providers/construction') as {
    createProvider: (
      config: HardhatRuntimeEnvironment['config'],
      networkName: string,
    ) => Promise<EthereumProvider>;
  };
  const provider = await createProvider(runtime.config, 'hardhat');
  const ethers = new BrowserProvider(provider, HARDHAT_CHAIN_ID, { staticNetwork: true, cacheTimeout: -1 });
  const accounts = (await provider.request({ method: 'eth_accounts' })) as string[];
  const signers = await Promise.all(accounts.map((account) => ethers.getSigner(account)));

  return {
    provider,
    ethers,
    signers,
    async fundedWallet() {
      // A raw random key, not Wallet.createRandom(): that derives an HD wallet from a mnemonic, ~10x slower.
      const wallet = new Wallet(hexlify(randomBytes(32)), ethers);
      await provider.request({
        method: 'hardhat_setBalance',
        params: [wallet.address, `0x${(10n ** 21n).toString(16)}`],
      });
      return wallet;
    },
    async increaseTime(seconds: number) {
      await provider.request({ method: 'evm_increaseTime', params: [seconds] });
      await provider.request({ method: 'evm_mine', params: [] });
    },
    close() {
      ethers.destroy();
      provider.removeAllListeners();
    },
  };
}
