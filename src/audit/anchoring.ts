/**
 * Anchors each tenant's audit chain head on chain (contracts/AuditAnchor.sol), through the chain
 * outbox (durable, retried, exactly once). One pass of the worker:
 *
 *   schedule  a tenant whose head is `every` records past its last anchor, or has had unanchored
 *             records for `intervalMs`, gets an `AuditAnchor` row (tenant, seq, head), status `pending`;
 *             the row is unique per (tenant, seq), so two instances never anchor one head twice
 *   submit    each `pending` row becomes an `auditAnchor` chain job (idempotency key per tenant and
 *             seq, so a crash in between re-enqueues the same job), status `submitted`
 *   track     a confirmed job makes the row `anchored` (txHash, blockNumber, anchoredAt); a failed one
 *             `failed` (the next anchor covers its records: anchors are cumulative)
 *
 * Anchor events are not themselves audit records: an idle tenant would otherwise be anchored forever.
 */
import type { AuditAnchorPayload } from '../chain/audit-anchor.ts';
import {
  type AnchorReader,
  AUDIT_ANCHOR_KIND,
  headToBytes32,
  readAnchorAt,
  readLatestAnchor,
  tenantKey,
} from '../chain/audit-anchor.ts';
import type { ChainOutbox } from '../chain/outbox.ts';
import type { Logger } from '../log.ts';
import type { AuditAnchor } from '../store/generated/postgres/client.ts';
import { isUniqueViolation, type Store } from '../store/index.ts';
import type { AnchorSource } from './verify.ts';

export interface AuditAnchoringOptions {
  store: Store;
  outbox: Pick<ChainOutbox, 'enqueue' | 'get'>;
  log: Logger;
  /** Anchor after this many new records (AUDIT_ANCHOR_EVERY). */
  every: number;
  /** Anchor at least this often while there are new records (AUDIT_ANCHOR_MINUTES, in ms). */
  intervalMs: number;
  /** How often the worker looks (default 2 s; 250 ms while anchors are in flight). */
  pollMs?: number;
}

/** The chain's anchors as a verifier reads them. */
export function chainAnchorSource(chain: AnchorReader): AnchorSource {
  return {
    latest: (tenantId) => readLatestAnchor(chain, tenantId),
    headAt: (tenantId, seq) => readAnchorAt(chain, tenantId, seq),
  };
}

/** Idempotency key of a tenant's anchor at `seq`. */
export const anchorJobKey = (tenantId: string, seq: number) => `audit-anchor:${tenantId}:${seq}`;

/** The background worker that anchors audit heads. */
export class AuditAnchoring {
  private readonly o: Required<Omit<AuditAnchoringOptions, 'store' | 'outbox' | 'log'>>;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;

  constructor(private readonly deps: AuditAnchoringOptions) {
    this.log = deps.log.child({ component: 'audit-anchoring' });
    this.o = { every: deps.every, intervalMs: deps.intervalMs, pollMs: deps.pollMs ?? 2_000 };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.o.pollMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .then((inFlight) => this.schedule(inFlight > 0 ? Math.min(250, this.o.pollMs) : this.o.pollMs))
        .catch((err: unknown) => {
          this.log.warn({ err: (err as Error).message }, 'audit anchoring pass failed');
          this.schedule(this.o.pollMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** One pass (schedule, submit, track). Answers how many anchors are still in flight. */
  async runOnce(now = new Date()): Promise<number> {
    await this.scheduleDue(now);
    await this.submitPending();
    return this.trackSubmitted();
  }

  private async scheduleDue(now: Date): Promise<void> {
    const { store } = this.deps;
    const heads = await store.db.auditHead.findMany({ select: { tenantId: true, seq: true, hash: true } });
    for (const head of heads) {
      const last = await store.db.auditAnchor.findFirst({
        where: { tenantId: head.tenantId },
        orderBy: { seq: 'desc' },
        select: { seq: true, createdAt: true },
      });
      const anchored = last?.seq ?? 0;
      const fresh = head.seq - anchored;
      if (fresh <= 0) continue;
      let due = fresh >= this.o.every;
      if (!due) {
        // Time since the last anchor, or (never anchored) since the first record.
        const since =
          last?.createdAt ??
          (
            await store.db.securityEvent.findFirst({
              where: { tenantId: head.tenantId, seq: anchored + 1 },
              select: { createdAt: true },
            })
          )?.createdAt;
        due = since !== undefined && now.getTime() - since.getTime() >= this.o.intervalMs;
      }
      if (!due) continue;
      try {
        await store.db.auditAnchor.create({
          data: { tenantId: head.tenantId, seq: head.seq, head: head.hash, status: 'pending' },
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err; // another instance scheduled this head
      }
    }
  }

  private async submitPending(): Promise<void> {
    const { store, outbox } = this.deps;
    const pending = await store.db.auditAnchor.findMany({
      where: { status: 'pending' },
      orderBy: { createdAt: 'asc' },
      take: 100,
    });
    for (const row of pending) {
      const payload: AuditAnchorPayload = {
        tenant: tenantKey(row.tenantId),
        seq: row.seq,
        head: headToBytes32(row.head),
      };
      const job = await outbox.enqueue({
        idempotencyKey: anchorJobKey(row.tenantId, row.seq),
        kind: AUDIT_ANCHOR_KIND,
        payload,
        tenantId: row.tenantId,
      });
      await store.db.auditAnchor.updateMany({
        where: { id: row.id, status: 'pending' },
        data: { status: 'submitted', chainJobId: job.id },
      });
    }
  }

  private async trackSubmitted(): Promise<number> {
    const { store, outbox } = this.deps;
    const submitted: AuditAnchor[] = await store.db.auditAnchor.findMany({
      where: { status: 'submitted' },
      take: 500,
    });
    let inFlight = 0;
    for (const row of submitted) {
      const job = row.chainJobId ? await outbox.get(row.chainJobId) : null;
      if (job?.status === 'confirmed') {
        await store.db.auditAnchor.updateMany({
          where: { id: row.id, status: 'submitted' },
          data: {
            status: 'anchored',
            txHash: job.txHash,
            blockNumber: job.blockNumber === null ? null : BigInt(job.blockNumber),
            anchoredAt: job.confirmedAt ? new Date(job.confirmedAt) : new Date(),
          },
        });
        this.log.info({ tenantId: row.tenantId, seq: row.seq, txHash: job.txHash }, 'audit head anchored');
      } else if (job?.status === 'failed' || !job) {
        await store.db.auditAnchor.updateMany({
          where: { id: row.id, status: 'submitted' },
          data: { status: 'failed', txHash: job?.txHash ?? null },
        });
        this.log.warn(
          { tenantId: row.tenantId, seq: row.seq, error: job?.lastError ?? 'chain job missing' },
          'audit anchor failed; the next anchor covers these records',
        );
      } else {
        inFlight++;
        if (job.txHash && job.txHash !== row.txHash) {
          await store.db.auditAnchor.updateMany({ where: { id: row.id }, data: { txHash: job.txHash } });
        }
      }
    }
    return inFlight;
  }
}
