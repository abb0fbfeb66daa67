/**
 * Deactivate an account's DID: its registry owner becomes the zero address, which resolvers report as
 * deactivated. A managed DID is signed by Trustgate's key; a self-custody DID needs the owner's
 * signature over the change (a first call without one answers with the digest to sign).
 *
 *   1. exclusive        one flow per account at a time; a started deactivation resumes
 *   2. checkAccount     active, no other flow's job unfinished
 *   3. signedChange     changeOwnerSigned(identity → 0x0): by the managed key, or the owner's signature
 *   4. enqueue          verified against the chain before any gas is spent
 *   5. awaitChange      once confirmed, the account is deactivated
 */
import { getAddress, ZeroAddress } from 'ethers';
import type { ChainJobView } from '../chain/outbox.ts';
import type { DirectOp } from '../chain/registry-ops.ts';
import type { Account } from '../identity/accounts.ts';
import { type AccountFlowDeps, accountJobPrefix } from './account-jobs.ts';
import { signedOpForAccount } from './registry-signing.ts';

export async function deactivateAccount(
  deps: AccountFlowDeps,
  account: Account,
  ownerSignature?: { nonce: string; signature: string },
): Promise<{ job: ChainJobView; complete: boolean }> {
  const base = `${accountJobPrefix(account.id)}deactivate`;
  const jobs = deps.accountJobs;
  return jobs.exclusive(account.id, async () => {
    const finish = async (job: ChainJobView) => {
      const settled = await jobs.settle(job, deps.waitMs ?? 20_000);
      if (settled.status === 'confirmed') await jobs.reconcile(account);
      return { job: settled, complete: settled.status === 'confirmed' };
    };
    const started = await jobs.latest(base);
    if (started && started.status !== 'failed') return finish(started);
    await jobs.assertCanStart(account, base);

    const change: DirectOp = {
      kind: 'changeOwner',
      payload: { identity: getAddress(account.address), newOwner: ZeroAddress },
    };
    const op = await signedOpForAccount(deps, account, change, ownerSignature);
    const key = await jobs.nextKey(base);
    return finish(await deps.outbox.enqueue({ idempotencyKey: key, ...op, tenantId: account.tenantId }));
  });
}
