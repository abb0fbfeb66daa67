/**
 * `npm run eval:keystroke`: equal-error rates of the typing-rhythm detectors under the standard
 * protocol of the CMU keystroke benchmark (per subject: train on the first 200 samples, 200 genuine
 * tests, the first 5 samples of every other subject as impostors).
 *
 *   npm run eval:keystroke -- <csv>                   a CSV in the DSL-StrongPasswordData layout
 *   npm run eval:keystroke -- --synthetic [subjects]  generated data (default 12 subjects, seed 1)
 *   options: --seed <n> (synthetic), --train <n> (training samples, default 200)
 *
 * Prints per-subject EERs, their mean (the paper's figure) and sd, the pooled EER (one ROC over all
 * subjects' scores) and the error rates at the per-person calibrated thresholds; writes the same as
 * JSON to bench/results/keystroke-<name>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { fromRoot } from '../src/paths.ts';
import { robustManhattan, scaledManhattan } from '../src/risk/keystroke/detectors.ts';
import {
  type DetectorResult,
  type KeystrokeDataset,
  parseKeystrokeCsv,
  runProtocol,
  STANDARD_PROTOCOL,
} from '../src/risk/keystroke/eer.ts';
import { generateSyntheticKeystrokes } from '../src/risk/keystroke/synthetic.ts';

const DETECTORS = [scaledManhattan, robustManhattan];

function usage(message?: string): never {
  if (message) console.error(message);
  console.error('usage: eval-keystroke <csv> | --synthetic [subjects] [--seed n] [--train n]');
  process.exit(2);
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usage(`${name} must be a positive integer.`);
  return n;
}

/** Microseconds per score, median of five timed passes over every training sample. */
function scoreMicros(data: KeystrokeDataset): Record<string, number> {
  const rows = data.subjects.flatMap((s) => s.rows.map((r) => r.features));
  const timings: Record<string, number> = {};
  for (const detector of DETECTORS) {
    const model = detector.train(rows.slice(0, STANDARD_PROTOCOL.train), { calibrate: false });
    const passes: number[] = [];
    for (let pass = 0; pass < 5; pass++) {
      const start = performance.now();
      let sink = 0;
      for (const row of rows) sink += detector.score(model, row);
      passes.push(((performance.now() - start) * 1000) / rows.length + sink * 0);
    }
    timings[detector.name] = passes.sort((a, b) => a - b)[2]!;
  }
  return timings;
}

function table(results: DetectorResult[]): string {
  const names = results.map((r) => r.detector);
  const pad = (s: string, n = 18) => s.padStart(n);
  const fmt = (x: number) => x.toFixed(4);
  const lines = [`${'subject'.padEnd(10)}${names.map((n) => pad(n)).join('')}`];
  results[0]!.subjects.forEach((subject, i) => {
    lines.push(`${subject.subject.padEnd(10)}${results.map((r) => pad(fmt(r.subjects[i]!.eer))).join('')}`);
  });
  const row = (label: string, value: (r: DetectorResult) => string) =>
    `${label.padEnd(10)}${results.map((r) => pad(value(r))).join('')}`;
  lines.push(row('mean', (r) => fmt(r.meanEer)));
  lines.push(row('sd', (r) => fmt(r.sdEer)));
  lines.push(row('pooled', (r) => fmt(r.pooledEer)));
  lines.push(row('cal. FRR', (r) => fmt(r.calibrated.frr)));
  lines.push(row('cal. FAR', (r) => fmt(r.calibrated.far)));
  return lines.join('\n');
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    synthetic: { type: 'boolean', default: false },
    seed: { type: 'string' },
    train: { type: 'string' },
  },
});

let data: KeystrokeDataset;
let name: string;
let source: Record<string, unknown>;
if (values.synthetic) {
  const subjects = positiveInt(positionals[0], 'subjects', 12);
  if (subjects < 2) usage('The protocol needs at least two subjects.');
  const seed = positiveInt(values.seed, '--seed', 1);
  data = generateSyntheticKeystrokes({ subjects, seed });
  name = `synthetic-${subjects}-seed${seed}`;
  source = { synthetic: true, subjects, seed };
} else {
  const file = positionals[0];
  if (!file) usage();
  data = parseKeystrokeCsv(readFileSync(file, 'utf8'));
  name = basename(file, extname(file));
  source = { file };
}
const protocol = {
  ...STANDARD_PROTOCOL,
  train: positiveInt(values.train, '--train', STANDARD_PROTOCOL.train),
};
const results = runProtocol(data, DETECTORS, protocol);
const micros = scoreMicros(data);

console.log(
  `${name}: ${data.subjects.length} subjects, ${data.featureNames.length} features; train ${protocol.train}, ` +
    `genuine ${protocol.genuine}, impostors ${protocol.impostorPerSubject} per other subject`,
);
console.log(table(results));
console.log(
  'mean = average of per-subject EERs (the paper reports this); pooled = one ROC over all subjects; ' +
    'cal. = mean error rates at the per-person thresholds calibrated from training data alone',
);
console.log(`scoring: ${DETECTORS.map((d) => `${d.name} ${micros[d.name]!.toFixed(2)} µs`).join(', ')}`);

const outDir = fromRoot('bench', 'results');
mkdirSync(outDir, { recursive: true });
const outFile = `${outDir}/keystroke-${name}.json`;
writeFileSync(
  outFile,
  `${JSON.stringify(
    {
      source,
      protocol,
      subjects: data.subjects.map((s) => s.subject),
      scoreMicros: micros,
      detectors: results.map(({ subjects, ...summary }) => ({
        ...summary,
        subjects: subjects.map(({ genuineScores: _g, impostorScores: _i, ...subject }) => subject),
      })),
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${outFile}`);
