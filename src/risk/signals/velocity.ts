/**
 * Signal `velocity`: how many attempts failed recently around this one, per account, per client
 * address and per device, and how many accounts one address has been trying. The engine records a
 * hit under `velocityHits(...)`'s keys after every attempt; this signal only reads the counters (the
 * current attempt is not yet counted). Rules, each independent:
 *
 *   - `velocity.account_failures`: ≥ 3 failures on this account in 15 min (guessing one account).
 *   - `velocity.ip_failures`: ≥ 10 failures from this address in 15 min (any accounts).
 *   - `velocity.fingerprint_failures`: ≥ 5 failures from this device fingerprint in 15 min: one
 *     browser hopping between addresses (a proxy pool) still has one fingerprint.
 *   - `velocity.stuffing`: ≥ 5 distinct accounts tried from this address in 1 h, with failures on at
 *     least half as many (a leaked list replayed in a burst).
 *   - `velocity.spraying`: ≥ 20 distinct accounts tried from this address in 24 h, failures on at
 *     least half as many but at most 3 per account on average: few guesses each, to stay under
 *     per-account lockouts. Only when `velocity.stuffing` did not fire (the same attack, slower).
 *   The failure-share conditions keep a busy office or campus NAT, where many people sign in from one
 *   address and few fail, out of both.
 *
 * Points start at the rule's base at its threshold, grow per count above it, and stop at its cap.
 * IPv6 addresses count per /64: one host usually holds the whole /64 and can rotate through it.
 * Skips `no_counters` when there are no counters, `counters_unavailable` when reading them fails (a
 * Redis outage must not make every attempt look clean nor fail the sign-in).
 */

import { parseDevicePayload } from '../device/fingerprint.ts';
import { formatIpKey, parseIpKey } from '../net/address.ts';
import type {
  AssessmentContext,
  Contribution,
  RiskAttempt,
  Signal,
  Skip,
  VelocityCounters,
} from '../types.ts';

const SIGNAL = 'velocity';
const MINUTE_MS = 60_000;

/** Window of the per-account failure count. */
export const ACCOUNT_FAILURE_WINDOW_MS = 15 * MINUTE_MS;
/** Window of the per-address failure count. */
export const IP_FAILURE_WINDOW_MS = 15 * MINUTE_MS;
/** Window of the per-fingerprint failure count. */
export const FINGERPRINT_FAILURE_WINDOW_MS = 15 * MINUTE_MS;
/** Window of credential stuffing: distinct accounts and failures from one address. */
export const STUFFING_WINDOW_MS = 60 * MINUTE_MS;
/** Window of password spraying: distinct accounts and failures from one address. */
export const SPRAYING_WINDOW_MS = 24 * 60 * MINUTE_MS;
/** The longest window: how long counters must keep a hit. */
export const VELOCITY_RETENTION_MS = SPRAYING_WINDOW_MS;

/** Where a client address is counted: the canonical IPv4, the IPv6 /64, else the trimmed text. */
export function ipBucket(ip: string): string {
  const key = parseIpKey(ip.trim());
  if (!key) return ip.trim().toLowerCase().slice(0, 64);
  if (key.family === 4) return formatIpKey(key);
  const words = new Uint32Array([key.words[0]!, key.words[1]!, 0, 0]);
  return `${formatIpKey({ family: 6, words })}/64`;
}

/** The counter keys, shared by this signal (reading) and the engine (recording). */
export const velocityKeys = {
  /** Failures on one account (count). */
  accountFailures: (personKey: string) => `fail:account:${personKey}`,
  /** Failures from one address (count). */
  ipFailures: (ip: string) => `fail:ip:${ipBucket(ip)}`,
  /** Failures from one device fingerprint (count). */
  fingerprintFailures: (thumbmark: string) => `fail:fp:${thumbmark}`,
  /** Accounts tried from one address, successes and failures (distinct, member = personKey). */
  accountsFromIp: (ip: string) => `accounts:ip:${ipBucket(ip)}`,
} as const;

/** One hit to record: a count when `member` is absent, else a member of a distinct set. */
export interface VelocityHit {
  key: string;
  member?: string;
}

/**
 * The hits the engine records once an attempt's outcome is known: the account under the address on
 * every attempt, the failure counts on failures only. Unknown accounts (no `personKey`) still count
 * against the address and the fingerprint, so probing for usernames is not free.
 */
export function velocityHits(
  attempt: Pick<RiskAttempt, 'personKey' | 'ip' | 'fingerprint'>,
  outcome: 'success' | 'failure',
): VelocityHit[] {
  const hits: VelocityHit[] = [];
  const thumbmark = thumbmarkOf(attempt.fingerprint);
  if (attempt.ip && attempt.personKey) {
    hits.push({ key: velocityKeys.accountsFromIp(attempt.ip), member: attempt.personKey });
  }
  if (outcome === 'failure') {
    if (attempt.personKey) hits.push({ key: velocityKeys.accountFailures(attempt.personKey) });
    if (attempt.ip) hits.push({ key: velocityKeys.ipFailures(attempt.ip) });
    if (thumbmark) hits.push({ key: velocityKeys.fingerprintFailures(thumbmark) });
  }
  return hits;
}

/** A rule's scale: `base` points at `threshold`, `perExtra` per count above it, at most `max`. */
export interface VelocityScale {
  threshold: number;
  base: number;
  perExtra: number;
  max: number;
}

/** Default thresholds and points (0-100, before tenant weights) of each rule. */
export const VELOCITY_POINTS = {
  /** Failures on the account in 15 min. */
  accountFailures: { threshold: 3, base: 30, perExtra: 10, max: 70 },
  /** Failures from the address in 15 min; shared addresses fail more, so fewer points per failure. */
  ipFailures: { threshold: 10, base: 20, perExtra: 2, max: 60 },
  /** Failures from the fingerprint in 15 min. */
  fingerprintFailures: { threshold: 5, base: 30, perExtra: 5, max: 70 },
  /** Distinct accounts from the address in 1 h (with failures on half as many). */
  stuffing: { threshold: 5, base: 40, perExtra: 5, max: 80 },
  /** Distinct accounts from the address in 24 h (with few failures each). */
  spraying: { threshold: 20, base: 30, perExtra: 1, max: 60 },
} as const satisfies Record<string, VelocityScale>;

/** Share of tried accounts that must have failed for stuffing or spraying. */
export const MIN_FAILURE_SHARE = 0.5;
/** Most failures per tried account, on average, that still count as spraying. */
export const MAX_SPRAY_FAILURES_PER_ACCOUNT = 3;

/** Tuning of the velocity signal. */
export interface VelocitySignalOptions {
  /** Overrides of `VELOCITY_POINTS`, per rule. */
  points?: Partial<Record<keyof typeof VELOCITY_POINTS, Partial<VelocityScale>>>;
}

/** Points of `count` on `scale`, or undefined under its threshold. */
export function scaledPoints(count: number, scale: VelocityScale): number | undefined {
  if (!(count >= scale.threshold)) return undefined;
  return Math.min(scale.max, Math.round(scale.base + scale.perExtra * (count - scale.threshold)));
}

/** Counters are a shared service: anything but a finite non-negative number reads as 0. */
function sane(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function thumbmarkOf(fingerprint: unknown): string | undefined {
  if (fingerprint === undefined || fingerprint === null) return undefined;
  const parsed = parseDevicePayload(fingerprint);
  return parsed.ok ? parsed.device.thumbmark : undefined;
}

/** Judges the failure counters around the attempt. Never throws. */
export async function assessVelocity(
  attempt: Pick<RiskAttempt, 'personKey' | 'ip' | 'fingerprint'>,
  counters: VelocityCounters | undefined,
  options: VelocitySignalOptions = {},
): Promise<Contribution[] | Skip> {
  if (!counters || typeof counters.count !== 'function' || typeof counters.distinct !== 'function')
    return { signal: SIGNAL, skipped: 'no_counters' };
  const scale = (rule: keyof typeof VELOCITY_POINTS): VelocityScale => ({
    ...VELOCITY_POINTS[rule],
    ...options.points?.[rule],
  });
  const thumbmark = thumbmarkOf(attempt.fingerprint);
  const { personKey, ip } = attempt;

  let reads: number[];
  try {
    const zero = Promise.resolve(0);
    reads = (
      await Promise.all([
        personKey ? counters.count(velocityKeys.accountFailures(personKey), ACCOUNT_FAILURE_WINDOW_MS) : zero,
        ip ? counters.count(velocityKeys.ipFailures(ip), IP_FAILURE_WINDOW_MS) : zero,
        thumbmark
          ? counters.count(velocityKeys.fingerprintFailures(thumbmark), FINGERPRINT_FAILURE_WINDOW_MS)
          : zero,
        ip ? counters.distinct(velocityKeys.accountsFromIp(ip), STUFFING_WINDOW_MS) : zero,
        ip ? counters.count(velocityKeys.ipFailures(ip), STUFFING_WINDOW_MS) : zero,
        ip ? counters.distinct(velocityKeys.accountsFromIp(ip), SPRAYING_WINDOW_MS) : zero,
        ip ? counters.count(velocityKeys.ipFailures(ip), SPRAYING_WINDOW_MS) : zero,
      ])
    ).map(sane);
  } catch {
    return { signal: SIGNAL, skipped: 'counters_unavailable' };
  }
  const [accountFailures, ipFailures, fpFailures, hourAccounts, hourFailures, dayAccounts, dayFailures] =
    reads as [number, number, number, number, number, number, number];

  const found: Contribution[] = [];
  const add = (reason: string, points: number | undefined, evidence: Record<string, unknown>) => {
    if (points !== undefined) found.push({ signal: SIGNAL, reason, points, evidence });
  };
  add('velocity.account_failures', scaledPoints(accountFailures, scale('accountFailures')), {
    failures: accountFailures,
    windowMinutes: ACCOUNT_FAILURE_WINDOW_MS / MINUTE_MS,
  });
  const address = ip ? ipBucket(ip) : null;
  add('velocity.ip_failures', scaledPoints(ipFailures, scale('ipFailures')), {
    ip: address,
    failures: ipFailures,
    windowMinutes: IP_FAILURE_WINDOW_MS / MINUTE_MS,
  });
  add('velocity.fingerprint_failures', scaledPoints(fpFailures, scale('fingerprintFailures')), {
    failures: fpFailures,
    windowMinutes: FINGERPRINT_FAILURE_WINDOW_MS / MINUTE_MS,
  });

  const stuffing =
    hourFailures >= hourAccounts * MIN_FAILURE_SHARE
      ? scaledPoints(hourAccounts, scale('stuffing'))
      : undefined;
  add('velocity.stuffing', stuffing, {
    ip: address,
    accounts: hourAccounts,
    failures: hourFailures,
    windowMinutes: STUFFING_WINDOW_MS / MINUTE_MS,
  });
  if (stuffing === undefined) {
    const fewEach =
      dayFailures >= dayAccounts * MIN_FAILURE_SHARE &&
      dayFailures <= dayAccounts * MAX_SPRAY_FAILURES_PER_ACCOUNT;
    add('velocity.spraying', fewEach ? scaledPoints(dayAccounts, scale('spraying')) : undefined, {
      ip: address,
      accounts: dayAccounts,
      failures: dayFailures,
      windowMinutes: SPRAYING_WINDOW_MS / MINUTE_MS,
    });
  }
  return found;
}

/** The registered signal: reads `ctx.velocity` under `velocityKeys`. */
export const velocitySignal: Signal = {
  name: SIGNAL,
  evaluate: (ctx: AssessmentContext) => assessVelocity(ctx.attempt, ctx.velocity),
};
