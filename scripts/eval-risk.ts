/**
 * `npm run eval:risk`: how well a policy and the risk signals separate attacks from people, on labelled
 * synthetic traffic (`src/risk/eval/traffic.ts`) replayed through the production decision point
 * (`src/risk/simulation.ts`) with the packaged geolocation and ASN data.
 *
 *   npm run eval:risk                              the default policy, seeds 1-3
 *   npm run eval:risk -- --policy <file>           a Cedar policy file instead
 *   npm run eval:risk -- --weights '{"travel.impossible":0.5}'   tenant weights (JSON or a JSON file)
 *   options: --seed <n> (first seed, default 1), --seeds <n> (how many, default 3), --people <n> (200),
 *            --days <n> (60), --warmup <days> (14)
 *
 * Each seed is a separate population (a tenant) with its own fresh history. Prints attacks by kind
 * (attempts, refused by the factor, decided: stepped up, denied, allowed), legitimate sign-ins by kind
 * (allowed, stepped up, denied; the warm-up apart), the figures against the goals (at least 95 % of
 * decided attacks stepped up or denied; at most 5 % of legitimate sign-ins after the warm-up stepped
 * up, none denied), what the misses were and what caused the false alarms, and the top reasons.
 * Writes the same, with every miss and up to 500 false alarms in full, to bench/results/eval-risk.json.
 *
 * Exit code 0 whether or not the goals are met (this measures); 1 when the address book no longer
 * matches the geolocation or ASN data; 2 on bad arguments.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { fromRoot } from '../src/paths.ts';
import { DEFAULT_POLICY } from '../src/policy/cedar/default-policy.ts';
import {
  ATTACK_KINDS,
  generateTraffic,
  type LabelledAttempt,
  LEGIT_KINDS,
  type TrafficKind,
  type TrafficSettings,
  verifyTrafficAddresses,
} from '../src/risk/eval/traffic.ts';
import { AsnDatabase } from '../src/risk/geo/asn.ts';
import { Geolocation } from '../src/risk/geo/geolocation.ts';
import type { RiskWeights } from '../src/risk/scorer.ts';
import { MAX_SIMULATED_ATTEMPTS, RiskSimulation, type SimulatedResult } from '../src/risk/simulation.ts';

const GOALS = { attacksCaught: 0.95, legitSteppedUp: 0.05, legitDenied: 0 } as const;

function usage(message?: string): never {
  if (message) console.error(message);
  console.error(
    'usage: eval-risk [--policy <file>] [--weights <json|file>] [--seed n] [--seeds n] [--people n] ' +
      '[--days n] [--warmup days]',
  );
  process.exit(2);
}

function integer(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) usage(`${name} must be an integer ≥ ${min}.`);
  return n;
}

function weightsOf(value: string | undefined): RiskWeights {
  if (value === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(existsSync(value) ? readFileSync(value, 'utf8') : value);
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      Object.values(parsed).some((w) => typeof w !== 'number' || !(w >= 0))
    ) {
      usage('--weights must be a JSON object of non-negative numbers.');
    }
    return parsed as RiskWeights;
  } catch {
    usage('--weights must be JSON or a JSON file.');
  }
}

const { values } = parseArgs({
  options: {
    policy: { type: 'string' },
    weights: { type: 'string' },
    seed: { type: 'string' },
    seeds: { type: 'string' },
    people: { type: 'string' },
    days: { type: 'string' },
    warmup: { type: 'string' },
  },
});
const policyName = values.policy ? basename(values.policy) : 'default policy';
const policyText = values.policy ? readFileSync(values.policy, 'utf8') : DEFAULT_POLICY;
const weights = weightsOf(values.weights);
const firstSeed = integer(values.seed, '--seed', 1);
const seedCount = integer(values.seeds, '--seeds', 3);
const shape = {
  people: integer(values.people, '--people', 200),
  days: integer(values.days, '--days', 60),
  warmupDays: integer(values.warmup, '--warmup', 14, 0),
};

interface Row {
  seed: number;
  labelled: LabelledAttempt;
  result: SimulatedResult;
}
type Decided = Extract<SimulatedResult, { score: number }>;
const isDecided = (r: Row): r is Row & { result: Decided } => r.result.outcome !== 'factor_failed';

const [geo, asn] = await Promise.all([Geolocation.open(), AsnDatabase.load()]);
const started = performance.now();
const rows: Row[] = [];
let settings: TrafficSettings | undefined;
for (let seed = firstSeed; seed < firstSeed + seedCount; seed++) {
  const traffic = generateTraffic({ ...shape, seed });
  settings = traffic.settings;
  const problems = verifyTrafficAddresses(traffic, geo, asn);
  if (problems.length > 0) {
    console.error(
      `The address book no longer matches the geolocation/ASN data (${problems.length} addresses):`,
    );
    for (const p of problems.slice(0, 20)) console.error(`  ${p.ip} (${p.from}): ${p.problem}`);
    process.exit(1);
  }
  // Longer traffic than one replay accepts goes in order, chunk by chunk, into one history.
  const simulation = new RiskSimulation({ policy: policyText, services: { geo, asn }, weights });
  try {
    const attempts = traffic.attempts.map((a) => a.attempt);
    for (let i = 0; i < attempts.length; i += MAX_SIMULATED_ATTEMPTS) {
      const results = await simulation.replay(attempts.slice(i, i + MAX_SIMULATED_ATTEMPTS));
      results.forEach((result, j) => {
        rows.push({ seed, labelled: traffic.attempts[i + j]!, result });
      });
    }
  } finally {
    await simulation.close();
  }
}
const seconds = (performance.now() - started) / 1000;

interface Tally {
  attempts: number;
  refused: number;
  decided: number;
  allowed: number;
  steppedUp: number;
  denied: number;
}
function tally(list: readonly Row[]): Tally {
  const t: Tally = { attempts: 0, refused: 0, decided: 0, allowed: 0, steppedUp: 0, denied: 0 };
  for (const { result } of list) {
    t.attempts++;
    if (result.outcome === 'factor_failed') t.refused++;
    else {
      t.decided++;
      if (result.outcome === 'allow') t.allowed++;
      else if (result.outcome === 'step_up') t.steppedUp++;
      else t.denied++;
    }
  }
  return t;
}

/**
 * Why a legitimate sign-in was stepped up or denied, in plain words. For impossible travel, what the
 * previous location was: the history's last successful (or stepped-up) sign-in of the person.
 */
function causeOf(row: Row & { result: Decided }, anchor: Row | undefined): string {
  const reasons = new Set(row.result.reasons);
  if (reasons.has('typing.scripted'))
    return 'typing.scripted on a person (regular intervals, short username)';
  if (reasons.has('travel.impossible')) {
    const sources = [row.labelled.source, anchor?.labelled.source];
    if (anchor?.labelled.attack)
      return "travel.impossible: measured from an attacker's stepped-up or allowed sign-in";
    if (sources.some((s) => s && !s.cityLevel)) {
      const trip = row.labelled.kind === 'legit.trip' || anchor?.labelled.kind === 'legit.trip';
      return trip
        ? 'travel.impossible: on a trip, a mobile carrier address (home-routed roaming, a distant gateway)'
        : "travel.impossible: at home, a mobile carrier address placed far away (the carrier's gateway)";
    }
    if (sources.some((s) => s?.hosting)) return 'travel.impossible: a VPN exit';
    return 'travel.impossible: other';
  }
  const typing = row.result.contributions.find((c) => c.reason === 'typing.anomalous');
  if (typing && typing.weighted >= 50) return 'typing.anomalous alone (another keyboard)';
  if (reasons.has('device.new') && reasons.has('geo.new_country')) return 'a new device in a new country';
  return `other: ${[...reasons].sort().join(', ') || 'no risk reason'} (${row.result.policy.join(', ')})`;
}

const attacks = rows.filter((r) => r.labelled.attack);
const legit = rows.filter((r) => !r.labelled.attack && !r.labelled.warmup);
const warmup = rows.filter((r) => !r.labelled.attack && r.labelled.warmup);
const byKind = (list: readonly Row[], kind: TrafficKind) => list.filter((r) => r.labelled.kind === kind);

// The history's travel anchor for each legitimate false alarm (rows are in time order per seed).
const causes = new Map<string, number>();
const lastSuccess = new Map<string, Row>();
for (const row of rows) {
  if (!isDecided(row)) continue;
  const key = `${row.seed}/${row.labelled.attempt.personKey}`;
  if (!row.labelled.attack && !row.labelled.warmup && row.result.outcome !== 'allow') {
    const cause = causeOf(row, lastSuccess.get(key));
    causes.set(cause, (causes.get(cause) ?? 0) + 1);
  }
  // A step-up is recorded as a success of the person, completed or not (see the report).
  if (row.result.outcome !== 'deny') lastSuccess.set(key, row);
}

const pct = (n: number, d: number) => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`);
const num = (n: number | string, width: number) => String(n).padStart(width);

const lines: string[] = [];
const say = (line = '') => lines.push(line);
const s = settings!;
const seedList = seedCount === 1 ? `seed ${firstSeed}` : `seeds ${firstSeed}-${firstSeed + seedCount - 1}`;
say(
  `Risk evaluation: ${policyName}${Object.keys(weights).length ? `, weights ${JSON.stringify(weights)}` : ''}; ` +
    `${seedList} × ${s.people} people, ${s.days} days; ${rows.length} attempts replayed in ${seconds.toFixed(0)} s`,
);
say(
  `Traffic: ${rows.length - attacks.length} legitimate attempts, ${attacks.length} attack attempts ` +
    `(${pct(attacks.length, rows.length)}); every address checked against GeoLite2 City and the ASN data.`,
);
say(
  `Warm-up: the first ${s.warmupDays} days build history (everyone starts with no known device, country or typing)`,
);
say('and hold no attacks; their sign-ins are reported apart. People who join later count in full.');
say();
say(
  'Attacks. Decided: the factor succeeded, so the risk decision is all that stands between the attacker and',
);
say('the account (a step-up asks for a factor the attacker does not have). Refused: the factor failed.');
say(
  `${'kind'.padEnd(26)}${num('attempts', 9)}${num('refused', 8)}${num('decided', 8)}${num('stepped up', 11)}` +
    `${num('denied', 7)}${num('allowed', 8)}${num('caught', 8)}`,
);
const attackRow = (label: string, t: Tally) =>
  say(
    `${label.padEnd(26)}${num(t.attempts, 9)}${num(t.refused, 8)}${num(t.decided, 8)}${num(t.steppedUp, 11)}` +
      `${num(t.denied, 7)}${num(t.allowed, 8)}${num(pct(t.steppedUp + t.denied, t.decided), 8)}`,
  );
const attackTallies = Object.fromEntries(ATTACK_KINDS.map((k) => [k, tally(byKind(attacks, k))]));
for (const kind of ATTACK_KINDS) attackRow(kind, attackTallies[kind]!);
const allAttacks = tally(attacks);
attackRow('all attacks', allAttacks);
say();
say('Legitimate sign-ins (the person completed the factor; their failed tries are not counted).');
say(
  `${'kind'.padEnd(26)}${num('count', 9)}${num('allowed', 9)}${num('stepped up', 11)}${num('denied', 8)}` +
    `${num('stepped up', 12)}${num('denied', 9)}`,
);
const legitRow = (label: string, t: Tally) =>
  say(
    `${label.padEnd(26)}${num(t.decided, 9)}${num(t.allowed, 9)}${num(t.steppedUp, 11)}${num(t.denied, 8)}` +
      `${num(pct(t.steppedUp, t.decided), 12)}${num(pct(t.denied, t.decided), 9)}`,
  );
const legitTallies = Object.fromEntries(LEGIT_KINDS.map((k) => [k, tally(byKind(legit, k))]));
for (const kind of LEGIT_KINDS) legitRow(kind, legitTallies[kind]!);
const allLegit = tally(legit);
legitRow('after the warm-up', allLegit);
const warm = tally(warmup);
legitRow('warm-up (not in the goal)', warm);
say();

const caughtShare =
  allAttacks.decided === 0 ? 1 : (allAttacks.steppedUp + allAttacks.denied) / allAttacks.decided;
const steppedShare = allLegit.decided === 0 ? 0 : allLegit.steppedUp / allLegit.decided;
const goals = {
  attacksCaught: { value: caughtShare, goal: GOALS.attacksCaught, met: caughtShare >= GOALS.attacksCaught },
  legitSteppedUp: {
    value: steppedShare,
    goal: GOALS.legitSteppedUp,
    met: steppedShare <= GOALS.legitSteppedUp,
  },
  legitDenied: { value: allLegit.denied, goal: GOALS.legitDenied, met: allLegit.denied <= GOALS.legitDenied },
};
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
say('Goals');
say(
  `  attacks stepped up or denied  ${num(pct(allAttacks.steppedUp + allAttacks.denied, allAttacks.decided), 6)}` +
    `  (${allAttacks.steppedUp + allAttacks.denied} of ${allAttacks.decided} decided)   goal ≥ 95%  ` +
    `${verdict(goals.attacksCaught.met)}`,
);
say(
  `  legitimate stepped up         ${num(pct(allLegit.steppedUp, allLegit.decided), 6)}` +
    `  (${allLegit.steppedUp} of ${allLegit.decided})   goal ≤ 5%   ${verdict(goals.legitSteppedUp.met)}`,
);
say(
  `  legitimate denied             ${num(pct(allLegit.denied, allLegit.decided), 6)}` +
    `  (${allLegit.denied} of ${allLegit.decided})   goal none   ${verdict(goals.legitDenied.met)}`,
);
say();

function counted(items: Iterable<string>): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
/** Risk reason codes and policy ids over `list`, most frequent first. */
const topReasons = (list: readonly Row[], n = 8) =>
  counted(
    list
      .filter(isDecided)
      .flatMap((r) => [...r.result.reasons, ...r.result.policy.map((p) => `policy ${p}`)]),
  ).slice(0, n);
const missed = attacks.filter((r) => r.result.outcome === 'allow');
const falseAlarms = legit.filter((r) => r.result.outcome === 'step_up' || r.result.outcome === 'deny');
const caught = attacks.filter((r) => r.result.outcome === 'step_up' || r.result.outcome === 'deny');
const list = (title: string, entries: Array<[string, number]>) => {
  say(title);
  if (entries.length === 0) say('  none');
  for (const [what, count] of entries) say(`  ${num(count, 5)}  ${what}`);
};
list(
  `Missed attacks (${missed.length}), by kind and what they looked like`,
  counted(
    missed.filter(isDecided).map((r) => {
      const reasons = r.result.reasons.join(', ') || 'no risk reason';
      const how = (r.labelled.detail ?? '')
        .split(' ')
        .filter((t) => /^(factor|via|variant)=|^no-fingerprint$/.test(t))
        .join(' ');
      return `${r.labelled.kind} [${reasons}] ${how}`.trim();
    }),
  ).slice(0, 15),
);
list(
  `Legitimate sign-ins stepped up or denied (${falseAlarms.length}), by cause`,
  [...causes.entries()].sort((a, b) => b[1] - a[1]),
);
list('Top reasons: missed attacks', topReasons(missed));
list('Top reasons: legitimate sign-ins stepped up or denied', topReasons(falseAlarms));
list('Top reasons: attacks stepped up or denied', topReasons(caught));

const outDir = fromRoot('bench', 'results');
mkdirSync(outDir, { recursive: true });
const outFile = `${outDir}/eval-risk.json`;
const detail = (row: Row) => ({
  seed: row.seed,
  kind: row.labelled.kind,
  detail: row.labelled.detail,
  attempt: { ...row.labelled.attempt, typing: row.labelled.attempt.typing ? '(typing payload)' : undefined },
  result: row.result,
});
writeFileSync(
  outFile,
  `${JSON.stringify(
    {
      policy: policyName,
      weights,
      seeds: { first: firstSeed, count: seedCount },
      settings: s,
      seconds: Math.round(seconds),
      goals,
      attacks: { all: allAttacks, byKind: attackTallies },
      legitimate: { afterWarmup: allLegit, byKind: legitTallies, warmup: warm },
      falseAlarmCauses: Object.fromEntries(causes),
      topReasons: {
        missedAttacks: topReasons(missed, 20),
        legitimateSteppedUpOrDenied: topReasons(falseAlarms, 20),
        caughtAttacks: topReasons(caught, 20),
      },
      missedAttacks: missed.map(detail),
      legitimateSteppedUpOrDenied: falseAlarms.slice(0, 500).map(detail),
    },
    null,
    2,
  )}\n`,
);
say();
say(`wrote ${outFile}`);
console.log(lines.join('\n'));
