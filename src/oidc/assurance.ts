/**
 * OpenID Connect assurance: the `acr` values Trustgate answers (NIST AAL URIs and OpenID EAP `phr`,
 * `phrh`), which of them a live session satisfies, and which of an app's `acr_values` Trustgate knows.
 * Unknown values are ignored (`acr_values` is a voluntary request, OpenID Connect Core §3.1.2.1): the
 * ID token then states what was reached.
 */
import { AAL_ACR, type Assurance, meets, requirementOfAcr } from '../factors/assurance.ts';

/** `acr_values_supported`, strongest last. */
export const ACR_VALUES = [AAL_ACR[1], AAL_ACR[2], AAL_ACR[3], 'phr', 'phrh'] as const;

const KNOWN = new Set<string>(ACR_VALUES);

/** The known values of a space-separated `acr_values`, in the app's order of preference. */
export function requestedAcrs(acrValues: unknown): string[] {
  if (typeof acrValues !== 'string') return [];
  return acrValues.split(' ').filter((v) => KNOWN.has(v));
}

/** True when a session with `assurance` (its factors last proved at `authTimeMs`) satisfies `acr`. */
export function satisfiesAcr(assurance: Assurance, authTimeMs: number, acr: string, nowMs = Date.now()) {
  const requirement = requirementOfAcr(acr);
  return requirement !== undefined && meets(assurance, authTimeMs, requirement, nowMs);
}

/**
 * The `acr` to state for a session: the first of the requested values it satisfies, else (nothing
 * known requested) the strongest value it reaches; undefined when requested values are unmet.
 */
export function acrFor(assurance: Assurance, authTimeMs: number, requested: string[]): string | undefined {
  if (requested.length > 0) return requested.find((acr) => satisfiesAcr(assurance, authTimeMs, acr));
  return [...ACR_VALUES].reverse().find((acr) => satisfiesAcr(assurance, authTimeMs, acr));
}
