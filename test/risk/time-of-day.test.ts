import { describe, expect, it } from 'vitest';
import {
  assessTimeOfDay,
  hourHistogram,
  MIN_PAST_SUCCESSES,
  smoothedShare,
  TIME_OF_DAY_POINTS,
  timeOfDaySignal,
  UNUSUAL_SHARE,
  usualUtcOffsetHours,
  utcHour,
} from '../../src/risk/signals/time-of-day.ts';
import type { AssessmentContext, GeoPoint, PastAttempt } from '../../src/risk/types.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const today = Date.UTC(2026, 5, 1);
const at = (hour: number, minute = 0) => today + hour * HOUR + minute * 60_000;

const tokyo: GeoPoint = { country: 'JP', lat: 35.68, lon: 139.65, accuracyKm: 20 };
const newYork: GeoPoint = { country: 'US', lat: 40.71, lon: -74.0, accuracyKm: 20 };

/** One successful sign-in a day for `days` days, at the given UTC hours in turn. */
function habit(
  hours: readonly number[],
  days: number,
  extra: Partial<PastAttempt> = {},
  outcome: PastAttempt['outcome'] = 'success',
): PastAttempt[] {
  return Array.from({ length: days }, (_, d) => ({
    at: today - (d + 1) * DAY + hours[d % hours.length]! * HOUR + 10 * 60_000,
    outcome,
    ...extra,
  }));
}

/** An office worker: 40 sign-ins between 08:00 and 17:59 UTC. */
const office = habit([8, 9, 10, 11, 12, 13, 14, 15, 16, 17], 40);

describe('time of day: a circular, smoothed histogram of the hours of past successful sign-ins', () => {
  it('bins times by UTC hour', () => {
    expect(utcHour(at(0))).toBe(0);
    expect(utcHour(at(23, 59))).toBe(23);
    expect(utcHour(Date.UTC(1969, 11, 31, 22))).toBe(22);
    const bins = hourHistogram([at(3), at(3, 30), at(23)]);
    expect(bins).toHaveLength(24);
    expect(bins[3]).toBe(2);
    expect(bins[23]).toBe(1);
  });

  it('smooths a quarter from each neighbouring hour, wrapping 23 h to 0 h', () => {
    const bins = hourHistogram(Array.from({ length: 8 }, () => at(23)));
    expect(smoothedShare(bins, 23)).toBe(0.5);
    expect(smoothedShare(bins, 0)).toBe(0.25);
    expect(smoothedShare(bins, 22)).toBe(0.25);
    expect(smoothedShare(bins, 1)).toBe(0);
    expect(smoothedShare(new Array(24).fill(0), 5)).toBe(0);
    const total = Array.from({ length: 24 }, (_, h) =>
      smoothedShare(hourHistogram(office.map((p) => p.at)), h),
    );
    expect(total.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });
});

describe('time.unusual: an hour with under 2% of the sign-ins, after 20 past successes', () => {
  it('flags 03:00 UTC for an office worker, with modest points and evidence', () => {
    const result = assessTimeOfDay({ at: at(3, 20) }, office);
    expect(result).toEqual([
      {
        signal: 'time',
        reason: 'time.unusual',
        points: TIME_OF_DAY_POINTS.unusual,
        evidence: { hourUtc: 3, sharePercent: 0, pastSignIns: 40 },
      },
    ]);
    expect(TIME_OF_DAY_POINTS.unusual).toBeLessThanOrEqual(20);
  });

  it('finds nothing at an hour the person uses', () => {
    expect(assessTimeOfDay({ at: at(12) }, office)).toEqual([]);
    expect(assessTimeOfDay({ at: at(8, 5) }, office)).toEqual([]);
  });

  it('finds nothing an hour beside the habit (smoothing), but two hours away is unusual', () => {
    const nineOClock = habit([9], 40);
    expect(assessTimeOfDay({ at: at(10, 30) }, nineOClock)).toEqual([]);
    expect(assessTimeOfDay({ at: at(8) }, nineOClock)).toEqual([]);
    expect(assessTimeOfDay({ at: at(11) }, nineOClock)).toMatchObject([{ reason: 'time.unusual' }]);
  });

  it('wraps around midnight: a night owl at 23:xx is not unusual at 00:xx', () => {
    const nightOwl = habit([23], 30);
    expect(assessTimeOfDay({ at: at(0, 15) }, nightOwl)).toEqual([]);
    expect(assessTimeOfDay({ at: at(2) }, nightOwl)).toMatchObject([{ reason: 'time.unusual' }]);
  });

  it('draws the line at 2%: one sign-in in 50 at that hour is unusual, two are not', () => {
    expect(UNUSUAL_SHARE).toBe(0.02);
    const once = [...habit([12], 49), ...habit([3], 1)];
    const twice = [...habit([12], 48), ...habit([3], 2)];
    expect(assessTimeOfDay({ at: at(3) }, once)).toMatchObject([{ evidence: { sharePercent: 1 } }]);
    expect(assessTimeOfDay({ at: at(3) }, twice)).toEqual([]);
  });

  it('gives the hour at the usual location when past sign-ins are located', () => {
    const result = assessTimeOfDay({ at: at(18) }, habit([0, 1, 2, 3, 4, 5, 6, 7, 8], 36, { geo: tokyo }));
    expect(result).toMatchObject([
      { reason: 'time.unusual', evidence: { hourUtc: 18, usualUtcOffsetHours: 9, usualLocalHour: 3 } },
    ]);
  });

  it('derives a usual offset from the circular mean longitude, or none without a usual place', () => {
    expect(usualUtcOffsetHours(habit([9], 5, { geo: tokyo }))).toBe(9);
    expect(usualUtcOffsetHours(habit([9], 5, { geo: newYork }))).toBe(-5);
    expect(usualUtcOffsetHours(habit([9], 5))).toBeUndefined();
    expect(usualUtcOffsetHours([...habit([9], 5, { geo: tokyo }), ...habit([9], 5, { geo: newYork })])).toBe(
      undefined,
    );
    const dateLine = [
      { at: 0, outcome: 'success' as const, geo: { lat: 0, lon: 179, accuracyKm: 1 } },
      { at: 0, outcome: 'success' as const, geo: { lat: 0, lon: -179, accuracyKm: 1 } },
    ];
    expect(usualUtcOffsetHours(dateLine)).toBe(12);
  });
});

describe('time of day: skips, and what never counts as habit', () => {
  it('skips too_little_history below 20 past successes', () => {
    expect(MIN_PAST_SUCCESSES).toBe(20);
    expect(assessTimeOfDay({ at: at(3) }, habit([12], 19))).toEqual({
      signal: 'time',
      skipped: 'too_little_history',
    });
    expect(assessTimeOfDay({ at: at(3) }, [])).toEqual({ signal: 'time', skipped: 'too_little_history' });
    expect(assessTimeOfDay({ at: at(3) }, habit([12], 20))).toMatchObject([{ reason: 'time.unusual' }]);
  });

  it('counts failures neither as history nor as habit (an attacker cannot teach it their hours)', () => {
    const failures = habit([3], 40, {}, 'failure');
    expect(assessTimeOfDay({ at: at(3) }, [...habit([12], 10), ...failures])).toEqual({
      signal: 'time',
      skipped: 'too_little_history',
    });
    expect(assessTimeOfDay({ at: at(3) }, [...office, ...failures])).toMatchObject([
      { reason: 'time.unusual' },
    ]);
  });

  it('ignores sign-ins after the attempt and rows with unusable times', () => {
    const later = habit([3], 40).map((p) => ({ ...p, at: p.at + 60 * DAY }));
    const broken = habit([3], 40).map((p) => ({ ...p, at: Number.NaN }));
    expect(assessTimeOfDay({ at: at(3) }, [...office, ...later, ...broken])).toMatchObject([
      { reason: 'time.unusual', evidence: { pastSignIns: 40 } },
    ]);
  });

  it('skips malformed: at when the attempt has no usable time', () => {
    expect(assessTimeOfDay({ at: Number.NaN }, office)).toEqual({ signal: 'time', skipped: 'malformed: at' });
  });

  it('runs as the registered signal on history.attempts', async () => {
    const ctx: AssessmentContext = {
      attempt: { tenantId: 't', action: 'sign_in', at: at(3) },
      history: { attempts: office, devices: [], typing: { model: null, samples: 0 } },
      velocity: { count: async () => 0, distinct: async () => 0 },
    };
    expect(timeOfDaySignal.name).toBe('time');
    expect(await timeOfDaySignal.evaluate(ctx)).toMatchObject([{ reason: 'time.unusual' }]);
  });
});
