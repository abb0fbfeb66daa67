/**
 * Reading a DID's delegates from the ERC-1056 registry: which delegate types (`veriKey`, `sigAuth`) an
 * address currently holds for an identity (`validDelegate`: added, not revoked, not expired).
 */
import { encodeBytes32String, getAddress } from 'ethers';
import { DELEGATE_TYPES, type RegistryReader, registryInterface } from '../chain/registry-ops.ts';
import { withTimeout } from '../util/timeout.ts';

export type DelegateType = (typeof DELEGATE_TYPES)[number];

/** The delegate types `delegate` is currently valid for on `identity`'s DID (empty when none). */
export async function validDelegateTypes(
  chain: RegistryReader,
  identity: string,
  delegate: string,
  timeoutMs = 10_000,
): Promise<DelegateType[]> {
  const i = registryInterface();
  const valid: DelegateType[] = [];
  for (const type of DELEGATE_TYPES) {
    const data = i.encodeFunctionData('validDelegate', [
      getAddress(identity),
      encodeBytes32String(type),
      getAddress(delegate),
    ]);
    const raw = await withTimeout(
      chain.provider.call({ to: chain.registryAddress, data }),
      timeoutMs,
      'the chain did not answer',
    );
    if (i.decodeFunctionResult('validDelegate', raw)[0] === true) valid.push(type);
  }
  return valid;
}
