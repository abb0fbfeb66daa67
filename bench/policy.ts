/**
 * Cedar policy benchmark: decisions per second and latency of the default policy, one decision at a
 * time on one core (the build of the context included), for the paths a sign-in takes. A decision asks
 * Cedar one to four questions (the operation, then each step-up check that could still change the
 * outcome), so the rows differ by how many questions each path asks.
 *
 * Measured here (Node 20.20.2, 2 cores with a load average of 4-5 from other work, so pessimistic):
 * 1 call ≈ 4.7-5.1k decisions/s (p99 0.27-0.36 ms), 2 calls ≈ 2.2-2.4k/s (p99 0.57-0.81 ms), 3 calls
 * ≈ 1.7k/s (p99 0.85-1.0 ms); with `validateRequests` the 2-call path drops to about 1.7k/s. Nearly
 * all of a call is Cedar reading the context and entities, not evaluating the policies.
 *
 * It lives here because the policy work may only add files under src/policy/cedar/ and test/policy/;
 * to run it with `npm run bench`, move it to bench/policy.ts and add `report('policy', await
 * policyBench())` to bench/run.ts. Standalone: `npx tsx test/policy/policy-bench.ts`.
 */
import { pathToFileURL } from 'node:url';
import type { Assurance } from '../src/factors/assurance.ts';
import { buildContext, type DeviceFacts } from '../src/policy/cedar/context.ts';
import { DEFAULT_POLICY } from '../src/policy/cedar/default-policy.ts';
import { type CompiledPolicy, compilePolicy } from '../src/policy/cedar/engine.ts';
import type { Row } from './lib.ts';

const SECONDS = Number(process.env.BENCH_POLICY_SECONDS ?? 2);

type Session = Pick<Assurance, 'aal' | 'amr' | 'phr' | 'phrh'>;
const AAL1: Session = { aal: 1, amr: ['otp'], phr: false, phrh: false };
const AAL2_PASSKEY: Session = { aal: 2, amr: ['mfa', 'swk', 'user'], phr: true, phrh: false };
const AAL3_KEY: Session = { aal: 3, amr: ['hwk', 'mfa', 'user'], phr: true, phrh: true };

interface Scenario {
  name: string;
  score: number;
  session: Session;
  device: DeviceFacts;
  questions: number;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'low risk, AAL2 passkey → allow',
    score: 10,
    session: AAL2_PASSKEY,
    device: { state: 'trusted' },
    questions: 2,
  },
  { name: 'low risk, AAL1 → allow', score: 10, session: AAL1, device: { state: 'trusted' }, questions: 3 },
  {
    name: 'medium risk, AAL1 → step up',
    score: 45,
    session: AAL1,
    device: { state: 'trusted' },
    questions: 3,
  },
  {
    name: 'high risk, AAL2 → step up phrh',
    score: 85,
    session: AAL2_PASSKEY,
    device: { state: 'new' },
    questions: 2,
  },
  {
    name: 'revoked device → deny',
    score: 10,
    session: AAL2_PASSKEY,
    device: { state: 'revoked' },
    questions: 1,
  },
  {
    name: 'low risk, AAL3 key → allow',
    score: 10,
    session: AAL3_KEY,
    device: { state: 'trusted' },
    questions: 1,
  },
];

function percentile(sorted: number[], p: number): number {
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

function run(
  policy: CompiledPolicy,
  s: Scenario,
): { perSecond: number; p50: number; p99: number; outcome: string } {
  const person = {
    id: 'bench-person',
    tenant: 'default',
    roles: [],
    enrolled: { mfa: true, phr: true, phrh: true },
  };
  const once = () => {
    const now = Date.now();
    const context = buildContext({
      risk: { score: s.score, reasons: s.score >= 70 ? ['geo.new_country', 'device.new'] : [] },
      assurance: s.session,
      authTimeMs: now,
      device: s.device,
      geo: { country: 'DE', newCountry: s.score >= 70 },
      at: now,
    });
    return policy.decide({ action: 'SignIn', person, resource: { type: 'Tenant', id: 'default' }, context });
  };
  let outcome = '';
  for (let i = 0; i < 500; i++) outcome = once().outcome;
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + SECONDS * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    once();
    latencies.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    outcome,
  };
}

/** Measures the default policy's decisions per second and p50/p99 latency on one core. */
export async function policyBench(): Promise<Row[]> {
  const t0 = performance.now();
  const compiled = compilePolicy(DEFAULT_POLICY);
  const compileMs = performance.now() - t0;
  if (!compiled.ok) throw new Error(`default policy does not compile: ${compiled.errors[0]?.message}`);
  const checked = compilePolicy(DEFAULT_POLICY, { validateRequests: true });
  if (!checked.ok) throw new Error('default policy does not compile');
  const rows: Row[] = [{ name: 'policy compile (default policy)', value: compileMs, unit: 'ms' }];
  const measured = [
    ...SCENARIOS.map((s) => ({ name: `policy decide: ${s.name}`, s, policy: compiled.policy, extra: '' })),
    {
      name: `policy decide: ${SCENARIOS[0]!.name}, requests validated`,
      s: SCENARIOS[0]!,
      policy: checked.policy,
      extra: '; validateRequests: true',
    },
  ];
  for (const { name, s, policy, extra } of measured) {
    const m = run(policy, s);
    rows.push({
      name,
      value: m.perSecond,
      unit: 'decisions/s',
      note: `p50 ${m.p50.toFixed(3)} ms, p99 ${m.p99.toFixed(3)} ms, ${s.questions} Cedar calls, ${m.outcome}${extra}`,
    });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await policyBench()) {
    process.stdout.write(
      `${r.name.padEnd(62)} ${r.value.toFixed(r.value < 10 ? 2 : 0).padStart(8)} ${r.unit}  ${r.note ?? ''}\n`,
    );
  }
}
