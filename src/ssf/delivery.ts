/**
 * Push delivery of Security Event Tokens (RFC 8935). Each SET is a row (`SsfDelivery`, unique `jti`)
 * written when the event happens; this worker sends due rows and retries with backoff, so a receiver
 * that is down, a crash or a restart loses nothing, and any instance may send any row.
 *
 *   claim       compare-and-set on `nextAttemptAt` (two workers never send one row at once)
 *   send        POST `application/secevent+jwt`, the receiver's Authorization header if it gave one,
 *               through the SSRF guard (private addresses only as OIDC_ALLOW_PRIVATE_CALLBACKS allows)
 *   202         delivered (RFC 8935 §2.2)
 *   400         the receiver rejected the SET (§2.3 error codes): failed, not retried
 *   otherwise   retried with exponential backoff until MAX_ATTEMPTS
 */
import type { Logger } from '../log.ts';
import { type SafeFetchOptions, type SafeResponse, safeFetch } from '../net/safe-fetch.ts';
import { describeDeliveryError } from '../oidc/revocation.ts';
import { isUniqueViolation, type Store } from '../store/index.ts';
import { PollingWorker } from '../util/polling-worker.ts';
import { SET_MEDIA_TYPE } from './events.ts';
import type { SsfStreams } from './streams.ts';

/** Attempts before a SET is given up (about a day of backoff). */
export const MAX_ATTEMPTS = 12;
const BATCH = 20;

/** A signed SET for one stream, ready to queue. */
export interface QueuedSet {
  tenantId: string;
  streamId: string;
  jti: string;
  token: string;
}

export type PushFetch = (url: string, options: SafeFetchOptions) => Promise<SafeResponse>;

export class SsfPush {
  constructor(
    private readonly deps: {
      store: Store;
      streams: SsfStreams;
      log: Logger;
      /** OIDC_ALLOW_PRIVATE_CALLBACKS: endpoints on loopback and private addresses are reachable. */
      allowPrivate: boolean;
      pollMs?: number;
      backoffBaseMs?: number;
      timeoutMs?: number;
      fetch?: PushFetch;
    },
  ) {
    this.worker = new PollingWorker(() => this.round(), {
      pollMs: deps.pollMs ?? 1_000,
      log: deps.log,
      name: 'Shared Signals push',
    });
  }

  private readonly worker: PollingWorker;

  /** Queues SETs (a `jti` already queued is skipped: re-running a change queues nothing twice). */
  async queue(sets: QueuedSet[]): Promise<number> {
    let queued = 0;
    for (const set of sets) {
      const exists = await this.deps.store.db.ssfDelivery.findUnique({
        where: { jti: set.jti },
        select: { id: true },
      });
      if (exists) continue;
      try {
        await this.deps.store.db.ssfDelivery.create({ data: set });
        queued++;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    if (queued > 0) this.kick();
    return queued;
  }

  start(): void {
    this.worker.start();
  }

  /** Runs a delivery round soon (after SETs were queued, here or on another instance). */
  kick(): void {
    this.worker.kick();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  /** One round: claims due SETs and pushes them; answers how many were delivered. */
  async round(): Promise<number> {
    const db = this.deps.store.db;
    const due = await db.ssfDelivery.findMany({
      where: { status: 'pending', nextAttemptAt: { lte: new Date() } },
      orderBy: { nextAttemptAt: 'asc' },
      take: BATCH,
    });
    let delivered = 0;
    for (const row of due) {
      const base = this.deps.backoffBaseMs ?? 2_000;
      const backoffMs = Math.min(2 ** row.attempts * base, 3_600_000);
      const claimed = await db.ssfDelivery.updateMany({
        where: { id: row.id, status: 'pending', nextAttemptAt: row.nextAttemptAt },
        data: { nextAttemptAt: new Date(Date.now() + backoffMs), attempts: { increment: 1 } },
      });
      if (claimed.count !== 1) continue;
      const outcome = await this.send(row.streamId, row.tenantId, row.token).catch(
        (err: unknown): SendOutcome => ({ kind: 'retry', error: describeDeliveryError(err) }),
      );
      const giveUp = outcome.kind === 'retry' && row.attempts + 1 >= MAX_ATTEMPTS;
      if (outcome.kind === 'delivered') delivered++;
      await db.ssfDelivery.update({
        where: { id: row.id },
        data:
          outcome.kind === 'delivered'
            ? { status: 'delivered', deliveredAt: new Date(), lastError: null }
            : {
                lastError: outcome.error,
                ...(outcome.kind === 'rejected' || giveUp ? { status: 'failed' } : {}),
              },
      });
      if (outcome.kind !== 'delivered') {
        this.deps.log.warn(
          { streamId: row.streamId, jti: row.jti, attempts: row.attempts + 1, outcome: outcome.kind, giveUp },
          'Shared Signals push failed',
        );
      }
    }
    return delivered;
  }

  private async send(streamId: string, tenantId: string, token: string): Promise<SendOutcome> {
    const stream = await this.deps.store.db.ssfStream.findFirst({ where: { id: streamId, tenantId } });
    if (stream?.status !== 'enabled') {
      return { kind: 'rejected', error: 'the stream is gone or not enabled' };
    }
    const url = new URL(stream.endpointUrl);
    const authorization = this.deps.streams.authorizationOf(stream);
    const res = await (this.deps.fetch ?? safeFetch)(url.href, {
      method: 'POST',
      headers: {
        'content-type': SET_MEDIA_TYPE,
        accept: 'application/json',
        ...(authorization ? { authorization } : {}),
      },
      body: token,
      timeoutMs: this.deps.timeoutMs ?? 5_000,
      maxBytes: 16 * 1024,
      // The same allowance as back-channel logout: only where private callbacks are allowed.
      ...(this.deps.allowPrivate ? { allowHosts: [url.host] } : {}),
    });
    if (res.status === 202) return { kind: 'delivered' };
    const detail = errorOf(res);
    if (res.status === 400) return { kind: 'rejected', error: `rejected: ${detail}` };
    return { kind: 'retry', error: `HTTP ${res.status}${detail ? `: ${detail}` : ''}` };
  }
}

type SendOutcome =
  | { kind: 'delivered' }
  | { kind: 'rejected'; error: string }
  | { kind: 'retry'; error: string };

/** The receiver's RFC 8935 §2.3 error (`err`, `description`), shortened for the row and the log. */
function errorOf(res: SafeResponse): string {
  try {
    const body = res.json() as { err?: unknown; description?: unknown };
    return [body.err, body.description]
      .filter((v) => typeof v === 'string')
      .join(': ')
      .slice(0, 300);
  } catch {
    return '';
  }
}
