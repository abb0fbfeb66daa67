import type { StateErrorReporter } from './deliver.ts';
import { createMemoryState } from './memory.ts';
import { createRedisState } from './redis.ts';
import type { EphemeralState } from './types.ts';

export type { StateErrorReporter } from './deliver.ts';
export type { MemoryStateOptions } from './memory.ts';
export { MemoryState } from './memory.ts';
export type { RedisStateOptions } from './redis.ts';
export { DEFAULT_REDIS_PREFIX, maskRedisUrl, RedisState } from './redis.ts';
export type { EphemeralState } from './types.ts';

/** Options for `createState`. */
export interface StateOptions {
  /** `REDIS_URL`. When set, state lives in Redis (needed for more than one instance); else in process. */
  redisUrl?: string | undefined;
  /** Redis key and channel prefix. Default `tg:`. Ignored in memory. */
  prefix?: string | undefined;
  /** Receives subscriber and background connection errors. Default: stderr. */
  onError?: StateErrorReporter | undefined;
}

/**
 * Opens the ephemeral state: Redis when `redisUrl` is given, otherwise in process.
 * @throws when Redis is configured but unreachable, so a misconfigured instance refuses to start rather
 *   than silently falling back to per-process state that other instances cannot see.
 */
export async function createState(options: StateOptions = {}): Promise<EphemeralState> {
  const { redisUrl, prefix, onError } = options;
  if (redisUrl) {
    return createRedisState({ url: redisUrl, prefix, onError });
  }
  return createMemoryState({ onError });
}
