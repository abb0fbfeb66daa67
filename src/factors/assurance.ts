/**
 * Assurance levels as NIST SP 800-63B-4 defines them, from the factors a session has proved:
 *
 *   - AAL1: any one factor.
 *   - AAL2: two distinct factor types, or one multi-factor authenticator (a passkey with user
 *     verification). TOTP, recovery codes and DID keys are all "something you have": two of them are
 *     still AAL1.
 *   - AAL3: a hardware-bound, non-exportable key behind a trusted attestation, with user verification.
 *
 * `phr` (phishing-resistant) holds when a passkey was used; `phrh` when that passkey is also
 * hardware-bound. The `amr` values are RFC 8176's, plus `mfa` when two factor types were proved.
 *
 * Risk never raises assurance: nothing here reads the risk assessment.
 */
import type { FactorKind, FactorProof } from './types.ts';

/** The NIST AAL URIs OpenID Connect uses as `acr` values. */
export const AAL_ACR = {
  1: 'http://idmanagement.gov/ns/assurance/aal/1',
  2: 'http://idmanagement.gov/ns/assurance/aal/2',
  3: 'http://idmanagement.gov/ns/assurance/aal/3',
} as const;

export type Aal = 1 | 2 | 3;

/** What a set of factors reaches. */
export interface Assurance {
  aal: Aal;
  amr: string[];
  factors: FactorKind[];
  phr: boolean;
  phrh: boolean;
}

/** A requirement a flow or a policy asks for: a level, phishing resistance, and freshness. */
export interface AssuranceRequirement {
  aal?: Aal;
  /** `phr`: phishing-resistant; `phrh`: phishing-resistant and hardware-bound. */
  acr?: 'phr' | 'phrh';
  /** The last factor must be at most this old (seconds). */
  maxAgeS?: number;
}

/**
 * The authentication factor types (NIST: something you know, have, are) a proof demonstrates. A passkey
 * with user verification is a multi-factor authenticator (the key, plus the PIN or biometric that
 * unlocked it); TOTP, recovery codes and DID keys are each only something you have, so two of them
 * together are still one factor type.
 */
export function factorTypesOf(proof: Pick<FactorProof, 'kind' | 'userVerified'>): Array<'have' | 'verified'> {
  return proof.kind === 'passkey' && proof.userVerified ? ['have', 'verified'] : ['have'];
}

/** Combines proofs (in the order proved) into the assurance they reach together. */
export function assuranceOf(proofs: readonly FactorProof[]): Assurance {
  const kinds = [...new Set(proofs.map((p) => p.kind))];
  const amr = new Set(proofs.flatMap((p) => p.amr));
  const types = new Set(proofs.flatMap(factorTypesOf));
  const multiFactor = types.size >= 2;
  const hardware = proofs.some((p) => p.kind === 'passkey' && p.userVerified && p.hardwareBound);
  let aal: Aal = 1;
  if (multiFactor) aal = 2;
  if (hardware) aal = 3;
  if (multiFactor) amr.add('mfa');
  const phr = proofs.some((p) => p.phishingResistant);
  return { aal, amr: [...amr].sort(), factors: kinds, phr, phrh: phr && hardware };
}

/** The `acr` a session reports: the strongest of phrh, phr and the AAL URI. */
export function acrOf(a: Pick<Assurance, 'aal' | 'phr' | 'phrh'>): string {
  if (a.phrh) return 'phrh';
  if (a.phr) return 'phr';
  return AAL_ACR[a.aal];
}

/** Maps an OIDC `acr` value to a requirement (unknown values ask for nothing). */
export function requirementOfAcr(acr: string): AssuranceRequirement | undefined {
  switch (acr) {
    case 'phrh':
      return { aal: 3, acr: 'phrh' };
    case 'phr':
      return { aal: 2, acr: 'phr' };
    case AAL_ACR[3]:
      return { aal: 3 };
    case AAL_ACR[2]:
      return { aal: 2 };
    case AAL_ACR[1]:
      return { aal: 1 };
    default:
      return undefined;
  }
}

/** Whether `have` (with its last factor at `authTimeMs`) meets `need` at `nowMs`. */
export function meets(
  have: Pick<Assurance, 'aal' | 'phr' | 'phrh'>,
  authTimeMs: number,
  need: AssuranceRequirement,
  nowMs = Date.now(),
): boolean {
  if (need.aal !== undefined && have.aal < need.aal) return false;
  if (need.acr === 'phr' && !have.phr) return false;
  if (need.acr === 'phrh' && !have.phrh) return false;
  if (need.maxAgeS !== undefined && nowMs - authTimeMs > need.maxAgeS * 1000) return false;
  return true;
}
