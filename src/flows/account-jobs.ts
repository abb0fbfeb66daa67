/**
 * The chain jobs of an account's flows (take ownership, deactivation): one flow at a time per account
 * (a lock in shared state, so across instances too), no flow while another's job is unfinished, a new
 * attempt after a failed job, and the account row changed only once its job is confirmed on chain.
 */
import type { ChainConnection } from '../chain/index.ts';
import type { ChainJobView, ChainOutbox } from '../chain/outbox.ts';
import { ConflictError, ServiceUnavailableError, TrustgateError } from '../errors.ts';
import type { Account, Accounts } from '../identity/accounts.ts';
import type { IdentityAgent } from '../identity/agent.ts';
import type { EphemeralState } from '../state/types.ts';
import type { Store } from '../store/index.ts';

/** What the account flows (take ownership, DID operations, deactivation) work with. */
export interface AccountFlowDeps {
  accounts: Accounts;
  accountJobs: AccountJobs;
  agent: IdentityAgent;
  chain: ChainConnection;
  outbox: ChainOutbox;
  /** How long a request waits for its job to be mined before answering (default 20 s). */
  waitMs?: number;
}

const LOCK_TTL_MS = 60_000;
const UNFINISHED = ['pending', 'sent'];

/** Idempotency-key prefix of every chain job an account's flows enqueue. */
export const accountJobPrefix = (accountId: string) => `account:${accountId}:`;

export class AccountJobs {
  constructor(
    private readonly store: Store,
    private readonly outbox: ChainOutbox,
    private readonly state: EphemeralState,
    private readonly accounts: Accounts,
  ) {}

  /** Runs `fn` as the account's only flow; 409 `operation_in_progress` while another runs. */
  async exclusive<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    const key = `account:lock:${accountId}`;
    if (!(await this.state.setIfAbsent(key, '1', LOCK_TTL_MS))) {
      throw new ConflictError(
        'operation_in_progress',
        'Another change to this account is in progress; retry.',
      );
    }
    try {
      return await fn();
    } finally {
      await this.state.delete(key);
    }
  }

  /** The latest job whose key starts with `prefix`, or null. */
  async latest(prefix: string): Promise<ChainJobView | null> {
    const row = await this.store.db.chainJob.findFirst({
      where: { idempotencyKey: { startsWith: prefix } },
      orderBy: { createdAt: 'desc' },
      select: { id: true },
    });
    return row ? this.outbox.get(row.id) : null;
  }

  /** The key of a new attempt at `prefix` (a failed attempt's key cannot be reused). */
  async nextKey(prefix: string): Promise<string> {
    const attempts = await this.store.db.chainJob.count({
      where: { idempotencyKey: { startsWith: prefix } },
    });
    return `${prefix}#${attempts + 1}`;
  }

  /**
   * Whether a new flow (its jobs keyed under `ownPrefix`) may start on `account`: 409
   * `account_deactivated` for a deactivated account, `chain_job_pending` while another flow's job is
   * unfinished.
   */
  async assertCanStart(account: Account, ownPrefix: string): Promise<void> {
    if (account.status !== 'active')
      throw new ConflictError('account_deactivated', 'The account is deactivated.');
    await this.assertNoOtherPending(account.id, ownPrefix);
  }

  private async assertNoOtherPending(accountId: string, ownPrefix: string): Promise<void> {
    const other = await this.store.db.chainJob.findFirst({
      where: {
        idempotencyKey: { startsWith: accountJobPrefix(accountId) },
        NOT: { idempotencyKey: { startsWith: ownPrefix } },
        status: { in: UNFINISHED },
      },
      select: { id: true },
    });
    if (other) {
      throw new ConflictError(
        'chain_job_pending',
        'An earlier change to this DID is not on chain yet; retry.',
        {
          extensions: { jobId: other.id },
        },
      );
    }
  }

  /** Waits up to `ms` for `job` to be final; a failed job is a 409 naming its error. */
  async settle(job: ChainJobView, ms: number): Promise<ChainJobView> {
    const settled = await this.outbox.waitFor(job.id, ms).catch(() => job);
    if (settled.status === 'failed') {
      throw new ConflictError('chain_job_failed', `The chain job failed: ${settled.lastError ?? 'unknown'}`, {
        extensions: { jobId: settled.id },
      });
    }
    return settled;
  }

  /**
   * Brings the account row in line with its confirmed jobs (a flow may have answered before its job
   * was mined): a confirmed deactivation deactivates, a confirmed change of owner makes custody `self`.
   */
  async reconcile(account: Account): Promise<Account> {
    const prefix = accountJobPrefix(account.id);
    const confirmed = await this.store.db.chainJob.findMany({
      where: { idempotencyKey: { startsWith: prefix }, status: 'confirmed' },
      select: { idempotencyKey: true },
    });
    let changed = false;
    if (
      account.status === 'active' &&
      confirmed.some((j) => j.idempotencyKey.startsWith(`${prefix}deactivate`))
    ) {
      await this.accounts.setStatus(account, 'deactivated');
      changed = true;
    }
    const ownerChanged = confirmed.some((j) => /:take-ownership:[^:]+:owner#/.test(j.idempotencyKey));
    if (account.custody === 'managed' && ownerChanged) {
      await this.accounts.setCustody(account, 'self');
      changed = true;
    }
    return changed ? this.accounts.get(account.tenantId, account.id) : account;
  }
}

/** Chain reads a flow depends on: an unreachable chain is 503, not 500. */
export async function chainRead<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof TrustgateError) throw err;
    throw new ServiceUnavailableError('The chain is unavailable; retry later.', { cause: err });
  }
}
