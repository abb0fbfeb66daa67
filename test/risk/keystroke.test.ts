import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromRoot } from '../../src/paths.ts';
import {
  DEFAULT_CAPACITY,
  type KeystrokeModel,
  robustManhattan,
  scaledManhattan,
} from '../../src/risk/keystroke/detectors.ts';
import {
  equalErrorRate,
  type KeystrokeDataset,
  parseKeystrokeCsv,
  rocCurve,
  runProtocol,
} from '../../src/risk/keystroke/eer.ts';
import {
  CMU_PHRASE,
  featureNames,
  type KeystrokeEvent,
  keyName,
  MAX_KEYS,
  parseTyping,
  type TypingPhrase,
  usernamePhrase,
} from '../../src/risk/keystroke/features.ts';
import { scriptedRule } from '../../src/risk/keystroke/scripted.ts';
import {
  generateSyntheticKeystrokes,
  keystrokeCsv,
  payloadFromVector,
  seededRandom,
} from '../../src/risk/keystroke/synthetic.ts';
import { learnTyping, type TypingProfile, typingRhythm } from '../../src/risk/signals/typing-rhythm.ts';
import type { Contribution, Skip } from '../../src/risk/types.ts';

const CMU_FILE = fromRoot('..', 'shared', 'data', 'keystroke', 'DSL-StrongPasswordData-first12.csv');
const haveCmu = existsSync(CMU_FILE);
const CMU_HEADER =
  'H.period,DD.period.t,UD.period.t,H.t,DD.t.i,UD.t.i,H.i,DD.i.e,UD.i.e,H.e,DD.e.five,UD.e.five,H.five,' +
  'DD.five.Shift.r,UD.five.Shift.r,H.Shift.r,DD.Shift.r.o,UD.Shift.r.o,H.o,DD.o.a,UD.o.a,H.a,DD.a.n,UD.a.n,' +
  'H.n,DD.n.l,UD.n.l,H.l,DD.l.Return,UD.l.Return,H.Return';

/** A plausible human typing of the CMU phrase (the first row of subject s002 in the benchmark). */
const HUMAN_VECTOR = [
  0.1491, 0.3979, 0.2488, 0.1069, 0.1674, 0.0605, 0.1169, 0.2212, 0.1043, 0.1417, 1.1885, 1.0468, 0.1146,
  1.6055, 1.4909, 0.1067, 0.759, 0.6523, 0.1016, 0.2136, 0.112, 0.1349, 0.1484, 0.0135, 0.0932, 0.3515,
  0.2583, 0.1338, 0.3509, 0.2171, 0.0742,
];

function humanPayload(): { keys: KeystrokeEvent[] } {
  return payloadFromVector(HUMAN_VECTOR);
}

function refusalOf(payload: unknown, phrase: TypingPhrase = CMU_PHRASE): { code: string; reason: string } {
  const parsed = parseTyping(payload, phrase);
  if (parsed.ok) throw new Error('expected a refusal');
  return parsed;
}

/**
 * Keys of a phrase typed with the given holds and keydown intervals (ms), from a fine-grained clock
 * (the fraction in `start`) unless told otherwise.
 */
function typed(
  phrase: TypingPhrase,
  holds: number[],
  intervals: number[],
  start = 5000.37,
): KeystrokeEvent[] {
  const keys = [...phrase.text, ...(phrase.terminator ? [phrase.terminator] : [])];
  let down = start;
  return keys.map((key, i) => {
    const event = { key, down, up: down + holds[i % holds.length]! };
    down += intervals[i % intervals.length]!;
    return event;
  });
}

function isSkip(result: Contribution | Skip): result is Skip {
  return 'skipped' in result;
}

describe('typing features', () => {
  it('should extract H, DD and UD in seconds in CMU column order for a hand-computed example', () => {
    const phrase: TypingPhrase = { text: 'Ab5', terminator: 'Enter' };
    const parsed = parseTyping(
      {
        keys: [
          { key: 'A', down: 1000, up: 1100 },
          { key: 'b', down: 1250, up: 1330 },
          // Goes down before b comes up: a rollover, so UD is negative.
          { key: '5', down: 1300, up: 1400 },
          { key: 'Enter', down: 1700.5, up: 1790.2 },
        ],
      },
      phrase,
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.features.H).toEqual([0.1, 0.08, 0.1, 0.0897]);
    expect(parsed.features.DD).toEqual([0.25, 0.05, 0.4005]);
    expect(parsed.features.UD).toEqual([0.15, -0.03, 0.3005]);
    expect(parsed.features.vector).toEqual([0.1, 0.25, 0.15, 0.08, 0.05, -0.03, 0.1, 0.4005, 0.3005, 0.0897]);
    expect(parsed.features.names).toEqual([
      'H.Shift.a',
      'DD.Shift.a.b',
      'UD.Shift.a.b',
      'H.b',
      'DD.b.five',
      'UD.b.five',
      'H.five',
      'DD.five.Return',
      'UD.five.Return',
      'H.Return',
    ]);
  });

  it('should name the CMU phrase features exactly as the benchmark columns', () => {
    expect(featureNames(CMU_PHRASE).join(',')).toBe(CMU_HEADER);
  });

  it('should reproduce a CMU row from the payload that typed it', () => {
    const parsed = parseTyping(humanPayload(), CMU_PHRASE);
    expect(parsed.ok && parsed.features.vector).toEqual(HUMAN_VECTOR);
  });

  it('should give repeated keys distinct names and fall back to code points for other characters', () => {
    expect(featureNames(usernamePhrase('anna'))).toEqual([
      'H.a',
      'DD.a.n',
      'UD.a.n',
      'H.n',
      'DD.n.n#2',
      'UD.n.n#2',
      'H.n#2',
      'DD.n#2.a#2',
      'UD.n#2.a#2',
      'H.a#2',
    ]);
    expect(keyName('é')).toBe('U+00E9');
    expect(keyName('@')).toBe('at');
  });
});

describe('typing payload refusals', () => {
  it('should refuse a payload that is not an object with keys', () => {
    expect(refusalOf('typing').code).toBe('invalid_payload');
    expect(refusalOf(null).code).toBe('invalid_payload');
    expect(refusalOf({}).code).toBe('invalid_payload');
  });

  it('should refuse extra fields', () => {
    expect(refusalOf({ ...humanPayload(), replay: true }).code).toBe('invalid_payload');
    const keys = humanPayload().keys.map((k, i) => (i === 0 ? { ...k, code: 'Period' } : k));
    expect(refusalOf({ keys }).code).toBe('invalid_payload');
  });

  it('should refuse non-finite timestamps', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const keys = humanPayload().keys.map((k, i) => (i === 3 ? { ...k, up: bad } : k));
      expect(refusalOf({ keys }).code).toBe('invalid_payload');
    }
  });

  it('should refuse negative timestamps', () => {
    const keys = humanPayload().keys.map((k, i) => (i === 0 ? { ...k, down: -5 } : k));
    expect(refusalOf({ keys }).code).toBe('invalid_payload');
  });

  it('should refuse a key name that cannot be a KeyboardEvent.key', () => {
    const keys = humanPayload().keys.map((k, i) => (i === 0 ? { ...k, key: 'x'.repeat(17) } : k));
    expect(refusalOf({ keys }).code).toBe('invalid_payload');
  });

  it('should refuse too many events before validating them', () => {
    const keys = Array.from({ length: MAX_KEYS + 1 }, () => 'not even an object');
    expect(refusalOf({ keys }).code).toBe('too_many_events');
  });

  it('should refuse a missing keystroke', () => {
    expect(refusalOf({ keys: humanPayload().keys.slice(0, -1) }).code).toBe('wrong_keys');
  });

  it('should refuse a key that is not the phrase key (case matters: R is Shift+r)', () => {
    const keys = humanPayload().keys.map((k) => (k.key === 'R' ? { ...k, key: 'r' } : k));
    expect(refusalOf({ keys }).code).toBe('wrong_keys');
  });

  it('should not echo the typed text in a refusal reason', () => {
    const keys = typed(usernamePhrase('alicf'), [90], [200]);
    const refusal = refusalOf({ keys }, usernamePhrase('alice'));
    expect(refusal.code).toBe('wrong_keys');
    expect(refusal.reason).not.toMatch(/alic/);
  });

  it('should refuse keydowns out of order', () => {
    const keys = humanPayload().keys;
    keys[4] = { ...keys[4]!, down: keys[3]!.down - 1, up: keys[3]!.down + 50 };
    expect(refusalOf({ keys }).code).toBe('non_monotonic');
  });

  it('should refuse a key that comes up before it goes down', () => {
    const keys = humanPayload().keys.map((k, i) => (i === 2 ? { ...k, up: k.down - 1 } : k));
    expect(refusalOf({ keys }).code).toBe('non_monotonic');
  });

  it('should refuse a hold over 5 s', () => {
    const keys = humanPayload().keys.map((k, i) => (i === 10 ? { ...k, up: k.down + 5001 } : k));
    expect(refusalOf({ keys }).code).toBe('absurd_timing');
  });

  it('should refuse a gap over 10 s between keydowns', () => {
    const keys = humanPayload().keys.map((k, i) =>
      i >= 6 ? { ...k, down: k.down + 10_000, up: k.up + 10_000 } : k,
    );
    expect(refusalOf({ keys }).code).toBe('absurd_timing');
  });

  it('should refuse a phrase too short to have a rhythm', () => {
    expect(refusalOf({ keys: [{ key: 'a', down: 1, up: 2 }] }, usernamePhrase('a')).code).toBe(
      'unsupported_phrase',
    );
  });
});

describe('equal-error rate', () => {
  it('should be 0 for a perfect separation', () => {
    expect(equalErrorRate([0.1, 0.2, 0.3], [0.4, 0.5, 0.9]).eer).toBe(0);
  });

  it('should be 0.5 for identical score sets, ties included', () => {
    expect(equalErrorRate([1, 1], [1, 1]).eer).toBe(0.5);
    expect(equalErrorRate([1, 2, 3], [1, 2, 3]).eer).toBeCloseTo(0.5, 12);
  });

  it('should be about 0.5 for scores from one distribution (chance)', () => {
    const random = seededRandom(42);
    const genuine = Array.from({ length: 4000 }, () => random());
    const impostor = Array.from({ length: 4000 }, () => random());
    expect(Math.abs(equalErrorRate(genuine, impostor).eer - 0.5)).toBeLessThan(0.03);
  });

  it('should interpolate on the segment that crosses FRR = FAR', () => {
    // ROC: (FAR 0, FRR 1/3) at t = 2, then (1/2, 1/3) at t = 2.5: crosses at FAR = FRR = 1/3.
    const { eer, threshold } = equalErrorRate([1, 2, 3], [2.5, 4]);
    expect(eer).toBeCloseTo(1 / 3, 12);
    expect(threshold).toBeGreaterThan(2);
    expect(threshold).toBeLessThan(2.5);
  });

  it('should treat tied genuine and impostor scores as one operating point', () => {
    expect(rocCurve([1, 2], [2, 3]).map((p) => [p.far, p.frr])).toEqual([
      [0, 1],
      [0, 0.5],
      [0.5, 0],
      [1, 0],
    ]);
  });

  it('should refuse empty or non-finite score sets', () => {
    expect(() => equalErrorRate([], [1])).toThrow();
    expect(() => equalErrorRate([1], [Number.NaN])).toThrow();
  });
});

describe('detectors', () => {
  it('should score scaled Manhattan as the paper defines it (mean, mean absolute deviation)', () => {
    const model = scaledManhattan.train(
      [
        [1, 10],
        [3, 14],
      ],
      { calibrate: false },
    );
    expect(model.center).toEqual([2, 12]);
    expect(model.scale).toEqual([1, 2]);
    expect(scaledManhattan.score(model, [4, 12])).toBe(2);
    expect(scaledManhattan.score(model, [2, 16])).toBe(2);
  });

  it('should keep the robust centre and scale unmoved by one training outlier and clip each term at 6', () => {
    const model = robustManhattan.train([[1], [2], [3], [4], [100]], { calibrate: false });
    expect(model.center).toEqual([3]);
    expect(model.scale).toEqual([1]);
    expect(robustManhattan.score(model, [5])).toBe(2);
    expect(robustManhattan.score(model, [1000])).toBe(6);
  });

  it('should refuse to train on nothing or on samples of different lengths', () => {
    expect(() => robustManhattan.train([])).toThrow();
    expect(() => robustManhattan.train([[1, 2], [1]])).toThrow();
    const model = robustManhattan.train([[1, 2]]);
    expect(() => robustManhattan.score(model, [1])).toThrow();
  });

  it('should score well under 1 ms', () => {
    const rows = generateSyntheticKeystrokes({ subjects: 1 }).subjects[0]!.rows.map((r) => r.features);
    const model = robustManhattan.train(rows.slice(0, 200));
    const start = performance.now();
    for (const row of rows) robustManhattan.score(model, row);
    expect((performance.now() - start) / rows.length).toBeLessThan(0.1);
  });

  it('should update a stored profile from its window alone, keeping the most recent samples', () => {
    const rows = generateSyntheticKeystrokes({ subjects: 1 }).subjects[0]!.rows.map((r) => r.features);
    let model: KeystrokeModel | null = null;
    for (const row of rows.slice(0, 250)) {
      // Through JSON each time, as a stored profile would be.
      model = robustManhattan.update(model === null ? null : JSON.parse(JSON.stringify(model)), row);
    }
    expect(model!.window).toHaveLength(DEFAULT_CAPACITY);
    expect(model).toEqual(robustManhattan.train(rows.slice(50, 250)));
  });

  it('should calibrate a per-person threshold that accepts most genuine typings', () => {
    const rows = generateSyntheticKeystrokes({ subjects: 1, seed: 3 }).subjects[0]!.rows.map(
      (r) => r.features,
    );
    const model = robustManhattan.train(rows.slice(0, 200));
    const accepted = rows.slice(200).filter((row) => robustManhattan.score(model, row) <= model.threshold);
    expect(accepted.length / 200).toBeGreaterThan(0.85);
  });
});

describe('synthetic data and the protocol', () => {
  it('should generate the same data for the same seed and different data for another', () => {
    const a = keystrokeCsv(generateSyntheticKeystrokes({ subjects: 2, seed: 5 }));
    expect(keystrokeCsv(generateSyntheticKeystrokes({ subjects: 2, seed: 5 }))).toBe(a);
    expect(keystrokeCsv(generateSyntheticKeystrokes({ subjects: 2, seed: 6 }))).not.toBe(a);
    expect(a.split('\n')[0]).toBe(`subject,sessionIndex,rep,${CMU_HEADER}`);
    expect(a.trim().split('\n')).toHaveLength(1 + 2 * 400);
  });

  it('should give EERs below a loose bound on synthetic data, ours below scaled Manhattan', () => {
    const data = parseKeystrokeCsv(keystrokeCsv(generateSyntheticKeystrokes({ subjects: 12, seed: 1 })));
    const [sm, ours] = runProtocol(data, [scaledManhattan, robustManhattan]);
    expect(sm!.meanEer).toBeLessThan(0.25);
    expect(ours!.meanEer).toBeLessThan(0.1);
    expect(ours!.meanEer).toBeLessThan(sm!.meanEer);
    expect(ours!.subjects[0]!.impostorScores).toHaveLength(11 * 5);
    expect(ours!.subjects[0]!.genuineScores).toHaveLength(200);
  });

  it('should never find synthetic human typing scripted', () => {
    const data = generateSyntheticKeystrokes({ subjects: 4, seed: 9 });
    for (const row of data.subjects.flatMap((s) => s.rows)) {
      const parsed = parseTyping(payloadFromVector(row.features), CMU_PHRASE);
      expect(parsed.ok && scriptedRule(parsed.features)).toBe(null);
    }
  });

  it('should refuse a CSV in another layout', () => {
    expect(() => parseKeystrokeCsv('user,session,rep,H.a\n')).toThrow(/header/);
    expect(() => parseKeystrokeCsv('subject,sessionIndex,rep,H.a\ns1,1,1,x\n')).toThrow(/Line 2/);
  });
});

describe.skipIf(!haveCmu)(`CMU benchmark, first 12 subjects (skipped: ${CMU_FILE} not found)`, () => {
  const load = (): KeystrokeDataset => parseKeystrokeCsv(readFileSync(CMU_FILE, 'utf8'));

  it('should beat scaled Manhattan, and the paper figure of 0.096, under the standard protocol', () => {
    const data = load();
    expect(data.subjects).toHaveLength(12);
    expect(data.featureNames.join(',')).toBe(CMU_HEADER);
    const [sm, ours] = runProtocol(data, [scaledManhattan, robustManhattan]);
    // Our scaled Manhattan lands near the paper's 51-subject mean: a check that it is the paper's.
    expect(sm!.meanEer).toBeGreaterThan(0.08);
    expect(sm!.meanEer).toBeLessThan(0.12);
    expect(ours!.meanEer).toBeLessThan(sm!.meanEer);
    expect(ours!.meanEer).toBeLessThan(0.096);
    expect(ours!.pooledEer).toBeLessThan(sm!.pooledEer);
  });

  it('should read every human typing back from its payload and never find it scripted', () => {
    for (const row of load().subjects.flatMap((s) => s.rows)) {
      const parsed = parseTyping(payloadFromVector(row.features), CMU_PHRASE);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      for (let j = 0; j < row.features.length; j++) {
        expect(Math.abs(parsed.features.vector[j]! - row.features[j]!)).toBeLessThan(1.5e-4);
      }
      expect(scriptedRule(parsed.features)).toBe(null);
    }
  });
});

describe('scripted typing', () => {
  const phrase = usernamePhrase('mallorysmith');
  const profile: TypingProfile = { model: null, samples: 0 };

  it('should flag identical holds replayed by a bot, even without a profile', () => {
    const result = typingRhythm({ typing: { keys: typed(phrase, [50], [180, 240, 150, 310]) } }, profile, {
      phrase,
    });
    expect(result).toMatchObject({
      reason: 'typing.scripted',
      points: 80,
      evidence: { rule: 'identical_holds' },
    });
  });

  it('should flag metronomic keydown intervals', () => {
    const keys = typed(phrase, [80, 95, 110, 70], [200.2]);
    expect(typingRhythm({ typing: { keys } }, profile, { phrase })).toMatchObject({
      reason: 'typing.scripted',
      evidence: { rule: 'regular_intervals' },
    });
  });

  it('should not judge interval regularity on short names (people hit it by chance there)', () => {
    const short = usernamePhrase('ann');
    const keys = typed(short, [80, 95, 110], [200.2]);
    expect(typingRhythm({ typing: { keys } }, profile, { phrase: short })).not.toMatchObject({
      evidence: { rule: 'regular_intervals' },
    });
  });

  it('should flag synthetic events with no hold at all', () => {
    const keys = typed(phrase, [0], [12, 31, 7, 22]);
    expect(typingRhythm({ typing: { keys } }, profile, { phrase })).toMatchObject({
      reason: 'typing.scripted',
    });
  });

  it('should flag inhuman speed', () => {
    const keys = typed(phrase, [3, 6, 4, 8, 5], [12, 25, 18, 9, 21]);
    expect(typingRhythm({ typing: { keys } }, profile, { phrase })).toMatchObject({
      reason: 'typing.scripted',
      evidence: { rule: 'inhuman_speed' },
    });
  });

  it('should not flag equal holds on a clock coarsened to 100 ms steps, but still flag metronomic ones', () => {
    const human = typed(phrase, [100], [200, 300, 100, 400, 200], 1000);
    expect(typingRhythm({ typing: { keys: human } }, profile, { phrase })).toEqual({
      signal: 'typing',
      skipped: 'no_profile',
    });
    const bot = typed(phrase, [100], [200], 1000);
    expect(typingRhythm({ typing: { keys: bot } }, profile, { phrase })).toMatchObject({
      reason: 'typing.scripted',
    });
  });
});

describe('typing rhythm signal', () => {
  const data = generateSyntheticKeystrokes({ subjects: 3, seed: 11 });
  const [alice, bob] = [data.subjects[0]!.rows, data.subjects[1]!.rows];
  const typingOf = (vector: number[]) => payloadFromVector(vector, CMU_PHRASE);
  const options = { phrase: CMU_PHRASE };
  const trained = (): TypingProfile => ({
    model: robustManhattan.train(alice.slice(0, 200).map((r) => r.features)),
    samples: 200,
  });

  it('should skip without a typing payload', () => {
    expect(typingRhythm({}, trained(), options)).toEqual({ signal: 'typing', skipped: 'no_typing' });
  });

  it('should skip a malformed payload with its reason', () => {
    const result = typingRhythm({ typing: { keys: [] } }, trained(), options);
    expect(isSkip(result) && result.skipped).toMatch(/^malformed: wrong_keys: /);
  });

  it('should skip without a profile', () => {
    expect(
      typingRhythm({ typing: typingOf(alice[0]!.features) }, { model: null, samples: 0 }, options),
    ).toEqual({
      signal: 'typing',
      skipped: 'no_profile',
    });
  });

  it('should skip with too few samples', () => {
    const model = robustManhattan.train(alice.slice(0, 5).map((r) => r.features));
    expect(typingRhythm({ typing: typingOf(alice[300]!.features) }, { model, samples: 5 }, options)).toEqual({
      signal: 'typing',
      skipped: 'too_few_samples',
    });
  });

  it('should skip a profile of another detector, another phrase or an unreadable one', () => {
    const typing = typingOf(alice[300]!.features);
    const other = scaledManhattan.train(alice.slice(0, 200).map((r) => r.features));
    const shorter = robustManhattan.train(alice.slice(0, 200).map((r) => r.features.slice(0, 28)));
    const corrupt = { ...trained().model!, scale: 'oops' } as unknown as KeystrokeModel;
    for (const model of [other, shorter, corrupt]) {
      expect(typingRhythm({ typing }, { model, samples: 200 }, options)).toEqual({
        signal: 'typing',
        skipped: 'profile_mismatch',
      });
    }
  });

  it('should find the person typing consistent (0 points) with score, threshold and samples', () => {
    const result = typingRhythm({ typing: typingOf(alice[300]!.features) }, trained(), options);
    expect(result).toMatchObject({ signal: 'typing', reason: 'typing.consistent', points: 0 });
    expect(!isSkip(result) && result.evidence).toEqual({
      score: expect.any(Number),
      threshold: expect.any(Number),
      samples: 200,
    });
  });

  it('should find another person anomalous, with points growing with the score over the threshold', () => {
    const profile = trained();
    const results = bob
      .slice(0, 20)
      .map((r) => typingRhythm({ typing: typingOf(r.features) }, profile, options))
      .filter((r): r is Contribution => !isSkip(r));
    const anomalous = results.filter((r) => r.reason === 'typing.anomalous');
    expect(anomalous.length).toBeGreaterThanOrEqual(15);
    for (const r of anomalous) {
      const { score, threshold } = r.evidence as { score: number; threshold: number };
      expect(r.points).toBe(Math.min(100, Math.max(1, Math.round(100 * (score / threshold - 1)))));
    }
    const byScore = [...anomalous].sort(
      (a, b) => (a.evidence.score as number) - (b.evidence.score as number),
    );
    for (let i = 1; i < byScore.length; i++)
      expect(byScore[i]!.points).toBeGreaterThanOrEqual(byScore[i - 1]!.points);
  });

  it('should learn a profile from successful sign-ins of the username, then judge with it', () => {
    const phrase = usernamePhrase('alice');
    const rows = generateSyntheticKeystrokes({ subjects: 2, seed: 4, phrase }).subjects;
    let profile: TypingProfile = { model: null, samples: 0 };
    for (const row of rows[0]!.rows.slice(0, 30)) {
      profile = learnTyping({ typing: payloadFromVector(row.features, phrase) }, profile, { phrase });
    }
    expect(profile.samples).toBe(30);
    expect(profile.model!.window).toHaveLength(30);
    const self = typingRhythm({ typing: payloadFromVector(rows[0]!.rows[40]!.features, phrase) }, profile, {
      phrase,
    });
    expect(self).toMatchObject({ reason: 'typing.consistent' });
    const other = typingRhythm({ typing: payloadFromVector(rows[1]!.rows[0]!.features, phrase) }, profile, {
      phrase,
    });
    expect(other).toMatchObject({ reason: 'typing.anomalous' });
  });

  it('should not learn from scripted or malformed typing, and restart a profile that does not fit', () => {
    const profile = trained();
    const bot = { keys: typed(CMU_PHRASE, [50], [180, 240, 150, 310]) };
    expect(learnTyping({ typing: bot }, profile, options)).toBe(profile);
    expect(learnTyping({ typing: 'junk' }, profile, options)).toBe(profile);
    const phrase = usernamePhrase('bob');
    const restarted = learnTyping({ typing: { keys: typed(phrase, [90, 110, 80], [210, 260]) } }, profile, {
      phrase,
    });
    expect(restarted.samples).toBe(1);
    expect(restarted.model!.center).toHaveLength(7);
  });
});
