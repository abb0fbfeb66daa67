/**
 * Signal `geolocation`: where the attempt comes from, against where the person has signed in before.
 *
 * - `geo.new_country`: none of the person's past successful sign-ins came from this country. Failed
 *   attempts never count as known countries, or an attacker's failures would teach the signal that
 *   their country is normal.
 * - `geo.unlocatable`: a public address the database cannot place (new allocations, some anycast and
 *   satellite ranges): small points, because unknown is not suspicious by itself.
 * - Skips: `no_ip`, `malformed_ip`, `private_address` (no location to judge; the network signal and the
 *   tenant's proxy configuration cover internal traffic), `no_country` (placed, but without a
 *   country), `no_history` (no located successful sign-in to compare with: a first sign-in).
 */
import type { GeoLookup } from '../geo/geolocation.ts';
import { classifyAddress } from '../net/address.ts';
import type { Contribution, PastAttempt, RiskAttempt, Skip } from '../types.ts';

const SIGNAL = 'geolocation';

/**
 * Default points (0-100, before tenant weights). Travel makes a new country common for honest users,
 * so on its own it only nudges the score; combined with a new device or impossible travel it adds up.
 */
export const GEOLOCATION_POINTS = {
  /** A country never seen in the person's located successful sign-ins (at least `establishedAfter`). */
  newCountry: 40,
  /** The same with a thin history (fewer than `establishedAfter` located successes): weak evidence. */
  newCountryThinHistory: 15,
  /** A public address the database cannot place. */
  unlocatable: 10,
} as const;

/** Tuning of the geolocation signal. */
export interface GeolocationSignalOptions {
  /** Located successful sign-ins needed before a new country earns full points. Default 3. */
  establishedAfter?: number;
  /** Overrides of `GEOLOCATION_POINTS`. */
  points?: Partial<Record<keyof typeof GEOLOCATION_POINTS, number>>;
}

/** What the signal reads besides the attempt. */
export interface GeolocationSignalInput {
  /** The person's past attempts (any order); only successes before the attempt count. */
  history: readonly PastAttempt[];
  geo: GeoLookup;
}

/** Judges the attempt's country against the person's history. */
export function geolocationSignal(
  attempt: RiskAttempt,
  { history, geo }: GeolocationSignalInput,
  options: GeolocationSignalOptions = {},
): Contribution[] | Skip {
  const points = { ...GEOLOCATION_POINTS, ...options.points };
  if (!attempt.ip) return skip('no_ip');
  const address = classifyAddress(attempt.ip);
  if (address.kind === 'malformed') return skip('malformed_ip');
  if (address.kind === 'non_public') return skip('private_address');

  const here = geo.lookup(address.address);
  if (!here) {
    return [
      {
        signal: SIGNAL,
        reason: 'geo.unlocatable',
        points: points.unlocatable,
        evidence: { ip: address.address },
      },
    ];
  }
  if (!here.country) return skip('no_country');

  const known = new Set<string>();
  let located = 0;
  for (const past of history) {
    if (past.outcome !== 'success' || !(past.at <= attempt.at)) continue;
    const country = pastCountry(past, geo);
    if (!country) continue;
    known.add(country);
    located++;
  }
  if (located === 0) return skip('no_history');
  if (known.has(here.country)) return [];

  const established = located >= (options.establishedAfter ?? 3);
  const evidence: Record<string, unknown> = {
    country: here.country,
    knownCountries: [...known].sort(),
    pastSignIns: located,
  };
  if (here.city) evidence.city = here.city;
  return [
    {
      signal: SIGNAL,
      reason: 'geo.new_country',
      points: established ? points.newCountry : points.newCountryThinHistory,
      evidence,
    },
  ];
}

/** The country history recorded; else today's lookup of the recorded address. */
function pastCountry(past: PastAttempt, geo: GeoLookup): string | undefined {
  const recorded = past.geo?.country;
  if (typeof recorded === 'string' && /^[A-Za-z]{2}$/.test(recorded)) return recorded.toUpperCase();
  return past.ip ? geo.lookup(past.ip)?.country : undefined;
}

function skip(skipped: string): Skip {
  return { signal: SIGNAL, skipped };
}
