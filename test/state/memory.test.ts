import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../src/state/memory.ts';

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('in-process state (memory-only behaviour)', () => {
  it('returns a value until the instant its TTL ends, and never after', async () => {
    const clock = manualClock();
    const state = new MemoryState({ now: clock.now });
    await state.set('k', 'v', 1000);
    clock.advance(999);
    expect(await state.get('k')).toBe('v');
    clock.advance(1);
    expect(await state.get('k')).toBeNull();
    expect(await state.setIfAbsent('k', 'again', 1000)).toBe(true);
    await state.close();
  });

  it('resets a fixed window exactly at resetAtMs however many hits arrive before it', async () => {
    const clock = manualClock();
    const state = new MemoryState({ now: clock.now });
    const first = await state.increment('rl', 1000);
    for (let i = 0; i < 9; i++) {
      clock.advance(100);
      expect((await state.increment('rl', 1000)).resetAtMs).toBe(first.resetAtMs);
    }
    clock.advance(99);
    expect((await state.increment('rl', 1000)).count).toBe(11);
    clock.advance(1);
    expect(await state.increment('rl', 1000)).toEqual({ count: 1, resetAtMs: clock.now() + 1000 });
    await state.close();
  });

  it('frees expired entries that are never read again, in the background', async () => {
    const clock = manualClock();
    const state = new MemoryState({ now: clock.now, sweepIntervalMs: 10 });
    for (let i = 0; i < 100; i++) await state.set(`short-${i}`, 'v', 1000);
    for (let i = 0; i < 100; i++) await state.hit(`hits-${i}`, 1000);
    await state.set('long', 'v', 60_000);
    expect(state.size).toBe(201);
    clock.advance(1000);
    const deadline = Date.now() + 1000;
    while (state.size > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(state.size).toBe(1);
    expect(await state.get('long')).toBe('v');
    await state.close();
  });

  it('does not keep the process alive with its sweep timer', () => {
    const script = [
      "import { MemoryState } from './src/state/memory.ts';",
      'const state = new MemoryState({ sweepIntervalMs: 10 });',
      "await state.set('k', 'v', 60_000);",
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 10_000,
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
  });

  it('rejects an increment of a key that holds a non-numeric value', async () => {
    const state = new MemoryState();
    await state.set('k', 'not a number', 10_000);
    await expect(state.increment('k', 10_000)).rejects.toThrow(/not an integer/);
    await state.close();
  });

  it('drops a subscriber’s pending deliveries when the state closes', async () => {
    const state = new MemoryState();
    const received: string[] = [];
    await state.subscribe('ch', (m) => received.push(m));
    await state.publish('ch', 'm');
    await state.close();
    await new Promise((r) => setImmediate(r));
    expect(received).toEqual([]);
  });
});
