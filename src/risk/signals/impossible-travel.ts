/**
 * Signal `impossible_travel`: could the person have got from their last successful sign-in to here in
 * the time between?
 *
 * The distance is great-circle (haversine) between the two locations, minus both accuracy radii: a
 * coarse location (a country-level point can be thousands of km off) only ever shortens the distance
 * the person must have covered, so coarse data makes the signal quieter, never louder. Effective
 * distances under `minDistanceKm` are ignored too: at that scale the error is dominated by mobile
 * carriers egressing through gateways in other cities, not by travel.
 *
 * - `travel.impossible`: effective speed above `maxSpeedKmh` (default 900 km/h, an airliner's cruise).
 * - `travel.fast`: above `fastSpeedKmh` (default 400 km/h, beyond any train or car): the person must
 *   have flown. Honest travellers fly, so the points are few; it matters when it adds to others.
 *   `Infinity` turns it off.
 * - Skips: `no_location` (no ip, non-public or unplaceable address), `no_previous_location` (no earlier
 *   successful sign-in with a location).
 *
 * The last located success is the right reference even when newer unlocated ones exist: having been at
 * A at t0 and being at B now bounds the average speed over [t0, now] whatever happened in between.
 */
import { haversineKm } from '../geo/distance.ts';
import type { GeoLookup } from '../geo/geolocation.ts';
import type { Contribution, GeoPoint, PastAttempt, RiskAttempt, Skip } from '../types.ts';

const SIGNAL = 'impossible_travel';
const HOUR_MS = 3_600_000;
// Two sign-ins in the same instant (or a clock a little behind) still need a finite elapsed time.
const MIN_ELAPSED_MS = 60_000;

/** Default points (0-100, before tenant weights). */
export const IMPOSSIBLE_TRAVEL_POINTS = {
  /**
   * Faster than an airliner after allowing for both locations' uncertainty: one of the two sessions is
   * very likely someone else (or a VPN/proxy), so close to a step-up on its own.
   */
  impossible: 80,
  /** Only possible by plane: plausible for travellers, weak alone. */
  fast: 15,
} as const;

/** Tuning of the impossible-travel signal. */
export interface ImpossibleTravelOptions {
  /** Speed (km/h) above which travel is impossible. Default 900. */
  maxSpeedKmh?: number;
  /** Speed (km/h) above which travel needs a plane; `Infinity` disables `travel.fast`. Default 400. */
  fastSpeedKmh?: number;
  /** Effective distances (after subtracting uncertainty) below this never flag. Default 300 km. */
  minDistanceKm?: number;
  /** Overrides of `IMPOSSIBLE_TRAVEL_POINTS`. */
  points?: Partial<Record<keyof typeof IMPOSSIBLE_TRAVEL_POINTS, number>>;
}

/** What the signal reads besides the attempt. */
export interface ImpossibleTravelInput {
  /** The person's past attempts (any order); only successes before the attempt count. */
  history: readonly PastAttempt[];
  geo: GeoLookup;
}

/** Judges the speed needed from the last located successful sign-in to this attempt. */
export function impossibleTravelSignal(
  attempt: RiskAttempt,
  { history, geo }: ImpossibleTravelInput,
  options: ImpossibleTravelOptions = {},
): Contribution[] | Skip {
  const maxSpeedKmh = options.maxSpeedKmh ?? 900;
  const fastSpeedKmh = options.fastSpeedKmh ?? 400;
  const minDistanceKm = options.minDistanceKm ?? 300;
  const points = { ...IMPOSSIBLE_TRAVEL_POINTS, ...options.points };

  const here = attempt.ip ? geo.lookup(attempt.ip) : undefined;
  if (!here || !validPoint(here)) return skip('no_location');

  const successes = history
    .filter((past) => past.outcome === 'success' && past.at <= attempt.at)
    .sort((a, b) => b.at - a.at);
  let previous: { at: number; point: GeoPoint } | undefined;
  for (const past of successes) {
    const point = pastLocation(past, geo);
    if (point) {
      previous = { at: past.at, point };
      break;
    }
  }
  if (!previous) return skip('no_previous_location');

  const distanceKm = haversineKm(previous.point, here);
  const uncertaintyKm = previous.point.accuracyKm + here.accuracyKm;
  const effectiveKm = distanceKm - uncertaintyKm;
  if (effectiveKm < minDistanceKm) return [];
  const hours = Math.max(attempt.at - previous.at, MIN_ELAPSED_MS) / HOUR_MS;
  const speedKmh = effectiveKm / hours;

  const reason =
    speedKmh > maxSpeedKmh ? 'travel.impossible' : speedKmh > fastSpeedKmh ? 'travel.fast' : undefined;
  if (!reason) return [];
  const evidence: Record<string, unknown> = {
    fromCountry: previous.point.country ?? null,
    toCountry: here.country ?? null,
    distanceKm: Math.round(distanceKm),
    uncertaintyKm: Math.round(uncertaintyKm),
    hours: Math.round(hours * 100) / 100,
    speedKmh: Math.round(speedKmh),
  };
  if (previous.point.city) evidence.fromCity = previous.point.city;
  if (here.city) evidence.toCity = here.city;
  return [
    {
      signal: SIGNAL,
      reason,
      points: reason === 'travel.impossible' ? points.impossible : points.fast,
      evidence,
    },
  ];
}

/** The location history recorded (if well-formed); else today's lookup of the recorded address. */
function pastLocation(past: PastAttempt, geo: GeoLookup): GeoPoint | undefined {
  if (past.geo && validPoint(past.geo)) return past.geo;
  const looked = past.ip ? geo.lookup(past.ip) : undefined;
  return looked && validPoint(looked) ? looked : undefined;
}

/** Stored locations come from history rows: refuse anything that would make the arithmetic lie. */
function validPoint(point: GeoPoint): boolean {
  return (
    Number.isFinite(point.lat) &&
    Number.isFinite(point.lon) &&
    Math.abs(point.lat) <= 90 &&
    Math.abs(point.lon) <= 180 &&
    Number.isFinite(point.accuracyKm) &&
    point.accuracyKm >= 0
  );
}

function skip(skipped: string): Skip {
  return { signal: SIGNAL, skipped };
}
