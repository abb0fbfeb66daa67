/**
 * Typing no person produces: a script replaying fixed timings or dispatching synthetic key events.
 * Rules (a typing of at least `MIN_KEYS` keys is scripted if any holds):
 *
 *   - `identical_holds`: every hold within 2 ms of the others. In the CMU data (4,800 human typings)
 *     the smallest spread of holds within one typing is 16 ms.
 *   - `regular_intervals`: keydown-to-keydown intervals with a coefficient of variation below 0.05,
 *     judged from 8 keys on (on shorter names people hit it by chance: 7 of 576 four-key typings in
 *     the risk evaluation; from 8 keys, none of 12,882).
 *     Humans' smallest in the CMU data is 0.22.
 *   - `inhuman_speed`: median hold under 10 ms or median keydown interval under 30 ms. Humans'
 *     smallest medians in the CMU data are 55 ms and 89 ms.
 *
 * Browsers that coarsen `performance.now()` against fingerprinting (Firefox's resistFingerprinting,
 * Tor Browser: 16.7 to 100 ms steps) round a person's holds to equal values and short ones to zero, so
 * when every timestamp sits on such a step only `regular_intervals` is applied. The page records the
 * timestamps, so a script driving a real browser gets the browser's fine clock and all three rules; a
 * script forging the payload can claim a coarse clock, but it could as well forge human variation,
 * and either way its timings still have to match the person's profile.
 */
import type { TypingFeatures } from './features.ts';

/** Fewest keys the rules judge: with fewer, equal timings happen by chance. */
export const MIN_KEYS = 4;
/** Fewest keys `regular_intervals` judges. */
export const MIN_KEYS_REGULAR_INTERVALS = 8;
const MAX_HOLD_SPREAD_S = 0.002;
const MIN_INTERVAL_CV = 0.05;
const MIN_MEDIAN_HOLD_S = 0.01;
const MIN_MEDIAN_INTERVAL_S = 0.03;
/** Clock steps of browsers with reduced timer precision, ms. */
const COARSE_STEPS_MS = [100, 50, 1000 / 60, 20, 10];

/** Which rule found the typing scripted. */
export type ScriptedRule = 'identical_holds' | 'regular_intervals' | 'inhuman_speed';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function coefficientOfVariation(values: readonly number[]): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  if (mean <= 0) return 0;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
  return Math.sqrt(variance) / mean;
}

/** The step of the page's clock when every timestamp is a multiple of a coarse step, else null. */
export function coarseClockStep(features: Pick<TypingFeatures, 'keys'>): number | null {
  const times = features.keys.flatMap((k) => [k.down, k.up]);
  for (const step of COARSE_STEPS_MS) {
    if (times.every((t) => Math.abs(t / step - Math.round(t / step)) < 0.01)) return step;
  }
  return null;
}

/** The first rule the typing breaks, or null if it could be a person's. */
export function scriptedRule(features: TypingFeatures): ScriptedRule | null {
  if (features.H.length < MIN_KEYS) return null;
  const regular =
    features.H.length >= MIN_KEYS_REGULAR_INTERVALS && coefficientOfVariation(features.DD) < MIN_INTERVAL_CV;
  if (regular) return 'regular_intervals';
  if (coarseClockStep(features) !== null) return null;
  if (Math.max(...features.H) - Math.min(...features.H) < MAX_HOLD_SPREAD_S) return 'identical_holds';
  if (median(features.H) < MIN_MEDIAN_HOLD_S || median(features.DD) < MIN_MEDIAN_INTERVAL_S) {
    return 'inhuman_speed';
  }
  return null;
}
