/**
 * Take ownership: a person whose DID Trustgate manages makes their own wallet its registry owner.
 * Trustgate keeps working through a delegate: its managed key becomes a `sigAuth` delegate of the DID
 * before the owner changes (afterwards only the new owner could add one).
 *
 *   1. exclusive         one flow per account at a time; a started flow resumes where it stands
 *   2. checkAccount      active, managed, a new owner, no other flow's job unfinished
 *   3. delegateJob       addDelegateSigned(identity, sigAuth, managed key), signed by the managed owner,
 *                        after the person proves control of the wallet
 *   4. awaitDelegate     on chain (the next signature needs the owner's next registry nonce)
 *   5. ownerJob          changeOwnerSigned(identity → wallet), signed by the managed owner
 *   6. awaitOwner        once confirmed, the account's custody becomes `self`
 *
 * Requests answer 202 with the jobs; sending the same request again resumes (or reports completion).
 */
import { getAddress } from 'ethers';
import type { ChainJobView } from '../chain/outbox.ts';
import { ConflictError } from '../errors.ts';
import type { Account } from '../identity/accounts.ts';
import { type AccountFlowDeps, accountJobPrefix } from './account-jobs.ts';
import { signWithManagedOwner } from './registry-signing.ts';

/** How long Trustgate's delegate stays valid after the owner changes (the new owner can renew it). */
export const DELEGATE_VALIDITY_S = 365 * 86_400;

export interface TakeOwnershipResult {
  /** Whether the change of owner is enqueued. */
  ownerChangeEnqueued: boolean;
  /** Whether it is confirmed on chain (the account's custody is then `self`). */
  complete: boolean;
  jobs: ChainJobView[];
}

/**
 * Runs the flow. `proveWallet` checks that the person controls `wallet`; it runs only when a delegate
 * job is about to be created (a resumed flow already proved it).
 */
export async function takeOwnership(
  deps: AccountFlowDeps,
  account: Account,
  wallet: string,
  proveWallet: () => Promise<void>,
): Promise<TakeOwnershipResult> {
  const newOwner = getAddress(wallet.toLowerCase());
  const identity = getAddress(account.address);
  const base = `${accountJobPrefix(account.id)}take-ownership:${newOwner}:`;
  const jobs = deps.accountJobs;
  const waitMs = deps.waitMs ?? 20_000;

  return jobs.exclusive(account.id, async () => {
    const finish = async (
      owner: ChainJobView,
      delegate: ChainJobView | null,
    ): Promise<TakeOwnershipResult> => {
      const settled = await jobs.settle(owner, waitMs);
      if (settled.status === 'confirmed') await jobs.reconcile(account);
      const all = [delegate, settled].filter((j): j is ChainJobView => j !== null);
      return { ownerChangeEnqueued: true, complete: settled.status === 'confirmed', jobs: all };
    };

    const started = await jobs.latest(`${base}owner`);
    if (started && started.status !== 'failed') return finish(started, await jobs.latest(`${base}delegate`));

    await jobs.assertCanStart(account, base);
    if (account.custody !== 'managed') {
      throw new ConflictError('not_managed', 'The DID is already owned by the person’s own wallet.');
    }
    if (newOwner === identity)
      throw new ConflictError('invalid_owner', 'The new owner must be another address.');
    const kid = await deps.accounts.managedKid(account);

    let delegate = await jobs.latest(`${base}delegate`);
    if (!delegate || delegate.status === 'failed') {
      await proveWallet();
      const op = await signWithManagedOwner(deps.agent, deps.chain, kid, {
        kind: 'addDelegate',
        payload: { identity, delegateType: 'sigAuth', delegate: identity, validity: DELEGATE_VALIDITY_S },
      });
      const key = await jobs.nextKey(`${base}delegate`);
      delegate = await deps.outbox.enqueue({ idempotencyKey: key, ...op, tenantId: account.tenantId });
    }
    delegate = await jobs.settle(delegate, waitMs);
    if (delegate.status !== 'confirmed')
      return { ownerChangeEnqueued: false, complete: false, jobs: [delegate] };

    const op = await signWithManagedOwner(deps.agent, deps.chain, kid, {
      kind: 'changeOwner',
      payload: { identity, newOwner },
    });
    const key = await jobs.nextKey(`${base}owner`);
    return finish(
      await deps.outbox.enqueue({ idempotencyKey: key, ...op, tenantId: account.tenantId }),
      delegate,
    );
  });
}
