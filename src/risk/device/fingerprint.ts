/**
 * The device the sign-in page describes (`attempt.fingerprint`), how it is validated, labelled and
 * matched against the person's known devices.
 *
 * The page (`web/assets/risk-capture.js`) sends `{ thumbmark, components, hints? }`:
 *   - `thumbmark`: ThumbmarkJS's hash of all the components below (32 lowercase hex characters);
 *   - `components`: component name → the first 16 hex characters of SHA-256 over the component's
 *     stable JSON, computed in the browser (the raw values never leave it). ThumbmarkJS's `audio`,
 *     `hardware`, `locales`, `screen` and `system` are split into their fields (`system.platform`,
 *     `hardware.videocard`, …) so that one changed field costs one component; `canvas`, `fonts`,
 *     `math`, `plugins`, `speech`, `webgl` and `webrtc` are one component each. About 30 in all.
 *   - `hints`: the low-entropy UA client hints (`navigator.userAgentData`), when the browser has them.
 *
 * Volatile components are excluded in the page (ThumbmarkJS's `exclude` option), so they count neither
 * in the thumbmark nor in the components, and ignored here if a page sends them anyway
 * (`VOLATILE_COMPONENTS`): the time zone changes with travel, the user agent and browser version with
 * every browser update, the screen resolution with display settings, and permissions whenever the
 * person answers a prompt.
 *
 * Everything here is client-reported and forgeable: a match says "this looks like a device we have
 * seen", never "this is that device". That is why a match only ever earns 0 risk points.
 */
import Bowser from 'bowser';
import { z } from 'zod';
import type { KnownDevice } from '../types.ts';

/** Size limits of a device payload. */
export const DEVICE_LIMITS = {
  /** Most components one payload may carry (the page sends about 30). */
  maxComponents: 64,
  /** Longest component name (`hardware.jsHeapSizeLimit` is 24). */
  maxNameLength: 40,
  /** Longest hash (thumbmark or component), in characters. */
  maxHashLength: 128,
} as const;

/** Components that change on an unchanged device; never counted when matching. */
export const VOLATILE_COMPONENTS: readonly string[] = [
  'locales.timezone',
  'system.useragent',
  'system.browser.version',
  'screen.resolution',
  'permissions',
];

/** Fuzzy matches need a share of equal components strictly above this. */
export const FUZZY_MATCH_THRESHOLD = 0.8;
/** Fewer compared components than this (after dropping volatile ones) never match fuzzily. */
export const MIN_FUZZY_COMPONENTS = 8;
/** User agents are cut to this length before parsing: longer ones are not browsers. */
const MAX_USER_AGENT_LENGTH = 512;

const hash = z
  .string()
  .min(1)
  .max(DEVICE_LIMITS.maxHashLength)
  .regex(/^[A-Za-z0-9_-]+$/, 'a hex or base64url hash');
// A leading letter keeps `__proto__` out, and with it any prototype games on the parsed record.
const componentName = z
  .string()
  .max(DEVICE_LIMITS.maxNameLength)
  .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'a component name');

/** The device payload's schema. */
export const devicePayloadSchema = z.strictObject({
  thumbmark: z
    .string()
    .min(16)
    .max(DEVICE_LIMITS.maxHashLength)
    .regex(/^[0-9a-f]+$/, 'lowercase hex'),
  components: z.record(componentName, hash),
  hints: z
    .strictObject({
      platform: z.string().max(32).optional(),
      mobile: z.boolean().optional(),
      brands: z
        .array(z.strictObject({ brand: z.string().max(64), version: z.string().max(32) }))
        .max(10)
        .optional(),
    })
    .optional(),
});

/** A validated device payload. */
export type DevicePayload = z.infer<typeof devicePayloadSchema>;

/** The outcome of parsing: the device, or a refusal whose `reason` is safe to show. */
export type DeviceParse = { ok: true; device: DevicePayload } | { ok: false; reason: string };

/** Validates a raw device payload. Never throws. */
export function parseDevicePayload(raw: unknown): DeviceParse {
  // Counted before validation so an oversized payload costs nothing to refuse.
  const components =
    typeof raw === 'object' && raw !== null ? (raw as { components?: unknown }).components : {};
  if (typeof components === 'object' && components !== null && !Array.isArray(components)) {
    const count = Object.keys(components).length;
    if (count > DEVICE_LIMITS.maxComponents) {
      return {
        ok: false,
        reason: `too_many_components: ${count} (at most ${DEVICE_LIMITS.maxComponents})`,
      };
    }
  }
  const parsed = devicePayloadSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'payload';
    return { ok: false, reason: `invalid_payload: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, device: parsed.data };
}

/**
 * A person-readable label of a user agent, browser major version and OS family:
 * `Chrome 131 / macOS`, `Firefox 133 / Windows`. Undefined when neither can be told.
 */
export function deviceLabel(userAgent: string | undefined): string | undefined {
  if (typeof userAgent !== 'string' || userAgent.trim() === '') return undefined;
  try {
    const parser = Bowser.getParser(userAgent.slice(0, MAX_USER_AGENT_LENGTH));
    const name = parser.getBrowserName();
    const major = /^\d+/.exec(parser.getBrowserVersion() ?? '')?.[0];
    const os = parser.getOSName();
    if (!name && !os) return undefined;
    const browser = name ? (major ? `${name} ${major}` : name) : 'Unknown browser';
    return os ? `${browser} / ${os}` : browser;
  } catch {
    return undefined;
  }
}

/** The rendering engine and OS family behind a label, as far as they can be told. */
export interface DeviceFamily {
  /** `blink`, `gecko`, `webkit`, or the lowercased browser name when unknown. */
  engine?: string;
  /** Lowercased OS name (`macos`, `windows`, `ios`, …). */
  os?: string;
}

/** The engine and OS family of a label made by `deviceLabel`. */
export function deviceFamily(label: string | undefined): DeviceFamily {
  if (!label) return {};
  const slash = label.lastIndexOf(' / ');
  const browser = (slash === -1 ? label : label.slice(0, slash)).replace(/ \d+$/, '').trim();
  const os =
    slash === -1
      ? undefined
      : label
          .slice(slash + 3)
          .trim()
          .toLowerCase() || undefined;
  const family: DeviceFamily = {};
  if (os) family.os = os === 'ipados' ? 'ios' : os;
  // Every browser on iOS is WebKit underneath, whatever its name says.
  if (family.os === 'ios' || /safari/i.test(browser)) family.engine = 'webkit';
  else if (/firefox|waterfox|librewolf|seamonkey|pale moon/i.test(browser)) family.engine = 'gecko';
  else if (/chrom|edge|opera|brave|vivaldi|samsung|yandex|whale|silk/i.test(browser)) family.engine = 'blink';
  else if (browser && browser !== 'Unknown browser') family.engine = browser.toLowerCase();
  return family;
}

/**
 * What differs "wildly" between two labels: the rendering engine or the OS family (both known on both
 * sides). A browser update or Chrome → Edge on one machine is not a difference; Chrome → Firefox is.
 */
export function familyDifferences(a: string | undefined, b: string | undefined): Array<'engine' | 'os'> {
  const x = deviceFamily(a);
  const y = deviceFamily(b);
  const differences: Array<'engine' | 'os'> = [];
  if (x.engine && y.engine && x.engine !== y.engine) differences.push('engine');
  if (x.os && y.os && x.os !== y.os) differences.push('os');
  return differences;
}

function isVolatile(name: string): boolean {
  return VOLATILE_COMPONENTS.some((v) => name === v || name.startsWith(`${v}.`));
}

/**
 * The share of components with equal hashes, over the union of both sides' non-volatile component
 * names (a component only one side has counts as different, so leaving components out never raises
 * the share), and how many names were compared.
 */
export function componentSimilarity(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): { similarity: number; compared: number } {
  const names = new Set([...Object.keys(a), ...Object.keys(b)].filter((name) => !isVolatile(name)));
  let equal = 0;
  for (const name of names) {
    if (Object.hasOwn(a, name) && Object.hasOwn(b, name) && a[name] === b[name]) equal++;
  }
  return { similarity: names.size === 0 ? 0 : equal / names.size, compared: names.size };
}

/** A known device the payload matched. */
export interface DeviceMatch {
  device: KnownDevice;
  /** 1 for an exact thumbmark match, else the share of equal components. */
  similarity: number;
  /** Whether the thumbmark itself matched. */
  exact: boolean;
}

/**
 * The known device (trusted or revoked) the payload matches: an equal thumbmark first, else the most
 * similar device whose share of equal components is above `FUZZY_MATCH_THRESHOLD`. Undefined when none.
 * On a tie a revoked device wins: a fingerprint cannot tell two identical machines apart, and a lost
 * device would look exactly like the one that was revoked.
 */
export function matchDevice(device: DevicePayload, known: readonly KnownDevice[]): DeviceMatch | undefined {
  let best: DeviceMatch | undefined;
  const better = (candidate: DeviceMatch) =>
    !best ||
    Number(candidate.exact) > Number(best.exact) ||
    (candidate.exact === best.exact &&
      (candidate.similarity > best.similarity ||
        (candidate.similarity === best.similarity &&
          candidate.device.state === 'revoked' &&
          best.device.state !== 'revoked')));
  for (const candidate of known) {
    if (candidate.thumbmark === device.thumbmark) {
      const match = { device: candidate, similarity: 1, exact: true };
      if (better(match)) best = match;
      continue;
    }
    if (typeof candidate.components !== 'object' || candidate.components === null) continue;
    const { similarity, compared } = componentSimilarity(device.components, candidate.components);
    if (compared < MIN_FUZZY_COMPONENTS || !(similarity > FUZZY_MATCH_THRESHOLD)) continue;
    const match = { device: candidate, similarity, exact: false };
    if (better(match)) best = match;
  }
  return best;
}
