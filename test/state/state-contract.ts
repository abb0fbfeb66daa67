import { afterEach, describe, expect, it } from 'vitest';
import type { StateErrorReporter } from '../../src/state/deliver.ts';
import type { EphemeralState } from '../../src/state/types.ts';

/** How the contract suite obtains instances of one implementation. */
export interface StateFactory {
  /** A fresh instance in its own empty namespace. */
  create(onError?: StateErrorReporter): Promise<EphemeralState>;
  /**
   * Another instance sharing `state`'s namespace, as a second server process would. The in-process
   * implementation's namespace is the process, so it may return `state` itself.
   */
  peer(state: EphemeralState): Promise<EphemeralState>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `predicate` holds; fails after `timeoutMs`. */
async function waitFor(predicate: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * The behaviour every `EphemeralState` must have, run against each implementation (STYLE.md item 6).
 * Timing tests use short real TTLs so the Redis server's own expiry is what is tested.
 */
export function describeStateContract(name: string, factory: StateFactory): void {
  describe(`EphemeralState contract: ${name}`, () => {
    const opened = new Set<EphemeralState>();
    const open = async (onError?: StateErrorReporter) => {
      const state = await factory.create(onError);
      opened.add(state);
      return state;
    };
    const openPeer = async (state: EphemeralState) => {
      const peer = await factory.peer(state);
      opened.add(peer);
      return peer;
    };
    afterEach(async () => {
      await Promise.all([...opened].map((state) => state.close()));
      opened.clear();
    });

    describe('values', () => {
      it('returns null for a key that was never set', async () => {
        const state = await open();
        expect(await state.get('missing')).toBeNull();
      });

      it('returns a stored value, and set replaces it', async () => {
        const state = await open();
        await state.set('k', 'one', 10_000);
        expect(await state.get('k')).toBe('one');
        await state.set('k', 'two', 10_000);
        expect(await state.get('k')).toBe('two');
      });

      it('keeps unicode, control characters and the empty string unchanged', async () => {
        const state = await open();
        const values = ['héllo wörld ✓ 🚀 𝔘𝔫𝔦', 'שלום عربى 日本語', 'line\nbreak\ttab\u0000nul', ''];
        for (const [i, value] of values.entries()) await state.set(`v${i}`, value, 10_000);
        for (const [i, value] of values.entries()) expect(await state.get(`v${i}`)).toBe(value);
        expect(await state.take('v3')).toBe('');
        await state.set('ключ🔑', 'value under a unicode key', 10_000);
        expect(await state.get('ключ🔑')).toBe('value under a unicode key');
      });

      it('stops returning a value once its TTL has passed', async () => {
        const state = await open();
        await state.set('short', 'x', 100);
        expect(await state.get('short')).toBe('x');
        await sleep(160);
        expect(await state.get('short')).toBeNull();
        expect(await state.take('short')).toBeNull();
      });

      it('rejects a zero, negative or non-finite TTL instead of storing a value that never expires', async () => {
        const state = await open();
        for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expect(state.set('k', 'v', ttl)).rejects.toThrow(RangeError);
          await expect(state.setIfAbsent('k', 'v', ttl)).rejects.toThrow(RangeError);
        }
        expect(await state.get('k')).toBeNull();
      });

      it('delete removes a value and reports whether one existed', async () => {
        const state = await open();
        await state.set('k', 'v', 10_000);
        expect(await state.delete('k')).toBe(true);
        expect(await state.get('k')).toBeNull();
        expect(await state.delete('k')).toBe(false);
      });
    });

    describe('setIfAbsent', () => {
      it('stores when the key is absent and refuses without overwriting when present', async () => {
        const state = await open();
        expect(await state.setIfAbsent('k', 'first', 10_000)).toBe(true);
        expect(await state.setIfAbsent('k', 'second', 10_000)).toBe(false);
        expect(await state.get('k')).toBe('first');
      });

      it('succeeds again once the previous value has expired', async () => {
        const state = await open();
        expect(await state.setIfAbsent('k', 'first', 50)).toBe(true);
        await sleep(100);
        expect(await state.setIfAbsent('k', 'second', 10_000)).toBe(true);
        expect(await state.get('k')).toBe('second');
      });

      it('lets exactly one of 50 concurrent callers win, and stores the winner’s value', async () => {
        const state = await open();
        const results = await Promise.all(
          range(1, 50).map((i) => state.setIfAbsent('lock', `caller-${i}`, 10_000)),
        );
        const winners = results.flatMap((won, i) => (won ? [i + 1] : []));
        expect(winners).toHaveLength(1);
        expect(await state.get('lock')).toBe(`caller-${winners[0]}`);
      });
    });

    describe('take (one-time challenges)', () => {
      it('returns the value once, then null', async () => {
        const state = await open();
        await state.set('challenge', 'nonce-1', 10_000);
        expect(await state.take('challenge')).toBe('nonce-1');
        expect(await state.take('challenge')).toBeNull();
        expect(await state.get('challenge')).toBeNull();
      });

      it('returns null for a key that is absent', async () => {
        const state = await open();
        expect(await state.take('never-issued')).toBeNull();
      });

      it('gives the value to exactly one of 50 concurrent takers', async () => {
        const state = await open();
        await state.set('challenge', 'nonce-1', 10_000);
        const results = await Promise.all(range(1, 50).map(() => state.take('challenge')));
        expect(results.filter((r) => r === 'nonce-1')).toHaveLength(1);
        expect(results.filter((r) => r === null)).toHaveLength(49);
      });

      it('gives the value to exactly one taker across two instances', async () => {
        const a = await open();
        const b = await openPeer(a);
        await a.set('challenge', 'nonce-1', 10_000);
        const results = await Promise.all(range(1, 40).map((i) => (i % 2 ? a : b).take('challenge')));
        expect(results.filter((r) => r === 'nonce-1')).toHaveLength(1);
      });
    });

    describe('increment (fixed-window rate limits)', () => {
      it('starts at 1, counts up, and reports when the window resets', async () => {
        const state = await open();
        const before = Date.now();
        const first = await state.increment('rl', 10_000);
        const after = Date.now();
        expect(first.count).toBe(1);
        expect(first.resetAtMs).toBeGreaterThanOrEqual(before + 10_000 - 50);
        expect(first.resetAtMs).toBeLessThanOrEqual(after + 10_000 + 50);
        expect((await state.increment('rl', 10_000)).count).toBe(2);
        expect((await state.increment('other', 10_000)).count).toBe(1);
      });

      it('gives each of 100 concurrent increments a distinct count from 1 to 100', async () => {
        const state = await open();
        const results = await Promise.all(range(1, 100).map(() => state.increment('burst', 10_000)));
        expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(range(1, 100));
      });

      it('does not extend the window on later hits, and starts again at 1 after it ends', async () => {
        const state = await open();
        const first = await state.increment('rl', 300);
        await sleep(100);
        const second = await state.increment('rl', 300);
        expect(second.count).toBe(2);
        // Redis reports a remaining TTL, converted on the local clock: allow a few ms of rounding.
        expect(Math.abs(second.resetAtMs - first.resetAtMs)).toBeLessThanOrEqual(20);
        await sleep(Math.max(0, first.resetAtMs - Date.now()) + 40);
        expect((await state.increment('rl', 300)).count).toBe(1);
      });

      it('rejects a zero or negative window', async () => {
        const state = await open();
        await expect(state.increment('rl', 0)).rejects.toThrow(RangeError);
        await expect(state.increment('rl', -5)).rejects.toThrow(RangeError);
      });
    });

    describe('hit (sliding-window rate limits)', () => {
      it('counts a sliding window without recording a hit', async () => {
        const state = await open();
        const t = Date.now();
        expect(await state.countHits('cw', 1000, t)).toBe(0);
        await state.hit('cw', 1000, t);
        await state.hit('cw', 1000, t + 100);
        expect(await state.countHits('cw', 1000, t + 100)).toBe(2);
        expect(await state.countHits('cw', 1000, t + 100)).toBe(2);
        expect(await state.countHits('cw', 1000, t + 1050)).toBe(1);
        expect(await state.countHits('cw', 1000, t + 1200)).toBe(0);
      });

      it('counts the hits within the window, this one included', async () => {
        const state = await open();
        const t = Date.now();
        expect(await state.hit('sw', 1000, t)).toBe(1);
        expect(await state.hit('sw', 1000, t + 100)).toBe(2);
        expect(await state.hit('sw', 1000, t + 500)).toBe(3);
      });

      it('drops hits that are a full window old or older', async () => {
        const state = await open();
        const t = Date.now();
        await state.hit('sw', 1000, t);
        await state.hit('sw', 1000, t + 100);
        // The hit at t is exactly one window old: outside (now - window, now].
        expect(await state.hit('sw', 1000, t + 1000)).toBe(2);
        expect(await state.hit('sw', 1000, t + 1101)).toBe(2);
        expect(await state.hit('sw', 1000, t + 5000)).toBe(1);
      });

      it('counts every hit in the same millisecond', async () => {
        const state = await open();
        const t = Date.now();
        const counts = await Promise.all(range(1, 20).map(() => state.hit('sw', 1000, t)));
        expect([...counts].sort((x, y) => x - y)).toEqual(range(1, 20));
      });

      it('drops old hits on the backend clock when no time is given', async () => {
        const state = await open();
        const counts = await Promise.all(range(1, 10).map(() => state.hit('sw', 100)));
        expect(Math.max(...counts)).toBe(10);
        await sleep(150);
        expect(await state.hit('sw', 100)).toBe(1);
      });

      it('shares the window between two instances', async () => {
        const a = await open();
        const b = await openPeer(a);
        await a.hit('sw', 10_000);
        await b.hit('sw', 10_000);
        expect(await a.hit('sw', 10_000)).toBe(3);
      });
    });

    describe('publish / subscribe (revocation fan-out)', () => {
      it('delivers a published message to a subscriber', async () => {
        const state = await open();
        const received: string[] = [];
        await state.subscribe('revocations', (m) => received.push(m));
        await state.publish('revocations', 'session:1');
        await waitFor(() => received.length === 1);
        expect(received).toEqual(['session:1']);
      });

      it('never calls a handler synchronously inside publish', async () => {
        const state = await open();
        const received: string[] = [];
        await state.subscribe('ch', (m) => received.push(m));
        const publishing = state.publish('ch', 'm');
        expect(received).toEqual([]);
        await publishing;
        await waitFor(() => received.length === 1);
      });

      it('delivers a message published on one instance to a subscriber on another within 1 s', async () => {
        const a = await open();
        const b = await openPeer(a);
        const received: string[] = [];
        await b.subscribe('revocations', (m) => received.push(m));
        await a.publish('revocations', 'device:7 revoked ✓');
        await waitFor(() => received.length === 1, 1000);
        expect(received).toEqual(['device:7 revoked ✓']);
      });

      it('delivers each message to every subscriber of its channel, in order, and to no other channel', async () => {
        const state = await open();
        const first: string[] = [];
        const second: string[] = [];
        const elsewhere: string[] = [];
        await state.subscribe('ch', (m) => first.push(m));
        await state.subscribe('ch', (m) => second.push(m));
        await state.subscribe('other', (m) => elsewhere.push(m));
        for (const m of ['1', '2', '3']) await state.publish('ch', m);
        await state.publish('other', 'sentinel');
        await waitFor(() => elsewhere.length === 1 && first.length === 3 && second.length === 3);
        expect(first).toEqual(['1', '2', '3']);
        expect(second).toEqual(['1', '2', '3']);
        expect(elsewhere).toEqual(['sentinel']);
      });

      it('stops delivery to an unsubscribed handler but not to the others', async () => {
        const a = await open();
        const b = await openPeer(a);
        const kept: string[] = [];
        const dropped: string[] = [];
        await b.subscribe('ch', (m) => kept.push(m));
        const unsubscribe = await b.subscribe('ch', (m) => dropped.push(m));
        await a.publish('ch', 'before');
        await waitFor(() => kept.length === 1 && dropped.length === 1);
        await unsubscribe();
        await unsubscribe();
        await a.publish('ch', 'after');
        await waitFor(() => kept.length === 2);
        expect(kept).toEqual(['before', 'after']);
        expect(dropped).toEqual(['before']);
      });

      it('delivers nothing on a channel after its last subscriber leaves, and can subscribe again', async () => {
        const a = await open();
        const b = await openPeer(a);
        const received: string[] = [];
        const sentinel: string[] = [];
        const unsubscribe = await b.subscribe('ch', (m) => received.push(m));
        await b.subscribe('sentinel', (m) => sentinel.push(m));
        await unsubscribe();
        await a.publish('ch', 'lost');
        // Messages from one publisher arrive in order: once the sentinel is in, 'lost' would be too.
        await a.publish('sentinel', 'done');
        await waitFor(() => sentinel.length === 1);
        expect(received).toEqual([]);

        await b.subscribe('ch', (m) => received.push(m));
        await a.publish('ch', 'again');
        await waitFor(() => received.length === 1);
        expect(received).toEqual(['again']);
      });

      it('survives subscribing and unsubscribing the same channel in quick succession', async () => {
        const a = await open();
        const b = await openPeer(a);
        const received: string[] = [];
        for (let i = 0; i < 5; i++) {
          const unsubscribe = await b.subscribe('flap', () => {});
          const pending = unsubscribe();
          const resubscribed = b.subscribe('flap', (m) => received.push(`${i}:${m}`));
          await pending;
          const unsubscribeLast = await resubscribed;
          await a.publish('flap', 'x');
          await waitFor(() => received.length === i + 1);
          await unsubscribeLast();
        }
        expect(received).toEqual(['0:x', '1:x', '2:x', '3:x', '4:x']);
      });

      it('calls the same function twice when subscribed twice; each unsubscribe removes one', async () => {
        const state = await open();
        const received: string[] = [];
        const handler = (m: string) => received.push(m);
        const unsubscribeFirst = await state.subscribe('ch', handler);
        await state.subscribe('ch', handler);
        await state.publish('ch', 'a');
        await waitFor(() => received.length === 2);
        await unsubscribeFirst();
        await state.publish('ch', 'b');
        await waitFor(() => received.length === 3);
        expect(received).toEqual(['a', 'a', 'b']);
      });

      it('does not deliver a message published before the subscription started', async () => {
        const state = await open();
        const received: string[] = [];
        await state.publish('ch', 'early');
        await state.subscribe('ch', (m) => received.push(m));
        await state.publish('ch', 'late');
        await waitFor(() => received.length >= 1);
        await sleep(20);
        expect(received).toEqual(['late']);
      });

      it('reports a throwing or rejecting handler and keeps delivering to the others', async () => {
        const errors: string[] = [];
        const a = await open((error, context) => errors.push(`${context}: ${(error as Error).message}`));
        const b = await openPeer(a);
        const received: string[] = [];
        await a.subscribe('ch', () => {
          throw new Error('boom');
        });
        await a.subscribe('ch', (async () => {
          throw new Error('async boom');
        }) as (m: string) => void);
        await a.subscribe('ch', (m) => received.push(m));
        await b.publish('ch', 'one');
        await b.publish('ch', 'two');
        await waitFor(() => received.length === 2 && errors.length === 4);
        expect(received).toEqual(['one', 'two']);
        expect(errors.filter((e) => e.endsWith('threw: boom'))).toHaveLength(2);
        expect(errors.filter((e) => e.endsWith('rejected: async boom'))).toHaveLength(2);
        await a.set('still-working', 'yes', 10_000);
        expect(await a.get('still-working')).toBe('yes');
      });
    });

    describe('lifecycle', () => {
      it('answers ping while the backend is up and names its kind', async () => {
        const state = await open();
        await expect(state.ping()).resolves.toBeUndefined();
        expect(['memory', 'redis']).toContain(state.kind);
      });

      it('closes idempotently, and rejects calls afterwards', async () => {
        const state = await open();
        await state.subscribe('ch', () => {});
        await state.close();
        await state.close();
        await expect(state.get('k')).rejects.toThrow(/closed/);
        await expect(state.publish('ch', 'm')).rejects.toThrow(/closed/);
        await expect(state.ping()).rejects.toThrow(/closed/);
      });
    });
  });
}
