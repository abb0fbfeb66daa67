/**
 * Take ownership: a person whose DID Trustgate manages makes their own wallet its registry owner.
 * Trustgate keeps working through a delegate: its managed key becomes a `sigAuth` delegate of the DID
 * before the owner changes (afterwards only the new owner could add one).
 *
 *   1. checkCustody      the account is active and managed (a retry after step 4 returns its jobs),
 *                        and, on a first call, the person proves control of the wallet
 *   2. delegateJob       addDelegateSigned(identity, sigAuth, managed key), signed by the managed owner
 *   3. awaitDelegate     the delegate is on chain (the next signature needs the owner's next nonce)
 *   4. ownerJob          changeOwnerSigned(identity → wallet), signed by the managed owner
 *   5. markSelfCustody   the account's custody becomes `self`
 *
 * Each step is idempotent (jobs have fixed idempotency keys), so a request that times out at step 3 is
 * simply sent again.
 */
import { getAddress } from 'ethers';
import type { ChainConnection } from '../chain/index.ts';
import type { ChainJobView, ChainOutbox } from '../chain/outbox.ts';
import { ConflictError } from '../errors.ts';
import type { Account, Accounts } from '../identity/accounts.ts';
import type { IdentityAgent } from '../identity/agent.ts';
import { signWithManagedOwner } from './registry-signing.ts';

/** How long Trustgate's delegate stays valid after the owner changes (the new owner can renew it). */
export const DELEGATE_VALIDITY_S = 365 * 86_400;

export interface TakeOwnershipDeps {
  accounts: Accounts;
  agent: IdentityAgent;
  chain: ChainConnection;
  outbox: ChainOutbox;
  /** How long the request waits for the delegate to be mined before answering 202 (retry later). */
  waitMs?: number;
}

export interface TakeOwnershipResult {
  /** Whether the change of owner is enqueued (it completes when its job is confirmed). */
  ownerChangeEnqueued: boolean;
  jobs: ChainJobView[];
}

/**
 * Runs the flow. `proveWallet` checks that the person controls `wallet`; it runs only when the flow
 * starts (a retry of a started flow already proved it).
 */
export async function takeOwnership(
  deps: TakeOwnershipDeps,
  account: Account,
  wallet: string,
  proveWallet: () => Promise<void>,
): Promise<TakeOwnershipResult> {
  const newOwner = getAddress(wallet);
  const keyOf = (step: string) => `account:${account.id}:take-ownership:${newOwner}:${step}`;
  const identity = getAddress(account.address);

  const enqueuedOwner = await deps.outbox.getByKey(keyOf('owner'));
  if (enqueuedOwner) {
    const delegate = await deps.outbox.getByKey(keyOf('delegate'));
    return { ownerChangeEnqueued: true, jobs: [delegate, enqueuedOwner].filter((j) => j !== null) };
  }
  if (account.status !== 'active')
    throw new ConflictError('account_deactivated', 'The account is deactivated.');
  if (account.custody !== 'managed') {
    throw new ConflictError('not_managed', 'The DID is already owned by the person’s own wallet.');
  }
  if (newOwner === identity)
    throw new ConflictError('invalid_owner', 'The new owner must be another address.');
  const kid = await deps.accounts.managedKid(account);

  let delegate = await deps.outbox.getByKey(keyOf('delegate'));
  if (!delegate) {
    await proveWallet();
    const op = await signWithManagedOwner(deps.agent, deps.chain, kid, {
      kind: 'addDelegate',
      payload: { identity, delegateType: 'sigAuth', delegate: identity, validity: DELEGATE_VALIDITY_S },
    });
    delegate = await deps.outbox.enqueue({
      idempotencyKey: keyOf('delegate'),
      ...op,
      tenantId: account.tenantId,
    });
  }
  delegate = await deps.outbox.waitFor(delegate.id, deps.waitMs ?? 20_000).catch(() => delegate!);
  if (delegate.status === 'failed') {
    throw new ConflictError(
      'chain_job_failed',
      `Adding Trustgate's delegate failed: ${delegate.lastError ?? ''}`,
    );
  }
  if (delegate.status !== 'confirmed') return { ownerChangeEnqueued: false, jobs: [delegate] };

  const op = await signWithManagedOwner(deps.agent, deps.chain, kid, {
    kind: 'changeOwner',
    payload: { identity, newOwner },
  });
  const owner = await deps.outbox.enqueue({
    idempotencyKey: keyOf('owner'),
    ...op,
    tenantId: account.tenantId,
  });
  await deps.accounts.setCustody(account, 'self');
  return { ownerChangeEnqueued: true, jobs: [delegate, owner] };
}
