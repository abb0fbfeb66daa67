/**
 * The risk engine's vocabulary. A **signal** (one file under `signals/`) reads an attempt and the
 * person's history and returns contributions, each with a stable reason code, points (0-100, before
 * tenant weights) and its evidence; or it skips with a reason. A missing or malformed input never
 * lowers risk: the signal skips and says why. The scorer adds weighted contributions into a 0-100
 * score; the tenant's Cedar policy turns score, reasons and assurance into a decision.
 */

/** A location as geolocation knows it. */
export interface GeoPoint {
  country?: string;
  city?: string;
  lat: number;
  lon: number;
  /** Radius of uncertainty in km (coarse country-level locations have hundreds). */
  accuracyKm: number;
}

/** What the sign-in page and the request tell about the attempt. Every field may be absent. */
export interface RiskAttempt {
  tenantId: string;
  /** Stable key of the person (account id), absent when the identifier is unknown. */
  personKey?: string;
  action: 'sign_in' | 'step_up' | 'recover' | 'sensitive_action';
  /** Epoch milliseconds. */
  at: number;
  /** Client address as trusted (X-Forwarded-For only from a configured proxy). */
  ip?: string;
  userAgent?: string;
  /** Raw, untrusted payloads from the page; each signal validates its own. */
  fingerprint?: unknown;
  typing?: unknown;
}

/** One signal's finding. */
export interface Contribution {
  signal: string;
  /** Stable code, e.g. `geo.new_country`, `travel.impossible`, `typing.anomalous`. */
  reason: string;
  /** Risk points before weighting, 0-100. */
  points: number;
  /** What was seen (safe to show to admins: no secrets). */
  evidence: Record<string, unknown>;
}

/** A signal that could not judge (missing or malformed input): never lowers risk. */
export interface Skip {
  signal: string;
  skipped: string;
}

/** A past attempt of the person, as history keeps it. */
export interface PastAttempt {
  at: number;
  outcome: 'success' | 'failure';
  ip?: string;
  geo?: GeoPoint;
  deviceId?: string;
}

/** A device the person signed in from before, as history keeps it. */
export interface KnownDevice {
  id: string;
  /** Stable hash of the fingerprint (thumbmark). */
  thumbmark: string;
  /** Per-component hashes for fuzzy matching (component name → hash). */
  components: Record<string, string>;
  /** Browser and OS family from the user agent (`Chrome 120 / macOS`). */
  label?: string;
  firstSeenAt: number;
  lastSeenAt: number;
  /** `trusted` (seen on successful sign-ins, or bound to an attested passkey), `revoked`. */
  state: 'trusted' | 'revoked';
  /** A passkey with a trusted attestation was registered from it. */
  attested: boolean;
}

/** What the engine knows of the person before this attempt. */
export interface PersonHistory {
  /** Past attempts, newest first (bounded: the last 200 within 90 days). */
  attempts: PastAttempt[];
  devices: KnownDevice[];
  /** Typing profile (the keystroke detector's model) and its sample count. */
  typing: { model: unknown; samples: number };
  /** The person's sign-in name (the phrase the typing signal expects), when known. */
  username?: string;
}

/** Sliding-window counters shared by every instance (failures per account, IP, fingerprint). */
export interface VelocityCounters {
  /** Counts the hits of `key` in the last `windowMs` (without adding one). */
  count(key: string, windowMs: number): Promise<number>;
  /** Distinct members recorded under `key` in the last `windowMs` (e.g. accounts tried from one IP). */
  distinct(key: string, windowMs: number): Promise<number>;
}

/** Everything a signal may read: the attempt, the person's history, and facts derived once. */
export interface AssessmentContext {
  attempt: RiskAttempt;
  history: PersonHistory;
  /** Location of `attempt.ip` (undefined: no IP, private, or not in the database). */
  geo?: GeoPoint;
  /** Network facts of `attempt.ip`. */
  network?: { asn?: number; org?: string; hosting: boolean; denied: boolean; allowed: boolean };
  velocity: VelocityCounters;
}

/** One risk signal: one file, one registration line in the engine's table. */
export interface Signal {
  name: string;
  evaluate(ctx: AssessmentContext): Contribution[] | Skip | Promise<Contribution[] | Skip>;
}
