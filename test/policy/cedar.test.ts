import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import type { Assurance } from '../../src/factors/assurance.ts';
import {
  buildContext,
  type ContextInput,
  type PersonInput,
  personEntity,
  type ResourceInput,
  resourceEntity,
  riskLevel,
} from '../../src/policy/cedar/context.ts';
import { DEFAULT_POLICY } from '../../src/policy/cedar/default-policy.ts';
import {
  type CompiledPolicy,
  type CompileOptions,
  compilePolicy,
  MAX_POLICY_BYTES,
  NO_PERMIT,
  PolicyEvaluationError,
  type PolicyProblem,
} from '../../src/policy/cedar/engine.ts';
import { type Operation, POLICY_SCHEMA } from '../../src/policy/cedar/schema.ts';
import type { Decision } from '../../src/policy/decision.ts';

const NOW = Date.UTC(2026, 5, 17, 10, 0, 0); // a Wednesday, 10:00 UTC
const MINUTE = 60_000;

type Session = Pick<Assurance, 'aal' | 'amr' | 'phr' | 'phrh'>;
const AAL1: Session = { aal: 1, amr: ['otp'], phr: false, phrh: false };
const AAL2_MFA: Session = { aal: 2, amr: ['mfa', 'otp', 'swk'], phr: false, phrh: false };
const AAL3_PHRH: Session = { aal: 3, amr: ['hwk', 'mfa', 'user'], phr: true, phrh: true };

const PERSON: PersonInput = {
  id: 'acct-1',
  tenant: 'acme',
  roles: [],
  enrolled: { mfa: true, phr: true, phrh: true },
};
const ADMIN: PersonInput = { ...PERSON, id: 'acct-admin', roles: ['admin'] };
const TENANT: ResourceInput = { type: 'Tenant', id: 'acme' };

function compile(text: string, options?: CompileOptions): CompiledPolicy {
  const r = compilePolicy(text, options);
  if (!r.ok) throw new Error(`expected the policy to compile: ${JSON.stringify(r.errors)}`);
  return r.policy;
}

function errorsOf(text: string): PolicyProblem[] {
  const r = compilePolicy(text);
  if (r.ok) throw new Error('expected the policy to be rejected');
  return r.errors;
}

interface Attempt extends Partial<ContextInput> {
  action?: Operation;
  person?: PersonInput;
  resource?: ResourceInput;
  score?: number;
  reasons?: string[];
  session?: Session;
}

function decide(policy: CompiledPolicy, a: Attempt = {}): Decision {
  const context = buildContext({
    risk: a.risk ?? { score: a.score ?? 0, reasons: a.reasons ?? [] },
    assurance: a.session ?? a.assurance ?? AAL1,
    authTimeMs: a.authTimeMs ?? NOW,
    device: a.device ?? { state: 'trusted' },
    geo: a.geo ?? { country: 'DE', newCountry: false },
    at: a.at ?? NOW,
    timeZone: a.timeZone,
  });
  return policy.decide({
    action: a.action ?? 'SignIn',
    person: a.person ?? PERSON,
    resource: a.resource ?? TENANT,
    context,
  });
}

// Every behaviour is checked with and without Cedar's request validation: without it the engine
// supplies the action hierarchy itself, and a difference would show here.
describe.each([
  { mode: 'fast path', validateRequests: false },
  { mode: 'requests validated against the schema', validateRequests: true },
])('default policy ($mode)', ({ validateRequests }) => {
  const policy = compile(DEFAULT_POLICY, { validateRequests });

  it('compiles without warnings', () => {
    const r = compilePolicy(DEFAULT_POLICY);
    expect(r.ok && r.warnings).toEqual([]);
  });

  it('allows low risk, naming the permit', () => {
    expect(decide(policy, { score: 29, session: AAL1 })).toEqual({
      outcome: 'allow',
      reasons: ['allow-operations'],
    });
  });

  it('steps a medium-risk AAL1 session up to multi-factor (AAL2)', () => {
    for (const score of [30, 69]) {
      expect(decide(policy, { score, session: AAL1 })).toEqual({
        outcome: 'step_up',
        required: { aal: 2 },
        reasons: ['medium-risk-mfa'],
      });
    }
  });

  it('allows medium risk when the session is already AAL2 with mfa', () => {
    expect(decide(policy, { score: 50, session: AAL2_MFA, authTimeMs: NOW - 600 * MINUTE })).toEqual({
      outcome: 'allow',
      reasons: ['allow-operations'],
    });
  });

  it('steps high risk up to a fresh phishing-resistant hardware-bound sign-in (phrh)', () => {
    for (const session of [AAL1, AAL2_MFA]) {
      expect(decide(policy, { score: 70, session })).toEqual({
        outcome: 'step_up',
        required: { aal: 3, acr: 'phrh', maxAgeS: 300 },
        reasons: ['high-risk-hardware-key'],
      });
    }
  });

  it('allows high risk right after a phrh sign-in, but not on a phrh session an hour old', () => {
    expect(decide(policy, { score: 95, session: AAL3_PHRH, authTimeMs: NOW - 1000 }).outcome).toBe('allow');
    expect(decide(policy, { score: 95, session: AAL3_PHRH, authTimeMs: NOW - 60 * MINUTE })).toMatchObject({
      outcome: 'step_up',
      required: { acr: 'phrh', maxAgeS: 300 },
    });
  });

  it('denies high risk when the person has no hardware-bound passkey to step up with', () => {
    const person = { ...PERSON, enrolled: { mfa: true, phr: true, phrh: false } };
    expect(decide(policy, { score: 80, person })).toEqual({
      outcome: 'deny',
      reasons: ['deny-high-risk-without-hardware-key'],
    });
    expect(decide(policy, { score: 50, person }).outcome).toBe('step_up');
  });

  it('denies a revoked device whatever the risk and assurance', () => {
    for (const action of ['SignIn', 'StepUp', 'Recover', 'AccessApp'] as const) {
      expect(decide(policy, { action, score: 0, session: AAL3_PHRH, device: { state: 'revoked' } })).toEqual({
        outcome: 'deny',
        reasons: ['deny-revoked-device'],
      });
    }
  });

  it('denies impossible travel from a new device, not from one of the person’s devices', () => {
    const travel = { score: 60, reasons: ['travel.impossible'] };
    const fromNewDevice = { score: 60, reasons: ['travel.impossible', 'device.new'] };
    const denied = decide(policy, { ...fromNewDevice, device: { state: 'new' } });
    expect(denied.outcome).toBe('deny');
    expect(denied.reasons).toContain('deny-impossible-travel-new-device');
    expect(decide(policy, { ...fromNewDevice, device: { state: 'new', seenBefore: true } }).outcome).toBe(
      'deny',
    );
    expect(decide(policy, { ...travel, device: { state: 'trusted' } })).toMatchObject({
      outcome: 'step_up',
      required: { aal: 2 },
    });
  });

  it('names every forbid that applies', () => {
    const d = decide(policy, { score: 90, reasons: ['travel.impossible'], device: { state: 'revoked' } });
    expect(d.outcome).toBe('deny');
    expect(new Set(d.reasons)).toEqual(new Set(['deny-revoked-device']));
    const person = { ...PERSON, enrolled: {} };
    const d2 = decide(policy, {
      score: 90,
      reasons: ['travel.impossible', 'device.new'],
      device: { state: 'new' },
      person,
    });
    expect(new Set(d2.reasons)).toEqual(
      new Set([
        'deny-impossible-travel-new-device',
        'deny-high-risk-without-hardware-key',
        'deny-new-device-more-risk-without-hardware-key',
      ]),
    );
  });

  it('asks for multi-factor in the last 15 minutes before an admin change, at any risk', () => {
    const stale = {
      action: 'AdminWrite' as const,
      person: ADMIN,
      session: AAL2_MFA,
      authTimeMs: NOW - 20 * MINUTE,
    };
    expect(decide(policy, stale)).toEqual({
      outcome: 'step_up',
      required: { aal: 2, maxAgeS: 900 },
      reasons: ['admin-write-fresh-mfa'],
    });
    expect(decide(policy, { ...stale, authTimeMs: NOW - 5 * MINUTE }).outcome).toBe('allow');
    expect(decide(policy, { ...stale, action: 'AdminRead' }).outcome).toBe('allow');
  });

  it('takes the strictest max_age when several permits ask for the same step-up', () => {
    const d = decide(policy, { action: 'AdminWrite', person: ADMIN, score: 40, session: AAL1 });
    expect(d).toMatchObject({ outcome: 'step_up', required: { aal: 2, maxAgeS: 900 } });
    expect(new Set(d.reasons)).toEqual(new Set(['medium-risk-mfa', 'admin-write-fresh-mfa']));
  });
});

describe('custom tenant policies', () => {
  it('denies sign-in from country XX and only sign-in', () => {
    const policy = compile(`${DEFAULT_POLICY}
@id("deny-signin-from-xx")
@reason("Sign-in from XX is not allowed")
forbid (principal, action == Action::"SignIn", resource)
when { context.geo.country == "XX" };
`);
    expect(decide(policy, { geo: { country: 'xx' } })).toEqual({
      outcome: 'deny',
      reasons: ['deny-signin-from-xx'],
    });
    expect(decide(policy, { geo: { country: 'DE' } }).outcome).toBe('allow');
    expect(decide(policy, { action: 'AccessApp', geo: { country: 'XX' } }).outcome).toBe('allow');
    expect(policy.policies.get('deny-signin-from-xx')).toMatchObject({
      effect: 'forbid',
      reason: 'Sign-in from XX is not allowed',
    });
  });

  it('makes admins step up to phrh for AdminWrite', () => {
    const policy = compile(`${DEFAULT_POLICY}
@id("admins-need-phrh")
permit (principal, action == Action::"RequirePhrh", resource)
when { context.operation == Operation::"AdminWrite" && principal.roles.contains("admin") };
`);
    expect(decide(policy, { action: 'AdminWrite', person: ADMIN, session: AAL2_MFA })).toEqual({
      outcome: 'step_up',
      required: { aal: 3, acr: 'phrh' },
      reasons: ['admins-need-phrh'],
    });
    expect(decide(policy, { action: 'AdminWrite', person: ADMIN, session: AAL3_PHRH }).outcome).toBe('allow');
    expect(decide(policy, { action: 'AdminWrite', person: PERSON, session: AAL2_MFA }).outcome).toBe('allow');
    expect(decide(policy, { action: 'SignIn', person: ADMIN, session: AAL2_MFA }).outcome).toBe('allow');
  });

  it('denies with no_permit when nothing permits the operation', () => {
    const policy = compile('permit (principal, action == Action::"SignIn", resource);');
    expect(decide(policy, { action: 'SignIn' }).outcome).toBe('allow');
    expect(decide(policy, { action: 'AccessApp' })).toEqual({ outcome: 'deny', reasons: [NO_PERMIT] });
  });

  it('decides on apps by client id and exempts first-party apps from a step-up with a forbid', () => {
    const policy = compile(`
permit (principal, action in Action::"AnyOperation", resource);
@id("payroll-needs-phr")
permit (principal, action == Action::"RequirePhr", resource is App)
when { resource.clientId == "payroll" };
@id("mfa-for-apps")
permit (principal, action == Action::"RequireMfa", resource is App);
@id("first-party-exempt")
forbid (principal, action == Action::"RequireMfa", resource is App)
when { resource.firstParty };
`);
    const payroll: ResourceInput = { type: 'App', clientId: 'payroll' };
    expect(decide(policy, { action: 'AccessApp', resource: payroll, session: AAL2_MFA })).toEqual({
      outcome: 'step_up',
      required: { aal: 2, acr: 'phr' },
      reasons: ['payroll-needs-phr'],
    });
    const wiki: ResourceInput = { type: 'App', clientId: 'wiki' };
    expect(decide(policy, { action: 'AccessApp', resource: wiki })).toMatchObject({
      outcome: 'step_up',
      reasons: ['mfa-for-apps'],
    });
    const portal: ResourceInput = { type: 'App', clientId: 'portal', firstParty: true };
    expect(decide(policy, { action: 'AccessApp', resource: portal }).outcome).toBe('allow');
  });

  it('uses the time in the tenant’s time zone', () => {
    const policy = compile(`
permit (principal, action in Action::"AnyOperation", resource);
@id("admin-office-hours")
forbid (principal, action == Action::"AdminWrite", resource)
unless { context.time.weekday <= 5 && context.time.hour >= 8 && context.time.hour < 18 };
`);
    // 10:00 UTC on a Wednesday is 19:00 in Tokyo and 12:00 in Berlin (summer time).
    expect(decide(policy, { action: 'AdminWrite', timeZone: 'Asia/Tokyo' }).outcome).toBe('deny');
    expect(decide(policy, { action: 'AdminWrite', timeZone: 'Europe/Berlin' }).outcome).toBe('allow');
    expect(decide(policy, { action: 'AdminWrite', at: NOW + 3 * 86_400_000 }).outcome).toBe('deny'); // Saturday
  });

  it('applies the default max_age to step-ups whose permits carry none', () => {
    const text = `permit (principal, action in Action::"AnyOperation", resource);
permit (principal, action == Action::"RequireMfa", resource) when { context.risk.level != "low" };`;
    const stale = { score: 40, session: AAL2_MFA, authTimeMs: NOW - 10 * MINUTE };
    expect(decide(compile(text), stale).outcome).toBe('allow');
    expect(decide(compile(text, { defaultMaxAgeS: 300 }), stale)).toEqual({
      outcome: 'step_up',
      required: { aal: 2, maxAgeS: 300 },
      reasons: ['policy1'],
    });
  });

  it('names policies without @id policy<N> in source order, past ten policies', () => {
    const filler = Array.from(
      { length: 11 },
      (_, i) =>
        `permit (principal, action == Action::"AdminRead", resource) when { context.risk.score == ${1000 + i} };`,
    );
    const policy = compile(
      [
        'permit (principal, action in Action::"AnyOperation", resource);',
        ...filler,
        'forbid (principal, action, resource) when { context.geo.country == "XX" };',
        '@id("named") forbid (principal, action, resource) when { context.geo.country == "YY" };',
      ].join('\n'),
    );
    expect([...policy.policies.keys()]).toEqual([
      ...Array.from({ length: 13 }, (_, i) => `policy${i}`),
      'named',
    ]);
    expect(policy.policies.get('policy12')?.line).toBe(13);
    expect(decide(policy, { geo: { country: 'XX' } })).toEqual({ outcome: 'deny', reasons: ['policy12'] });
    expect(decide(policy, { geo: { country: 'YY' } })).toEqual({ outcome: 'deny', reasons: ['named'] });
  });

  it('refuses an operation outside the schema instead of deciding on it', () => {
    const policy = compile(DEFAULT_POLICY);
    expect(() => decide(policy, { action: 'Delete' as Operation })).toThrow(PolicyEvaluationError);
  });

  it('keeps compiled policies apart and gives the same text the same hash', () => {
    const open = compile('permit (principal, action in Action::"AnyOperation", resource);');
    const closed = compile('permit (principal, action == Action::"AdminRead", resource);');
    expect(compile('permit (principal, action in Action::"AnyOperation", resource);').hash).toBe(open.hash);
    expect(closed.hash).not.toBe(open.hash);
    for (let i = 0; i < 3; i++) {
      expect(decide(open).outcome).toBe('allow');
      expect(decide(closed).outcome).toBe('deny');
    }
  });
});

describe('a policy that fails at evaluation fails closed', () => {
  // Validation cannot rule out overflow: the product overflows a Cedar Long at run time.
  const overflow = 'context.risk.score * 9223372036854775807 > 0';

  it('reads a failing forbid as applying', () => {
    const policy = compile(`permit (principal, action in Action::"AnyOperation", resource);
@id("broken-forbid") forbid (principal, action, resource) when { ${overflow} };`);
    expect(decide(policy, { score: 5 })).toEqual({
      outcome: 'deny',
      reasons: ['policy_error:broken-forbid'],
    });
  });

  it('reads a failing step-up permit as asking for its step-up', () => {
    const policy = compile(`permit (principal, action in Action::"AnyOperation", resource);
@id("broken-step-up") @max_age("60")
permit (principal, action == Action::"RequirePhr", resource) when { ${overflow} };`);
    expect(decide(policy, { score: 5, session: AAL2_MFA })).toEqual({
      outcome: 'step_up',
      required: { aal: 2, acr: 'phr', maxAgeS: 60 },
      reasons: ['policy_error:broken-step-up'],
    });
  });
});

describe('policies are rejected on upload with Cedar’s message and position', () => {
  it('rejects a syntax error with its line and column', () => {
    const errors = errorsOf(`@id("ok")
permit (principal, action == Action::"SignIn", resource);

permit (principal, action == Action::"SignIn", resource)
when { context.risk.score > };`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 5, column: 29, endLine: 5, endColumn: 30 });
    expect(errors[0]!.message).toMatch(/unexpected token `}`/);
    expect(errors[0]!.help).toMatch(/^expected /);
  });

  it('counts columns in characters after non-ASCII text', () => {
    const errors = errorsOf(`// Zugriff für Länder außerhalb der EU — gesperrt
@reason("Länder") forbid (principal, action, resource) when { context.geo.land == "XX" };`);
    expect(errors[0]).toMatchObject({ line: 2, column: 63, endColumn: 79 });
  });

  it('rejects an unknown attribute, with Cedar’s message and hint', () => {
    const errors = errorsOf(`@id("x")
forbid (principal, action, resource)
  when { context.geo.contry == "XX" };`);
    expect(errors).toEqual([
      expect.objectContaining({
        policyId: 'x',
        line: 3,
        column: 10,
        help: 'did you mean `country`?',
        message: expect.stringMatching(/attribute `geo.contry` in context .* not found/),
      }),
    ]);
  });

  it('rejects a type error', () => {
    const [e] = errorsOf('forbid (principal, action, resource) when { context.risk.score == "high" };');
    expect(e).toMatchObject({ policyId: 'policy0', line: 1, column: 45 });
    expect(e!.message).toMatch(/types Long and String are not compatible/);
  });

  it('rejects an unknown action, operation or entity type', () => {
    expect(errorsOf('permit (principal, action == Action::"SignOn", resource);')[0]!.message).toMatch(
      /SignOn/,
    );
    expect(
      errorsOf(
        'forbid (principal, action, resource) when { context.operation == Operation::"AdminWirte" };',
      )[0]!.help,
    ).toMatch(/"AdminWrite"/);
    expect(errorsOf('permit (principal is User, action == Action::"SignIn", resource);')[0]!.message).toMatch(
      /User/,
    );
  });

  it('reports every error of an upload at once, in source order', () => {
    const errors = errorsOf(`forbid (principal, action, resource) when { context.nope };
forbid (principal, action, resource) when { principal.age > 3 };`);
    expect(errors.map((e) => [e.policyId, e.line])).toEqual([
      ['policy0', 1],
      ['policy1', 2],
    ]);
  });

  it('rejects a permit with an unconstrained action (it would demand every step-up)', () => {
    const [e] = errorsOf('@id("all") permit (principal, action, resource);');
    expect(e).toMatchObject({ policyId: 'all', line: 1, column: 1 });
    expect(e!.message).toMatch(/must name its actions/);
  });

  it('rejects a bad @max_age, an empty or duplicate @id, and templates', () => {
    expect(
      errorsOf('@max_age("5m") permit (principal, action == Action::"RequireMfa", resource);')[0]!.message,
    ).toMatch(/@max_age/);
    expect(errorsOf('@id("") forbid (principal, action, resource);')[0]!.message).toMatch(/@id/);
    const dup = errorsOf(`@id("a") forbid (principal, action, resource);
@id("a") forbid (principal, action, resource);`);
    expect(dup).toEqual([expect.objectContaining({ message: 'duplicate policy id `a`', line: 2 })]);
    expect(
      errorsOf('permit (principal == ?principal, action == Action::"SignIn", resource);')[0]!.message,
    ).toMatch(/templates/);
  });

  it('rejects a policy text over the size limit before parsing it', () => {
    const huge = `// ${'x'.repeat(MAX_POLICY_BYTES)}\npermit (principal, action == Action::"SignIn", resource);`;
    expect(errorsOf(huge)[0]!.message).toMatch(/at most 256 KiB/);
  });

  it('accepts with warnings a policy that can never apply, or a set that permits nothing', () => {
    const r = compilePolicy('forbid (principal, action == Action::"AnyOperation", resource);');
    expect(r.ok).toBe(true);
    const messages = r.ok ? r.warnings.map((w) => w.message) : [];
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/impossible|unable to find an applicable action/),
        expect.stringMatching(/no policy permits any operation/),
      ]),
    );
  });
});

describe('context builder', () => {
  it('bands risk: low < 30, medium 30-69, high >= 70', () => {
    expect([0, 29, 30, 69, 70, 100].map(riskLevel)).toEqual([
      'low',
      'low',
      'medium',
      'medium',
      'high',
      'high',
    ]);
  });

  it('clamps and rounds the score, and reads NaN as the highest risk', () => {
    const score = (s: number) =>
      (buildContext({ risk: { score: s }, assurance: AAL1 }).record.risk as { score: number }).score;
    expect([score(-5), score(29.6), score(250), score(Number.NaN)]).toEqual([0, 30, 100, 100]);
  });

  it('fills missing facts with values that never lower risk', () => {
    const { record } = buildContext({
      risk: { score: 0, contributions: [{ reason: 'geo.new_country' }] },
      assurance: AAL1,
      at: NOW,
    });
    expect(record).toMatchObject({
      risk: { reasons: ['geo.new_country'], level: 'low' },
      device: { state: 'new', known: false, attested: false },
      geo: { country: '', newCountry: true },
      time: { hour: 10, weekday: 3 },
    });
    expect(personEntity({ id: 'p', tenant: 't' }).attrs).toEqual({
      tenant: 't',
      roles: [],
      enrolled: { mfa: false, phr: false, phrh: false },
    });
  });

  it('builds requests that conform to the Cedar schema', () => {
    const inputs: ContextInput[] = [
      { risk: { score: 0 }, assurance: AAL1 },
      {
        risk: { score: 88, reasons: ['travel.impossible'], contributions: [{ reason: 'device.new' }] },
        assurance: AAL3_PHRH,
        authTimeMs: NOW,
        device: { state: 'revoked', attested: true },
        geo: { country: 'fr', newCountry: false },
        at: NOW,
        timeZone: 'America/New_York',
      },
    ];
    for (const input of inputs) {
      const context = {
        operation: { __entity: { type: 'Operation', id: 'SignIn' } },
        ...buildContext(input).record,
      };
      for (const action of ['SignIn', 'RequirePhrh']) {
        expect(
          cedar.checkParseContext({ context, schema: POLICY_SCHEMA, action: { type: 'Action', id: action } }),
        ).toEqual({ type: 'success' });
      }
    }
    const entities = [
      personEntity(ADMIN),
      resourceEntity(TENANT),
      resourceEntity({ type: 'App', clientId: 'c1', firstParty: true }),
    ];
    expect(cedar.checkParseEntities({ entities, schema: POLICY_SCHEMA })).toEqual({ type: 'success' });
  });
});
