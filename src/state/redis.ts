import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deliver, reportToConsole, type StateErrorReporter } from './deliver.ts';
import { toDurationMs, toEpochMs } from './durations.ts';
import type { EphemeralState } from './types.ts';

/** Options for the Redis-backed state. */
export interface RedisStateOptions {
  /** `redis://` or `rediss://` URL, with credentials and database if needed. */
  url: string;
  /** Prepended to every key and channel so deployments and test runs can share one Redis. Default `tg:`. */
  prefix?: string;
  /** Bound on connecting, at startup and on each reconnect attempt. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** Bound on any single command, including time spent queued while reconnecting. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** Bound on `ping()`, which `/readyz` calls. Default 1000 ms. */
  pingTimeoutMs?: number;
  /** Receives connection errors after startup and errors thrown by subscribers. Default: stderr. */
  onError?: StateErrorReporter;
}

/** The default key and channel prefix. */
export const DEFAULT_REDIS_PREFIX = 'tg:';

// INCR and the TTL in one script, so no crash or lost reply between the steps can leave a counter
// without a TTL (a rate limit that never resets). A counter found without a TTL is repaired, too.
const INCREMENT_LUA = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

// With no caller time, use the server clock so every instance measures the window the same way.
// Epoch milliseconds have 13 digits, which Lua's %.14g number formatting passes through exactly.
const HIT_LUA = `
local window = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
redis.call('PEXPIRE', KEYS[1], window)
return count
`;

const COUNT_HITS_LUA = `
local window = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
return redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), now)
`;

/** The commands registered with `defineCommand`, which ioredis cannot type. */
interface StateScripts {
  tgCountHits(key: string, windowMs: number, nowMs: string): Promise<number>;
  tgIncrement(key: string, windowMs: number): Promise<[number, number]>;
  tgHit(key: string, windowMs: number, nowMs: string, member: string): Promise<number>;
}

interface Subscription {
  readonly handler: (message: string) => void;
  active: boolean;
}

interface Channel {
  readonly subscriptions: Set<Subscription>;
  /** Settles when the server has confirmed SUBSCRIBE for this channel. */
  readonly ready: Promise<void>;
}

/**
 * Ephemeral state in Redis, shared by every instance using the same URL and prefix. Commands go over one
 * connection; subscriptions over a second, opened on first use, because a subscribed connection is
 * reserved for pub/sub. A down Redis makes calls fail within `commandTimeoutMs` instead of hanging.
 */
export class RedisState implements EphemeralState {
  readonly kind = 'redis' as const;
  /** The namespace applied to every key and channel. */
  readonly prefix: string;
  readonly #url: string;
  readonly #client: Redis;
  readonly #scripts: StateScripts;
  readonly #connectTimeoutMs: number;
  readonly #pingTimeoutMs: number;
  readonly #onError: StateErrorReporter;
  readonly #channels = new Map<string, Channel>();
  #subscriber: Redis | undefined;
  #subscriberReady: Promise<Redis> | undefined;
  #started = false;
  #startupError: unknown;
  #closed = false;

  /** Prefer `createRedisState`, which also connects and reports an unreachable server clearly. */
  constructor(options: RedisStateOptions) {
    this.#url = checkRedisUrl(options.url);
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.#connectTimeoutMs = toDurationMs('connectTimeoutMs', options.connectTimeoutMs ?? 3000);
    this.#pingTimeoutMs = toDurationMs('pingTimeoutMs', options.pingTimeoutMs ?? 1000);
    this.#onError = options.onError ?? reportToConsole;
    this.#client = new Redis(this.#url, {
      lazyConnect: true,
      connectionName: 'trustgate-state',
      connectTimeout: this.#connectTimeoutMs,
      commandTimeout: toDurationMs('commandTimeoutMs', options.commandTimeoutMs ?? 2000),
      // Keep the offline queue so a command issued during a brief reconnect waits for it, but only for
      // two attempts (and commandTimeout): a Redis that stays down fails requests fast.
      enableOfflineQueue: true,
      maxRetriesPerRequest: 2,
      // Back off to at most ~1 s (ioredis: 5 s) so rate limits and revocation fan-out resume within about
      // a second of Redis coming back.
      retryStrategy: (attempt) => Math.min(50 * 2 ** (attempt - 1), 1000) + Math.floor(Math.random() * 100),
    });
    this.#client.on('error', (error: unknown) => this.#connectionError(error, 'redis connection'));
    this.#client.defineCommand('tgIncrement', { numberOfKeys: 1, lua: INCREMENT_LUA });
    this.#client.defineCommand('tgHit', { numberOfKeys: 1, lua: HIT_LUA });
    this.#client.defineCommand('tgCountHits', { numberOfKeys: 1, lua: COUNT_HITS_LUA });
    this.#scripts = this.#client as unknown as StateScripts;
  }

  /**
   * Opens the command connection. Rejects, and stops reconnecting, if Redis does not answer within
   * `connectTimeoutMs`, with a message naming the URL (password masked).
   */
  async connect(): Promise<void> {
    try {
      await withTimeout(this.#client.connect(), this.#connectTimeoutMs, 'no answer');
      this.#started = true;
    } catch (error) {
      this.#client.disconnect();
      const cause = this.#startupError ?? error;
      throw new Error(`Redis at ${maskRedisUrl(this.#url)} is unreachable: ${messageOf(cause)}`, { cause });
    }
  }

  async get(key: string): Promise<string | null> {
    this.#assertOpen();
    return this.#client.get(this.prefix + key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#assertOpen();
    await this.#client.set(this.prefix + key, value, 'PX', toDurationMs('ttlMs', ttlMs));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.#assertOpen();
    const reply = await this.#client.set(this.prefix + key, value, 'PX', toDurationMs('ttlMs', ttlMs), 'NX');
    return reply === 'OK';
  }

  async take(key: string): Promise<string | null> {
    this.#assertOpen();
    return this.#client.getdel(this.prefix + key);
  }

  async delete(key: string): Promise<boolean> {
    this.#assertOpen();
    return (await this.#client.del(this.prefix + key)) > 0;
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetAtMs: number }> {
    this.#assertOpen();
    const [count, ttlMs] = await this.#scripts.tgIncrement(
      this.prefix + key,
      toDurationMs('windowMs', windowMs),
    );
    return { count, resetAtMs: Date.now() + ttlMs };
  }

  async hit(key: string, windowMs: number, nowMs?: number): Promise<number> {
    this.#assertOpen();
    const window = toDurationMs('windowMs', windowMs);
    const at = nowMs === undefined ? '' : String(toEpochMs('nowMs', nowMs));
    // A unique member per hit: the score alone would merge hits in the same millisecond.
    return this.#scripts.tgHit(this.prefix + key, window, at, randomUUID());
  }

  async countHits(key: string, windowMs: number, nowMs?: number): Promise<number> {
    this.#assertOpen();
    const window = toDurationMs('windowMs', windowMs);
    const at = nowMs === undefined ? '' : String(toEpochMs('nowMs', nowMs));
    return this.#scripts.tgCountHits(this.prefix + key, window, at);
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    await this.#client.publish(this.prefix + channel, message);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    this.#assertOpen();
    const name = this.prefix + channel;
    let entry = this.#channels.get(name);
    if (!entry) {
      const ready = this.#subscriberConnection().then(async (subscriber) => {
        await subscriber.subscribe(name);
      });
      entry = { subscriptions: new Set(), ready };
      this.#channels.set(name, entry);
    }
    const subscription: Subscription = { handler, active: true };
    entry.subscriptions.add(subscription);
    try {
      await entry.ready;
    } catch (error) {
      subscription.active = false;
      entry.subscriptions.delete(subscription);
      // Forget the failed channel so the next subscribe retries instead of awaiting this failure.
      if (this.#channels.get(name) === entry) this.#channels.delete(name);
      throw error;
    }
    const subscribed = entry;
    return async () => {
      if (!subscription.active) return;
      subscription.active = false;
      subscribed.subscriptions.delete(subscription);
      if (subscribed.subscriptions.size > 0 || this.#channels.get(name) !== subscribed) return;
      this.#channels.delete(name);
      if (this.#closed) return;
      // Chained on the same promise as SUBSCRIBE, so the server sees both in the order they happened here.
      await this.#subscriberConnection().then(async (subscriber) => {
        await subscriber.unsubscribe(name);
      });
    };
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    // Readiness must reflect an outage at once, not after the offline queue's retries give up.
    const status = this.#client.status;
    if (status !== 'ready')
      throw new Error(`Redis at ${maskRedisUrl(this.#url)} is not connected (${status})`);
    await withTimeout(this.#client.ping(), this.#pingTimeoutMs, 'no answer to PING');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of this.#channels.values()) {
      for (const subscription of entry.subscriptions) subscription.active = false;
    }
    this.#channels.clear();
    const connections = [this.#client, this.#subscriber].filter((c) => c !== undefined);
    await Promise.all(connections.map((connection) => quit(connection)));
  }

  /**
   * The subscription connection, opened once. Returns the same promise object to every caller so that
   * callbacks chained on it (SUBSCRIBE, UNSUBSCRIBE) run in the order they were chained.
   */
  #subscriberConnection(): Promise<Redis> {
    if (this.#subscriberReady) return this.#subscriberReady;
    const subscriber = this.#client.duplicate({ lazyConnect: true, connectionName: 'trustgate-state-sub' });
    subscriber.on('error', (error: unknown) => this.#connectionError(error, 'redis subscriber connection'));
    subscriber.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    this.#subscriber = subscriber;
    this.#subscriberReady = subscriber.connect().then(
      () => subscriber,
      (error: unknown) => {
        subscriber.disconnect();
        this.#subscriber = undefined;
        this.#subscriberReady = undefined;
        throw new Error(`Redis at ${maskRedisUrl(this.#url)} refused a subscription connection`, {
          cause: error,
        });
      },
    );
    return this.#subscriberReady;
  }

  #onMessage(channel: string, message: string): void {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    const handlers = [...entry.subscriptions].filter((s) => s.active).map((s) => s.handler);
    deliver(handlers, channel.slice(this.prefix.length), message, this.#onError);
  }

  #connectionError(error: unknown, context: string): void {
    // Before startup succeeds the error becomes part of the thrown message instead of a log line.
    if (!this.#started) {
      this.#startupError ??= error;
      return;
    }
    if (!this.#closed) this.#onError(error, context);
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('Ephemeral state is closed');
  }
}

/**
 * Connects to Redis and returns the state.
 * @throws Error `Redis at <url, password masked> is unreachable: <reason>` when Redis does not answer
 *   within `connectTimeoutMs`.
 */
export async function createRedisState(options: RedisStateOptions): Promise<RedisState> {
  const state = new RedisState(options);
  await state.connect();
  return state;
}

/** The URL with any password replaced by `***`, safe for logs and error messages. */
export function maskRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}

function checkRedisUrl(url: string): string {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    // Never echo the input: an unparseable URL may still contain a password.
    throw new Error('Redis URL is not a valid URL (expected redis://host:port or rediss://host:port)');
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new Error(`Redis URL must start with redis:// or rediss://, got ${protocol}//`);
  }
  return url;
}

async function quit(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  try {
    await withTimeout(connection.quit(), 1000, 'no answer to QUIT');
  } catch {
    connection.disconnect();
  }
}

/** Rejects with `Error(reason)` if `promise` has not settled within `ms`; the timer never outlives it. */
async function withTimeout<T>(promise: Promise<T>, ms: number, reason: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${reason} within ${ms} ms`)), ms);
  });
  // The losing promise may still reject later; that outcome is already decided and must not go unhandled.
  promise.catch(() => {});
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
