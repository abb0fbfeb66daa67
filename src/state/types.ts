/**
 * Ephemeral state shared by every Trustgate instance: one-time challenges, rate-limit counters and the
 * revocation fan-out. Nothing here is durable; a value may vanish at its TTL or when the backend restarts.
 *
 * Two implementations honour the same contract (`test/state/state-contract.ts`): in process
 * (`memory`, the embedded default) and Redis (`redis`, required for more than one instance).
 * Keys and channels are plain strings; implementations namespace them (Redis adds a prefix).
 */
export interface EphemeralState {
  /** Which backend this is, for `/readyz` and logs. */
  readonly kind: 'memory' | 'redis';

  /**
   * Reads a value.
   * @returns the value, or `null` when the key is absent or its TTL has passed.
   */
  get(key: string): Promise<string | null>;

  /**
   * Stores a value, replacing any previous value and TTL.
   * @param ttlMs time to live in milliseconds; must be a positive finite number (fractions round up).
   */
  set(key: string, value: string, ttlMs: number): Promise<void>;

  /**
   * Stores a value only when the key is absent (or expired). Atomic: of any number of concurrent callers
   * on any instance, exactly one wins.
   * @returns `true` when this call stored the value, `false` when the key already held one.
   */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;

  /**
   * Reads and deletes a value in one atomic step, so a one-time challenge is consumed exactly once even
   * when concurrent callers race for it.
   * @returns the value for exactly one caller; `null` for everyone else and for absent or expired keys.
   */
  take(key: string): Promise<string | null>;

  /**
   * Deletes a key of any kind (value, counter or hit log).
   * @returns `true` when a live key was deleted.
   */
  delete(key: string): Promise<boolean>;

  /**
   * Counts one hit in a fixed window. The first hit creates the counter with a TTL of `windowMs`; later
   * hits never extend it, so the window resets at a fixed time however busy the key is. Atomic: concurrent
   * callers each see a distinct count.
   * @returns the count including this hit, and when the window ends (epoch milliseconds, local clock).
   */
  increment(key: string, windowMs: number): Promise<{ count: number; resetAtMs: number }>;

  /**
   * Records one hit in a sliding window and counts the hits in the last `windowMs`, this one included.
   * Hits at the same millisecond all count. Atomic per call.
   * @param nowMs the hit's time in epoch milliseconds; defaults to the backend's clock (the Redis server's
   *   clock for Redis, so instances with skewed clocks agree).
   * @returns the number of hits with time in `(now - windowMs, now]`.
   */
  hit(key: string, windowMs: number, nowMs?: number): Promise<number>;

  /**
   * Counts the hits of a sliding-window log (`hit`) in `(now - windowMs, now]` without recording one.
   * @returns 0 for an absent key.
   */
  countHits(key: string, windowMs: number, nowMs?: number): Promise<number>;

  /**
   * Sends a message to every current subscriber of `channel`: on every instance sharing the backend
   * (Redis) or in this process (memory). Delivery is asynchronous and at most once; a subscriber that is
   * disconnected at the time misses the message, so durable work belongs in an outbox, not here.
   */
  publish(channel: string, message: string): Promise<void>;

  /**
   * Calls `handler` for each message later published to `channel`, asynchronously and never inside
   * `publish`. Resolves once the subscription is active, so a message published after it resolves is
   * delivered. A handler that throws (or rejects) is reported and does not affect other handlers or the
   * connection. Subscribing the same function twice delivers twice.
   * @returns a function that ends this subscription (and only this one).
   */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;

  /** Checks that the backend answers; rejects promptly (within about a second) when it does not. */
  ping(): Promise<void>;

  /** Releases connections, timers and subscriptions. Idempotent; other calls reject afterwards. */
  close(): Promise<void>;
}
