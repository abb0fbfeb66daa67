import { deliver, reportToConsole, type StateErrorReporter } from './deliver.ts';
import { toDurationMs, toEpochMs } from './durations.ts';
import type { EphemeralState } from './types.ts';

/** Options for the in-process state. */
export interface MemoryStateOptions {
  /** Clock in epoch milliseconds; inject one to make expiry deterministic in tests. Default `Date.now`. */
  now?: () => number;
  /** How often expired entries are swept in the background. Default 30 s. */
  sweepIntervalMs?: number;
  /** Receives errors thrown by subscribers. Default: one line on stderr. */
  onError?: StateErrorReporter;
}

type Entry =
  | { kind: 'value'; value: string; expiresAtMs: number }
  | { kind: 'hits'; hits: number[]; expiresAtMs: number };

interface Subscription {
  readonly handler: (message: string) => void;
  active: boolean;
}

const WRONG_TYPE = 'WRONGTYPE key holds a sliding-window hit log, not a value';

/**
 * Ephemeral state inside this process: the embedded default, correct for exactly one instance.
 * Expired entries are dropped when touched and by a periodic sweep whose timer never keeps the process
 * alive.
 */
export class MemoryState implements EphemeralState {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #channels = new Map<string, Set<Subscription>>();
  readonly #now: () => number;
  readonly #onError: StateErrorReporter;
  readonly #sweepTimer: NodeJS.Timeout;
  #closed = false;

  constructor(options: MemoryStateOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? reportToConsole;
    const sweepIntervalMs = toDurationMs('sweepIntervalMs', options.sweepIntervalMs ?? 30_000);
    this.#sweepTimer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /** Number of stored entries, including expired ones not yet swept. For tests and metrics. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Drops every expired entry now.
   * @returns how many entries were dropped.
   */
  sweep(): number {
    const now = this.#now();
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAtMs <= now) {
        this.#entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  async get(key: string): Promise<string | null> {
    this.#assertOpen();
    return this.#value(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#assertOpen();
    const ttl = toDurationMs('ttlMs', ttlMs);
    this.#entries.set(key, { kind: 'value', value, expiresAtMs: this.#now() + ttl });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.#assertOpen();
    const ttl = toDurationMs('ttlMs', ttlMs);
    if (this.#live(key)) return false;
    this.#entries.set(key, { kind: 'value', value, expiresAtMs: this.#now() + ttl });
    return true;
  }

  async take(key: string): Promise<string | null> {
    this.#assertOpen();
    const value = this.#value(key);
    if (value !== null) this.#entries.delete(key);
    return value;
  }

  async delete(key: string): Promise<boolean> {
    this.#assertOpen();
    const existed = this.#live(key) !== undefined;
    this.#entries.delete(key);
    return existed;
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetAtMs: number }> {
    this.#assertOpen();
    const window = toDurationMs('windowMs', windowMs);
    const entry = this.#live(key);
    if (!entry) {
      const created = { kind: 'value', value: '1', expiresAtMs: this.#now() + window } as const;
      this.#entries.set(key, created);
      return { count: 1, resetAtMs: created.expiresAtMs };
    }
    if (entry.kind !== 'value') throw new Error(WRONG_TYPE);
    if (!/^-?\d+$/.test(entry.value)) throw new Error('ERR value is not an integer or out of range');
    // Keep expiresAtMs: a fixed window must not slide forward with each hit.
    const count = Number(entry.value) + 1;
    entry.value = String(count);
    return { count, resetAtMs: entry.expiresAtMs };
  }

  async countHits(key: string, windowMs: number, nowMs?: number): Promise<number> {
    this.#assertOpen();
    const window = toDurationMs('windowMs', windowMs);
    const at = nowMs === undefined ? this.#now() : toEpochMs('nowMs', nowMs);
    const entry = this.#live(key);
    if (!entry) return 0;
    if (entry.kind !== 'hits') throw new Error(WRONG_TYPE);
    return entry.hits.filter((t) => t > at - window && t <= at).length;
  }

  async hit(key: string, windowMs: number, nowMs?: number): Promise<number> {
    this.#assertOpen();
    const window = toDurationMs('windowMs', windowMs);
    const at = nowMs === undefined ? this.#now() : toEpochMs('nowMs', nowMs);
    const entry = this.#live(key);
    if (entry && entry.kind !== 'hits') throw new Error(WRONG_TYPE);
    const hits = entry ? entry.hits.filter((t) => t > at - window) : [];
    hits.push(at);
    // Like Redis PEXPIRE, the log's lifetime is measured on the store's clock, not the hit's timestamp.
    this.#entries.set(key, { kind: 'hits', hits, expiresAtMs: this.#now() + window });
    return hits.length;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    const subscriptions = this.#channels.get(channel);
    if (!subscriptions || subscriptions.size === 0) return;
    // Snapshot now (a later subscriber must not see an earlier message) but deliver on a later turn,
    // as a network round trip would, so no caller ever depends on synchronous delivery.
    const recipients = [...subscriptions];
    setImmediate(() => {
      const handlers = recipients.filter((s) => s.active).map((s) => s.handler);
      deliver(handlers, channel, message, this.#onError);
    });
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    this.#assertOpen();
    const subscription: Subscription = { handler, active: true };
    let subscriptions = this.#channels.get(channel);
    if (!subscriptions) {
      subscriptions = new Set();
      this.#channels.set(channel, subscriptions);
    }
    subscriptions.add(subscription);
    return async () => {
      subscription.active = false;
      const current = this.#channels.get(channel);
      if (!current) return;
      current.delete(subscription);
      if (current.size === 0) this.#channels.delete(channel);
    };
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    for (const subscriptions of this.#channels.values()) {
      for (const subscription of subscriptions) subscription.active = false;
    }
    this.#channels.clear();
    this.#entries.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('Ephemeral state is closed');
  }

  /** The entry if present and unexpired; an expired one is dropped on the way. */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #value(key: string): string | null {
    const entry = this.#live(key);
    if (!entry) return null;
    if (entry.kind !== 'value') throw new Error(WRONG_TYPE);
    return entry.value;
  }
}

/** Creates the in-process state. */
export function createMemoryState(options: MemoryStateOptions = {}): MemoryState {
  return new MemoryState(options);
}
