/**
 * Signal `time`: does the person sign in at this hour of the day? Rules:
 *
 *   - The person's past successful sign-ins (before this attempt; failures are not the person's habit,
 *     they may be an attacker's) form a circular histogram of 24 hourly bins, in UTC, smoothed over
 *     the neighbouring hours (a quarter from each side; 23 h and 0 h are neighbours), so signing in at
 *     8:59 instead of 9:01, or an hour off after a daylight-saving change, is not unusual.
 *   - `time.unusual` (15 points): this hour's smoothed share of sign-ins is under 2%. A uniform
 *     habit gives 4.2% per hour, so only hours the person (almost) never uses qualify.
 *   - Skips `too_little_history` below 20 past successes (habits need data), `malformed: at` when the
 *     attempt has no usable time.
 *
 * Why UTC and not local time: a per-person offset shifts every bin equally and cannot change the
 * decision, and the local time of the attempt's own location would let an attacker abroad pass in
 * their daytime. So the decision is in UTC; for admins the evidence also gives the hour at the
 * person's usual location, from the circular mean longitude of their located successful sign-ins
 * (solar time, 15° per hour: no time zones or daylight saving, close enough to read).
 */
import type { AssessmentContext, Contribution, PastAttempt, RiskAttempt, Signal, Skip } from '../types.ts';

const SIGNAL = 'time';
const HOUR_MS = 3_600_000;

/** Default points (0-100, before tenant weights): unusual hours are common for honest people. */
export const TIME_OF_DAY_POINTS = {
  /** An hour with under `UNUSUAL_SHARE` of the person's successful sign-ins. */
  unusual: 15,
} as const;

/** Past successful sign-ins needed before any hour can be unusual. */
export const MIN_PAST_SUCCESSES = 20;
/** An hour with a smoothed share of sign-ins under this is unusual. */
export const UNUSUAL_SHARE = 0.02;

/** Tuning of the time-of-day signal. */
export interface TimeOfDayOptions {
  /** Default `MIN_PAST_SUCCESSES`. */
  minSuccesses?: number;
  /** Default `UNUSUAL_SHARE`. */
  unusualShare?: number;
  /** Overrides of `TIME_OF_DAY_POINTS`. */
  points?: Partial<Record<keyof typeof TIME_OF_DAY_POINTS, number>>;
}

/** The UTC hour (0-23) of an epoch-millisecond time. */
export function utcHour(at: number): number {
  return Math.floor((((at % 86_400_000) + 86_400_000) % 86_400_000) / HOUR_MS);
}

/** Counts per UTC hour (24 bins) of the given times. */
export function hourHistogram(times: readonly number[]): number[] {
  const bins = new Array<number>(24).fill(0);
  for (const at of times) bins[utcHour(at)]!++;
  return bins;
}

/** The share of all counts at `hour`, smoothed circularly: ¼ previous hour, ½ this hour, ¼ next. */
export function smoothedShare(bins: readonly number[], hour: number): number {
  const total = bins.reduce((sum, n) => sum + n, 0);
  if (total === 0) return 0;
  const at = (h: number) => bins[(h + 24) % 24] ?? 0;
  return (0.25 * at(hour - 1) + 0.5 * at(hour) + 0.25 * at(hour + 1)) / total;
}

/**
 * The whole-hour solar offset from UTC of the person's usual location: the circular mean longitude of
 * the located attempts / 15°. Undefined when none is located or they spread around the globe.
 */
export function usualUtcOffsetHours(attempts: readonly PastAttempt[]): number | undefined {
  let x = 0;
  let y = 0;
  let n = 0;
  for (const past of attempts) {
    const lon = past.geo?.lon;
    if (typeof lon !== 'number' || !Number.isFinite(lon) || Math.abs(lon) > 180) continue;
    x += Math.cos((lon * Math.PI) / 180);
    y += Math.sin((lon * Math.PI) / 180);
    n++;
  }
  // A short mean vector means no usual place (as many sign-ins in Tokyo as in New York).
  if (n === 0 || Math.hypot(x, y) / n < 0.5) return undefined;
  const offset = Math.round((Math.atan2(y, x) * 180) / Math.PI / 15);
  return offset === -12 ? 12 : offset + 0;
}

/** Judges the attempt's hour against the person's successful sign-in hours. Never throws. */
export function assessTimeOfDay(
  attempt: Pick<RiskAttempt, 'at'>,
  history: readonly PastAttempt[],
  options: TimeOfDayOptions = {},
): Contribution[] | Skip {
  const points = { ...TIME_OF_DAY_POINTS, ...options.points };
  const minSuccesses = options.minSuccesses ?? MIN_PAST_SUCCESSES;
  const unusualShare = options.unusualShare ?? UNUSUAL_SHARE;
  if (typeof attempt.at !== 'number' || !Number.isFinite(attempt.at))
    return { signal: SIGNAL, skipped: 'malformed: at' };

  const successes = (Array.isArray(history) ? history : []).filter(
    (past) => past?.outcome === 'success' && Number.isFinite(past.at) && past.at <= attempt.at,
  );
  if (successes.length < minSuccesses) return { signal: SIGNAL, skipped: 'too_little_history' };

  const hour = utcHour(attempt.at);
  const share = smoothedShare(hourHistogram(successes.map((past) => past.at)), hour);
  if (share >= unusualShare) return [];

  const evidence: Record<string, unknown> = {
    hourUtc: hour,
    sharePercent: Math.round(share * 1000) / 10,
    pastSignIns: successes.length,
  };
  const offset = usualUtcOffsetHours(successes);
  if (offset !== undefined) {
    evidence.usualUtcOffsetHours = offset;
    evidence.usualLocalHour = (hour + offset + 24) % 24;
  }
  return [{ signal: SIGNAL, reason: 'time.unusual', points: points.unusual, evidence }];
}

/** The registered signal: reads `attempt.at` and `history.attempts`. */
export const timeOfDaySignal: Signal = {
  name: SIGNAL,
  evaluate: (ctx: AssessmentContext) => assessTimeOfDay(ctx.attempt, ctx.history?.attempts ?? []),
};
