/**
 * Synthetic typing data in the CMU layout, deterministic for a seed: for tests and for evaluating the
 * detectors without the real data.
 *
 * Model: timings are log-normal. The population has a typical hold per key and a typical
 * keydown-to-keydown interval per key pair (some pairs, like the one into a Shift key, are slower).
 * Each subject shifts those by an overall tempo and by their own per-feature habits, and has their own
 * per-feature variability. Each session drifts the tempo a little (practice makes people faster), and
 * each typing shares one tempo jitter across its keys. Occasional outliers stand for hesitations (a
 * long interval) and sticky keys (a long hold). UD is derived (DD minus the previous hold), so it is
 * negative when keys overlap, as in the real data.
 */
import type { KeystrokeDataset, KeystrokeRow } from './eer.ts';
import { CMU_PHRASE, featureNames, type KeystrokeEvent, phraseKeys, type TypingPhrase } from './features.ts';

/** Options of the generator; every one has a default matching the CMU benchmark's shape. */
export interface SyntheticOptions {
  /** Number of subjects (default 12). */
  subjects?: number;
  /** Sessions per subject (default 8). */
  sessions?: number;
  /** Typings per session (default 50). */
  repsPerSession?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** The phrase typed (default the CMU one). */
  phrase?: TypingPhrase;
  /** Chance per interval of a hesitation, and per hold of a sticky key (default 0.02). */
  outlierRate?: number;
}

/** A seeded PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): () => number {
  return () => {
    // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

function round4(value: number): number {
  return Math.round(value * 1e4) / 1e4 + 0;
}

/** Generates a data set in the CMU layout (subjects `s001`, `s002`, …). */
export function generateSyntheticKeystrokes(options: SyntheticOptions = {}): KeystrokeDataset {
  const subjectCount = options.subjects ?? 12;
  const sessions = options.sessions ?? 8;
  const reps = options.repsPerSession ?? 50;
  const phrase = options.phrase ?? CMU_PHRASE;
  const outlierRate = options.outlierRate ?? 0.02;
  const random = seededRandom(options.seed ?? 1);
  const normal = gaussian(random);
  const keys = phraseKeys(phrase);
  const n = keys.length;

  const populationHold = keys.map(() => Math.log(0.09) + 0.15 * normal());
  const populationInterval = keys.slice(1).map((key) => {
    const shifted = /^[A-Z]$/.test(key) ? 0.6 : 0;
    return Math.log(0.22) + shifted + 0.35 * normal();
  });

  const subjects = [];
  for (let s = 1; s <= subjectCount; s++) {
    const subject = `s${String(s).padStart(3, '0')}`;
    const tempo = 0.3 * normal();
    const holdMean = populationHold.map((m) => m + 0.5 * tempo + 0.2 * normal());
    const intervalMean = populationInterval.map((m) => m + tempo + 0.3 * normal());
    const holdSd = holdMean.map(() => 0.1 + 0.1 * random());
    const intervalSd = intervalMean.map(() => 0.15 + 0.2 * random());
    const rows: KeystrokeRow[] = [];
    for (let session = 1; session <= sessions; session++) {
      const practice = -0.03 * (session - 1) + 0.05 * normal();
      for (let rep = 1; rep <= reps; rep++) {
        const jitter = practice + 0.05 * normal();
        const H = holdMean.map((m, i) => {
          const sticky = random() < outlierRate ? Math.log(2 + 2 * random()) : 0;
          return Math.exp(m + 0.5 * jitter + holdSd[i]! * normal() + sticky);
        });
        const DD = intervalMean.map((m, i) => {
          const hesitation = random() < outlierRate ? Math.log(2 + 4 * random()) : 0;
          return Math.exp(m + jitter + intervalSd[i]! * normal() + hesitation);
        });
        const features: number[] = [];
        for (let i = 0; i < n; i++) {
          features.push(round4(H[i]!));
          if (i < n - 1) features.push(round4(DD[i]!), round4(DD[i]! - H[i]!));
        }
        rows.push({ subject, sessionIndex: session, rep, features });
      }
    }
    subjects.push({ subject, rows });
  }
  return { featureNames: featureNames(phrase), subjects };
}

/** A data set as CSV text in the `DSL-StrongPasswordData` layout (4 decimals, as the original). */
export function keystrokeCsv(data: KeystrokeDataset): string {
  const lines = [['subject', 'sessionIndex', 'rep', ...data.featureNames].join(',')];
  for (const { rows } of data.subjects) {
    for (const row of rows) {
      lines.push(
        [row.subject, row.sessionIndex, row.rep, ...row.features.map((v) => v.toFixed(4))].join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The browser payload that would produce a feature vector (CMU order: H, DD, UD per key): keydowns
 * follow the DD intervals from `startMs`, each key comes up after its hold. UD is implied by DD and H.
 */
export function payloadFromVector(
  vector: readonly number[],
  phrase: TypingPhrase = CMU_PHRASE,
  startMs = 1000,
): { keys: KeystrokeEvent[] } {
  const keys = phraseKeys(phrase);
  let down = startMs;
  return {
    keys: keys.map((key, i) => {
      const event = { key, down, up: down + vector[3 * i]! * 1000 };
      if (i < keys.length - 1) down += vector[3 * i + 1]! * 1000;
      return event;
    }),
  };
}
