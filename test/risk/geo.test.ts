import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { type GeoLookup, Geolocation, type MmdbReader } from '../../src/risk/geo/geolocation.ts';
import { GEOLOCATION_POINTS, geolocationSignal } from '../../src/risk/signals/geolocation.ts';
import type { GeoPoint, PastAttempt, RiskAttempt } from '../../src/risk/types.ts';

let geo: Geolocation;

beforeAll(async () => {
  geo = await Geolocation.open();
});

/** A reader that serves fixed records and counts how often it is consulted. */
function fakeReader(records: Record<string, unknown>, ipVersion = 6) {
  return {
    metadata: { ipVersion },
    get: vi.fn((ip: string): unknown => records[ip] ?? null),
  } satisfies MmdbReader;
}

describe('Geolocation on the packaged GeoLite2 City data', () => {
  it.each([
    ['8.8.8.8', 'US'],
    ['80.187.0.1', 'DE'], // Deutsche Telekom mobile
    ['91.0.0.1', 'DE'], // Deutsche Telekom fixed line
    ['2003::1', 'DE'], // Deutsche Telekom IPv6
    ['2001:4860:4860::8888', 'US'], // Google Public DNS over IPv6
  ])('places %s in %s', (ip, country) => {
    expect(geo.lookup(ip)?.country).toBe(country);
  });

  it('looks up IPv4-mapped IPv6 as the IPv4 address', () => {
    expect(geo.lookup('::ffff:8.8.8.8')).toEqual(geo.lookup('8.8.8.8'));
  });

  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '192.168.0.10',
    '172.16.5.4',
    '100.64.0.1', // CGNAT
    '169.254.169.254', // link-local (cloud metadata)
    '192.0.2.1', // documentation
    '240.0.0.1', // reserved
    '::1',
    'fe80::1%eth0',
    'fd00::1',
    '::ffff:10.0.0.1',
    '2001:db8::1',
    '0.0.0.0',
  ])('answers undefined for the non-public address %s', (ip) => {
    expect(geo.lookup(ip)).toBeUndefined();
  });

  it.each(['', 'not an ip', '1.2.3', '256.1.1.1', '010.0.0.1', '127.1', '1::2::3'])(
    'answers undefined for the malformed address %j',
    (ip) => {
      expect(geo.lookup(ip)).toBeUndefined();
    },
  );

  it('gives a city-level record the default city accuracy', () => {
    const point = geo.lookup('91.0.0.1');
    expect(point?.city).toBeTruthy();
    expect(point?.accuracyKm).toBe(50);
  });

  it('gives a country-level point in a large country a radius covering the country', () => {
    // 8.8.8.8 is placed at the US centroid in Kansas; the coasts are 2,000+ km away.
    const point = geo.lookup('8.8.8.8');
    expect(point?.city).toBeUndefined();
    expect(point?.accuracyKm).toBeGreaterThanOrEqual(2300);
  });

  it('gives a country-level point in a small country the default country accuracy', () => {
    const point = geo.lookup('80.187.0.1');
    expect(point?.city).toBeUndefined();
    expect(point?.accuracyKm).toBe(500);
  });

  it('refuses to open a missing file, naming it', async () => {
    await expect(Geolocation.open({ files: ['/nonexistent/city.mmdb'] })).rejects.toThrow(
      /nonexistent\/city\.mmdb/,
    );
    await expect(Geolocation.open({ files: ['/nonexistent/city.mmdb'] })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('Geolocation record shapes', () => {
  it('reads MaxMind GeoIP2/GeoLite2 City records (nested, with accuracy radius)', () => {
    const reader = fakeReader({
      '81.2.69.160': {
        city: { geoname_id: 2643743, names: { de: 'London', en: 'London' } },
        country: { iso_code: 'GB', names: { en: 'United Kingdom' } },
        registered_country: { iso_code: 'US' },
        subdivisions: [{ iso_code: 'ENG' }],
        location: { latitude: 51.5142, longitude: -0.0931, accuracy_radius: 10 },
      },
    });
    expect(new Geolocation([reader]).lookup('81.2.69.160')).toEqual({
      country: 'GB',
      city: 'London',
      lat: 51.5142,
      lon: -0.0931,
      accuracyKm: 10,
    });
  });

  it('reads DB-IP City records (nested, no accuracy radius) with the city default', () => {
    const reader = fakeReader({
      '1.2.3.4': {
        city: { names: { en: 'Lyon' } },
        country: { iso_code: 'FR' },
        location: { latitude: 45.75, longitude: 4.85 },
      },
    });
    expect(new Geolocation([reader], { cityAccuracyKm: 25 }).lookup('1.2.3.4')).toEqual({
      country: 'FR',
      city: 'Lyon',
      lat: 45.75,
      lon: 4.85,
      accuracyKm: 25,
    });
  });

  it('reads ip-location-db flat records, treating empty strings as unknown', () => {
    const reader = fakeReader({
      '1.2.3.4': { country_code: 'US', state1: 'Texas', city: '', latitude: 32.78, longitude: -96.8 },
    });
    const point = new Geolocation([reader]).lookup('1.2.3.4');
    expect(point).toEqual({ country: 'US', lat: 32.78, lon: -96.8, accuracyKm: 300 });
  });

  it('widens a nested country-level record to the country extent even when its radius is smaller', () => {
    const reader = fakeReader({
      '1.2.3.4': {
        country: { iso_code: 'RU' },
        location: { latitude: 55.7386, longitude: 37.6068, accuracy_radius: 1000 },
      },
    });
    // Moscow to Kamchatka is about 6,800 km.
    expect(new Geolocation([reader]).lookup('1.2.3.4')?.accuracyKm).toBeGreaterThan(6000);
  });

  it('treats records without usable coordinates as unknown and tries the next file', () => {
    const first = fakeReader({ '1.2.3.4': { country: { iso_code: 'FR' } } });
    const second = fakeReader({
      '1.2.3.4': { country_code: 'FR', city: 'Paris', latitude: 48.85, longitude: 2.35 },
    });
    expect(new Geolocation([first, second]).lookup('1.2.3.4')?.city).toBe('Paris');
    const nullIsland = fakeReader({ '1.2.3.4': { country_code: 'FR', latitude: 0, longitude: 0 } });
    expect(new Geolocation([nullIsland]).lookup('1.2.3.4')).toBeUndefined();
    const nonsense = fakeReader({ '1.2.3.4': { latitude: 'x', longitude: 400 } });
    expect(new Geolocation([nonsense]).lookup('1.2.3.4')).toBeUndefined();
  });

  it('never consults the database for private, loopback or reserved addresses', () => {
    const reader = fakeReader({});
    const lookup = new Geolocation([reader]);
    for (const ip of ['10.0.0.1', '127.0.0.1', '::1', '192.0.2.1', '::ffff:192.168.1.1', 'garbage']) {
      expect(lookup.lookup(ip)).toBeUndefined();
    }
    expect(reader.get).not.toHaveBeenCalled();
  });

  it('unwraps IPv4-mapped addresses before asking the database', () => {
    const reader = fakeReader({ '8.8.8.8': { country_code: 'US', latitude: 37.75, longitude: -97.82 } });
    expect(new Geolocation([reader]).lookup('::ffff:8.8.8.8')?.country).toBe('US');
    expect(reader.get).toHaveBeenCalledWith('8.8.8.8');
  });

  it('does not ask an IPv4-only file about IPv6 addresses', () => {
    const v4only = fakeReader({}, 4);
    expect(new Geolocation([v4only]).lookup('2003::1')).toBeUndefined();
    expect(v4only.get).not.toHaveBeenCalled();
  });

  it('refuses non-positive accuracy defaults', () => {
    expect(() => new Geolocation([], { cityAccuracyKm: 0 })).toThrow(ConfigError);
  });
});

/** A stub database: fixed points per address. */
function stubGeo(points: Record<string, GeoPoint>): GeoLookup {
  return { lookup: (ip) => points[ip] };
}

const paris: GeoPoint = { country: 'FR', city: 'Paris', lat: 48.8566, lon: 2.3522, accuracyKm: 50 };
const berlin: GeoPoint = { country: 'DE', city: 'Berlin', lat: 52.52, lon: 13.405, accuracyKm: 50 };
const at = Date.UTC(2026, 5, 1, 12);
const attempt = (ip?: string): RiskAttempt => ({
  tenantId: 't1',
  personKey: 'p1',
  action: 'sign_in',
  at,
  ...(ip ? { ip } : {}),
});
const success = (ip: string, hoursAgo: number, extra: Partial<PastAttempt> = {}): PastAttempt => ({
  at: at - hoursAgo * 3_600_000,
  outcome: 'success',
  ip,
  ...extra,
});

describe('geolocation signal', () => {
  const lookup = stubGeo({ '203.0.114.1': paris, '198.51.99.1': berlin });

  it('flags a country none of the past successful sign-ins came from', () => {
    const history = [success('203.0.114.1', 48), success('203.0.114.1', 24), success('203.0.114.1', 2)];
    const result = geolocationSignal(attempt('198.51.99.1'), { history, geo: lookup });
    expect(result).toEqual([
      {
        signal: 'geolocation',
        reason: 'geo.new_country',
        points: GEOLOCATION_POINTS.newCountry,
        evidence: { country: 'DE', city: 'Berlin', knownCountries: ['FR'], pastSignIns: 3 },
      },
    ]);
  });

  it('says nothing when the country is known', () => {
    const history = [success('198.51.99.1', 24)];
    expect(geolocationSignal(attempt('198.51.99.1'), { history, geo: lookup })).toEqual([]);
  });

  it('gives fewer points for a new country when the history is thin', () => {
    const result = geolocationSignal(attempt('198.51.99.1'), {
      history: [success('203.0.114.1', 5)],
      geo: lookup,
    });
    expect(result).toMatchObject([
      { reason: 'geo.new_country', points: GEOLOCATION_POINTS.newCountryThinHistory },
    ]);
  });

  it('does not learn a country from failed attempts', () => {
    const history: PastAttempt[] = [
      success('203.0.114.1', 48),
      success('203.0.114.1', 30),
      success('203.0.114.1', 20),
      { at: at - 3_600_000, outcome: 'failure', ip: '198.51.99.1' },
    ];
    const result = geolocationSignal(attempt('198.51.99.1'), { history, geo: lookup });
    expect(result).toMatchObject([{ reason: 'geo.new_country', evidence: { knownCountries: ['FR'] } }]);
  });

  it('prefers the country recorded in history over a fresh lookup', () => {
    const history = [success('203.0.114.1', 24, { geo: { ...berlin } })];
    expect(geolocationSignal(attempt('198.51.99.1'), { history, geo: lookup })).toEqual([]);
  });

  it('ignores history from after the attempt', () => {
    const history = [success('198.51.99.1', -1), success('203.0.114.1', 10)];
    const result = geolocationSignal(attempt('198.51.99.1'), { history, geo: lookup });
    expect(result).toMatchObject([{ reason: 'geo.new_country' }]);
  });

  it('gives a few points for a public address the database cannot place', () => {
    const result = geolocationSignal(attempt('203.0.114.99'), { history: [], geo: lookup });
    expect(result).toEqual([
      {
        signal: 'geolocation',
        reason: 'geo.unlocatable',
        points: GEOLOCATION_POINTS.unlocatable,
        evidence: { ip: '203.0.114.99' },
      },
    ]);
  });

  it.each([
    [undefined, 'no_ip'],
    ['not-an-ip', 'malformed_ip'],
    ['10.0.0.7', 'private_address'],
    ['::1', 'private_address'],
    ['::ffff:192.168.1.1', 'private_address'],
  ])('skips %s with %s', (ip, skipped) => {
    expect(geolocationSignal(attempt(ip), { history: [], geo: lookup })).toEqual({
      signal: 'geolocation',
      skipped,
    });
  });

  it('skips with no_history on a first sign-in', () => {
    const history: PastAttempt[] = [{ at: at - 1000, outcome: 'success', ip: '10.0.0.1' }];
    expect(geolocationSignal(attempt('198.51.99.1'), { history, geo: lookup })).toEqual({
      signal: 'geolocation',
      skipped: 'no_history',
    });
  });

  it('works against the packaged database end to end', () => {
    const history = [success('91.0.0.1', 72), success('80.187.0.1', 48), success('2003::1', 24)];
    expect(geolocationSignal(attempt('91.0.0.2'), { history, geo })).toEqual([]);
    expect(geolocationSignal(attempt('8.8.8.8'), { history, geo })).toMatchObject([
      { reason: 'geo.new_country', evidence: { country: 'US', knownCountries: ['DE'] } },
    ]);
  });
});
