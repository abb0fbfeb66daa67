import { describe, expect, it } from 'vitest';
import {
  componentSimilarity,
  DEVICE_LIMITS,
  type DevicePayload,
  deviceFamily,
  deviceLabel,
  FUZZY_MATCH_THRESHOLD,
  familyDifferences,
  matchDevice,
  parseDevicePayload,
} from '../../src/risk/device/fingerprint.ts';
import { assessDevice, DEVICE_POINTS, deviceSignal } from '../../src/risk/signals/device.ts';
import type {
  AssessmentContext,
  Contribution,
  KnownDevice,
  PersonHistory,
  Skip,
  VelocityCounters,
} from '../../src/risk/types.ts';

const UA = {
  chromeMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeMacNewer:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86',
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  firefoxMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0',
  chromeIos:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
  safariIos:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
};

/** Twenty components, as the page sends them (16 hex characters each). */
const NAMES = [
  'audio.sampleHash',
  'audio.maxChannels',
  'audio.channelCountMode',
  'canvas',
  'fonts',
  'hardware.videocard',
  'hardware.architecture',
  'hardware.deviceMemory',
  'hardware.jsHeapSizeLimit',
  'locales.languages',
  'math',
  'plugins',
  'screen.is_touchscreen',
  'screen.maxTouchPoints',
  'screen.colorDepth',
  'screen.mediaMatches',
  'system.platform',
  'system.hardwareConcurrency',
  'system.browser',
  'webgl',
];
const hex16 = (seed: string) => Buffer.from(seed.padEnd(8, '*').slice(0, 8)).toString('hex');
const baseComponents = Object.fromEntries(NAMES.map((n, i) => [n, hex16(`c${i}`)]));

/** The base components with the first `n` changed. */
function drifted(n: number, extra: Record<string, string> = {}): Record<string, string> {
  const out = { ...baseComponents };
  for (const name of NAMES.slice(0, n)) out[name] = hex16(`x${name}`);
  return { ...out, ...extra };
}

const THUMB_A = 'a'.repeat(32);
const THUMB_B = 'b'.repeat(32);
const payload = (over: Partial<DevicePayload> = {}): DevicePayload => ({
  thumbmark: THUMB_A,
  components: baseComponents,
  ...over,
});

const known = (over: Partial<KnownDevice> = {}): KnownDevice => ({
  id: 'dev-1',
  thumbmark: THUMB_A,
  components: baseComponents,
  label: 'Chrome 131 / macOS',
  firstSeenAt: 1,
  lastSeenAt: 2,
  state: 'trusted',
  attested: false,
  ...over,
});

const tooMany = Object.fromEntries(
  Array.from({ length: DEVICE_LIMITS.maxComponents + 1 }, (_, i) => [`c${i}`, 'ab']),
);

const isSkip = (r: Contribution[] | Skip): r is Skip => 'skipped' in r;
const reasons = (r: Contribution[] | Skip) => (isSkip(r) ? [`skip:${r.skipped}`] : r.map((c) => c.reason));

describe('device payload validation refuses anything malformed or oversized', () => {
  it('accepts the payload the page sends, with and without client hints', () => {
    expect(parseDevicePayload(payload())).toEqual({ ok: true, device: payload() });
    const hints = {
      platform: 'macOS',
      mobile: false,
      brands: [
        { brand: 'Chromium', version: '131' },
        { brand: 'Not_A Brand', version: '24' },
      ],
    };
    expect(parseDevicePayload({ ...payload(), hints })).toMatchObject({ ok: true, device: { hints } });
    expect(parseDevicePayload({ thumbmark: THUMB_A, components: {} }).ok).toBe(true);
  });

  it('accepts base64url component hashes', () => {
    expect(parseDevicePayload(payload({ components: { canvas: 'ab-_CD09' } })).ok).toBe(true);
  });

  it.each([
    ['not an object', 'abc', /invalid_payload/],
    ['null', null, /invalid_payload/],
    ['an array', [THUMB_A], /invalid_payload/],
    ['no thumbmark', { components: {} }, /thumbmark/],
    ['a numeric thumbmark', { thumbmark: 123, components: {} }, /thumbmark/],
    ['a non-hex thumbmark', { thumbmark: 'z'.repeat(32), components: {} }, /thumbmark/],
    ['an uppercase thumbmark', { thumbmark: 'A'.repeat(32), components: {} }, /thumbmark/],
    ['a short thumbmark', { thumbmark: 'abc', components: {} }, /thumbmark/],
    ['an oversized thumbmark', { thumbmark: 'a'.repeat(129), components: {} }, /thumbmark/],
    ['no components', { thumbmark: THUMB_A }, /components/],
    ['components as an array', { thumbmark: THUMB_A, components: ['ab'] }, /components/],
    ['65 components', { thumbmark: THUMB_A, components: tooMany }, /^too_many_components: 65/],
    ['a 41-character name', { thumbmark: THUMB_A, components: { ['n'.repeat(41)]: 'ab' } }, /components/],
    ['a name with spaces', { thumbmark: THUMB_A, components: { 'a b': 'ab' } }, /components/],
    ['a numeric hash', { thumbmark: THUMB_A, components: { canvas: 12 } }, /components\.canvas/],
    ['an oversized hash', { thumbmark: THUMB_A, components: { canvas: 'a'.repeat(129) } }, /components/],
    ['a hash with +/', { thumbmark: THUMB_A, components: { canvas: 'ab+/' } }, /components/],
    ['an empty hash', { thumbmark: THUMB_A, components: { canvas: '' } }, /components/],
    ['an extra member', { ...payload(), raw: { canvas: 'data:…' } }, /invalid_payload/],
    ['hints.mobile as a string', { ...payload(), hints: { mobile: 'yes' } }, /hints\.mobile/],
    ['an unknown hint', { ...payload(), hints: { model: 'Pixel' } }, /hints/],
    [
      'eleven brands',
      { ...payload(), hints: { brands: Array.from({ length: 11 }, () => ({ brand: 'b', version: '1' })) } },
      /hints\.brands/,
    ],
    ['an oversized platform', { ...payload(), hints: { platform: 'p'.repeat(33) } }, /hints\.platform/],
  ])('refuses %s', (_name, raw, reason) => {
    const parsed = parseDevicePayload(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  it('never lets a __proto__ component name reach the prototype', () => {
    const raw = JSON.parse(`{"thumbmark":"${THUMB_A}","components":{"__proto__":"ab","canvas":"cd"}}`);
    const parsed = parseDevicePayload(raw);
    if (parsed.ok) {
      expect(Object.keys(parsed.device.components)).toEqual(['canvas']);
      expect(Object.getPrototypeOf(parsed.device.components)).toBe(Object.prototype);
    }
    expect(({} as Record<string, unknown>).ab).toBeUndefined();
  });

  it('refuses an oversized payload before validating its components', () => {
    const huge = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`c${i}`, 'not a hash!']));
    const parsed = parseDevicePayload({ thumbmark: THUMB_A, components: huge });
    expect(parsed).toEqual({ ok: false, reason: 'too_many_components: 100000 (at most 64)' });
  });
});

describe('device labels and families come from the user agent', () => {
  it.each([
    [UA.chromeMac, 'Chrome 131 / macOS'],
    [UA.firefoxWindows, 'Firefox 133 / Windows'],
    [UA.edgeWindows, 'Microsoft Edge 131 / Windows'],
    [UA.chromeIos, 'Chrome 131 / iOS'],
    [UA.safariMac, 'Safari 17 / macOS'],
  ])('labels %s as %s', (ua, label) => {
    expect(deviceLabel(ua)).toBe(label);
  });

  it('has no label for a missing, empty or unrecognisable user agent', () => {
    expect(deviceLabel(undefined)).toBeUndefined();
    expect(deviceLabel('')).toBeUndefined();
    expect(deviceLabel('curl/8.5.0')).toBeUndefined();
  });

  it('parses an absurdly long user agent without trouble', () => {
    expect(deviceLabel(`${UA.chromeMac} ${'x'.repeat(100_000)}`)).toBe('Chrome 131 / macOS');
  });

  it('tells engines and OS families apart, and treats every iOS browser as WebKit', () => {
    expect(deviceFamily('Chrome 131 / macOS')).toEqual({ engine: 'blink', os: 'macos' });
    expect(deviceFamily('Firefox 133 / Windows')).toEqual({ engine: 'gecko', os: 'windows' });
    expect(deviceFamily('Chrome 131 / iOS')).toEqual({ engine: 'webkit', os: 'ios' });
    expect(deviceFamily(undefined)).toEqual({});
    expect(familyDifferences('Chrome 131 / Windows', 'Microsoft Edge 131 / Windows')).toEqual([]);
    expect(familyDifferences('Chrome 131 / macOS', 'Chrome 133 / macOS')).toEqual([]);
    expect(familyDifferences('Chrome 131 / iOS', 'Safari 17 / iOS')).toEqual([]);
    expect(familyDifferences('Chrome 131 / macOS', 'Firefox 133 / macOS')).toEqual(['engine']);
    expect(familyDifferences('Chrome 131 / macOS', 'Chrome 131 / Windows')).toEqual(['os']);
    expect(familyDifferences('Chrome 131 / macOS', undefined)).toEqual([]);
  });
});

describe('device matching: exact thumbmark, else a share of equal components above 0.8', () => {
  it('computes the share over the union of names, ignoring volatile components', () => {
    expect(componentSimilarity(baseComponents, baseComponents)).toEqual({ similarity: 1, compared: 20 });
    expect(componentSimilarity(drifted(2), baseComponents).similarity).toBe(0.9);
    // A side that leaves components out cannot raise its share.
    const half = Object.fromEntries(NAMES.slice(0, 10).map((n) => [n, baseComponents[n]!]));
    expect(componentSimilarity(half, baseComponents)).toEqual({ similarity: 0.5, compared: 20 });
    const travelled = { ...baseComponents, 'locales.timezone': hex16('Tokyo') };
    const home = { ...baseComponents, 'locales.timezone': hex16('Paris') };
    expect(componentSimilarity(travelled, home)).toEqual({ similarity: 1, compared: 20 });
  });

  it('matches an equal thumbmark exactly, whatever the components', () => {
    const match = matchDevice(payload({ components: {} }), [known()]);
    expect(match).toMatchObject({ device: { id: 'dev-1' }, similarity: 1, exact: true });
  });

  it('matches a drifted fingerprint above the threshold (2 of 20 changed: 0.9)', () => {
    const match = matchDevice(payload({ thumbmark: THUMB_B, components: drifted(2) }), [known()]);
    expect(match).toMatchObject({ device: { id: 'dev-1' }, similarity: 0.9, exact: false });
  });

  it('does not match at or below the threshold (4 of 20 changed: exactly 0.8; 5: 0.75)', () => {
    expect(FUZZY_MATCH_THRESHOLD).toBe(0.8);
    expect(matchDevice(payload({ thumbmark: THUMB_B, components: drifted(4) }), [known()])).toBeUndefined();
    expect(matchDevice(payload({ thumbmark: THUMB_B, components: drifted(5) }), [known()])).toBeUndefined();
  });

  it('does not match fuzzily on too few components', () => {
    const few = Object.fromEntries(NAMES.slice(0, 5).map((n) => [n, baseComponents[n]!]));
    const device = known({ components: few });
    expect(matchDevice(payload({ thumbmark: THUMB_B, components: few }), [device])).toBeUndefined();
  });

  it('picks the most similar device, and a revoked one on a tie', () => {
    const near = known({ id: 'near', thumbmark: 'c'.repeat(32) });
    const far = known({ id: 'far', thumbmark: 'd'.repeat(32), components: drifted(3) });
    const device = payload({ thumbmark: THUMB_B, components: drifted(1) });
    expect(matchDevice(device, [far, near])?.device.id).toBe('near');
    const twin = known({ id: 'lost', thumbmark: THUMB_A, state: 'revoked' });
    expect(matchDevice(payload(), [known(), twin])?.device.id).toBe('lost');
    expect(matchDevice(payload(), [twin, known()])?.device.id).toBe('lost');
  });

  it('ignores known devices with unreadable components instead of throwing', () => {
    const broken = known({
      thumbmark: 'e'.repeat(32),
      components: null as unknown as Record<string, string>,
    });
    expect(matchDevice(payload({ thumbmark: THUMB_B }), [broken])).toBeUndefined();
  });
});

describe('device signal: reasons', () => {
  const attempt = (fingerprint: unknown, userAgent: string | undefined = UA.chromeMacNewer) => ({
    fingerprint,
    ...(userAgent ? { userAgent } : {}),
  });

  it('device.known (0 points) for a known device, with label and similarity', () => {
    const result = assessDevice(attempt(payload()), [known()]);
    expect(result).toEqual([
      {
        signal: 'device',
        reason: 'device.known',
        points: DEVICE_POINTS.known,
        evidence: {
          deviceId: 'dev-1',
          label: 'Chrome 133 / macOS',
          knownLabel: 'Chrome 131 / macOS',
          similarity: 1,
          match: 'thumbmark',
        },
      },
    ]);
    expect(DEVICE_POINTS.known).toBe(0);
  });

  it('device.known for a fuzzy match, with its similarity', () => {
    const result = assessDevice(attempt(payload({ thumbmark: THUMB_B, components: drifted(1) })), [known()]);
    expect(result).toMatchObject([{ reason: 'device.known', points: 0, evidence: { similarity: 0.95 } }]);
  });

  it('device.attested (0 points) alongside device.known for a device bound to an attested passkey', () => {
    const result = assessDevice(attempt(payload()), [known({ attested: true })]);
    expect(reasons(result)).toEqual(['device.known', 'device.attested']);
    expect(result).toMatchObject([{}, { points: 0, evidence: { deviceId: 'dev-1' } }]);
  });

  it('device.new with points when nothing matches a person who has devices', () => {
    const result = assessDevice(attempt(payload({ thumbmark: THUMB_B, components: drifted(10) })), [
      known(),
      known({ id: 'dev-2', thumbmark: 'c'.repeat(32) }),
    ]);
    expect(result).toEqual([
      {
        signal: 'device',
        reason: 'device.new',
        points: DEVICE_POINTS.new,
        evidence: { label: 'Chrome 133 / macOS', knownDevices: 2 },
      },
    ]);
    expect(DEVICE_POINTS.new).toBeGreaterThan(0);
  });

  it('device.new with lower points on a first sign-in, saying there was nothing to compare with', () => {
    const result = assessDevice(attempt(payload()), []);
    expect(result).toMatchObject([
      {
        reason: 'device.new',
        points: DEVICE_POINTS.newFirstDevice,
        evidence: { firstDevice: true, note: expect.stringMatching(/no known devices/) },
      },
    ]);
    expect(DEVICE_POINTS.newFirstDevice).toBeLessThan(DEVICE_POINTS.new);
  });

  it('device.revoked (100) for a revoked device, exactly or fuzzily matched', () => {
    const revoked = known({ state: 'revoked' });
    expect(assessDevice(attempt(payload()), [revoked])).toMatchObject([
      { reason: 'device.revoked', points: 100 },
    ]);
    const fuzzy = payload({ thumbmark: THUMB_B, components: drifted(1) });
    expect(assessDevice(attempt(fuzzy), [revoked])).toMatchObject([
      { reason: 'device.revoked', points: 100 },
    ]);
  });

  it('device.revoked even when the revoked device was attested (no device.attested)', () => {
    expect(reasons(assessDevice(attempt(payload()), [known({ state: 'revoked', attested: true })]))).toEqual([
      'device.revoked',
    ]);
  });

  it('device.ua_mismatch when a known thumbmark arrives from another browser engine', () => {
    const result = assessDevice(attempt(payload(), UA.firefoxMac), [known({ attested: true })]);
    expect(result).toEqual([
      {
        signal: 'device',
        reason: 'device.ua_mismatch',
        points: DEVICE_POINTS.uaMismatch,
        evidence: {
          deviceId: 'dev-1',
          label: 'Firefox 133 / macOS',
          knownLabel: 'Chrome 131 / macOS',
          similarity: 1,
          match: 'thumbmark',
          differs: ['engine'],
        },
      },
    ]);
  });

  it('device.ua_mismatch when a known thumbmark arrives from another OS', () => {
    const result = assessDevice(attempt(payload(), UA.chromeWindows), [known()]);
    expect(result).toMatchObject([{ reason: 'device.ua_mismatch', evidence: { differs: ['os'] } }]);
  });

  it('no mismatch for a browser update, Chrome → Edge on one machine, or an unreadable user agent', () => {
    expect(reasons(assessDevice(attempt(payload(), UA.chromeMacNewer), [known()]))).toEqual(['device.known']);
    const windows = known({ label: 'Chrome 131 / Windows' });
    expect(reasons(assessDevice(attempt(payload(), UA.edgeWindows), [windows]))).toEqual(['device.known']);
    expect(reasons(assessDevice(attempt(payload(), 'curl/8.5.0'), [known()]))).toEqual(['device.known']);
    expect(reasons(assessDevice(attempt(payload(), undefined), [known()]))).toEqual(['device.known']);
    expect(
      reasons(assessDevice(attempt(payload(), UA.safariIos), [known({ label: 'Chrome 131 / iOS' })])),
    ).toEqual(['device.known']);
  });
});

describe('device signal: skips never lower risk', () => {
  it('skips no_fingerprint when the page sent none', () => {
    expect(assessDevice({}, [known()])).toEqual({ signal: 'device', skipped: 'no_fingerprint' });
    expect(assessDevice({ fingerprint: null }, [known()])).toEqual({
      signal: 'device',
      skipped: 'no_fingerprint',
    });
  });

  it.each([
    ['a string', 'abc'],
    ['a bad thumbmark', { thumbmark: 'nope', components: {} }],
    ['too many components', { thumbmark: THUMB_A, components: tooMany }],
  ])('skips malformed for %s', (_name, fingerprint) => {
    const result = assessDevice({ fingerprint }, [known()]);
    expect(isSkip(result) && result.skipped).toMatch(/^malformed: /);
  });

  it('runs as the registered signal on the assessment context', async () => {
    const history: PersonHistory = { attempts: [], devices: [known()], typing: { model: null, samples: 0 } };
    const velocity: VelocityCounters = { count: async () => 0, distinct: async () => 0 };
    const ctx: AssessmentContext = {
      attempt: { tenantId: 't', action: 'sign_in', at: 0, fingerprint: payload(), userAgent: UA.chromeMac },
      history,
      velocity,
    };
    expect(deviceSignal.name).toBe('device');
    expect(reasons(await deviceSignal.evaluate(ctx))).toEqual(['device.known']);
    const noPrint = { ...ctx, attempt: { ...ctx.attempt, fingerprint: undefined } };
    expect(await deviceSignal.evaluate(noPrint)).toEqual({ signal: 'device', skipped: 'no_fingerprint' });
  });
});
