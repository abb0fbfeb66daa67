/**
 * The chain outbox: every registry write is a durable job, recorded before anything is sent and completed
 * exactly once, whatever crashes, restarts, chain outages or concurrent instances happen in between.
 *
 * A job goes `pending` → `sent` → `confirmed`, or `failed` (reverted, or refused by gas estimation).
 * The worker loop:
 *
 *   claim       due jobs get a lease (conditional update on `nextAttemptAt`, so two workers never hold one job)
 *   prepare     calldata + gas estimate; a revert here fails the job before any nonce or gas is spent
 *   sign        ONE database transaction allocates consecutive nonces from `RelayerNonce`, signs, and stores
 *               nonce, txHash and the raw transaction (status `sent`)
 *   broadcast   in nonce order, pipelined (up to `maxInFlight` transactions in flight)
 *   confirm     receipt status 1 → `confirmed`; status 0 → `failed` with the reason
 *   retry       transient errors (chain down, timeouts) → exponential backoff with jitter; never dropped
 *
 * Exactly once: a nonce is only ever allocated in the same database transaction that stores the one
 * transaction signed with it, so each nonce has exactly one signed transaction, forever. After a crash a
 * `sent` job re-broadcasts the very same bytes; the chain dedupes them by hash ("already known", "nonce
 * too low" with a receipt for our hash = success). There are no nonce gaps to fill: a job that fails
 * before signing never took a nonce, and a signed job is never abandoned (it retries until mined). Only
 * when the chain shows its nonce consumed by a transaction that is not ours (someone else used the relayer
 * key) is a job re-signed with a fresh nonce; ours can then never be mined, so it cannot run twice.
 */
import { EventEmitter } from 'node:events';
import { getAddress, type JsonRpcApiProvider, Transaction, type Wallet } from 'ethers';
import { TrustgateError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { EphemeralState } from '../state/types.ts';
import type { ChainJob } from '../store/generated/postgres/client.ts';
import { isUniqueViolation, type Store } from '../store/index.ts';
import { withTimeout } from '../util/timeout.ts';
import { AUDIT_ANCHOR_KIND } from './audit-anchor.ts';
import { chainCallOf, isSignedChainOp, parseChainOp } from './chain-ops.ts';
import { type RegistryOp, verifySignedOp } from './registry-ops.ts';

/** Lifecycle of a chain job. */
export type ChainJobStatus = 'pending' | 'sent' | 'confirmed' | 'failed';

/** A chain job as callers and the API see it (no raw transaction, no signature). */
export interface ChainJobView {
  id: string;
  idempotencyKey: string;
  tenantId: string | null;
  kind: string;
  status: ChainJobStatus;
  chainId: number;
  txHash: string | null;
  nonce: number | null;
  blockNumber: number | null;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string;
  createdAt: string;
  confirmedAt: string | null;
}

/** What the outbox needs of the chain connection. */
export interface OutboxChain {
  readonly chainId: number;
  readonly provider: JsonRpcApiProvider;
  readonly relayer: Wallet;
  readonly registryAddress: string;
  /** The AuditAnchor contract, when audit anchoring is on (jobs of kind `auditAnchor` go there). */
  readonly auditAnchorAddress?: string | undefined;
}

export interface ChainOutboxOptions {
  store: Store;
  chain: OutboxChain;
  log: Logger;
  /** When given, status changes are published on channel `chain.jobs` (and other instances' are heard). */
  state?: EphemeralState;
  /** Transactions in flight at once, with consecutive nonces (default 16). */
  maxInFlight?: number;
  /** How often an idle worker looks for due jobs enqueued elsewhere (default 250 ms). */
  idlePollMs?: number;
  /**
   * How long a sent job is left to the worker that sent it before any worker re-checks it (default 5 s).
   * Only saves duplicate work: re-sending a sent job is harmless (same bytes), so correctness never
   * depends on it, and after a crash its transactions are picked up again within this time.
   */
  leaseMs?: number;
  /** Timeout of each JSON-RPC call (default 10 s). */
  rpcTimeoutMs?: number;
  /** First retry delay; doubles per attempt, with jitter (default 500 ms). */
  backoffBaseMs?: number;
  /** Longest retry delay (default 60 s). */
  backoffMaxMs?: number;
  /** How often an unmined transaction's receipt is polled (default 1 s). */
  receiptPollMs?: number;
}

/** What a caller enqueues: a registry operation (or an audit anchor) under an idempotency key. */
export interface EnqueueInput {
  /** Same key, same job: a retry of the request never writes twice. */
  idempotencyKey: string;
  /** A registry operation kind (`addDelegate`, `setAttributeSigned`, …) or `auditAnchor`. */
  kind: string;
  /** The operation's arguments (validated against the kind's schema). */
  payload: unknown;
  tenantId?: string;
}

/** Channel on which job status changes are published. */
export const CHAIN_JOBS_CHANNEL = 'chain.jobs';

const FINAL: ReadonlySet<string> = new Set(['confirmed', 'failed']);
/** "Ours or someone's with this nonce is already there": decided by looking for our receipt. */
const KNOWN_TX =
  /already known|known transaction|nonce too low|nonce has already been used|already imported|underpriced/i;
/** Hardhat's automine cannot queue a future nonce: an earlier job's transaction is still on its way. */
const NONCE_GAP = /nonce too high/i;
const GAP_RETRY_MS = 100;
/** Estimation reverts while earlier jobs are unconfirmed may depend on them (e.g. a change of owner). */
const MAX_DEFERRED_REVERTS = 5;

interface RpcReceipt {
  status: string;
  blockNumber: string;
}

type Prepared =
  | { job: ChainJob; ok: true; to: string; data: string; gasLimit: bigint }
  | { job: ChainJob; ok: false; revert?: string; error?: unknown };

/** A sent job as held in memory by the worker. */
interface SentJob {
  id: string;
  nonce: bigint;
  txHash: string;
  rawTx: string;
  attempts: number;
}

/** The durable outbox of chain writes, and its worker. */
export class ChainOutbox {
  private readonly store: Store;
  private readonly chain: OutboxChain;
  private readonly log: Logger;
  private readonly state: EphemeralState | undefined;
  private readonly o: Required<Omit<ChainOutboxOptions, 'store' | 'chain' | 'log' | 'state'>>;
  private readonly relayerAddress: string;
  private readonly events = new EventEmitter();
  private readonly inFlight = new Map<string, Promise<void>>();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private nonceRowReady = false;
  private fees: { at: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(options: ChainOutboxOptions) {
    this.store = options.store;
    this.chain = options.chain;
    this.log = options.log.child({ component: 'chain-outbox' });
    this.state = options.state;
    this.o = {
      maxInFlight: options.maxInFlight ?? 16,
      idlePollMs: options.idlePollMs ?? 250,
      leaseMs: options.leaseMs ?? 5_000,
      rpcTimeoutMs: options.rpcTimeoutMs ?? 10_000,
      backoffBaseMs: options.backoffBaseMs ?? 500,
      backoffMaxMs: options.backoffMaxMs ?? 60_000,
      receiptPollMs: options.receiptPollMs ?? 1_000,
    };
    this.relayerAddress = getAddress(this.chain.relayer.address);
    this.events.setMaxListeners(0);
  }

  /**
   * Records a job, or returns the existing job for the same idempotency key (also under concurrency:
   * the key is unique in the database). A signed op is verified against the chain first: a wrong
   * signature or nonce is refused with 400 (`invalid_signature`, `stale_nonce`) and creates nothing.
   * When the chain does not answer, the job is recorded anyway and the worker's gas estimation (which
   * simulates the signature check) refuses a bad one later, still without spending gas.
   */
  async enqueue(input: EnqueueInput): Promise<ChainJobView> {
    const key = input.idempotencyKey;
    if (typeof key !== 'string' || key.length < 1 || key.length > 200) {
      throw new TrustgateError(
        'invalid_request',
        400,
        'Invalid request',
        'The idempotency key must be 1-200 characters.',
      );
    }
    const op = parseChainOp(input.kind, input.payload);
    if (op.kind === AUDIT_ANCHOR_KIND && !this.chain.auditAnchorAddress) {
      throw new TrustgateError(
        'invalid_request',
        400,
        'Invalid request',
        'Audit anchoring is not configured.',
      );
    }
    const payload = JSON.stringify(op.payload);
    const existing = await this.store.db.chainJob.findUnique({ where: { idempotencyKey: key } });
    if (existing) return this.sameJob(existing, op.kind, payload);
    if (isSignedChainOp(op)) await this.verifyOrDefer(op);
    try {
      const job = await this.store.db.chainJob.create({
        data: {
          idempotencyKey: key,
          tenantId: input.tenantId ?? null,
          kind: op.kind,
          payload,
          chainId: this.chain.chainId,
        },
      });
      this.changed(job.id, 'pending');
      return view(job);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const winner = await this.store.db.chainJob.findUnique({ where: { idempotencyKey: key } });
      if (!winner) throw err;
      return this.sameJob(winner, op.kind, payload);
    }
  }

  /** The job with `id`, or null. */
  async get(id: string): Promise<ChainJobView | null> {
    const job = await this.store.db.chainJob.findUnique({ where: { id } });
    return job ? view(job) : null;
  }

  /** The job with idempotency key `key`, or null. */
  async getByKey(key: string): Promise<ChainJobView | null> {
    const job = await this.store.db.chainJob.findUnique({ where: { idempotencyKey: key } });
    return job ? view(job) : null;
  }

  /** Resolves with the job once it is `confirmed` or `failed`; rejects after `timeoutMs`. */
  async waitFor(id: string, timeoutMs: number): Promise<ChainJobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.get(id);
      if (!job) throw new TrustgateError('not_found', 404, 'Not found', `No chain job ${id}.`);
      if (FINAL.has(job.status)) return job;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`chain job ${id} is still ${job.status} after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.events.off(id, done);
          resolve();
        };
        // Local changes wake us at once; the poll covers instances without shared state.
        const timer = setTimeout(done, Math.min(left, 1_000));
        this.events.on(id, done);
      });
    }
  }

  /** Starts the worker loop (idempotent). */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Stops claiming jobs and waits for in-flight ones to reach a resting state. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    this.loop = undefined;
  }

  // ---------------------------------------------------------------------------------------------------
  // Enqueue helpers
  // ---------------------------------------------------------------------------------------------------

  private sameJob(job: ChainJob, kind: string, payload: string): ChainJobView {
    if (job.kind !== kind || job.payload !== payload) {
      throw new TrustgateError(
        'idempotency_key_reused',
        409,
        'Idempotency key reused',
        'This idempotency key was already used for a different chain operation.',
      );
    }
    return view(job);
  }

  private async verifyOrDefer(op: RegistryOp): Promise<void> {
    try {
      await verifySignedOp(this.chain, op, Math.min(this.o.rpcTimeoutMs, 5_000));
    } catch (err) {
      if (err instanceof TrustgateError) throw err;
      this.log.warn(
        { kind: op.kind, err: message(err) },
        'chain unavailable: signature check deferred to the worker',
      );
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Worker
  // ---------------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    if (this.state) {
      this.unsubscribe = await this.state
        .subscribe(CHAIN_JOBS_CHANNEL, (msg) => this.onMessage(msg))
        .catch((err: unknown) => {
          this.log.warn({ err: message(err) }, 'could not subscribe to chain job changes');
          return undefined;
        });
    }
    while (!this.stopping) {
      let claimed = false;
      try {
        claimed = await this.tick();
      } catch (err) {
        this.log.warn({ err: message(err) }, 'chain outbox tick failed');
      }
      // Refill in batches (half the window at a time): one query and one transaction serve many jobs.
      if (!claimed || this.inFlight.size > this.o.maxInFlight / 2) await this.idle(this.o.idlePollMs);
    }
    await Promise.allSettled([...this.inFlight.values()]);
    await this.unsubscribe?.().catch(() => undefined);
  }

  private onMessage(msg: string): void {
    try {
      const { id, status } = JSON.parse(msg) as { id: string; status: string };
      this.events.emit(id);
      if (status === 'pending') this.wake();
    } catch {
      // A malformed message on a shared channel is not ours to act on.
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private wake(): void {
    if (!this.stopping && this.inFlight.size > this.o.maxInFlight / 2) return;
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** One pass: claim due jobs, re-broadcast `sent` ones in nonce order, sign and pipeline new ones. */
  private async tick(): Promise<boolean> {
    const free = this.o.maxInFlight - this.inFlight.size;
    if (free <= 0) return false;
    const now = new Date();
    const due = {
      chainId: this.chain.chainId,
      nextAttemptAt: { lte: now },
      id: { notIn: [...this.inFlight.keys()] },
    };
    const sent = await this.store.db.chainJob.findMany({
      where: { ...due, status: 'sent' },
      orderBy: { nonce: 'asc' },
      take: free,
    });
    const pending =
      sent.length < free
        ? await this.store.db.chainJob.findMany({
            where: { ...due, status: 'pending' },
            orderBy: { createdAt: 'asc' },
            take: free - sent.length,
          })
        : [];
    if (sent.length + pending.length === 0) return false;
    const lease = new Date(now.getTime() + this.o.leaseMs);

    const resend = (await this.claim(sent, lease)).sort((a, b) => Number(a.nonce! - b.nonce!));
    for (let i = 0; i < resend.length; i++) {
      const ok = await this.broadcastAndConfirm(sentJob(resend[i]!), false);
      // The chain is unreachable: do not wait out a timeout for every remaining job.
      if (!ok) {
        await this.retryLater(resend.slice(i + 1), new Error('chain unavailable'));
        break;
      }
    }
    const fresh = pending.length > 0 ? await this.signAndSend(pending, lease) : 0;
    return resend.length + fresh > 0;
  }

  /** Leases `jobs` for this worker: a conditional update, so of two workers exactly one wins each job. */
  private claim(jobs: ChainJob[], lease: Date): Promise<ChainJob[]> {
    // Lock rows in one order across workers (PostgreSQL), so two claiming workers cannot deadlock.
    const ordered = [...jobs].sort((a, b) => (a.id < b.id ? -1 : 1));
    return this.store.tx(async (tx) => {
      const won: ChainJob[] = [];
      for (const job of ordered) {
        const r = await tx.chainJob.updateMany({
          where: { id: job.id, status: job.status, nextAttemptAt: job.nextAttemptAt },
          data: { nextAttemptAt: lease },
        });
        if (r.count === 1) won.push({ ...job, nextAttemptAt: lease });
      }
      return won;
    });
  }

  /**
   * Signs and sends pending jobs. They need no lease: the transaction that gives a job its nonce and
   * raw transaction updates it only if it is still exactly as read (`status` and `nextAttemptAt`), so of
   * two workers racing for a job one signs it; the other's signature never leaves memory.
   * @returns how many jobs this worker signed.
   */
  private async signAndSend(jobs: ChainJob[], lease: Date): Promise<number> {
    let fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
    try {
      fees = await this.feeData();
      await this.ensureNonceRow();
    } catch (err) {
      await this.retryLater(jobs, err);
      return 0;
    }
    const prepared = await Promise.all(jobs.map((job) => this.prepare(job)));
    const ready: Array<Extract<Prepared, { ok: true }>> = [];
    for (const p of prepared) {
      if (p.ok) ready.push(p);
      else if (p.revert !== undefined) await this.refuse(p.job, p.revert);
      else await this.retryLater([p.job], p.error);
    }
    if (ready.length === 0) return 0;

    let signed: SentJob[];
    try {
      signed = await this.store.tx(async (tx) => {
        const where = { chainId_address: { chainId: this.chain.chainId, address: this.relayerAddress } };
        // UPDATE … SET nextNonce = nextNonce + n RETURNING: the row lock serializes instances on
        // PostgreSQL until this transaction ends, so the range cannot be handed out twice.
        const row = await tx.relayerNonce.update({ where, data: { nextNonce: { increment: ready.length } } });
        let nonce = row.nextNonce - BigInt(ready.length);
        const out: SentJob[] = [];
        for (const p of ready) {
          const raw = this.sign(p, nonce, fees);
          // Persisted before the broadcast: after a crash the very same bytes are re-sent, never a second
          // transaction with another nonce.
          const r = await tx.chainJob.updateMany({
            where: { id: p.job.id, status: 'pending', nextAttemptAt: p.job.nextAttemptAt },
            data: {
              status: 'sent',
              nonce,
              txHash: raw.hash,
              rawTx: Buffer.from(raw.serialized.slice(2), 'hex'),
              attempts: { increment: 1 },
              lastError: null,
              nextAttemptAt: lease,
            },
          });
          if (r.count === 0) continue; // another worker got it; this signature is dropped unsent
          out.push({
            id: p.job.id,
            nonce,
            txHash: raw.hash,
            rawTx: raw.serialized,
            attempts: p.job.attempts + 1,
          });
          nonce++;
        }
        const unused = ready.length - out.length;
        if (unused > 0) await tx.relayerNonce.update({ where, data: { nextNonce: { decrement: unused } } });
        return out;
      });
    } catch (err) {
      this.nonceRowReady = false;
      await this.retryLater(
        ready.map((p) => p.job),
        err,
      );
      return 0;
    }
    for (const job of signed) this.changed(job.id, 'sent');
    // Issued synchronously in nonce order; the provider keeps that order, so the chain sees no gaps.
    for (const job of signed)
      this.track(
        job.id,
        this.broadcastAndConfirm(job, true).then(() => undefined),
      );
    return signed.length;
  }

  private track(id: string, work: Promise<void>): void {
    this.inFlight.set(
      id,
      work.finally(() => {
        this.inFlight.delete(id);
        this.wake();
      }),
    );
  }

  private async prepare(job: ChainJob): Promise<Prepared> {
    let to: string;
    let data: string;
    try {
      ({ to, data } = chainCallOf(parseChainOp(job.kind, JSON.parse(job.payload)), this.chain));
    } catch (err) {
      return { job, ok: false, revert: `invalid payload: ${message(err)}` };
    }
    try {
      const estimate = await this.rpc(
        this.chain.provider.estimateGas({ from: this.relayerAddress, to, data }),
      );
      return { job, ok: true, to, data, gasLimit: (estimate * 6n) / 5n + 5_000n };
    } catch (err) {
      const reason = revertReason(err);
      return reason === undefined ? { job, ok: false, error: err } : { job, ok: false, revert: reason };
    }
  }

  /**
   * Gas estimation reverted. When earlier jobs are still unconfirmed the revert may depend on them (a
   * delegate added right after a change of owner to the relayer), so wait a little; otherwise it is
   * final: `failed`, without a nonce and without gas spent.
   */
  private async refuse(job: ChainJob, reason: string): Promise<void> {
    const ahead = await this.store.db.chainJob.count({
      where: { chainId: this.chain.chainId, status: 'sent', createdAt: { lte: job.createdAt } },
    });
    if (ahead > 0 && job.attempts < MAX_DEFERRED_REVERTS) {
      await this.retryLater(
        [job],
        new Error(`reverted in simulation (${reason}); retrying after earlier jobs`),
      );
      return;
    }
    const r = await this.store.db.chainJob.updateMany({
      where: { id: job.id, status: 'pending', nextAttemptAt: job.nextAttemptAt },
      data: { status: 'failed', lastError: `reverted: ${reason}`, attempts: { increment: 1 } },
    });
    if (r.count === 1) {
      this.log.info({ jobId: job.id, kind: job.kind, reason }, 'chain job refused: it would revert');
      this.changed(job.id, 'failed');
    }
  }

  private sign(
    p: Extract<Prepared, { ok: true }>,
    nonce: bigint,
    fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
  ): { hash: string; serialized: string } {
    const tx = Transaction.from({
      type: 2,
      chainId: BigInt(this.chain.chainId),
      nonce: Number(nonce),
      to: p.to,
      data: p.data,
      value: 0n,
      gasLimit: p.gasLimit,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    tx.signature = this.chain.relayer.signingKey.sign(tx.unsignedHash);
    return { hash: tx.hash!, serialized: tx.serialized };
  }

  /**
   * Sends (or re-sends) a signed job and records the outcome. Returns false when the chain did not
   * answer (the job is rescheduled with backoff).
   */
  private async broadcastAndConfirm(job: SentJob, fresh: boolean): Promise<boolean> {
    try {
      let receipt = fresh ? null : await this.receipt(job.txHash);
      if (!receipt && !fresh && (await this.inMempool(job.txHash))) {
        await this.reschedule(job, this.o.receiptPollMs);
        return true;
      }
      if (!receipt) {
        const outcome = await this.broadcast(job);
        if (outcome === 'gap') {
          await this.reschedule(job, GAP_RETRY_MS);
          await this.hurryPredecessors(job);
          return true;
        }
        receipt = await this.receipt(job.txHash);
        if (!receipt && outcome === 'known' && (await this.nonceTakenByAnother(job))) {
          await this.resign(job);
          return true;
        }
      }
      if (!receipt) {
        await this.reschedule(job, this.o.receiptPollMs);
        return true;
      }
      await this.finish(job, receipt);
      return true;
    } catch (err) {
      await this.retryLater(
        [{ id: job.id, status: 'sent', attempts: job.attempts, txHash: job.txHash }],
        err,
      );
      return false;
    }
  }

  private async broadcast(job: SentJob): Promise<'accepted' | 'known' | 'gap'> {
    try {
      await this.rpc(this.chain.provider.send('eth_sendRawTransaction', [job.rawTx]));
      return 'accepted';
    } catch (err) {
      const text = errorText(err);
      if (NONCE_GAP.test(text)) return 'gap';
      if (KNOWN_TX.test(text)) return 'known';
      throw err;
    }
  }

  private async receipt(hash: string): Promise<RpcReceipt | null> {
    return (await this.rpc(
      this.chain.provider.send('eth_getTransactionReceipt', [hash]),
    )) as RpcReceipt | null;
  }

  private async inMempool(hash: string): Promise<boolean> {
    return (await this.rpc(this.chain.provider.send('eth_getTransactionByHash', [hash]))) !== null;
  }

  /** Our transaction is not mined, yet the chain has moved past its nonce: another transaction took it. */
  private async nonceTakenByAnother(job: SentJob): Promise<boolean> {
    const mined = await this.rpc(this.chain.provider.getTransactionCount(this.relayerAddress, 'latest'));
    if (BigInt(mined) <= job.nonce) return false;
    // Re-check: our transaction may have been mined between the receipt lookup and the count.
    return (await this.receipt(job.txHash)) === null;
  }

  private async resign(job: SentJob): Promise<void> {
    this.nonceRowReady = false;
    const r = await this.store.db.chainJob.updateMany({
      where: { id: job.id, status: 'sent', txHash: job.txHash },
      data: {
        status: 'pending',
        nonce: null,
        txHash: null,
        rawTx: null,
        nextAttemptAt: new Date(),
        lastError: `nonce ${job.nonce} was used by another transaction of the relayer; re-signing`,
      },
    });
    if (r.count === 1) {
      this.log.warn(
        { jobId: job.id, nonce: Number(job.nonce) },
        'relayer nonce taken outside the outbox; re-signing',
      );
      this.changed(job.id, 'pending');
    }
  }

  private async finish(job: SentJob, receipt: RpcReceipt): Promise<void> {
    const ok = receipt.status === '0x1';
    const blockNumber = BigInt(receipt.blockNumber);
    const reason = ok ? null : `reverted on chain: ${await this.minedRevertReason(job, blockNumber)}`;
    const r = await this.store.db.chainJob.updateMany({
      where: { id: job.id, status: 'sent', txHash: job.txHash },
      data: ok
        ? { status: 'confirmed', blockNumber, confirmedAt: new Date(), lastError: null }
        : { status: 'failed', blockNumber, lastError: reason },
    });
    if (r.count === 1) {
      if (ok)
        this.log.debug(
          { jobId: job.id, txHash: job.txHash, blockNumber: Number(blockNumber) },
          'chain job confirmed',
        );
      else this.log.warn({ jobId: job.id, txHash: job.txHash, reason }, 'chain job reverted');
      this.changed(job.id, ok ? 'confirmed' : 'failed');
    }
  }

  /** Replays a reverted transaction as a call on the state before its block, to read the reason. */
  private async minedRevertReason(job: SentJob, blockNumber: bigint): Promise<string> {
    const tx = Transaction.from(job.rawTx);
    try {
      await this.rpc(
        this.chain.provider.call({
          from: this.relayerAddress,
          to: tx.to,
          data: tx.data,
          blockTag: Number(blockNumber) - 1,
        }),
      );
      return 'unknown reason';
    } catch (err) {
      return revertReason(err) ?? 'unknown reason';
    }
  }

  /**
   * An earlier nonce is missing on the chain: its job may sit in backoff (say, from an outage that has
   * just ended) and would stall every later one. Make it due now.
   */
  private async hurryPredecessors(job: SentJob): Promise<void> {
    const now = new Date();
    await this.store.db.chainJob.updateMany({
      where: {
        chainId: this.chain.chainId,
        status: 'sent',
        nonce: { lt: job.nonce },
        nextAttemptAt: { gt: new Date(now.getTime() + this.o.leaseMs) },
      },
      data: { nextAttemptAt: now },
    });
  }

  private async reschedule(job: SentJob, delayMs: number): Promise<void> {
    await this.store.db.chainJob.updateMany({
      where: { id: job.id, status: 'sent', txHash: job.txHash },
      data: { nextAttemptAt: new Date(Date.now() + delayMs) },
    });
  }

  /** Transient failure: back off exponentially with jitter; the job is never dropped. */
  private async retryLater(
    jobs: Array<{ id: string; status: string; attempts: number; txHash?: string | null }>,
    err: unknown,
  ): Promise<void> {
    if (jobs.length === 0) return;
    const lastError = message(err).slice(0, 500);
    this.log.warn({ jobs: jobs.length, err: lastError }, 'chain jobs will be retried');
    for (const job of jobs) {
      const attempts = job.attempts + 1;
      const delay = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** Math.min(attempts - 1, 20));
      await this.store.db.chainJob
        .updateMany({
          where: { id: job.id, status: job.status, ...(job.txHash ? { txHash: job.txHash } : {}) },
          data: {
            attempts,
            lastError,
            nextAttemptAt: new Date(Date.now() + delay * (0.5 + Math.random() / 2)),
          },
        })
        .catch((e: unknown) =>
          this.log.warn({ jobId: job.id, err: message(e) }, 'could not reschedule chain job'),
        );
    }
  }

  /**
   * Makes sure the relayer's nonce row exists and is not behind the chain (it can be, when the relayer
   * key was used outside the outbox). It only ever moves forward: every nonce below the chain's count is
   * spent, and every nonce at or above the row's value has never been signed.
   */
  private async ensureNonceRow(): Promise<void> {
    if (this.nonceRowReady) return;
    const where = { chainId: this.chain.chainId, address: this.relayerAddress };
    const onChain = BigInt(
      await this.rpc(this.chain.provider.getTransactionCount(this.relayerAddress, 'pending')),
    );
    const row = await this.store.db.relayerNonce.findUnique({ where: { chainId_address: where } });
    if (!row) {
      try {
        await this.store.db.relayerNonce.create({ data: { ...where, nextNonce: onChain } });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    const bumped = await this.store.db.relayerNonce.updateMany({
      where: { ...where, nextNonce: { lt: onChain } },
      data: { nextNonce: onChain },
    });
    if (bumped.count > 0)
      this.log.warn({ nonce: Number(onChain) }, 'relayer nonce moved forward to the chain');
    this.nonceRowReady = true;
  }

  private async feeData(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    if (this.fees && Date.now() - this.fees.at < 5_000) return this.fees;
    const data = await this.rpc(this.chain.provider.getFeeData());
    const maxPriorityFeePerGas = data.maxPriorityFeePerGas ?? 1_000_000_000n;
    const maxFeePerGas = data.maxFeePerGas ?? (data.gasPrice ?? 1_000_000_000n) * 2n;
    this.fees = { at: Date.now(), maxFeePerGas, maxPriorityFeePerGas };
    return this.fees;
  }

  private rpc<T>(p: Promise<T>): Promise<T> {
    return withTimeout(p, this.o.rpcTimeoutMs, `the chain did not answer within ${this.o.rpcTimeoutMs} ms`);
  }

  private changed(id: string, status: ChainJobStatus): void {
    this.events.emit(id);
    if (status === 'pending') this.wake();
    this.state
      ?.publish(CHAIN_JOBS_CHANNEL, JSON.stringify({ id, status }))
      .catch((err: unknown) => this.log.debug({ err: message(err) }, 'could not publish a chain job change'));
  }
}

function sentJob(job: ChainJob): SentJob {
  return {
    id: job.id,
    nonce: job.nonce!,
    txHash: job.txHash!,
    rawTx: `0x${Buffer.from(job.rawTx!).toString('hex')}`,
    attempts: job.attempts,
  };
}

/** The job as callers see it. */
export function view(job: ChainJob): ChainJobView {
  return {
    id: job.id,
    idempotencyKey: job.idempotencyKey,
    tenantId: job.tenantId,
    kind: job.kind,
    status: job.status as ChainJobStatus,
    chainId: job.chainId,
    txHash: job.txHash,
    nonce: job.nonce === null ? null : Number(job.nonce),
    blockNumber: job.blockNumber === null ? null : Number(job.blockNumber),
    attempts: job.attempts,
    lastError: job.lastError,
    nextAttemptAt: job.nextAttemptAt.toISOString(),
    createdAt: job.createdAt.toISOString(),
    confirmedAt: job.confirmedAt?.toISOString() ?? null,
  };
}

function message(err: unknown): string {
  return err instanceof Error
    ? ((err as { shortMessage?: string }).shortMessage ?? err.message)
    : String(err);
}

/** The whole error text, including nested JSON-RPC errors ethers wraps. */
function errorText(err: unknown): string {
  const e = err as {
    message?: string;
    error?: { message?: string };
    info?: { error?: { message?: string } };
  };
  return [e?.message, e?.error?.message, e?.info?.error?.message].filter(Boolean).join(' | ');
}

/** The revert reason when `err` is an execution revert; undefined for transport errors. */
function revertReason(err: unknown): string | undefined {
  const e = err as { code?: string; reason?: string | null; shortMessage?: string };
  if (e?.code === 'CALL_EXCEPTION') return e.reason ?? e.shortMessage ?? 'execution reverted';
  const text = errorText(err);
  const m = /reverted with reason string '([^']*)'/.exec(text);
  if (m) return m[1];
  if (/execution reverted|VM Exception|revert/i.test(text)) return 'execution reverted';
  return undefined;
}
