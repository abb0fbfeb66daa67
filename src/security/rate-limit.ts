/**
 * Rate limits in the shared state, so they hold across every instance: a sliding window per key.
 * Exceeding one answers 429 with `Retry-After` (the window length: the earliest moment the oldest
 * counted hit can have left it).
 */
import { TrustgateError } from '../errors.ts';
import type { EphemeralState } from '../state/types.ts';

export class TooManyRequestsError extends TrustgateError {
  constructor(retryAfterS: number, detail = 'Too many attempts. Wait a moment and try again.') {
    super('too_many_requests', 429, 'Too many requests', detail, {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterS))) },
    });
  }
}

export interface Limit {
  /** Hits allowed in the window. */
  max: number;
  windowMs: number;
}

export class RateLimiter {
  constructor(private readonly state: EphemeralState) {}

  /** Counts one hit on `key`; throws 429 once the window holds more than `limit.max`. */
  async consume(key: string, limit: Limit): Promise<void> {
    if (limit.max <= 0) return;
    const hits = await this.state.hit(`ratelimit:${key}`, limit.windowMs);
    if (hits > limit.max) throw new TooManyRequestsError(limit.windowMs / 1000);
  }
}
