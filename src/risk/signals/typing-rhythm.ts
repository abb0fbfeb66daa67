/**
 * Signal `typing`: does the rhythm of the phrase typed on the sign-in form (by default the username)
 * match the person's profile from earlier successful sign-ins? Rules, in order:
 *
 *   - A payload that is missing, malformed or implausible (features.ts) skips: `no_typing`,
 *     `malformed: <reason>`.
 *   - Scripted typing (scripted.ts: identical holds, metronomic intervals, inhuman speed) gives
 *     `typing.scripted`, 80 points, with or without a profile: it needs no profile to be recognised.
 *   - Without a profile it skips `no_profile`; with fewer genuine samples than the detector needs,
 *     `too_few_samples`; with a stored model that is unreadable, from another detector or for another
 *     phrase length, `profile_mismatch`.
 *   - Otherwise the detector (default `robustManhattan`) scores the typing against the profile's
 *     per-person threshold (the 95th percentile of the person's cross-validated genuine scores, see
 *     detectors.ts). At or under it: `typing.consistent`, 0 points. Over it: `typing.anomalous`,
 *     points = 100 x (score / threshold - 1), at least 1 and at most 100, so full points at twice the
 *     threshold. On the first 12 CMU subjects (200 training samples) 0.5% of genuine typings exceed
 *     1.25 x the threshold and none 1.5 x, while 67% of impostor typings exceed 1.25 x and 9% 2 x.
 *
 * Evidence is `{ score, threshold, samples }`, for scripted typing `{ rule, keys, samples }`: never
 * the typed text. Profiles are learnt with `learnTyping` after a successful sign-in only.
 */
import {
  type KeystrokeDetector,
  type KeystrokeModel,
  keystrokeModelSchema,
  robustManhattan,
} from '../keystroke/detectors.ts';
import { parseTyping, type TypingPhrase } from '../keystroke/features.ts';
import { scriptedRule } from '../keystroke/scripted.ts';
import type { Contribution, RiskAttempt, Skip } from '../types.ts';

const SIGNAL = 'typing';
/** Points for typing no person produces. */
export const SCRIPTED_POINTS = 80;

/** The person's stored typing profile. */
export interface TypingProfile {
  /** The detector's model, or null before the first sample. */
  model: KeystrokeModel | null;
  /** Genuine samples learnt so far. */
  samples: number;
}

/** What the signal needs besides the attempt. */
export interface TypingRhythmOptions {
  /** The phrase the page recorded (default in the sign-in flow: `usernamePhrase(username)`). */
  phrase: TypingPhrase;
  /** The detector the profile was built with (default `robustManhattan`). */
  detector?: KeystrokeDetector;
}

function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}

/** Judges the attempt's typing against the person's profile. Never throws. */
export function typingRhythm(
  attempt: Pick<RiskAttempt, 'typing'>,
  profile: TypingProfile,
  options: TypingRhythmOptions,
): Contribution | Skip {
  const detector = options.detector ?? robustManhattan;
  if (attempt.typing === undefined || attempt.typing === null)
    return { signal: SIGNAL, skipped: 'no_typing' };
  const parsed = parseTyping(attempt.typing, options.phrase);
  if (!parsed.ok) return { signal: SIGNAL, skipped: `malformed: ${parsed.reason}` };
  const { features } = parsed;

  const rule = scriptedRule(features);
  if (rule) {
    return {
      signal: SIGNAL,
      reason: 'typing.scripted',
      points: SCRIPTED_POINTS,
      evidence: { rule, keys: features.H.length, samples: profile.samples },
    };
  }

  if (profile.model === null) return { signal: SIGNAL, skipped: 'no_profile' };
  if (profile.samples < detector.minimumTrainingSamples)
    return { signal: SIGNAL, skipped: 'too_few_samples' };
  // Stored JSON is untrusted: a corrupt or foreign model must skip, not throw or score nonsense.
  const stored = keystrokeModelSchema.safeParse(profile.model);
  if (
    !stored.success ||
    stored.data.detector !== detector.name ||
    stored.data.center.length !== features.vector.length
  ) {
    return { signal: SIGNAL, skipped: 'profile_mismatch' };
  }
  const model = stored.data;

  const score = detector.score(model, features.vector);
  const evidence = { score: round(score), threshold: round(model.threshold), samples: profile.samples };
  if (score <= model.threshold) return { signal: SIGNAL, reason: 'typing.consistent', points: 0, evidence };
  const ratio = model.threshold > 0 ? score / model.threshold : Number.POSITIVE_INFINITY;
  const points = Math.min(100, Math.max(1, Math.round(100 * (ratio - 1))));
  return { signal: SIGNAL, reason: 'typing.anomalous', points, evidence };
}

/**
 * The profile after a successful sign-in: adds the attempt's typing as a genuine sample. Returns the
 * profile unchanged when the typing is missing, malformed or scripted (a replay must not become the
 * person's rhythm). A stored model that does not fit (unreadable, another detector, another phrase
 * length) cannot learn anything, so it is replaced by a new profile starting from this typing; the
 * caller should also reset the profile when the phrase changes at the same length (a new username).
 */
export function learnTyping(
  attempt: Pick<RiskAttempt, 'typing'>,
  profile: TypingProfile,
  options: TypingRhythmOptions,
): TypingProfile {
  const detector = options.detector ?? robustManhattan;
  const parsed = parseTyping(attempt.typing, options.phrase);
  if (!parsed.ok || scriptedRule(parsed.features)) return profile;
  const { vector } = parsed.features;
  const stored = profile.model === null ? null : keystrokeModelSchema.safeParse(profile.model);
  if (
    stored?.success &&
    stored.data.detector === detector.name &&
    stored.data.center.length === vector.length
  ) {
    return { model: detector.update(stored.data, vector), samples: profile.samples + 1 };
  }
  return { model: detector.update(null, vector), samples: 1 };
}
