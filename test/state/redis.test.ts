import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisState, maskRedisUrl, RedisState } from '../../src/state/redis.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const runPrefix = `tg-test-${randomUUID().slice(0, 8)}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// These need no Redis server: they are about what happens when there is none.
describe('Redis state when Redis is unreachable', () => {
  it('fails at creation with a clear error naming the URL, within a few seconds', async () => {
    const started = Date.now();
    const error = await createRedisState({ url: 'redis://127.0.0.1:1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /^Redis at redis:\/\/127\.0\.0\.1:1 is unreachable: .*ECONNREFUSED/,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('masks the password in the startup error', async () => {
    const error = await createRedisState({ url: 'redis://app:hunter2@127.0.0.1:1/2' }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toContain('redis://app:***@127.0.0.1:1/2');
    expect((error as Error).message).not.toContain('hunter2');
    expect(maskRedisUrl('rediss://:s3cret@cache.internal:6380')).toBe('rediss://:***@cache.internal:6380');
  });

  it('fails at creation within connectTimeoutMs when the server accepts connections but never answers', async () => {
    const sockets = new Set<net.Socket>();
    const blackHole = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as net.AddressInfo;
    try {
      const started = Date.now();
      await expect(
        createRedisState({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 }),
      ).rejects.toThrow(`Redis at redis://127.0.0.1:${port} is unreachable`);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      for (const socket of sockets) socket.destroy();
      blackHole.close();
    }
  });

  it('rejects a URL that is not redis:// or rediss:// without echoing it', async () => {
    await expect(createRedisState({ url: 'http://user:pw@host' })).rejects.toThrow(
      /must start with redis:\/\//,
    );
    const error = await createRedisState({ url: 'not a url :pw' }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/not a valid URL/);
    expect((error as Error).message).not.toContain('pw');
  });
});

describe.skipIf(!redisUrl)('Redis state against a live Redis', () => {
  const url = redisUrl ?? '';
  let admin: Redis;
  const opened: RedisState[] = [];
  let instance = 0;
  const open = async (options: Partial<Parameters<typeof createRedisState>[0]> = {}) => {
    const state = await createRedisState({ url, prefix: `${runPrefix}-${++instance}:`, ...options });
    opened.push(state);
    return state;
  };

  beforeAll(() => {
    admin = new Redis(url);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((state) => state.close()));
  });
  afterAll(async () => {
    for await (const keys of admin.scanStream({ match: `${runPrefix}-*`, count: 500 })) {
      if ((keys as string[]).length > 0) await admin.del(...(keys as string[]));
    }
    await admin.quit();
  });

  it('applies the prefix to every key and channel', async () => {
    const state = await open();
    await state.set('k', 'v', 10_000);
    await state.increment('c', 10_000);
    await state.hit('h', 10_000);
    expect(await admin.get(`${state.prefix}k`)).toBe('v');
    expect(await admin.get(`${state.prefix}c`)).toBe('1');
    expect(await admin.zcard(`${state.prefix}h`)).toBe(1);
    expect(await admin.exists('k', 'c', 'h')).toBe(0);

    const listener = admin.duplicate();
    const received: string[] = [];
    listener.on('message', (channel: string, message: string) => received.push(`${channel} ${message}`));
    await listener.subscribe(`${state.prefix}revocations`);
    await state.publish('revocations', 'm');
    const deadline = Date.now() + 1000;
    while (received.length === 0 && Date.now() < deadline) await sleep(5);
    await listener.quit();
    expect(received).toEqual([`${state.prefix}revocations m`]);
  });

  it('keeps deployments with different prefixes apart on one Redis', async () => {
    const a = await open();
    const b = await open();
    await a.set('challenge', 'from-a', 10_000);
    expect(await b.get('challenge')).toBeNull();
    expect(await b.take('challenge')).toBeNull();
    expect(await a.take('challenge')).toBe('from-a');
  });

  it('uses the tg: prefix by default', async () => {
    const state = new RedisState({ url });
    expect(state.prefix).toBe('tg:');
    await state.close();
  });

  it('never leaves a rate-limit counter without a TTL, and repairs one found without', async () => {
    const state = await open();
    await Promise.all(Array.from({ length: 20 }, () => state.increment('rl', 10_000)));
    const ttl = await admin.pttl(`${state.prefix}rl`);
    expect(ttl).toBeGreaterThan(9_000);
    expect(ttl).toBeLessThanOrEqual(10_000);

    await admin.set(`${state.prefix}legacy`, '5');
    expect((await state.increment('legacy', 10_000)).count).toBe(6);
    expect(await admin.pttl(`${state.prefix}legacy`)).toBeGreaterThan(9_000);
  });

  it('gives the sliding-window log a TTL of one window', async () => {
    const state = await open();
    await state.hit('sw', 5_000);
    const ttl = await admin.pttl(`${state.prefix}sw`);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  describe('when Redis misbehaves after startup', () => {
    let proxy: TcpProxy | undefined;
    afterEach(async () => {
      await proxy?.stop();
      proxy = undefined;
    });

    it('ping rejects within its timeout when Redis stops answering', async () => {
      proxy = await startTcpProxy(url);
      const state = await open({ url: proxy.url, pingTimeoutMs: 300 });
      await state.ping();
      proxy.freeze();
      const started = Date.now();
      await expect(state.ping()).rejects.toThrow('no answer to PING within 300 ms');
      expect(Date.now() - started).toBeLessThan(800);
    });

    it('fails commands fast, instead of hanging, when Redis goes away', async () => {
      proxy = await startTcpProxy(url);
      const errors: string[] = [];
      const state = await open({ url: proxy.url, onError: (_e, context) => errors.push(context) });
      await state.set('k', 'v', 10_000);
      await proxy.stop();
      proxy = undefined;
      const started = Date.now();
      await expect(state.get('k')).rejects.toThrow(/max retries/);
      expect(Date.now() - started).toBeLessThan(2000);
      const pingStarted = Date.now();
      await expect(state.ping()).rejects.toThrow(/is not connected/);
      expect(Date.now() - pingStarted).toBeLessThan(50);
      expect(errors).toContain('redis connection');
    });

    it('resubscribes after a dropped connection, so later revocations still arrive', async () => {
      proxy = await startTcpProxy(url);
      const publisher = await open();
      const subscriber = await open({ url: proxy.url, prefix: publisher.prefix, onError: () => {} });
      const received: string[] = [];
      await subscriber.subscribe('revocations', (m) => received.push(m));
      proxy.dropConnections();
      // Pub/sub is at most once: messages sent while reconnecting are lost, so keep publishing.
      const deadline = Date.now() + 3000;
      while (received.length === 0 && Date.now() < deadline) {
        await publisher.publish('revocations', 'after-drop');
        await sleep(25);
      }
      expect(received[0]).toBe('after-drop');
    });
  });
});
