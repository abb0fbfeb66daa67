import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createState } from '../../src/state/index.ts';
import { MemoryState } from '../../src/state/memory.ts';
import { createRedisState, RedisState } from '../../src/state/redis.ts';
import type { EphemeralState } from '../../src/state/types.ts';
import { describeStateContract } from './state-contract.ts';

const redisUrl = process.env.TEST_REDIS_URL;
/** Unique per run so parallel runs and other deployments on the same Redis never collide. */
const runPrefix = `tg-test-${randomUUID().slice(0, 8)}`;

describeStateContract('memory', {
  create: async (onError) => new MemoryState({ onError }),
  peer: async (state) => state,
});

if (!redisUrl) {
  it.skip('Redis suite skipped: TEST_REDIS_URL not set', () => {});
} else {
  let instance = 0;
  describeStateContract('redis', {
    create: (onError) => createRedisState({ url: redisUrl, prefix: `${runPrefix}-${++instance}:`, onError }),
    peer: (state) => {
      if (!(state instanceof RedisState)) throw new Error('peer of a non-Redis state');
      return createRedisState({ url: redisUrl, prefix: state.prefix });
    },
  });

  afterAll(async () => {
    const admin = new Redis(redisUrl);
    try {
      for await (const keys of admin.scanStream({ match: `${runPrefix}-*`, count: 500 })) {
        if ((keys as string[]).length > 0) await admin.del(...(keys as string[]));
      }
    } finally {
      await admin.quit();
    }
  });
}

describe('createState', () => {
  it('keeps state in process when no Redis URL is configured', async () => {
    const state: EphemeralState = await createState({});
    expect(state.kind).toBe('memory');
    await state.close();
  });

  it('refuses to start, rather than fall back to per-process state, when Redis is unreachable', async () => {
    await expect(createState({ redisUrl: 'redis://127.0.0.1:1' })).rejects.toThrow(
      /^Redis at redis:\/\/127\.0\.0\.1:1 is unreachable: /,
    );
  });

  it.skipIf(!redisUrl)('uses Redis when a URL is configured', async () => {
    const state = await createState({ redisUrl, prefix: `${runPrefix}-create:` });
    expect(state.kind).toBe('redis');
    await state.close();
  });
});
