/**
 * Change my DID on chain: add or revoke a delegate (a device key as `veriKey` or `sigAuth`, with a
 * validity), set or revoke an attribute (a public key, a service endpoint). Always relayed, so the
 * person pays no gas. A managed DID is signed by Trustgate's key; a self-custody DID needs the
 * owner's signature (a first call without one answers with the digest to sign).
 *
 *   1. exclusive       one change of the account's DID at a time
 *   2. checkAccount    active, no other flow's job unfinished
 *   3. signedOp        the `*Signed` meta-transaction, by the managed key or with the owner's signature
 *   4. enqueue         under the caller's idempotency key; verified on chain before any gas is spent
 */
import { getAddress } from 'ethers';
import type { ChainJobView } from '../chain/outbox.ts';
import { type DirectOp, parseRegistryOp } from '../chain/registry-ops.ts';
import type { Account } from '../identity/accounts.ts';
import { type AccountFlowDeps, accountJobPrefix } from './account-jobs.ts';
import { signedOpForAccount } from './registry-signing.ts';

/** The operations a person may run on their DID through this flow (owner changes have their own). */
export const DID_OPERATIONS = ['addDelegate', 'revokeDelegate', 'setAttribute', 'revokeAttribute'] as const;
export type DidOperation = (typeof DID_OPERATIONS)[number];

export interface DidOperationRequest {
  operation: DidOperation;
  /** The operation's arguments without `identity` (it is the account's DID). */
  args: Record<string, unknown>;
  /** The caller's idempotency key: the same key returns the same job. */
  idempotencyKey: string;
  /** Self custody: the owner's signature over the digest, for the registry nonce it was made for. */
  ownerSignature?: { nonce: string; signature: string };
}

export async function runDidOperation(
  deps: AccountFlowDeps,
  account: Account,
  request: DidOperationRequest,
): Promise<ChainJobView> {
  const key = `${accountJobPrefix(account.id)}op:${request.idempotencyKey}`;
  const jobs = deps.accountJobs;
  return jobs.exclusive(account.id, async () => {
    const existing = await deps.outbox.getByKey(key);
    if (existing) return existing;
    await jobs.assertCanStart(account, `${accountJobPrefix(account.id)}op:`);

    const direct = parseRegistryOp(request.operation, {
      ...request.args,
      identity: getAddress(account.address),
    }) as DirectOp;
    const op = await signedOpForAccount(deps, account, direct, request.ownerSignature);
    return deps.outbox.enqueue({ idempotencyKey: key, ...op, tenantId: account.tenantId });
  });
}
