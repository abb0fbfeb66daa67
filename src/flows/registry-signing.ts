/**
 * Signing registry meta-transactions for an account's DID: with Trustgate's managed controller key, or
 * with the owner's signature for a self-custody DID. Both sign the digest the contract checks (the
 * owner's current registry nonce included); the managed key signs inside the KMS.
 */
import type { ChainConnection } from '../chain/index.ts';
import {
  type DirectOp,
  parseRegistryOp,
  type RegistryOp,
  readOwnerAndNonce,
  signedMessageHash,
} from '../chain/registry-ops.ts';
import { InvalidRequestError } from '../errors.ts';
import type { Account, Accounts } from '../identity/accounts.ts';
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

/**
 * `op` on `account`'s DID as a relayable meta-transaction: signed by Trustgate for a managed DID, or
 * carrying the owner's signature for a self-custody one. Without that signature, answers 400 with the
 * digest the owner must sign and the nonce it is for.
 */
export async function signedOpForAccount(
  deps: { agent: IdentityAgent; chain: ChainConnection; accounts: Accounts },
  account: Account,
  op: DirectOp,
  ownerSignature?: { nonce: string; signature: string },
): Promise<RegistryOp> {
  if (account.custody === 'managed') {
    return signWithManagedOwner(deps.agent, deps.chain, await deps.accounts.managedKid(account), op);
  }
  if (ownerSignature) return parseRegistryOp(`${op.kind}Signed`, { ...op.payload, ...ownerSignature });
  const { owner, nonce } = await chainRead(() => readOwnerAndNonce(deps.chain, op.payload.identity));
  throw new InvalidRequestError('The DID’s owner must sign this change.', {
    extensions: {
      owner,
      nonce: nonce.toString(),
      digest: signedMessageHash(deps.chain.registryAddress, nonce, op),
      hint: 'Sign the digest with the owner key (raw secp256k1, no message prefix) and send {nonce, signature}.',
    },
  });
}
