/**
 * Checks a TTL or window length and returns it as whole milliseconds, rounding fractions up so a
 * requested lifetime is never shortened. Rejects zero, negative and non-finite values: Redis would
 * refuse them, and a silent "no TTL" would let a challenge or counter live forever.
 */
export function toDurationMs(name: string, ms: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${String(ms)}`);
  }
  return Math.ceil(ms);
}

/**
 * Checks a caller-supplied timestamp and floors it to whole milliseconds, the resolution both backends
 * store (Redis sorted-set scores pass through Lua numbers, where fractions would be formatted lossily).
 */
export function toEpochMs(name: string, ms: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`${name} must be a non-negative epoch time in milliseconds, got ${String(ms)}`);
  }
  return Math.floor(ms);
}
