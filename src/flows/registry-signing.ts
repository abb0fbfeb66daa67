/**
 * Signing registry meta-transactions with a managed controller key: read the owner's current registry
 * nonce, hash the op the way the contract checks it, sign the digest inside the KMS.
 */
import type { ChainConnection } from '../chain/index.ts';
import {
  type DirectOp,
  type RegistryOp,
  readOwnerAndNonce,
  signedMessageHash,
} from '../chain/registry-ops.ts';
import { type IdentityAgent, signWithManagedKey } from '../identity/agent.ts';
import { chainRead } from './account-jobs.ts';

/** `op` as a `*Signed` meta-transaction by managed key `kid`, for the owner's current nonce. */
export async function signWithManagedOwner(
  agent: IdentityAgent,
  chain: ChainConnection,
  kid: string,
  op: DirectOp,
): Promise<RegistryOp> {
  const { nonce } = await chainRead(() => readOwnerAndNonce(chain, op.payload.identity));
  const signature = await signWithManagedKey(agent, kid, signedMessageHash(chain.registryAddress, nonce, op));
  return {
    kind: `${op.kind}Signed`,
    payload: { ...op.payload, nonce: nonce.toString(), signature: signature.serialized },
  } as RegistryOp;
}
