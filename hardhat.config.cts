// Hardhat 2 configuration. It is `.cts` because the package is ESM and Hardhat 2 loads its config through
// ts-node as CommonJS (a `.ts` config fails with HH19); see the "ts-node" block in tsconfig.json.
import type { HardhatUserConfig } from 'hardhat/config';

const { subtask } = require('hardhat/config') as typeof import('hardhat/config');
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } =
  require('hardhat/builtin-tasks/task-names') as typeof import('hardhat/builtin-tasks/task-names');
// solc ships no type declarations; version() is all we need from it.
const solc = require('solc') as { version(): string };

/** The only compiler version we use; it is bundled as wasm by the `solc` npm package. */
const SOLC_VERSION = '0.8.26';

// The stock subtask downloads the compiler from binaries.soliditylang.org, which is unreachable here.
// Point Hardhat at the solcjs (wasm) build from node_modules instead, so `hardhat compile` works offline.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  return {
    compilerPath: require.resolve('solc/soljson.js'),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 200 } },
  },
  defaultNetwork: 'hardhat',
  networks: {
    hardhat: {
      chainId: 31337,
      // ethr-did-resolver compares validTo with the resolver's wall clock, not with block time. Without
      // this, automine gives each block at least previous+1 s, so a burst of transactions pushes the chain
      // ahead of real time and a just-revoked delegate (validTo = block.timestamp) still resolves as valid.
      allowBlocksWithSameTimestamp: true,
    },
  },
  paths: {
    sources: './contracts',
    artifacts: './artifacts',
    cache: './cache',
  },
};

module.exports = config;
