/**
 * Builds the Cedar request (context record and entities) from typed facts, so that no caller writes
 * Cedar JSON by hand. Missing facts are filled with the values that never lower risk: an unknown
 * device is a new one, an unknown country is `""` and counts as new, nothing is enrolled.
 */
import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Assurance } from '../../factors/assurance.ts';
import type { Contribution } from '../../risk/types.ts';

/** Risk bands the default policy uses (`context.risk.level`). */
export type RiskLevel = 'low' | 'medium' | 'high';

/** Lowest score of the medium band. */
export const MEDIUM_RISK_FROM = 30;
/** Lowest score of the high band. */
export const HIGH_RISK_FROM = 70;

/** The band of a 0-100 score: low < 30, medium 30-69, high >= 70. */
export function riskLevel(score: number): RiskLevel {
  if (score >= HIGH_RISK_FROM) return 'high';
  if (score >= MEDIUM_RISK_FROM) return 'medium';
  return 'low';
}

/** What the risk engine concluded about the attempt. */
export interface RiskSummary {
  /** 0-100; clamped and rounded (Cedar has integers only); NaN counts as 100. */
  score: number;
  /** Reason codes, e.g. `travel.impossible`. */
  reasons?: readonly string[];
  /** Contributions whose reason codes are added to `reasons`. */
  contributions?: readonly Pick<Contribution, 'reason'>[];
}

/** Standing of the device used: one of the person's registered devices, or not, or revoked. */
export type DeviceState = 'trusted' | 'new' | 'revoked';

/** What is known about the device of the attempt. */
export interface DeviceFacts {
  state: DeviceState;
  /** Seen before for this person (always true for registered devices); default false for `new`. */
  seenBefore?: boolean;
  /** Its authenticator's attestation chained to a trusted root. Default false. */
  attested?: boolean;
}

/** Where the attempt comes from. */
export interface GeoFacts {
  /** ISO 3166-1 alpha-2 (upper-cased here); absent when unknown. */
  country?: string;
  /** Not seen before for this person. Default: true when the country is unknown. */
  newCountry?: boolean;
}

/** Everything the context record is built from. */
export interface ContextInput {
  risk: RiskSummary;
  /** What the session (or attempt) has proved. */
  assurance: Pick<Assurance, 'aal' | 'amr' | 'phr' | 'phrh'>;
  /** When the last factor was proved (epoch ms); needed to honour `@max_age`. */
  authTimeMs?: number;
  /** Absent: an unidentified device, treated as new. */
  device?: DeviceFacts;
  geo?: GeoFacts;
  /** Time of the attempt (epoch ms). Default: now. */
  at?: number;
  /** IANA time zone for `context.time` (e.g. `Europe/Berlin`). Default UTC. */
  timeZone?: string;
}

/** A built request context: the Cedar record plus what the engine checks assurance against. */
export interface PolicyContext {
  /** The context record without `operation` (the engine adds it per decision). */
  readonly record: Readonly<Record<string, CedarValueJson>>;
  readonly assurance: Pick<Assurance, 'aal' | 'phr' | 'phrh'>;
  readonly authTimeMs?: number;
  readonly nowMs: number;
}

/** The person as the policy sees them. */
export interface PersonInput {
  /** Account id (the entity id of `Person`). */
  id: string;
  tenant: string;
  roles?: readonly string[];
  /** Which kinds of factor the person has enrolled and could step up with. Default: none. */
  enrolled?: { mfa?: boolean; phr?: boolean; phrh?: boolean };
}

/** The resource: the tenant itself (sign-in, admin actions) or an app by OIDC client id. */
export type ResourceInput =
  | { type: 'Tenant'; id: string }
  | { type: 'App'; clientId: string; firstParty?: boolean };

/** A Cedar entity reference. */
export interface EntityRef {
  type: string;
  id: string;
}

/** Builds the context record from typed facts. */
export function buildContext(input: ContextInput): PolicyContext {
  const nowMs = input.at ?? Date.now();
  const score = Number.isNaN(input.risk.score)
    ? 100
    : Math.min(100, Math.max(0, Math.round(input.risk.score)));
  const reasons = new Set(input.risk.reasons ?? []);
  for (const c of input.risk.contributions ?? []) reasons.add(c.reason);
  const device = input.device ?? { state: 'new' };
  const country = input.geo?.country?.toUpperCase() ?? '';
  const { hour, weekday } = clock(nowMs, input.timeZone);
  const record: Record<string, CedarValueJson> = {
    risk: { score, reasons: [...reasons], level: riskLevel(score) },
    assurance: {
      aal: input.assurance.aal,
      amr: [...input.assurance.amr],
      phr: input.assurance.phr,
      phrh: input.assurance.phrh,
    },
    device: {
      state: device.state,
      known: device.state !== 'new' || device.seenBefore === true,
      attested: device.attested === true,
    },
    geo: { country, newCountry: input.geo?.newCountry ?? country === '' },
    time: { hour, weekday },
  };
  const { aal, phr, phrh } = input.assurance;
  return { record, assurance: { aal, phr, phrh }, authTimeMs: input.authTimeMs, nowMs };
}

/** The `Person` entity and its reference. */
export function personEntity(person: PersonInput): EntityJson {
  return {
    uid: { type: 'Person', id: person.id },
    attrs: {
      tenant: person.tenant,
      roles: [...(person.roles ?? [])],
      enrolled: {
        mfa: person.enrolled?.mfa === true,
        phr: person.enrolled?.phr === true,
        phrh: person.enrolled?.phrh === true,
      },
    },
    parents: [],
  };
}

/** The resource entity (`App` or `Tenant`). */
export function resourceEntity(resource: ResourceInput): EntityJson {
  if (resource.type === 'App') {
    return {
      uid: { type: 'App', id: resource.clientId },
      attrs: { clientId: resource.clientId, firstParty: resource.firstParty === true },
      parents: [],
    };
  }
  return { uid: { type: 'Tenant', id: resource.id }, attrs: {}, parents: [] };
}

const WEEKDAYS: Readonly<Record<string, number>> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function clock(ms: number, timeZone: string | undefined): { hour: number; weekday: number } {
  if (timeZone === undefined || timeZone === 'UTC') {
    const d = new Date(ms);
    return { hour: d.getUTCHours(), weekday: d.getUTCDay() === 0 ? 7 : d.getUTCDay() };
  }
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hour: 'numeric',
    hourCycle: 'h23',
    weekday: 'short',
  })
    .formatToParts(ms)
    .reduce<Record<string, string>>((acc, p) => {
      acc[p.type] = p.value;
      return acc;
    }, {});
  return { hour: Number(parts.hour), weekday: WEEKDAYS[parts.weekday ?? ''] ?? 1 };
}
