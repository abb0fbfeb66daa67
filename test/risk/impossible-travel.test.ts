import { beforeAll, describe, expect, it } from 'vitest';
import { haversineKm } from '../../src/risk/geo/distance.ts';
import { type GeoLookup, Geolocation } from '../../src/risk/geo/geolocation.ts';
import {
  IMPOSSIBLE_TRAVEL_POINTS,
  impossibleTravelSignal,
} from '../../src/risk/signals/impossible-travel.ts';
import type { GeoPoint, PastAttempt, RiskAttempt } from '../../src/risk/types.ts';

const paris: GeoPoint = { country: 'FR', city: 'Paris', lat: 48.8566, lon: 2.3522, accuracyKm: 50 };
const lyon: GeoPoint = { country: 'FR', city: 'Lyon', lat: 45.764, lon: 4.8357, accuracyKm: 50 };
const marseille: GeoPoint = { country: 'FR', city: 'Marseille', lat: 43.2965, lon: 5.3698, accuracyKm: 50 };
const berlin: GeoPoint = { country: 'DE', city: 'Berlin', lat: 52.52, lon: 13.405, accuracyKm: 50 };
const tokyo: GeoPoint = { country: 'JP', city: 'Tokyo', lat: 35.6762, lon: 139.6503, accuracyKm: 50 };
const newYork: GeoPoint = { country: 'US', city: 'New York', lat: 40.7128, lon: -74.006, accuracyKm: 50 };
const sydney = { lat: -33.8688, lon: 151.2093 };
const london = { lat: 51.5074, lon: -0.1278 };

const ips: Record<string, GeoPoint> = {
  '203.0.114.1': paris,
  '203.0.114.2': lyon,
  '203.0.114.3': marseille,
  '203.0.114.4': berlin,
  '203.0.114.5': tokyo,
  '203.0.114.6': newYork,
};
const ipOf = (point: GeoPoint) => Object.keys(ips).find((ip) => ips[ip] === point)!;
const stub: GeoLookup = { lookup: (ip) => ips[ip] };

const now = Date.UTC(2026, 5, 1, 12);
const HOUR = 3_600_000;
const attempt = (ip?: string): RiskAttempt => ({
  tenantId: 't1',
  personKey: 'p1',
  action: 'sign_in',
  at: now,
  ...(ip ? { ip } : {}),
});
const signedIn = (
  from: GeoPoint,
  hoursAgo: number,
  outcome: PastAttempt['outcome'] = 'success',
): PastAttempt => ({
  at: now - hoursAgo * HOUR,
  outcome,
  ip: ipOf(from),
});
const travel = (from: GeoPoint, to: GeoPoint, hours: number) =>
  impossibleTravelSignal(attempt(ipOf(to)), { history: [signedIn(from, hours)], geo: stub });

describe('haversine distance', () => {
  it.each([
    ['Paris', paris, 'New York', newYork, 5837],
    ['Paris', paris, 'Tokyo', tokyo, 9712],
    ['Paris', paris, 'Lyon', lyon, 392],
    ['London', london, 'Sydney', sydney, 16_994],
  ])('puts %s and %s %i km apart (±0.5 %%)', (_a, a, _b, b, km) => {
    expect(Math.abs(haversineKm(a, b) - km)).toBeLessThan(km * 0.005);
  });

  it('is zero for the same point and symmetric', () => {
    expect(haversineKm(paris, paris)).toBe(0);
    expect(haversineKm(paris, tokyo)).toBeCloseTo(haversineKm(tokyo, paris), 9);
  });

  it('stays finite for antipodal points (half the circumference)', () => {
    expect(haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(Math.PI * 6371.0088, 3);
  });
});

describe('impossible travel', () => {
  it('flags Paris to Tokyo in one hour, with the evidence the brief asks for', () => {
    expect(travel(paris, tokyo, 1)).toEqual([
      {
        signal: 'impossible_travel',
        reason: 'travel.impossible',
        points: IMPOSSIBLE_TRAVEL_POINTS.impossible,
        evidence: {
          fromCountry: 'FR',
          toCountry: 'JP',
          fromCity: 'Paris',
          toCity: 'Tokyo',
          distanceKm: 9712,
          uncertaintyKm: 100,
          hours: 1,
          speedKmh: 9612,
        },
      },
    ]);
  });

  it('does not flag Paris to Lyon in three hours', () => {
    expect(travel(paris, lyon, 3)).toEqual([]);
  });

  it('does not flag Paris to Marseille in three hours (a fast train)', () => {
    expect(travel(paris, marseille, 3)).toEqual([]);
  });

  it('calls Paris to Tokyo after a long-haul flight fast, not impossible', () => {
    expect(travel(paris, tokyo, 14)).toMatchObject([{ reason: 'travel.fast' }]);
    expect(travel(paris, tokyo, 30)).toEqual([]);
  });

  it('notes Paris to Berlin in ninety minutes as needing a plane, with few points', () => {
    expect(travel(paris, berlin, 1.5)).toMatchObject([
      { reason: 'travel.fast', points: IMPOSSIBLE_TRAVEL_POINTS.fast },
    ]);
    expect(IMPOSSIBLE_TRAVEL_POINTS.fast).toBeLessThan(IMPOSSIBLE_TRAVEL_POINTS.impossible / 2);
  });

  it('can turn travel.fast off', () => {
    const result = impossibleTravelSignal(
      attempt(ipOf(berlin)),
      { history: [signedIn(paris, 1.5)], geo: stub },
      { fastSpeedKmh: Number.POSITIVE_INFINITY },
    );
    expect(result).toEqual([]);
  });

  it('honours a configured speed limit', () => {
    const history = [signedIn(paris, 10)];
    expect(impossibleTravelSignal(attempt(ipOf(newYork)), { history, geo: stub })).toMatchObject([
      { reason: 'travel.fast' },
    ]);
    expect(
      impossibleTravelSignal(attempt(ipOf(newYork)), { history, geo: stub }, { maxSpeedKmh: 500 }),
    ).toMatchObject([{ reason: 'travel.impossible' }]);
  });

  it('compares with the latest located success, ignoring failures and later attempts', () => {
    const history: PastAttempt[] = [
      signedIn(tokyo, 30),
      signedIn(tokyo, 0.5, 'failure'),
      { at: now - 0.25 * HOUR, outcome: 'success', ip: '10.0.0.1' }, // unlocatable (VPN-internal)
      { at: now + HOUR, outcome: 'success', ip: ipOf(tokyo) }, // after the attempt
      signedIn(berlin, 1),
    ];
    expect(impossibleTravelSignal(attempt(ipOf(paris)), { history, geo: stub })).toMatchObject([
      { reason: 'travel.fast', evidence: { fromCountry: 'DE', toCountry: 'FR' } },
    ]);
  });

  it('uses the location recorded in history before looking the address up again', () => {
    const history: PastAttempt[] = [{ at: now - HOUR, outcome: 'success', ip: ipOf(paris), geo: tokyo }];
    expect(impossibleTravelSignal(attempt(ipOf(paris)), { history, geo: stub })).toMatchObject([
      { reason: 'travel.impossible', evidence: { fromCountry: 'JP' } },
    ]);
  });

  it('ignores a malformed recorded location instead of computing with it', () => {
    const broken = { country: 'JP', lat: Number.NaN, lon: 139, accuracyKm: 50 };
    const history: PastAttempt[] = [{ at: now - HOUR, outcome: 'success', ip: ipOf(paris), geo: broken }];
    expect(impossibleTravelSignal(attempt(ipOf(paris)), { history, geo: stub })).toEqual([]);
  });

  it('flags two far-apart sign-ins in the same instant', () => {
    const history: PastAttempt[] = [{ at: now, outcome: 'success', ip: ipOf(newYork) }];
    expect(impossibleTravelSignal(attempt(ipOf(paris)), { history, geo: stub })).toMatchObject([
      { reason: 'travel.impossible' },
    ]);
  });
});

describe('impossible travel with coarse locations', () => {
  it('does not flag a move that fits inside both locations’ uncertainty', () => {
    // A country-level US point (the Kansas centroid) and New York one hour later: 1,800 km apart, but
    // the country-level point says nothing about where in the US the person was.
    const usCountryLevel: GeoPoint = { country: 'US', lat: 37.751, lon: -97.822, accuracyKm: 2650 };
    const history: PastAttempt[] = [{ at: now - HOUR, outcome: 'success', geo: usCountryLevel }];
    expect(impossibleTravelSignal(attempt(ipOf(newYork)), { history, geo: stub })).toEqual([]);
  });

  it('still flags a coarse location when even its uncertainty cannot explain the jump', () => {
    const usCountryLevel: GeoPoint = { country: 'US', lat: 37.751, lon: -97.822, accuracyKm: 2650 };
    const history: PastAttempt[] = [{ at: now - HOUR, outcome: 'success', geo: usCountryLevel }];
    expect(impossibleTravelSignal(attempt(ipOf(tokyo)), { history, geo: stub })).toMatchObject([
      { reason: 'travel.impossible', evidence: { fromCountry: 'US', toCountry: 'JP', uncertaintyKm: 2700 } },
    ]);
  });

  it('ignores short jumps dominated by geolocation error (mobile gateways)', () => {
    expect(travel(paris, lyon, 0.1)).toEqual([]);
  });

  describe('on the packaged database', () => {
    let geo: Geolocation;
    beforeAll(async () => {
      geo = await Geolocation.open();
    });

    it('does not flag a German country-level mobile address and a Düsseldorf line ten minutes apart', () => {
      const history: PastAttempt[] = [{ at: now - 10 * 60_000, outcome: 'success', ip: '80.187.0.1' }];
      expect(impossibleTravelSignal(attempt('91.0.0.1'), { history, geo })).toEqual([]);
    });

    it('does not flag the US centroid (8.8.8.8) and a US IPv6 address an hour apart', () => {
      const history: PastAttempt[] = [{ at: now - HOUR, outcome: 'success', ip: '8.8.8.8' }];
      expect(impossibleTravelSignal(attempt('2001:4860:4860::8888'), { history, geo })).toEqual([]);
    });

    it('flags Germany to the US within an hour', () => {
      const history: PastAttempt[] = [{ at: now - HOUR, outcome: 'success', ip: '91.0.0.1' }];
      expect(impossibleTravelSignal(attempt('8.8.8.8'), { history, geo })).toMatchObject([
        { reason: 'travel.impossible', evidence: { fromCountry: 'DE', toCountry: 'US' } },
      ]);
    });
  });
});

describe('impossible travel skips', () => {
  it.each([
    [undefined, 'no_location'],
    ['10.0.0.1', 'no_location'],
    ['not an ip', 'no_location'],
    ['203.0.114.250', 'no_location'], // public but unknown to the database
  ])('skips the attempt from %s with %s', (ip, skipped) => {
    const result = impossibleTravelSignal(attempt(ip), { history: [signedIn(paris, 1)], geo: stub });
    expect(result).toEqual({ signal: 'impossible_travel', skipped });
  });

  it('skips with no_previous_location on a first sign-in', () => {
    expect(impossibleTravelSignal(attempt(ipOf(paris)), { history: [], geo: stub })).toEqual({
      signal: 'impossible_travel',
      skipped: 'no_previous_location',
    });
  });

  it('skips with no_previous_location when earlier successes have no location', () => {
    const history: PastAttempt[] = [
      { at: now - HOUR, outcome: 'success', ip: '192.168.1.4' },
      { at: now - 2 * HOUR, outcome: 'success' },
      signedIn(tokyo, 0.5, 'failure'),
    ];
    expect(impossibleTravelSignal(attempt(ipOf(paris)), { history, geo: stub })).toEqual({
      signal: 'impossible_travel',
      skipped: 'no_previous_location',
    });
  });
});
