/**
 * The one decision point every sign-in flow and sensitive action calls: given the attempt and the
 * assurance it reached, allow, ask for more (step up), or refuse. The default allows at the computed
 * level; the risk engine and the tenant's policy replace it without touching the flows.
 */
import type { Assurance, AssuranceRequirement } from '../factors/assurance.ts';

/** What is being attempted. */
export type Action =
  | 'sign_up'
  | 'sign_in'
  | 'step_up'
  | 'recover'
  | 'factor.enrol'
  | 'factor.remove'
  | 'session.end';

/** The attempt as the decision point sees it. */
export interface Attempt {
  tenantId: string;
  /** Unknown for a failed identification; at sign-up, the id the new account will have. */
  accountId?: string;
  /** The person's sign-in name (the typing signal's phrase), when known. */
  username?: string;
  action: Action;
  /** The assurance the attempt reached (of the session after it, for actions). */
  assurance: Assurance;
  /** Request context for risk signals; the device and typing payloads are untrusted, as sent. */
  context: { ip?: string; userAgent?: string; device?: unknown; typing?: unknown; at?: number };
}

/** The risk assessment behind a decision, in short (the full one is stored with the attempt). */
export interface AssessmentSummary {
  score: number;
  level: string;
  reasons: string[];
}

export type Decision = (
  | { outcome: 'allow'; reasons: string[] }
  | { outcome: 'step_up'; required: AssuranceRequirement; reasons: string[] }
  | { outcome: 'deny'; reasons: string[] }
) & {
  assessment?: AssessmentSummary;
  /** The person's known device (RiskDevice id) the attempt matched or added, when it had a fingerprint. */
  deviceId?: string;
};

export interface DecisionPoint {
  decide(attempt: Attempt): Promise<Decision>;
  /** A factor was refused: feeds velocity and the person's history. Optional. */
  failed?(attempt: Omit<Attempt, 'assurance'>): Promise<void>;
}

/** Allows every attempt at the level its factors reached. */
export const allowAtComputedLevel: DecisionPoint = {
  decide: async () => ({ outcome: 'allow', reasons: [] }),
};
