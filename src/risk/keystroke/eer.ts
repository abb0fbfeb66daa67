/**
 * Equal-error rate and the standard evaluation protocol of the CMU keystroke benchmark (Killourhy &
 * Maxion, DSN 2009, `DSL-StrongPasswordData`). Rules:
 *
 *   - Scores are "higher = more anomalous"; a sample is accepted when its score is <= the threshold.
 *     FRR(t) is the share of genuine scores > t, FAR(t) the share of impostor scores <= t.
 *   - The ROC is every operating point the data allows: one threshold below all scores (FRR 1,
 *     FAR 0) and one at each distinct score, ties accepted together. The EER is where the polyline
 *     through those points crosses FRR = FAR, interpolated linearly on the segment that crosses, so a
 *     perfect separation gives exactly 0 and identical score sets exactly 0.5.
 *   - Protocol, per subject: train on the first `train` samples (200), genuine tests are the next
 *     `genuine` samples (200), impostor tests are the first `impostorPerSubject` samples (5) of every
 *     other subject, in session/repetition order. The headline is the mean of the per-subject EERs
 *     (the paper's figure); the pooled EER puts every subject's raw genuine and impostor scores into
 *     one ROC, i.e. one global threshold for everybody, and is reported alongside.
 */
import type { KeystrokeDetector } from './detectors.ts';

/** One point of the ROC: the error rates at one threshold. */
export interface RocPoint {
  threshold: number;
  far: number;
  frr: number;
}

/** The EER and the threshold at which the error rates cross (interpolated like the rates). */
export interface EqualErrorRate {
  eer: number;
  threshold: number;
}

/**
 * Every operating point of a detector, by increasing threshold: first `-Infinity` (everything
 * rejected), then each distinct score.
 * @throws Error if either score set is empty or holds a non-finite score.
 */
export function rocCurve(genuine: readonly number[], impostor: readonly number[]): RocPoint[] {
  if (genuine.length === 0 || impostor.length === 0) {
    throw new Error('A ROC needs at least one genuine and one impostor score.');
  }
  const all: { score: number; genuine: boolean }[] = [];
  for (const score of genuine) all.push({ score, genuine: true });
  for (const score of impostor) all.push({ score, genuine: false });
  if (all.some((s) => !Number.isFinite(s.score))) throw new Error('Scores must be finite numbers.');
  all.sort((a, b) => a.score - b.score);

  const points: RocPoint[] = [{ threshold: Number.NEGATIVE_INFINITY, far: 0, frr: 1 }];
  let acceptedGenuine = 0;
  let acceptedImpostor = 0;
  for (let i = 0; i < all.length; ) {
    const threshold = all[i]!.score;
    // Tied scores share one threshold, so they move together: no order-dependent half-steps.
    while (i < all.length && all[i]!.score === threshold) {
      if (all[i]!.genuine) acceptedGenuine++;
      else acceptedImpostor++;
      i++;
    }
    points.push({
      threshold,
      far: acceptedImpostor / impostor.length,
      frr: 1 - acceptedGenuine / genuine.length,
    });
  }
  return points;
}

/**
 * The equal-error rate: where FRR = FAR on the ROC polyline, interpolated on the crossing segment.
 * @throws Error as `rocCurve`.
 */
export function equalErrorRate(genuine: readonly number[], impostor: readonly number[]): EqualErrorRate {
  const roc = rocCurve(genuine, impostor);
  for (let i = 1; i < roc.length; i++) {
    const a = roc[i - 1]!;
    const b = roc[i]!;
    const da = a.frr - a.far;
    const db = b.frr - b.far;
    if (da > 0 && db <= 0) {
      const t = da / (da - db);
      const threshold = Number.isFinite(a.threshold)
        ? a.threshold + t * (b.threshold - a.threshold)
        : b.threshold;
      return { eer: a.far + t * (b.far - a.far), threshold };
    }
  }
  // Unreachable: the first point has FRR - FAR = 1 and the last FRR - FAR = -1.
  throw new Error('The ROC does not cross FRR = FAR.');
}

/** One row of a CMU-layout CSV. */
export interface KeystrokeRow {
  subject: string;
  sessionIndex: number;
  rep: number;
  /** The timing features in column order, in seconds. */
  features: number[];
}

/** A CMU-layout data set: feature column names and rows grouped by subject in first-seen order. */
export interface KeystrokeDataset {
  featureNames: string[];
  subjects: { subject: string; rows: KeystrokeRow[] }[];
}

/**
 * Parses a CSV in the `DSL-StrongPasswordData` layout: `subject,sessionIndex,rep,<features…>`.
 * Each subject's rows are ordered by session, then repetition (the protocol's "first" samples).
 * @throws Error naming the line on a wrong header, a short row or a non-numeric value.
 */
export function parseKeystrokeCsv(text: string): KeystrokeDataset {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = lines[0]?.split(',').map((cell) => cell.trim());
  if (header?.[0] !== 'subject' || header[1] !== 'sessionIndex' || header[2] !== 'rep') {
    throw new Error('Expected the header to start with subject,sessionIndex,rep.');
  }
  const featureNames = header.slice(3);
  if (featureNames.length === 0) throw new Error('The CSV has no feature columns.');
  const bySubject = new Map<string, KeystrokeRow[]>();
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',').map((cell) => cell.trim());
    if (cells.length !== header.length) {
      throw new Error(`Line ${i + 1}: expected ${header.length} columns, found ${cells.length}.`);
    }
    const numbers = cells.slice(1).map(Number);
    const bad = numbers.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) throw new Error(`Line ${i + 1}: column ${header[bad + 1]} is not a number.`);
    const subject = cells[0]!;
    const row: KeystrokeRow = {
      subject,
      sessionIndex: numbers[0]!,
      rep: numbers[1]!,
      features: numbers.slice(2),
    };
    const rows = bySubject.get(subject);
    if (rows) rows.push(row);
    else bySubject.set(subject, [row]);
  }
  return {
    featureNames,
    subjects: [...bySubject].map(([subject, rows]) => ({
      subject,
      rows: rows.sort((a, b) => a.sessionIndex - b.sessionIndex || a.rep - b.rep),
    })),
  };
}

/** The sizes of the standard protocol. */
export interface ProtocolOptions {
  /** Training samples per subject (the first ones): 200. */
  train: number;
  /** Genuine test samples per subject (the ones after training): 200. */
  genuine: number;
  /** Impostor test samples taken from the start of every other subject: 5. */
  impostorPerSubject: number;
}

/** The standard protocol of the benchmark. */
export const STANDARD_PROTOCOL: ProtocolOptions = { train: 200, genuine: 200, impostorPerSubject: 5 };

/** One detector's result for one subject. */
export interface SubjectResult {
  subject: string;
  eer: number;
  /** The score at which the subject's FRR and FAR cross. */
  threshold: number;
  /** Error rates at the per-person threshold the detector calibrated from training data alone. */
  calibrated: { threshold: number; frr: number; far: number };
  genuineScores: number[];
  impostorScores: number[];
}

/** One detector's results over a data set. */
export interface DetectorResult {
  detector: string;
  subjects: SubjectResult[];
  /** Mean of the per-subject EERs (the paper's headline figure). */
  meanEer: number;
  /** Sample standard deviation of the per-subject EERs. */
  sdEer: number;
  /** EER of all subjects' raw scores in one ROC (one global threshold). */
  pooledEer: number;
  /** Mean FRR and FAR at the calibrated per-person thresholds. */
  calibrated: { frr: number; far: number };
}

/**
 * Runs the standard protocol for each detector over a data set.
 * @throws Error if a subject has no genuine test samples left after training, or there is only one
 *   subject (no impostors).
 */
export function runProtocol(
  data: KeystrokeDataset,
  detectors: readonly KeystrokeDetector[],
  options: ProtocolOptions = STANDARD_PROTOCOL,
): DetectorResult[] {
  if (data.subjects.length < 2) throw new Error('The protocol needs at least two subjects.');
  for (const { subject, rows } of data.subjects) {
    if (rows.length <= options.train) {
      throw new Error(`Subject ${subject} has ${rows.length} samples: none left after training.`);
    }
  }
  return detectors.map((detector) => {
    const subjects = data.subjects.map(({ subject, rows }): SubjectResult => {
      const model = detector.train(
        rows.slice(0, options.train).map((row) => row.features),
        { capacity: options.train },
      );
      const genuineScores = rows
        .slice(options.train, options.train + options.genuine)
        .map((row) => detector.score(model, row.features));
      const impostorScores = data.subjects
        .filter((other) => other.subject !== subject)
        .flatMap((other) => other.rows.slice(0, options.impostorPerSubject))
        .map((row) => detector.score(model, row.features));
      const { threshold } = model;
      return {
        subject,
        ...equalErrorRate(genuineScores, impostorScores),
        calibrated: {
          threshold,
          frr: genuineScores.filter((s) => s > threshold).length / genuineScores.length,
          far: impostorScores.filter((s) => s <= threshold).length / impostorScores.length,
        },
        genuineScores,
        impostorScores,
      };
    });
    const eers = subjects.map((s) => s.eer);
    const meanEer = eers.reduce((sum, e) => sum + e, 0) / eers.length;
    const sdEer =
      eers.length > 1
        ? Math.sqrt(eers.reduce((sum, e) => sum + (e - meanEer) ** 2, 0) / (eers.length - 1))
        : 0;
    const pooledEer = equalErrorRate(
      subjects.flatMap((s) => s.genuineScores),
      subjects.flatMap((s) => s.impostorScores),
    ).eer;
    const calibrated = {
      frr: subjects.reduce((sum, s) => sum + s.calibrated.frr, 0) / subjects.length,
      far: subjects.reduce((sum, s) => sum + s.calibrated.far, 0) / subjects.length,
    };
    return { detector: detector.name, subjects, meanEer, sdEer, pooledEer, calibrated };
  });
}
