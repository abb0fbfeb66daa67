/**
 * The decision point with risk: assess the attempt (every signal, the tenant's weights), let the
 * tenant's Cedar policy turn score, reasons, assurance, device and place into allow, step up or deny,
 * and record the attempt with its assessment for the person's history, the audit log and the console.
 * After an allowed sign-in the device becomes one of the person's known devices and the typing sample
 * joins their profile. A refused factor feeds the velocity counters.
 *
 * Risk never raises assurance: the decision can only ask for more (step up) or refuse.
 */
import { buildContext, type DeviceFacts } from '../policy/cedar/context.ts';
import type { Operation } from '../policy/cedar/schema.ts';
import type { Action, Attempt, Decision, DecisionPoint } from '../policy/decision.ts';
import type { TenantPolicies } from '../policy/tenant-policies.ts';
import type { Store } from '../store/index.ts';
import { deviceLabel, matchDevice, parseDevicePayload } from './device/fingerprint.ts';
import type { RiskEngine } from './engine.ts';
import type { RiskHistory } from './history.ts';
import type { KeystrokeModel } from './keystroke/detectors.ts';
import { usernamePhrase } from './keystroke/features.ts';
import type { RiskWeights } from './scorer.ts';
import { learnTyping } from './signals/typing-rhythm.ts';
import { velocityHits } from './signals/velocity.ts';
import type { PersonHistory, RiskAttempt } from './types.ts';
import type { StateVelocity } from './velocity.ts';

const OPERATION: Record<Action, Operation> = {
  sign_up: 'SignIn',
  sign_in: 'SignIn',
  step_up: 'StepUp',
  recover: 'Recover',
  'factor.enrol': 'EnrolFactor',
  'factor.remove': 'RemoveFactor',
  'session.end': 'StepUp',
};

const RISK_ACTION: Record<Action, RiskAttempt['action']> = {
  sign_up: 'sign_in',
  sign_in: 'sign_in',
  step_up: 'step_up',
  recover: 'recover',
  'factor.enrol': 'sensitive_action',
  'factor.remove': 'sensitive_action',
  'session.end': 'sensitive_action',
};

export interface RiskDecisionDeps {
  store: Store;
  engine: RiskEngine;
  history: RiskHistory;
  policies: TenantPolicies;
  velocity: StateVelocity;
  /** The tenant's weights (default: none). */
  weights?: (tenantId: string) => Promise<RiskWeights>;
}

export class RiskDecisionPoint implements DecisionPoint {
  constructor(private readonly deps: RiskDecisionDeps) {}

  async decide(attempt: Attempt): Promise<Decision> {
    const at = attempt.context.at ?? Date.now();
    const account = attempt.accountId
      ? await this.deps.store.db.account.findUnique({
          where: { id: attempt.accountId },
          select: {
            id: true,
            username: true,
            roles: true,
            passkeys: { where: { status: 'active' }, select: { hardwareBound: true } },
          },
        })
      : null;
    // The person: an existing account, or (at sign-up) the id the new account will have.
    const personKey = account?.id ?? attempt.accountId;
    const username = account?.username ?? attempt.username;
    const history: PersonHistory = personKey
      ? await this.deps.history.load(attempt.tenantId, personKey, username ?? undefined, {
          devices: attempt.context.device !== undefined,
          typing: attempt.context.typing !== undefined,
        })
      : { attempts: [], devices: [], typing: { model: null, samples: 0 } };
    const riskAttempt: RiskAttempt = {
      tenantId: attempt.tenantId,
      ...(personKey ? { personKey } : {}),
      action: RISK_ACTION[attempt.action],
      at,
      ...(attempt.context.ip ? { ip: attempt.context.ip } : {}),
      ...(attempt.context.userAgent ? { userAgent: attempt.context.userAgent } : {}),
      ...(attempt.context.device !== undefined ? { fingerprint: attempt.context.device } : {}),
      ...(attempt.context.typing !== undefined ? { typing: attempt.context.typing } : {}),
    };
    const weights = (await this.deps.weights?.(attempt.tenantId)) ?? {};
    const assessment = await this.deps.engine.assess(riskAttempt, history, this.deps.velocity, weights);
    const reasons = new Set(assessment.reasons);
    const device: DeviceFacts = reasons.has('device.revoked')
      ? { state: 'revoked', seenBefore: true }
      : assessment.contributions.some((c) => c.reason === 'device.known' || c.reason === 'device.attested')
        ? {
            state: 'trusted',
            seenBefore: true,
            attested: assessment.contributions.some((c) => c.reason === 'device.attested'),
          }
        : { state: 'new' };
    const country = assessment.context.geo?.country;
    const pastCountries = new Set(
      history.attempts.filter((a) => a.outcome === 'success').map((a) => a.geo?.country),
    );
    const { policy } = await this.deps.policies.activeFor(attempt.tenantId);
    const roles = account ? (JSON.parse(account.roles) as string[]) : [];
    const personFacts = {
      id: personKey ?? 'anonymous',
      tenant: attempt.tenantId,
      roles,
      enrolled: {
        mfa: (account?.passkeys.length ?? 0) > 0,
        phr: (account?.passkeys.length ?? 0) > 0,
        phrh: account?.passkeys.some((p) => p.hardwareBound) ?? false,
      },
    };
    const geoFacts = {
      ...(country ? { country } : {}),
      newCountry: country ? !pastCountries.has(country) : true,
    };
    const decision = policy.decide({
      action: OPERATION[attempt.action],
      person: personFacts,
      resource: { type: 'Tenant', id: attempt.tenantId },
      context: buildContext({
        risk: { score: assessment.score, contributions: assessment.contributions },
        assurance: attempt.assurance,
        authTimeMs: at,
        device,
        geo: geoFacts,
        at,
      }),
    });
    const outcome =
      decision.outcome === 'allow' ? 'success' : decision.outcome === 'step_up' ? 'step_up' : 'denied';
    let deviceId: string | undefined;
    if (personKey && decision.outcome === 'allow') {
      deviceId = await this.learn(attempt, { id: personKey, username: username ?? null }, history, at);
    }
    await this.deps.history.record({
      tenantId: attempt.tenantId,
      ...(personKey ? { accountId: personKey } : {}),
      action: RISK_ACTION[attempt.action],
      at,
      outcome,
      ...(attempt.context.ip ? { ip: attempt.context.ip } : {}),
      ...(assessment.context.geo ? { geo: assessment.context.geo } : {}),
      ...(assessment.context.network?.asn ? { asn: assessment.context.network.asn } : {}),
      ...(deviceId ? { deviceId } : {}),
      score: assessment.score,
      decision: decision.outcome,
      reasons: [...assessment.reasons, ...decision.reasons],
      assessment: {
        // What the policy decided on, so a draft policy can be replayed against real attempts.
        inputs: {
          operation: OPERATION[attempt.action],
          roles,
          enrolled: personFacts.enrolled,
          assurance: {
            aal: attempt.assurance.aal,
            amr: attempt.assurance.amr,
            phr: attempt.assurance.phr,
            phrh: attempt.assurance.phrh,
          },
          device,
          geo: geoFacts,
          score: assessment.score,
          reasons: assessment.reasons,
        },
        level: assessment.level,
        contributions: assessment.contributions,
        skipped: assessment.skipped,
        policy: decision.reasons,
        ...(decision.outcome === 'step_up' ? { required: decision.required } : {}),
      },
    });
    await this.deps.velocity.record(velocityHits(riskAttempt, 'success'));
    return {
      ...decision,
      reasons: [...assessment.reasons, ...decision.reasons],
      assessment: { score: assessment.score, level: assessment.level, reasons: assessment.reasons },
      ...(deviceId ? { deviceId } : {}),
    };
  }

  async failed(attempt: Omit<Attempt, 'assurance'>): Promise<void> {
    await this.deps.velocity.record(
      velocityHits(
        {
          ...(attempt.accountId ? { personKey: attempt.accountId } : {}),
          ...(attempt.context.ip ? { ip: attempt.context.ip } : {}),
          ...(attempt.context.device !== undefined ? { fingerprint: attempt.context.device } : {}),
        },
        'failure',
      ),
    );
    if (attempt.accountId) {
      await this.deps.history.record({
        tenantId: attempt.tenantId,
        accountId: attempt.accountId,
        action: RISK_ACTION[attempt.action],
        at: attempt.context.at ?? Date.now(),
        outcome: 'failure',
        ...(attempt.context.ip ? { ip: attempt.context.ip } : {}),
        score: 0,
        decision: '',
        reasons: [],
        assessment: {},
      });
    }
  }

  /** An allowed sign-in: the device becomes known, the typing joins the profile. */
  private async learn(
    attempt: Attempt,
    account: { id: string; username: string | null },
    history: PersonHistory,
    at: number,
  ): Promise<string | undefined> {
    let deviceId: string | undefined;
    const parsed = parseDevicePayload(attempt.context.device);
    if (parsed.ok) {
      const match = matchDevice(parsed.device, history.devices);
      deviceId = await this.deps.history.rememberDevice(
        attempt.tenantId,
        account.id,
        {
          thumbmark: parsed.device.thumbmark,
          components: parsed.device.components,
          ...(attempt.context.userAgent ? { label: deviceLabel(attempt.context.userAgent) } : {}),
          attested: false,
        },
        match && match.device.state !== 'revoked' ? match.device.id : undefined,
        at,
      );
    }
    if (account.username && attempt.context.typing !== undefined) {
      const next = learnTyping(
        { typing: attempt.context.typing },
        { model: history.typing.model as KeystrokeModel | null, samples: history.typing.samples },
        { phrase: usernamePhrase(account.username) },
      );
      if (next.samples !== history.typing.samples) {
        await this.deps.history.saveTyping(attempt.tenantId, account.id, next);
      }
    }
    return deviceId;
  }
}
