/**
 * Signal `device`: has the person signed in from this browser before? The page's device payload
 * (fingerprint.ts) is matched against the person's known devices: the same thumbmark, else a share of
 * equal components above 0.8. Rules, in order:
 *
 *   - A payload that is missing or malformed skips: `no_fingerprint`, `malformed: <reason>`.
 *   - `device.revoked`, 100 points: it matches a device the person or an admin revoked (on a tie with
 *     a trusted device, revoked wins: the lost device would look exactly like this).
 *   - `device.ua_mismatch`: it matches a trusted device, but the request's user agent is another
 *     rendering engine or OS family than the one recorded for it (Chrome on macOS then Firefox on
 *     Windows). A fingerprint is client-reported; one replayed from another browser looks like this.
 *   - `device.known`, 0 points, with `device.attested`, 0 points, when a passkey with a trusted
 *     attestation was registered from it (evidence for the policy: this never lowers the score).
 *   - `device.new`: no match. With no known devices at all (a first sign-in) there is nothing to
 *     compare with, so the points are lower and the evidence says so.
 *
 * Evidence is the device id, the labels (`Chrome 131 / macOS`) and the similarity: never the hashes.
 */
import {
  type DeviceMatch,
  deviceLabel,
  familyDifferences,
  matchDevice,
  parseDevicePayload,
} from '../device/fingerprint.ts';
import type { AssessmentContext, Contribution, KnownDevice, RiskAttempt, Signal, Skip } from '../types.ts';

const SIGNAL = 'device';

/** Default points (0-100, before tenant weights). */
export const DEVICE_POINTS = {
  /** A device the person signed in from before. */
  known: 0,
  /** A known device bound to an attested passkey: information for the policy, not a discount. */
  attested: 0,
  /** A browser none of the person's known devices looks like. */
  new: 30,
  /** The person has no known devices yet: a new device is expected, so weak evidence. */
  newFirstDevice: 10,
  /** A revoked device: whoever holds it was meant to lose access. */
  revoked: 100,
  /** A known device's fingerprint from another browser engine or OS. */
  uaMismatch: 60,
} as const;

/** Tuning of the device signal. */
export interface DeviceSignalOptions {
  /** Overrides of `DEVICE_POINTS`. */
  points?: Partial<Record<keyof typeof DEVICE_POINTS, number>>;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Judges the attempt's device payload against the person's known devices. Never throws. */
export function assessDevice(
  attempt: Pick<RiskAttempt, 'fingerprint' | 'userAgent'>,
  devices: readonly KnownDevice[],
  options: DeviceSignalOptions = {},
): Contribution[] | Skip {
  const points = { ...DEVICE_POINTS, ...options.points };
  if (attempt.fingerprint === undefined || attempt.fingerprint === null)
    return { signal: SIGNAL, skipped: 'no_fingerprint' };
  const parsed = parseDevicePayload(attempt.fingerprint);
  if (!parsed.ok) return { signal: SIGNAL, skipped: `malformed: ${parsed.reason}` };
  const label = deviceLabel(attempt.userAgent) ?? null;
  const known = Array.isArray(devices) ? devices : [];

  const match = matchDevice(parsed.device, known);
  if (!match) {
    const first = known.length === 0;
    return [
      {
        signal: SIGNAL,
        reason: 'device.new',
        points: first ? points.newFirstDevice : points.new,
        evidence: first
          ? { label, firstDevice: true, note: 'no known devices to compare with' }
          : { label, knownDevices: known.length },
      },
    ];
  }

  const evidence = matchEvidence(match, label);
  if (match.device.state === 'revoked') {
    return [{ signal: SIGNAL, reason: 'device.revoked', points: points.revoked, evidence }];
  }
  const differs = familyDifferences(match.device.label, label ?? undefined);
  if (differs.length > 0) {
    return [
      {
        signal: SIGNAL,
        reason: 'device.ua_mismatch',
        points: points.uaMismatch,
        evidence: { ...evidence, differs },
      },
    ];
  }
  const found: Contribution[] = [{ signal: SIGNAL, reason: 'device.known', points: points.known, evidence }];
  if (match.device.attested === true) {
    found.push({
      signal: SIGNAL,
      reason: 'device.attested',
      points: points.attested,
      evidence: { deviceId: match.device.id },
    });
  }
  return found;
}

function matchEvidence(match: DeviceMatch, label: string | null): Record<string, unknown> {
  return {
    deviceId: match.device.id,
    label,
    knownLabel: match.device.label ?? null,
    similarity: round(match.similarity),
    match: match.exact ? 'thumbmark' : 'components',
  };
}

/** The registered signal: reads `attempt.fingerprint`, `attempt.userAgent` and `history.devices`. */
export const deviceSignal: Signal = {
  name: SIGNAL,
  evaluate: (ctx: AssessmentContext) => assessDevice(ctx.attempt, ctx.history?.devices ?? []),
};
