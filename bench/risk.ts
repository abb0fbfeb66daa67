/**
 * Risk assessment plus policy decision on one core: every signal (device match, geolocation and
 * impossible travel on the packaged GeoLite2 data, ASN and hosting lookup, velocity counters in memory
 * state, time of day, typing rhythm against a trained profile) scored, then the default Cedar policy,
 * for a person with a realistic history (100 past sign-ins, 3 devices). Goal: p99 under 5 ms and at
 * least 2,000 decisions/s.
 */
import { buildContext } from '../src/policy/cedar/context.ts';
import { DEFAULT_POLICY } from '../src/policy/cedar/default-policy.ts';
import { compileOrThrow } from '../src/policy/tenant-policies.ts';
import { RiskEngine } from '../src/risk/engine.ts';
import { AsnDatabase } from '../src/risk/geo/asn.ts';
import { Geolocation } from '../src/risk/geo/geolocation.ts';
import { robustManhattan } from '../src/risk/keystroke/detectors.ts';
import { usernamePhrase } from '../src/risk/keystroke/features.ts';
import { generateSyntheticKeystrokes, payloadFromVector } from '../src/risk/keystroke/synthetic.ts';
import type { KnownDevice, PersonHistory } from '../src/risk/types.ts';
import { StateVelocity } from '../src/risk/velocity.ts';
import { MemoryState } from '../src/state/memory.ts';
import { percentile, type Row } from './lib.ts';

const SECONDS = Number(process.env.BENCH_RISK_SECONDS ?? 3);
const USERNAME = 'ada.lovelace';

function device(seed: string): KnownDevice {
  const components: Record<string, string> = {};
  for (const name of [
    'audio',
    'canvas',
    'fonts',
    'hardware',
    'math',
    'plugins',
    'webgl',
    'system.platform',
    'screen.depth',
    'locales.languages',
    'permissions.notifications',
    'hardware.cores',
  ]) {
    components[name] = Buffer.from(`${seed}:${name}`).toString('hex').slice(0, 16);
  }
  const now = Date.now();
  return {
    id: seed,
    thumbmark: Buffer.from(`t:${seed}`).toString('hex').padEnd(32, '0').slice(0, 32),
    components,
    label: 'Chrome 131 / macOS',
    firstSeenAt: now - 30 * 86_400_000,
    lastSeenAt: now - 3_600_000,
    state: 'trusted',
    attested: false,
  };
}

export async function riskBench(): Promise<Row[]> {
  const geo = await Geolocation.open();
  const asn = await AsnDatabase.load();
  const engine = new RiskEngine({ geo, asn });
  const policy = compileOrThrow(DEFAULT_POLICY);
  const velocity = new StateVelocity(new MemoryState());

  // A typing profile trained on 50 samples of the username, and a sample to score.
  const phrase = usernamePhrase(USERNAME);
  const data = generateSyntheticKeystrokes({ subjects: 1, sessions: 1, repsPerSession: 51, seed: 3, phrase });
  const vectors = data.subjects[0]!.rows.map((r) => r.features);
  let model = null as ReturnType<typeof robustManhattan.update> | null;
  for (const v of vectors.slice(0, 50)) model = robustManhattan.update(model, v);
  const typing = payloadFromVector(vectors[50]!, phrase);

  const devices = [device('laptop'), device('phone'), device('tablet')];
  const now = Date.now();
  const home = geo.lookup('91.0.0.1')!;
  const history: PersonHistory = {
    attempts: Array.from({ length: 100 }, (_, i) => ({
      at: now - (i + 1) * 7 * 3_600_000,
      outcome: 'success' as const,
      ip: '91.0.0.1',
      geo: home,
      deviceId: devices[i % 3]!.id,
    })),
    devices,
    typing: { model, samples: 50 },
    username: USERNAME,
  };
  const ips = ['91.0.0.1', '80.187.0.1', '8.8.8.8', '2003::1', '52.95.110.1'];
  const attempt = (i: number) => ({
    tenantId: 't',
    personKey: 'p',
    action: 'sign_in' as const,
    at: Date.now(),
    ip: ips[i % ips.length]!,
    userAgent:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    fingerprint: { thumbmark: devices[i % 3]!.thumbmark, components: devices[i % 3]!.components },
    typing,
  });
  const decideOnce = async (i: number) => {
    const a = attempt(i);
    const assessment = await engine.assess(a, history, velocity);
    return policy.decide({
      action: 'SignIn',
      person: { id: 'p', tenant: 't', roles: [], enrolled: { mfa: true, phr: true, phrh: false } },
      resource: { type: 'Tenant', id: 't' },
      context: buildContext({
        risk: { score: assessment.score, contributions: assessment.contributions },
        assurance: { aal: 2, amr: ['mfa', 'swk', 'user'], phr: true, phrh: false },
        authTimeMs: a.at,
        device: { state: 'trusted', seenBefore: true },
        geo: {
          ...(assessment.context.geo?.country ? { country: assessment.context.geo.country } : {}),
          newCountry: false,
        },
        at: a.at,
      }),
    });
  };

  for (let i = 0; i < 500; i++) await decideOnce(i);
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  for (let i = 0; performance.now() < end; i++) {
    const t0 = performance.now();
    const d = await decideOnce(i);
    latencies.push(performance.now() - t0);
    outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return [
    {
      name: 'risk assessment + Cedar decision (7 signals, geo, ASN, typing), one core',
      value: latencies.length / elapsed,
      unit: 'decisions/s',
      target: '>= 2000/s',
      note: `outcomes ${JSON.stringify(outcomes)}`,
    },
    {
      name: 'risk assessment + Cedar decision, latency',
      value: percentile(latencies, 99),
      unit: 'ms p99',
      target: '< 5 ms',
      note: `p50 ${percentile(latencies, 50).toFixed(3)} ms`,
    },
  ];
}

if (process.argv[1]?.endsWith('bench/risk.ts')) {
  const { report } = await import('./lib.ts');
  report('risk', await riskBench());
}
