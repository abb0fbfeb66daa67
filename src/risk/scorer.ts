/**
 * The scorer: combines the signals' contributions into one 0-100 score, every contribution visible
 * with the weight applied to it. Contributions combine like independent pieces of evidence (a noisy
 * OR): `score = 100 × (1 − Π (1 − min(1, weight × points / 100)))`. So one strong signal alone can
 * make a high score, weak signals add up without ever passing 100, and adding a contribution never
 * lowers the score. Skipped signals add nothing (they never lower risk either).
 *
 * Weights are per tenant: a multiplier per signal name or reason code (the reason's weight wins),
 * on top of the calibrated defaults below, default 1.
 */
import { type RiskLevel, riskLevel } from '../policy/cedar/context.ts';
import type { Contribution, Skip } from './types.ts';

export type RiskWeights = Readonly<Record<string, number>>;

/**
 * Calibrated with `npm run eval:risk`: impossible travel on its own is often a roaming phone or a VPN
 * (the policy still denies it from a new device), and a person's typing varies with the keyboard, so
 * each counts half. Tenant weights replace these per key.
 */
export const DEFAULT_WEIGHTS: RiskWeights = { 'travel.impossible': 0.5, 'typing.anomalous': 0.5 };

/** A tenant's stored weights (`Tenant.riskWeights`, JSON or null). */
export function riskWeightsOf(tenant: { riskWeights: string | null }): RiskWeights {
  return tenant.riskWeights ? (JSON.parse(tenant.riskWeights) as RiskWeights) : {};
}

/** A contribution as scored: its raw points, the weight, and what it added. */
export interface WeightedContribution extends Contribution {
  weight: number;
  /** Points after weighting, 0-100. */
  weighted: number;
}

/** The outcome of scoring: the score, its band, and every contribution and skip behind it. */
export interface Assessment {
  score: number;
  level: RiskLevel;
  contributions: WeightedContribution[];
  skipped: Skip[];
  /** Reason codes of contributions with points (what the policy and the console show). */
  reasons: string[];
}

/** Scores contributions with `weights`. */
export function score(
  contributions: readonly Contribution[],
  skipped: readonly Skip[],
  tenantWeights: RiskWeights = {},
): Assessment {
  const weights = { ...DEFAULT_WEIGHTS, ...tenantWeights };
  let keep = 1;
  const weightedAll: WeightedContribution[] = contributions.map((c) => {
    const raw = weights[c.reason] ?? weights[c.signal] ?? 1;
    const weight = Number.isFinite(raw) && raw >= 0 ? raw : 1;
    const weighted = Math.min(100, Math.max(0, c.points * weight));
    keep *= 1 - weighted / 100;
    return { ...c, weight, weighted: Math.round(weighted * 10) / 10 };
  });
  const value = Math.round(100 * (1 - keep));
  return {
    score: value,
    level: riskLevel(value),
    contributions: weightedAll,
    skipped: [...skipped],
    reasons: weightedAll.filter((c) => c.weighted > 0).map((c) => c.reason),
  };
}
