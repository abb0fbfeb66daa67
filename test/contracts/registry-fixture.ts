/**
 * Shared fixture for the ERC-1056 registry tests: compiles and deploys contracts/EthereumDIDRegistry.sol on
 * an in-process chain, gives the contract a typed surface, and builds meta-transaction signatures with the
 * canonical message layout, computed here independently of the contract and of ethr-did-resolver.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type BaseContract,
  ContractFactory,
  type ContractRunner,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  encodeBytes32String,
  type InterfaceAbi,
  type LogDescription,
  type Overrides,
  type Signer,
  solidityPacked,
  solidityPackedKeccak256,
  type Wallet,
} from 'ethers';
import { loadHardhat } from '../helpers/hardhat-network.ts';

const SOURCE = fileURLToPath(new URL('../../contracts/EthereumDIDRegistry.sol', import.meta.url));
const ARTIFACT = fileURLToPath(
  new URL('../../artifacts/contracts/EthereumDIDRegistry.sol/EthereumDIDRegistry.json', import.meta.url),
);

export interface RegistryArtifact {
  abi: InterfaceAbi;
  bytecode: string;
}

/**
 * The registry's ABI and bytecode, compiled through Hardhat (solcjs, offline) when the artifact is missing
 * or older than the source. An up-to-date artifact is read as is, so parallel test files do not all compile.
 */
export async function registryArtifact(): Promise<RegistryArtifact> {
  if (!existsSync(ARTIFACT) || statSync(ARTIFACT).mtimeMs < statSync(SOURCE).mtimeMs) {
    await loadHardhat().run('compile', { quiet: true });
  }
  const { abi, bytecode } = JSON.parse(readFileSync(ARTIFACT, 'utf8')) as RegistryArtifact;
  return { abi, bytecode };
}

/** A state-changing method: its arguments, optionally followed by transaction overrides. */
type Send<A extends unknown[]> = (
  ...args: [...A] | [...A, Overrides]
) => Promise<ContractTransactionResponse>;
type Sig = [sigV: number, sigR: string, sigS: string];

/** The registry's ABI as TypeScript (ethers' dynamic Contract methods are untyped). */
export interface DidRegistry extends BaseContract {
  connect(runner: ContractRunner | null): DidRegistry;
  owners(identity: string): Promise<string>;
  delegates(identity: string, delegateTypeHash: string, delegate: string): Promise<bigint>;
  changed(identity: string): Promise<bigint>;
  nonce(owner: string): Promise<bigint>;
  identityOwner(identity: string): Promise<string>;
  validDelegate(identity: string, delegateType: string, delegate: string): Promise<boolean>;
  changeOwner: Send<[identity: string, newOwner: string]>;
  changeOwnerSigned: Send<[identity: string, ...Sig, newOwner: string]>;
  addDelegate: Send<[identity: string, delegateType: string, delegate: string, validity: number | bigint]>;
  addDelegateSigned: Send<
    [identity: string, ...Sig, delegateType: string, delegate: string, validity: number | bigint]
  >;
  revokeDelegate: Send<[identity: string, delegateType: string, delegate: string]>;
  revokeDelegateSigned: Send<[identity: string, ...Sig, delegateType: string, delegate: string]>;
  setAttribute: Send<[identity: string, name: string, value: string, validity: number | bigint]>;
  setAttributeSigned: Send<
    [identity: string, ...Sig, name: string, value: string, validity: number | bigint]
  >;
  revokeAttribute: Send<[identity: string, name: string, value: string]>;
  revokeAttributeSigned: Send<[identity: string, ...Sig, name: string, value: string]>;
}

/** Deploys a fresh registry from `deployer`. */
export async function deployRegistry(deployer: Signer): Promise<DidRegistry> {
  const { abi, bytecode } = await registryArtifact();
  const contract = await new ContractFactory(abi, bytecode, deployer).deploy();
  await contract.waitForDeployment();
  return contract as unknown as DidRegistry;
}

/** Sends a transaction and returns its receipt (automine: the receipt is immediate). */
export async function mined(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error('transaction was not mined');
  return receipt;
}

/** The registry events in a receipt, decoded. */
export function registryEvents(registry: DidRegistry, receipt: ContractTransactionReceipt): LogDescription[] {
  return receipt.logs
    .map((log) => registry.interface.parseLog(log))
    .filter((event): event is LogDescription => event !== null);
}

/** A bytes32 name as the registry stores it: UTF-8, zero-padded on the right (ethr-did's stringToBytes32). */
export const bytes32 = (name: string): string => encodeBytes32String(name);

/** The action part of each signed call: the method name followed by its arguments, packed. */
export const signedAction = {
  changeOwner: (newOwner: string) => solidityPacked(['string', 'address'], ['changeOwner', newOwner]),
  addDelegate: (delegateType: string, delegate: string, validity: number | bigint) =>
    solidityPacked(
      ['string', 'bytes32', 'address', 'uint256'],
      ['addDelegate', delegateType, delegate, validity],
    ),
  revokeDelegate: (delegateType: string, delegate: string) =>
    solidityPacked(['string', 'bytes32', 'address'], ['revokeDelegate', delegateType, delegate]),
  setAttribute: (name: string, value: string, validity: number | bigint) =>
    solidityPacked(['string', 'bytes32', 'bytes', 'uint256'], ['setAttribute', name, value, validity]),
  revokeAttribute: (name: string, value: string) =>
    solidityPacked(['string', 'bytes32', 'bytes'], ['revokeAttribute', name, value]),
};

/**
 * Signs the canonical ERC-1056 meta-transaction digest
 * keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce ‖ identity ‖ action), with the raw key (no EIP-191 prefix).
 */
export function signAction(
  signer: Wallet,
  registryAddress: string,
  nonce: bigint,
  identity: string,
  action: string,
): Sig {
  const digest = solidityPackedKeccak256(
    ['bytes1', 'bytes1', 'address', 'uint256', 'address', 'bytes'],
    ['0x19', '0x00', registryAddress, nonce, identity, action],
  );
  const signature = signer.signingKey.sign(digest);
  return [signature.v, signature.r, signature.s];
}
