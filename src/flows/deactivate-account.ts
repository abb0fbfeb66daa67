/**
 * Deactivate an account's DID: its registry owner becomes the zero address, which resolvers report as
 * deactivated. A managed DID is signed by Trustgate's key; a self-custody DID needs the owner's
 * signature over the change (the answer to a first call without one names the digest to sign).
 *
 *   1. checkActive     (a retry after step 3 returns the job)
 *   2. signedChange    changeOwnerSigned(identity → 0x0): by the managed key, or the owner's signature
 *   3. enqueue         verified against the chain before any gas is spent
 *   4. markDeactivated
 */
import { getAddress, ZeroAddress } from 'ethers';
import type { ChainConnection } from '../chain/index.ts';
import type { ChainJobView, ChainOutbox } from '../chain/outbox.ts';
import {
  type DirectOp,
  type RegistryOp,
  readOwnerAndNonce,
  signedMessageHash,
} from '../chain/registry-ops.ts';
import { ConflictError, InvalidRequestError } from '../errors.ts';
import type { Account, Accounts } from '../identity/accounts.ts';
import type { IdentityAgent } from '../identity/agent.ts';
import { signWithManagedOwner } from './registry-signing.ts';

export interface DeactivateDeps {
  accounts: Accounts;
  agent: IdentityAgent;
  chain: ChainConnection;
  outbox: ChainOutbox;
}

export async function deactivateAccount(
  deps: DeactivateDeps,
  account: Account,
  ownerSignature?: { nonce: string; signature: string },
): Promise<ChainJobView> {
  const key = `account:${account.id}:deactivate`;
  const existing = await deps.outbox.getByKey(key);
  if (existing) return existing;
  if (account.status !== 'active')
    throw new ConflictError('account_deactivated', 'The account is deactivated.');

  const change: DirectOp = {
    kind: 'changeOwner',
    payload: { identity: getAddress(account.address), newOwner: ZeroAddress },
  };
  let op: RegistryOp;
  if (account.custody === 'managed') {
    op = await signWithManagedOwner(deps.agent, deps.chain, await deps.accounts.managedKid(account), change);
  } else if (!ownerSignature) {
    const { owner, nonce } = await readOwnerAndNonce(deps.chain, change.payload.identity);
    throw new InvalidRequestError('The DID’s owner must sign its deactivation.', {
      extensions: {
        owner,
        nonce: nonce.toString(),
        digest: signedMessageHash(deps.chain.registryAddress, nonce, change),
        hint: 'Sign the digest with the owner key (raw secp256k1, no message prefix) and send {nonce, signature}.',
      },
    });
  } else {
    op = { kind: 'changeOwnerSigned', payload: { ...change.payload, ...ownerSignature } } as RegistryOp;
  }
  const job = await deps.outbox.enqueue({ idempotencyKey: key, ...op, tenantId: account.tenantId });
  await deps.accounts.setStatus(account, 'deactivated');
  return job;
}
