/** The scorer: contributions combine as independent evidence, with default and tenant weights. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_WEIGHTS, score } from '../../src/risk/scorer.ts';
import type { Contribution } from '../../src/risk/types.ts';

const c = (reason: string, points: number): Contribution => ({
  signal: reason.split('.')[0]!,
  reason,
  points,
  evidence: {},
});

describe('risk scorer', () => {
  it('combines contributions as independent evidence (noisy OR), never above 100', () => {
    expect(score([c('device.new', 30)], []).score).toBe(30);
    expect(score([c('device.new', 30), c('geo.new_country', 40)], []).score).toBe(58);
    expect(
      score([c('network.denied', 90), c('velocity.stuffing', 80), c('device.revoked', 100)], []).score,
    ).toBe(100);
  });

  it('never lowers the score by adding a contribution, and skips add nothing', () => {
    const base = score([c('geo.new_country', 40)], []).score;
    expect(score([c('geo.new_country', 40), c('device.known', 0)], []).score).toBe(base);
    expect(score([c('geo.new_country', 40)], [{ signal: 'typing', skipped: 'no_typing' }]).score).toBe(base);
  });

  it('applies the calibrated defaults, and tenant weights per reason or signal on top', () => {
    expect(DEFAULT_WEIGHTS['travel.impossible']).toBe(0.5);
    expect(score([c('travel.impossible', 80)], []).score).toBe(40);
    expect(score([c('travel.impossible', 80)], [], { 'travel.impossible': 1 }).score).toBe(80);
    expect(score([c('device.new', 30)], [], { device: 0 }).score).toBe(0);
    expect(score([c('device.new', 30)], [], { device: 0, 'device.new': 2 }).score).toBe(60);
  });

  it('keeps every contribution with its weight, and names the reasons that scored', () => {
    const a = score([c('device.new', 30), c('device.known', 0)], [], { device: 0.5 });
    expect(a.contributions).toEqual([
      expect.objectContaining({ reason: 'device.new', weight: 0.5, weighted: 15 }),
      expect.objectContaining({ reason: 'device.known', weighted: 0 }),
    ]);
    expect(a.reasons).toEqual(['device.new']);
    expect(a.level).toBe('low');
  });

  it('ignores a nonsensical weight (negative, NaN) rather than lowering risk', () => {
    expect(score([c('device.new', 30)], [], { device: -5 }).score).toBe(30);
    expect(score([c('device.new', 30)], [], { device: Number.NaN }).score).toBe(30);
  });
});
