/**
 * Typing-rhythm features: a browser's record of one typing of a known phrase, turned into the feature
 * vector of the CMU keystroke benchmark (Killourhy & Maxion 2009, `DSL-StrongPasswordData`).
 *
 * The payload (`attempt.typing`) is `{ keys: [{ key, down, up }, …] }`, one entry per keystroke in
 * the order the keys went down: `key` is `KeyboardEvent.key` at keydown (`'R'` for Shift+r, `'Enter'`
 * for Return), `down` and `up` are `performance.now()` milliseconds of its keydown and keyup (paired
 * by `KeyboardEvent.code`, since Shift may be released first). Modifier keys are not recorded; a
 * typing with corrections cannot match the phrase and is not sent.
 *
 * From n keys the features are, in seconds and in CMU column order, for each key i: H (hold, up_i -
 * down_i), then, before the next key, DD (down_{i+1} - down_i) and UD (down_{i+1} - up_i, negative
 * when keys overlap). Names follow the CMU columns: `H.period`, `DD.period.t`, `UD.period.t`, …,
 * `H.Return`; a capital is `Shift.<letter>`, a digit its English word, a repeated key gets `#2`, `#3`.
 *
 * Refused (a typed refusal; the signal skips and says why), in this order:
 *   - `unsupported_phrase`: the expected phrase has fewer than 2 or more than `MAX_KEYS` keys;
 *   - `too_many_events`: more than `MAX_KEYS` entries, checked before anything else is read;
 *   - `invalid_payload`: not the shape above, extra fields, a non-finite or negative time;
 *   - `wrong_keys`: not exactly the phrase's keys in order;
 *   - `non_monotonic`: a key went down before the previous one, or came up before it went down;
 *   - `absurd_timing`: a hold over 5 s or a gap between keydowns over 10 s.
 * Zero holds and zero gaps pass: they are what a script sends, and the `scripted` rule flags them.
 */
import { z } from 'zod';

/** Most keystrokes one payload may hold (and longest phrase, terminator included). */
export const MAX_KEYS = 100;
/** Longest plausible hold of one key, ms. */
export const MAX_HOLD_MS = 5_000;
/** Longest plausible gap between two keydowns, ms. */
export const MAX_GAP_MS = 10_000;
/** `KeyboardEvent.key` values are short ("a", "Enter"); anything longer is not a key. */
const MAX_KEY_LENGTH = 16;

/** The phrase the page records: its text and, optionally, the key that ends it. */
export interface TypingPhrase {
  text: string;
  terminator?: 'Enter' | 'Tab';
}

/** The CMU benchmark's phrase: `.tie5Roanl` then Return. */
export const CMU_PHRASE: TypingPhrase = { text: '.tie5Roanl', terminator: 'Enter' };

/** The default phrase: the username as typed into the sign-in form, without a terminator. */
export function usernamePhrase(username: string): TypingPhrase {
  return { text: username };
}

/** One recorded keystroke. */
export interface KeystrokeEvent {
  key: string;
  down: number;
  up: number;
}

/** The payload's schema (timestamps in ms from `performance.now()`). */
export const typingPayloadSchema = z.strictObject({
  keys: z
    .array(
      z.strictObject({
        key: z.string().min(1).max(MAX_KEY_LENGTH),
        down: z.number().nonnegative(),
        up: z.number().nonnegative(),
      }),
    )
    .max(MAX_KEYS),
});

/** A validated payload. */
export type TypingPayload = z.infer<typeof typingPayloadSchema>;

/** The features of one typing, seconds, CMU order. */
export interface TypingFeatures {
  /** Hold time of each key (n values). */
  H: number[];
  /** Keydown-to-keydown time of each consecutive pair (n - 1 values). */
  DD: number[];
  /** Keyup-to-keydown time of each consecutive pair (n - 1 values, may be negative). */
  UD: number[];
  /** H, DD, UD interleaved in CMU column order (3n - 2 values): the detectors' input. */
  vector: number[];
  /** Column names of `vector`. */
  names: string[];
  /** The validated keystrokes (ms), for rules that need raw timestamps. */
  keys: KeystrokeEvent[];
}

/** Why a payload was refused. */
export type TypingRefusalCode =
  | 'unsupported_phrase'
  | 'too_many_events'
  | 'invalid_payload'
  | 'wrong_keys'
  | 'non_monotonic'
  | 'absurd_timing';

/** The outcome of parsing: features, or a refusal whose `reason` is safe to show (no typed text). */
export type TypingParse =
  | { ok: true; features: TypingFeatures }
  | { ok: false; code: TypingRefusalCode; reason: string };

const DIGIT_NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const PUNCTUATION_NAMES: Readonly<Record<string, string>> = {
  '.': 'period',
  ',': 'comma',
  '-': 'minus',
  _: 'underscore',
  '@': 'at',
  '+': 'plus',
  ' ': 'space',
  "'": 'quote',
  Enter: 'Return',
  Tab: 'Tab',
};

/** The CMU-style name of a key: `t`, `Shift.r`, `five`, `period`, `Return`, else `U+00E9`. */
export function keyName(key: string): string {
  const known = PUNCTUATION_NAMES[key];
  if (known) return known;
  if (/^[a-z]$/.test(key)) return key;
  if (/^[A-Z]$/.test(key)) return `Shift.${key.toLowerCase()}`;
  if (/^[0-9]$/.test(key)) return DIGIT_NAMES[Number(key)]!;
  return [...key].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join('');
}

/** The `KeyboardEvent.key` values typing the phrase produces, in order. */
export function phraseKeys(phrase: TypingPhrase): string[] {
  return [...phrase.text, ...(phrase.terminator ? [phrase.terminator] : [])];
}

/** Feature names for a phrase, in CMU column order. */
export function featureNames(phrase: TypingPhrase): string[] {
  const seen = new Map<string, number>();
  const names = phraseKeys(phrase).map((key) => {
    const base = keyName(key);
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base}#${count}`;
  });
  return names.flatMap((name, i) => {
    const next = names[i + 1];
    return next === undefined ? [`H.${name}`] : [`H.${name}`, `DD.${name}.${next}`, `UD.${name}.${next}`];
  });
}

/** Rounded to 0.1 ms, the CMU data's resolution; dividing last keeps 0.3979 from becoming 0.39790000000000003. */
function seconds(ms: number): number {
  return Math.round(ms * 10) / 1e4 + 0;
}

function refuse(code: TypingRefusalCode, detail: string): TypingParse {
  return { ok: false, code, reason: `${code}: ${detail}` };
}

/**
 * Validates a raw typing payload against the expected phrase and extracts its features.
 * Never throws: anything malformed or implausible is a refusal (see the module doc for the rules).
 */
export function parseTyping(payload: unknown, phrase: TypingPhrase): TypingParse {
  const expected = phraseKeys(phrase);
  if (expected.length < 2 || expected.length > MAX_KEYS) {
    return refuse('unsupported_phrase', `the phrase has ${expected.length} keys (2 to ${MAX_KEYS})`);
  }
  // Counted before validation so an oversized payload costs nothing to refuse.
  const raw = (payload as { keys?: unknown } | null)?.keys;
  if (Array.isArray(raw) && raw.length > MAX_KEYS) {
    return refuse('too_many_events', `${raw.length} keystrokes (at most ${MAX_KEYS})`);
  }
  const parsed = typingPayloadSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'payload';
    return refuse('invalid_payload', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const keys = parsed.data.keys;
  if (keys.length !== expected.length) {
    return refuse('wrong_keys', `${keys.length} keystrokes, the phrase has ${expected.length}`);
  }
  const wrong = keys.findIndex((k, i) => k.key !== expected[i]);
  if (wrong >= 0) return refuse('wrong_keys', `keystroke ${wrong + 1} is not the phrase's`);

  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k.up < k.down) return refuse('non_monotonic', `keystroke ${i + 1} came up before it went down`);
    if (k.up - k.down > MAX_HOLD_MS) {
      return refuse('absurd_timing', `keystroke ${i + 1} held over ${MAX_HOLD_MS / 1000} s`);
    }
    const prev = keys[i - 1];
    if (prev && k.down < prev.down) {
      return refuse('non_monotonic', `keystroke ${i + 1} went down before keystroke ${i}`);
    }
    if (prev && k.down - prev.down > MAX_GAP_MS) {
      return refuse('absurd_timing', `over ${MAX_GAP_MS / 1000} s between keystrokes ${i} and ${i + 1}`);
    }
  }

  const H = keys.map((k) => seconds(k.up - k.down));
  const DD = keys.slice(1).map((k, i) => seconds(k.down - keys[i]!.down));
  const UD = keys.slice(1).map((k, i) => seconds(k.down - keys[i]!.up));
  const vector = H.flatMap((h, i) => (i < DD.length ? [h, DD[i]!, UD[i]!] : [h]));
  return { ok: true, features: { H, DD, UD, vector, names: featureNames(phrase), keys } };
}
