import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors.ts';
import { DEFAULT_POLICY } from '../../src/policy/cedar/default-policy.ts';
import { compileOrThrow, InvalidPolicyError } from '../../src/policy/tenant-policies.ts';
import {
  ATTACK_KINDS,
  type AttackKind,
  generateTraffic,
  type Traffic,
  verifyTrafficAddresses,
} from '../../src/risk/eval/traffic.ts';
import { AsnDatabase } from '../../src/risk/geo/asn.ts';
import { type GeoLookup, Geolocation } from '../../src/risk/geo/geolocation.ts';
import {
  MAX_SIMULATED_ATTEMPTS,
  RECOVERY_CODE,
  RiskSimulation,
  type SimulatedAttempt,
  type SimulatedResult,
  simulate,
} from '../../src/risk/simulation.ts';
import type { GeoPoint } from '../../src/risk/types.ts';

const T0 = Date.UTC(2026, 2, 2, 9);
const MINUTE = 60_000;
const DAY = 86_400_000;

const laptop = {
  thumbmark: 'a1'.repeat(16),
  components: Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`component${i}`, `${i}`.padStart(16, 'c')]),
  ),
};

const signIn = (overrides: Partial<SimulatedAttempt> = {}): SimulatedAttempt => ({
  personKey: 'alice',
  username: 'alice',
  at: T0,
  ip: '84.136.247.10',
  device: laptop,
  outcome: 'success',
  ...overrides,
});

type Decided = Extract<SimulatedResult, { score: number }>;
function decided(result: SimulatedResult | undefined): Decided {
  if (!result || result.outcome === 'factor_failed') throw new Error('expected a decided attempt');
  return result;
}

/** Locations for the addresses the unit tests use (the packaged data is used further down). */
const places: Record<string, GeoPoint> = {
  '84.136.247.10': { country: 'DE', city: 'Berlin', lat: 52.52, lon: 13.4, accuracyKm: 50 },
  '81.149.85.20': { country: 'GB', city: 'London', lat: 51.51, lon: -0.13, accuracyKm: 50 },
  '3.2.64.10': { country: 'US', city: 'Ashburn', lat: 39.05, lon: -77.49, accuracyKm: 50 },
};
const stubGeo: GeoLookup = { lookup: (ip) => places[ip] };
const noServices = { policy: DEFAULT_POLICY, services: { geo: stubGeo } };

describe('simulate: replay against a fresh history', () => {
  it('gives the same attempt different results as the history grows', async () => {
    const [first, second] = await simulate([signIn(), signIn({ at: T0 + DAY })], noServices);
    expect(decided(first).reasons).toEqual(['device.new']);
    expect(decided(first).contributions.find((c) => c.reason === 'device.new')?.evidence).toMatchObject({
      firstDevice: true,
    });
    expect(decided(second).reasons).toEqual([]);
    expect(decided(second).contributions.map((c) => c.reason)).toContain('device.known');
  });

  it('replays in time order but answers in input order', async () => {
    const results = await simulate(
      [signIn({ at: T0 + DAY, label: 'later' }), signIn({ label: 'earlier' })],
      noServices,
    );
    expect(results.map((r) => [r.index, r.label])).toEqual([
      [0, 'later'],
      [1, 'earlier'],
    ]);
    expect(decided(results[1]).reasons).toEqual(['device.new']);
    expect(decided(results[0]).contributions.map((c) => c.reason)).toContain('device.known');
  });

  it('starts every simulation from nothing: the same input twice gives the same results', async () => {
    const attempts = [signIn(), signIn({ at: T0 + DAY }), signIn({ at: T0 + 2 * DAY, ip: '81.149.85.20' })];
    expect(await simulate(attempts, noServices)).toEqual(await simulate(attempts, noServices));
  });

  it('completes a step-up the person can meet, so the device is learnt as in production', async () => {
    const newDeviceStepUp = `${DEFAULT_POLICY}
@id("new-device-hardware-key")
@max_age("300")
permit (principal, action == Action::"RequirePhrh", resource)
when { context.device.state == "new" };`;
    const person = { hardwareKeyEnrolled: true, completesStepUp: true };
    const [first, again] = await simulate([signIn(person), signIn({ ...person, at: T0 + DAY })], {
      policy: newDeviceStepUp,
      services: { geo: stubGeo },
    });
    const stepped = decided(first);
    expect(stepped.outcome).toBe('step_up');
    expect(stepped.required).toMatchObject({ acr: 'phrh' });
    expect('stepUp' in stepped && stepped.stepUp?.outcome).toBe('allow');
    expect(decided(again).outcome).toBe('allow');
  });

  it('does not complete a step-up the person cannot meet (no hardware-bound passkey)', async () => {
    const policy = `${DEFAULT_POLICY}
@id("new-device-hardware-key")
permit (principal, action == Action::"RequirePhrh", resource)
when { context.device.state == "new" };`;
    const [first] = await simulate([signIn({ completesStepUp: true })], {
      policy,
      services: { geo: stubGeo },
    });
    expect(decided(first).outcome).toBe('step_up');
    expect(first).not.toHaveProperty('stepUp');
  });
});

describe('simulate: failures feed velocity', () => {
  const burst = (ip: string): SimulatedAttempt[] =>
    Array.from({ length: 12 }, (_, i) => ({
      personKey: `victim-${i}`,
      at: T0 + i * 20_000,
      ip,
      outcome: 'failure',
      action: 'recover',
    }));
  const success = (ip: string): SimulatedAttempt => ({
    personKey: 'victim-12',
    at: T0 + 5 * MINUTE,
    ip,
    outcome: 'success',
    action: 'recover',
    assurance: RECOVERY_CODE,
  });

  it('detects credential stuffing from the failures of many accounts at one address', async () => {
    const results = await simulate([...burst('3.2.64.10'), success('3.2.64.10')], noServices);
    expect(results.slice(0, 12).every((r) => r.outcome === 'factor_failed')).toBe(true);
    const hit = decided(results[12]);
    expect(hit.reasons).toEqual(expect.arrayContaining(['velocity.stuffing', 'velocity.ip_failures']));
    expect(['step_up', 'deny']).toContain(hit.outcome);
  });

  it('does not count failures at another address against a sign-in', async () => {
    const results = await simulate([...burst('3.2.64.10'), success('81.149.85.20')], noServices);
    expect(decided(results[12]).reasons.filter((r) => r.startsWith('velocity.'))).toEqual([]);
  });
});

describe('simulate: input', () => {
  it(`refuses more than ${MAX_SIMULATED_ATTEMPTS} attempts`, async () => {
    const attempts = Array.from({ length: MAX_SIMULATED_ATTEMPTS + 1 }, (_, i) => signIn({ at: T0 + i }));
    await expect(simulate(attempts, noServices)).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it(`accepts exactly ${MAX_SIMULATED_ATTEMPTS} attempts`, async () => {
    const attempts = Array.from({ length: MAX_SIMULATED_ATTEMPTS }, (_, i) =>
      signIn({ at: T0 + i * MINUTE, outcome: 'failure', device: undefined }),
    );
    await expect(simulate(attempts, noServices)).resolves.toHaveLength(MAX_SIMULATED_ATTEMPTS);
  });

  it.each([
    ['no outcome', { personKey: 'p', at: T0 }],
    ['a fractional time', { personKey: 'p', at: T0 + 0.5, outcome: 'success' }],
    ['an unknown field', { personKey: 'p', at: T0, outcome: 'success', admin: true }],
    ['sign-up (no account yet)', { personKey: 'p', at: T0, outcome: 'success', action: 'sign_up' }],
    ['an oversized user agent', { personKey: 'p', at: T0, outcome: 'success', userAgent: 'x'.repeat(513) }],
  ])('refuses an attempt with %s', async (_, attempt) => {
    await expect(simulate([attempt as unknown as SimulatedAttempt], noServices)).rejects.toMatchObject({
      code: 'invalid_request',
      status: 400,
    });
  });

  it('refuses a replay that goes back before the previous one', async () => {
    const simulation = new RiskSimulation(noServices);
    try {
      await simulation.replay([signIn({ at: T0 + DAY })]);
      await expect(simulation.replay([signIn()])).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(simulation.replay([signIn({ at: T0 + 2 * DAY })])).resolves.toHaveLength(1);
    } finally {
      await simulation.close();
    }
  });
});

describe('simulate: the policy', () => {
  it('compiles a draft policy text and decides with it', async () => {
    const draft = `@id("allow-operations")
permit (principal, action in Action::"AnyOperation", resource);

@id("deny-new-devices")
forbid (principal, action in Action::"AnyOperation", resource)
when { context.device.state == "new" };`;
    const [first, second] = await simulate([signIn(), signIn({ at: T0 + DAY })], {
      policy: draft,
      services: { geo: stubGeo },
    });
    expect(decided(first)).toMatchObject({ outcome: 'deny', policy: ['deny-new-devices'] });
    // Denied, so the device was never learnt.
    expect(decided(second)).toMatchObject({ outcome: 'deny', policy: ['deny-new-devices'] });
  });

  it('refuses an invalid draft with InvalidPolicyError', async () => {
    await expect(
      simulate([signIn()], { policy: 'permit (principal, action', services: { geo: stubGeo } }),
    ).rejects.toBeInstanceOf(InvalidPolicyError);
    await expect(
      simulate([signIn()], {
        policy: 'forbid (principal, action, resource) when { context.nope };',
        services: { geo: stubGeo },
      }),
    ).rejects.toBeInstanceOf(InvalidPolicyError);
  });

  it('takes a compiled policy as it is', async () => {
    const [result] = await simulate([signIn()], {
      policy: compileOrThrow(DEFAULT_POLICY),
      services: { geo: stubGeo },
    });
    expect(decided(result)).toMatchObject({ outcome: 'allow', policy: ['allow-operations'] });
  });

  it('applies the tenant weights', async () => {
    const [result] = await simulate([signIn()], { ...noServices, weights: { 'device.new': 3 } });
    expect(decided(result)).toMatchObject({ score: 30, level: 'medium' });
  });
});

describe('generated traffic through simulate', () => {
  let geo: Geolocation;
  let asn: AsnDatabase;
  const only = (kind: AttackKind, n: number) =>
    Object.fromEntries(ATTACK_KINDS.map((k) => [k, k === kind ? n : 0])) as Record<AttackKind, number>;
  const small = (attacks: Record<AttackKind, number>): Traffic =>
    generateTraffic({ seed: 1, people: 12, days: 35, attacks });

  beforeAll(async () => {
    [geo, asn] = await Promise.all([Geolocation.open(), AsnDatabase.load()]);
  });

  it('is deterministic for a seed', () => {
    expect(JSON.stringify(small(only('attack.takeover', 2)))).toBe(
      JSON.stringify(small(only('attack.takeover', 2))),
    );
    expect(JSON.stringify(generateTraffic({ seed: 2, people: 12, days: 35 }).attempts)).not.toBe(
      JSON.stringify(generateTraffic({ seed: 1, people: 12, days: 35 }).attempts),
    );
  });

  it('places every address where the address book says (GeoLite2 City and the ASN data)', () => {
    const traffic = generateTraffic({ seed: 1, people: 60, days: 60 });
    const addresses = new Set(traffic.attempts.map((a) => a.attempt.ip));
    expect(addresses.size).toBeGreaterThan(300);
    expect(verifyTrafficAddresses(traffic, geo, asn)).toEqual([]);
    const stuffing = traffic.attempts.filter(
      (a) => a.kind === 'attack.stuffing' && !a.detail?.includes('proxies'),
    );
    expect(stuffing.length).toBeGreaterThan(0);
    expect(stuffing.every((a) => asn.lookup(a.attempt.ip!)?.hosting)).toBe(true);
  });

  it('is about 95 % legitimate, with no attack in the warm-up', () => {
    const traffic = generateTraffic({ seed: 1 });
    const attacks = traffic.attempts.filter((a) => a.attack);
    expect(attacks.length / traffic.attempts.length).toBeGreaterThan(0.03);
    expect(attacks.length / traffic.attempts.length).toBeLessThan(0.07);
    expect(attacks.some((a) => a.warmup)).toBe(false);
  });

  it('steps up or denies a takeover by recovery code from a new country and a new device', async () => {
    const traffic = small(only('attack.takeover', 4));
    const results = await simulate(
      traffic.attempts.map((a) => a.attempt),
      { policy: DEFAULT_POLICY, services: { geo, asn } },
    );
    const takeovers = traffic.attempts
      .map((labelled, i) => ({ labelled, result: results[i]! }))
      .filter((x) => x.labelled.kind === 'attack.takeover' && x.result.outcome !== 'factor_failed');
    expect(takeovers).toHaveLength(4);
    for (const { result } of takeovers) {
      expect(decided(result).reasons).toEqual(expect.arrayContaining(['device.new', 'geo.new_country']));
      expect(decided(result).score).toBeGreaterThanOrEqual(30);
    }
    const byRecovery = takeovers.filter((x) => x.labelled.attempt.action === 'recover');
    expect(byRecovery.length).toBeGreaterThan(0);
    for (const { result } of byRecovery) expect(['step_up', 'deny']).toContain(result.outcome);
  });

  it('with the default (calibrated) policy, steps up or denies every takeover, synced passkey included', async () => {
    // A passkey sign-in already meets the medium band's multi-factor step-up: a new device with more
    // risk must ask for a hardware-bound passkey (or deny) to stop a compromised synced passkey.
    const draft = DEFAULT_POLICY;
    const traffic = small(only('attack.takeover', 4));
    const results = await simulate(
      traffic.attempts.map((a) => a.attempt),
      { policy: draft, services: { geo, asn } },
    );
    const outcomes = traffic.attempts
      .map((labelled, i) => ({ labelled, result: results[i]! }))
      .filter((x) => x.labelled.kind === 'attack.takeover' && x.result.outcome !== 'factor_failed')
      .map((x) => x.result.outcome);
    expect(outcomes).toHaveLength(4);
    expect(outcomes.every((o) => o === 'step_up' || o === 'deny')).toBe(true);
  });
});
