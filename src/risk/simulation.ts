/**
 * Risk simulation: replays a sequence of sign-in attempts, in time order, against a fresh history and
 * fresh velocity counters, through the production decision point (`RiskDecisionPoint`: every signal,
 * the tenant's weights and Cedar policy, recording, learning devices and typing). Nothing is read
 * from or written to the database or the shared state: history is a `MemoryRiskHistory`, velocity a
 * `StateVelocity` over a `MemoryState` whose clock is the replayed attempt's time, and the one account
 * read the decision point makes (`db.account.findUnique`) is answered from the attempts themselves.
 *
 * A failed factor goes to `failed()` with the account (velocity and history), a successful one to
 * `decide()`. When an attempt says the person completes a step-up and the decision asks for one they
 * can meet (a hardware-bound passkey for `phrh`), the completed step-up is replayed right after as the
 * step-up flow would (action `step_up`, the stronger assurance), so the history learns the device as
 * it would in production; its result is reported with the attempt's.
 *
 * Used by `POST /api/risk/simulate` and the risk evaluation (`npm run eval:risk`). At most
 * `MAX_SIMULATED_ATTEMPTS` per replay; a `RiskSimulation` keeps its history across replays so longer
 * traffic can be replayed in order, chunk by chunk.
 */
import { z } from 'zod';
import { InvalidRequestError } from '../errors.ts';
import type { Aal, Assurance, AssuranceRequirement } from '../factors/assurance.ts';
import type { RiskLevel } from '../policy/cedar/context.ts';
import type { CompiledPolicy } from '../policy/cedar/engine.ts';
import type { Action, Attempt, Decision } from '../policy/decision.ts';
import { compileOrThrow, type TenantPolicies } from '../policy/tenant-policies.ts';
import { MemoryState } from '../state/memory.ts';
import type { Store } from '../store/index.ts';
import { RiskEngine, type RiskServices } from './engine.ts';
import { MemoryRiskHistory } from './history.ts';
import { RiskDecisionPoint } from './risk-decision.ts';
import type { Assessment, RiskWeights, WeightedContribution } from './scorer.ts';
import type { PersonHistory, RiskAttempt, Skip, VelocityCounters } from './types.ts';
import { StateVelocity } from './velocity.ts';

/** Most attempts one replay (and one `simulate` call) accepts. */
export const MAX_SIMULATED_ATTEMPTS = 10_000;

/** Latest accepted attempt time: the largest valid `Date` (year 275760). */
const MAX_EPOCH_MS = 8.64e15;

/** What a simulated attempt may be (sign-up is not: the account does not exist yet). */
export const SIMULATED_ACTIONS = [
  'sign_in',
  'step_up',
  'recover',
  'factor.enrol',
  'factor.remove',
  'session.end',
] as const satisfies readonly Action[];

export type SimulatedAction = (typeof SIMULATED_ACTIONS)[number];

/** The assurance an attempt reached, as the decision point reads it. */
export interface SimulatedAssurance {
  aal: Aal;
  amr: string[];
  phr: boolean;
  phrh: boolean;
}

/** A synced passkey with user verification: AAL2, phishing-resistant (the default). */
export const SYNCED_PASSKEY: SimulatedAssurance = {
  aal: 2,
  amr: ['mfa', 'swk', 'user'],
  phr: true,
  phrh: false,
};
/** A hardware-bound passkey with a trusted attestation: AAL3, `phrh`. */
export const HARDWARE_PASSKEY: SimulatedAssurance = {
  aal: 3,
  amr: ['hwk', 'mfa', 'user'],
  phr: true,
  phrh: true,
};
/** A recovery code alone: AAL1, not phishing-resistant. */
export const RECOVERY_CODE: SimulatedAssurance = { aal: 1, amr: ['otp'], phr: false, phrh: false };

/** One attempt to replay. */
export interface SimulatedAttempt {
  /** The person (account id) the attempt is for. */
  personKey: string;
  /** Their sign-in name: the typing signal's phrase. */
  username?: string;
  /** Epoch milliseconds. */
  at: number;
  ip?: string;
  userAgent?: string;
  /** The page's device payload, as sent (untrusted). */
  device?: unknown;
  /** The page's typing payload, as sent (untrusted). */
  typing?: unknown;
  /** The factor's outcome: a failure feeds velocity and history, a success is decided. */
  outcome: 'success' | 'failure';
  /** Default `sign_in`. */
  action?: SimulatedAction;
  /** Default `SYNCED_PASSKEY`. */
  assurance?: SimulatedAssurance;
  /** The person has a hardware-bound passkey (they can step up to `phrh`). Default false. */
  hardwareKeyEnrolled?: boolean;
  /** The person completes a step-up the decision asks for, when they can meet it. Default false. */
  completesStepUp?: boolean;
  /** Free text carried to the result (e.g. what the attempt stands for). */
  label?: string;
}

const assuranceSchema = z.strictObject({
  aal: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  amr: z.array(z.string().min(1).max(16)).max(10),
  phr: z.boolean(),
  phrh: z.boolean(),
});

/** The schema of one attempt (sizes bounded; the device and typing payloads are each signal's to judge). */
export const simulatedAttemptSchema: z.ZodType<SimulatedAttempt> = z.strictObject({
  personKey: z.string().min(1).max(128),
  username: z.string().min(1).max(64).optional(),
  at: z.number().int().min(0).max(MAX_EPOCH_MS),
  ip: z.string().min(1).max(64).optional(),
  userAgent: z.string().max(512).optional(),
  device: z.unknown().optional(),
  typing: z.unknown().optional(),
  outcome: z.enum(['success', 'failure']),
  action: z.enum(SIMULATED_ACTIONS).optional(),
  assurance: assuranceSchema.optional(),
  hardwareKeyEnrolled: z.boolean().optional(),
  completesStepUp: z.boolean().optional(),
  label: z.string().max(64).optional(),
});

/** The schema of a replay's attempts: at most `MAX_SIMULATED_ATTEMPTS`. */
export const simulatedAttemptsSchema = z
  .array(simulatedAttemptSchema)
  .max(MAX_SIMULATED_ATTEMPTS, `at most ${MAX_SIMULATED_ATTEMPTS} attempts per simulation`);

/** A decision as replayed: the outcome, what it asks for, and the assessment behind it. */
export interface SimulatedDecision {
  outcome: Decision['outcome'];
  /** The step-up asked for (`outcome: 'step_up'`). */
  required?: AssuranceRequirement;
  score: number;
  level: RiskLevel;
  /** Risk reason codes with points. */
  reasons: string[];
  /** Ids of the policies that determined the outcome. */
  policy: string[];
  /** Every signal's contribution, weighted (zero-point ones too, e.g. `device.known`). */
  contributions: WeightedContribution[];
  skipped: Skip[];
}

/** The outcome of one attempt, in the order the attempts were given. */
export type SimulatedResult = {
  /** Position of the attempt in the replay's input. */
  index: number;
  personKey: string;
  at: number;
  label?: string;
} & (
  | { outcome: 'factor_failed' }
  | (SimulatedDecision & {
      /** The completed step-up, replayed when the attempt completes one it can meet. */
      stepUp?: SimulatedDecision;
    })
);

/** How to simulate. */
export interface SimulationOptions {
  /** The policy to decide with: compiled, or Cedar text (compiled here; invalid → `InvalidPolicyError`). */
  policy: CompiledPolicy | string;
  /** Geolocation, ASN data and lists for the signals (each optional, as in production). */
  services: RiskServices;
  /** The tenant's weights (default none). */
  weights?: RiskWeights;
  /** Tenant id the attempts are recorded under. Default `simulation`. */
  tenantId?: string;
}

/** The account as `RiskDecisionPoint` selects it. */
interface SimulatedAccount {
  id: string;
  username: string | null;
  roles: string;
  passkeys: Array<{ hardwareBound: boolean }>;
}

/** The engine, keeping the last assessment so results can show every contribution. */
class ObservedEngine extends RiskEngine {
  last: Assessment | undefined;

  override async assess(
    attempt: RiskAttempt,
    history: PersonHistory,
    velocity: VelocityCounters,
    weights: RiskWeights = {},
  ): ReturnType<RiskEngine['assess']> {
    const assessment = await super.assess(attempt, history, velocity, weights);
    this.last = assessment;
    return assessment;
  }
}

/** Validates `attempts` (shape and count) or throws `InvalidRequestError` listing the problems. */
export function parseSimulatedAttempts(attempts: unknown): SimulatedAttempt[] {
  if (Array.isArray(attempts) && attempts.length > MAX_SIMULATED_ATTEMPTS) {
    throw new InvalidRequestError(
      `At most ${MAX_SIMULATED_ATTEMPTS} attempts can be simulated at once (got ${attempts.length}).`,
    );
  }
  const parsed = simulatedAttemptsSchema.safeParse(attempts);
  if (!parsed.success) {
    throw new InvalidRequestError('The attempts to simulate are invalid.', {
      extensions: {
        errors: parsed.error.issues
          .slice(0, 20)
          .map((i) => ({ in: 'attempts', path: i.path.join('.'), message: i.message })),
      },
    });
  }
  return parsed.data;
}

/**
 * A simulation: one fresh history and one set of velocity counters that replays attempts in time
 * order, one replay at a time (the clock is the replayed attempt's). Call `close()` when done: it
 * stops the memory state's sweep timer.
 */
export class RiskSimulation {
  readonly #tenantId: string;
  readonly #state: MemoryState;
  readonly #engine: ObservedEngine;
  readonly #point: RiskDecisionPoint;
  readonly #accounts = new Map<string, SimulatedAccount>();
  #clock = 0;
  #lastAt = Number.NEGATIVE_INFINITY;
  #replaying = false;

  /** Compiles a policy given as text (throws `InvalidPolicyError`) and starts from an empty history. */
  constructor(options: SimulationOptions) {
    const policy = typeof options.policy === 'string' ? compileOrThrow(options.policy) : options.policy;
    this.#tenantId = options.tenantId ?? 'simulation';
    this.#state = new MemoryState({ now: () => this.#clock });
    this.#engine = new ObservedEngine(options.services);
    const weights = options.weights ?? {};
    const accounts = this.#accounts;
    // The decision point reads exactly one thing from the store: the account, by id, with its
    // roles and active passkeys. The simulated people answer it.
    const store = {
      db: {
        account: {
          findUnique: async (args: { where: { id: string } }) => accounts.get(args.where.id) ?? null,
        },
      },
    };
    const policies: Pick<TenantPolicies, 'activeFor'> = {
      activeFor: async () => ({ policy, version: null }),
    };
    this.#point = new RiskDecisionPoint({
      // The deps are typed as the classes; the decision point only calls these two methods.
      store: store as unknown as Store,
      policies: policies as TenantPolicies,
      engine: this.#engine,
      history: new MemoryRiskHistory(),
      velocity: new StateVelocity(this.#state, () => this.#clock),
      weights: async () => weights,
    });
  }

  /**
   * Replays `attempts` in time order (ties keep their input order) after everything replayed before;
   * returns one result per attempt, in input order. Throws `InvalidRequestError` for invalid input,
   * more than `MAX_SIMULATED_ATTEMPTS`, or an attempt earlier than one already replayed.
   */
  async replay(attempts: readonly SimulatedAttempt[]): Promise<SimulatedResult[]> {
    const valid = parseSimulatedAttempts(attempts);
    if (this.#replaying) throw new Error('A replay is already running on this simulation.');
    const order = valid.map((_, i) => i).sort((a, b) => valid[a]!.at - valid[b]!.at || a - b);
    const first = order[0] === undefined ? undefined : valid[order[0]];
    if (first && first.at < this.#lastAt) {
      throw new InvalidRequestError(
        'The attempts go back in time: a replay must start at or after the previous one ended.',
      );
    }
    this.#replaying = true;
    try {
      const results = new Array<SimulatedResult>(valid.length);
      for (const index of order) {
        const attempt = valid[index]!;
        results[index] = await this.#replayOne(attempt, index);
        this.#lastAt = attempt.at;
      }
      return results;
    } finally {
      this.#replaying = false;
    }
  }

  /** Stops the memory state (its sweep timer). */
  async close(): Promise<void> {
    await this.#state.close();
  }

  async #replayOne(a: SimulatedAttempt, index: number): Promise<SimulatedResult> {
    this.#clock = a.at;
    const hardwareKey = a.hardwareKeyEnrolled === true;
    // Every simulated person has a synced passkey; some also a hardware-bound one.
    this.#accounts.set(a.personKey, {
      id: a.personKey,
      username: a.username ?? this.#accounts.get(a.personKey)?.username ?? null,
      roles: '[]',
      passkeys: hardwareKey
        ? [{ hardwareBound: false }, { hardwareBound: true }]
        : [{ hardwareBound: false }],
    });
    const base = {
      index,
      personKey: a.personKey,
      at: a.at,
      ...(a.label !== undefined ? { label: a.label } : {}),
    };
    const context = {
      at: a.at,
      ...(a.ip !== undefined ? { ip: a.ip } : {}),
      ...(a.userAgent !== undefined ? { userAgent: a.userAgent } : {}),
      ...(a.device !== undefined ? { device: a.device } : {}),
      ...(a.typing !== undefined ? { typing: a.typing } : {}),
    };
    const attempt: Omit<Attempt, 'assurance'> = {
      tenantId: this.#tenantId,
      accountId: a.personKey,
      ...(a.username !== undefined ? { username: a.username } : {}),
      action: a.action ?? 'sign_in',
      context,
    };
    if (a.outcome === 'failure') {
      await this.#point.failed(attempt);
      return { ...base, outcome: 'factor_failed' };
    }
    const decision = await this.#decide({
      ...attempt,
      assurance: assuranceOf(a.assurance ?? SYNCED_PASSKEY),
    });
    const completion =
      decision.required && a.completesStepUp === true
        ? stepUpAssurance(decision.required, hardwareKey)
        : undefined;
    if (!completion) return { ...base, ...decision };
    const stepUp = await this.#decide({ ...attempt, action: 'step_up', assurance: assuranceOf(completion) });
    return { ...base, ...decision, stepUp };
  }

  async #decide(attempt: Attempt): Promise<SimulatedDecision> {
    this.#engine.last = undefined;
    const decision = await this.#point.decide(attempt);
    const assessment = this.#engine.last as Assessment | undefined;
    if (!assessment) throw new Error('The decision point did not assess the attempt.');
    return {
      outcome: decision.outcome,
      ...(decision.outcome === 'step_up' ? { required: decision.required } : {}),
      score: assessment.score,
      level: assessment.level,
      reasons: assessment.reasons,
      // The decision's reasons are the assessment's followed by the policy's.
      policy: decision.reasons.slice(assessment.reasons.length),
      contributions: assessment.contributions,
      skipped: assessment.skipped,
    };
  }
}

/** Replays `attempts` against a fresh history with `options.policy`; one result per attempt, in input order. */
export async function simulate(
  attempts: readonly SimulatedAttempt[],
  options: SimulationOptions,
): Promise<SimulatedResult[]> {
  // Input first: a refused request costs no policy compilation.
  const valid = parseSimulatedAttempts(attempts);
  const simulation = new RiskSimulation(options);
  try {
    return await simulation.replay(valid);
  } finally {
    await simulation.close();
  }
}

function assuranceOf(a: SimulatedAssurance): Assurance {
  // `factors` is not read by the decision; a passkey is what makes an assurance phishing-resistant.
  return { aal: a.aal, amr: [...a.amr], factors: a.phr ? ['passkey'] : [], phr: a.phr, phrh: a.phrh };
}

/** The assurance a person completing `required` reaches, or undefined when they cannot meet it. */
function stepUpAssurance(
  required: AssuranceRequirement,
  hardwareKey: boolean,
): SimulatedAssurance | undefined {
  if (required.acr === 'phrh' || required.aal === 3) return hardwareKey ? HARDWARE_PASSKEY : undefined;
  return SYNCED_PASSKEY;
}
