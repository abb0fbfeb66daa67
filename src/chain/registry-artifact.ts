/** The compiled ERC-1056 registry (ABI and bytecode), produced by `hardhat compile` at install time. */
import { existsSync, readFileSync } from 'node:fs';
import type { InterfaceAbi } from 'ethers';
import { StartupError } from '../errors.ts';
import { fromRoot } from '../paths.ts';

export interface ContractArtifact {
  contractName: string;
  abi: InterfaceAbi;
  bytecode: string;
}

const cache = new Map<string, ContractArtifact>();

/** Loads a compiled contract from `artifacts/`; a clear error if the project was not compiled. */
export function loadArtifact(name: string): ContractArtifact {
  const hit = cache.get(name);
  if (hit) return hit;
  const path = fromRoot('artifacts', 'contracts', `${name}.sol`, `${name}.json`);
  if (!existsSync(path)) {
    throw new StartupError(
      `Contract artifact ${path} is missing: run \`npm run compile\` (npm install does it).`,
    );
  }
  const artifact = JSON.parse(readFileSync(path, 'utf8')) as ContractArtifact;
  cache.set(name, artifact);
  return artifact;
}

/** The ERC-1056 registry's artifact. */
export const registryArtifact = () => loadArtifact('EthereumDIDRegistry');
