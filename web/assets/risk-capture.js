/**
 * What the sign-in page tells the risk engine about the attempt: a device fingerprint and the rhythm
 * of the username typing. Nothing here may break sign-in: every failure (no WebCrypto, a blocked or
 * slow fingerprint, odd keyboards) just leaves its part out, and the server skips that signal.
 *
 * Device (`src/risk/device/fingerprint.ts` validates it): `{ thumbmark, components, hints? }`. The
 * thumbmark is ThumbmarkJS's hash with its logging off (no sample is sent and no remote script is
 * fetched or evaluated). Components are ThumbmarkJS's, with `audio`, `hardware`, `locales`, `screen`
 * and `system` split into their fields; each value leaves the browser only as the first 16 hex
 * characters of its SHA-256. Excluded, because they change on an unchanged device: the time zone,
 * the user agent and browser version, the screen resolution and the permission states. Hints are the
 * low-entropy UA client hints (no high-entropy request).
 *
 * Typing (`src/risk/keystroke/features.ts` parses it): `{ keys: [{ key, down, up }] }` for the
 * username field only, `performance.now()` times, keydown and keyup paired by `KeyboardEvent.code`.
 * Modifiers, Enter, Tab and Escape are not recorded; an editing key, autorepeat, IME composition or more
 * than 100 keys spoils the typing (a corrected typing cannot match the phrase), and it is sent only
 * when the recorded keys spell what the field holds. Focusing the field or clearing it starts over.
 */

const THUMBMARK_MODULE = '/assets/vendor/thumbmarkjs/thumbmark.esm.js';
/** Longest wait for the fingerprint when the form is submitted (it starts when the page loads). */
const DEVICE_WAIT_MS = 3000;
const MAX_KEYS = 100;
const MAX_COMPONENTS = 64;
const COMPONENT_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,39}$/;
/** Components whose fields change independently: one changed field should cost one component. */
const SPLIT = new Set(['audio', 'hardware', 'locales', 'screen', 'system']);
const VOLATILE = [
  'locales.timezone',
  'system.useragent',
  'system.browser.version',
  'screen.resolution',
  'permissions',
];
const IGNORED_KEYS = new Set([
  'Shift',
  'Control',
  'Alt',
  'AltGraph',
  'Meta',
  'CapsLock',
  'Fn',
  'Enter',
  'Tab',
  'Escape',
]);

async function sha256Prefix(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

function flatten(components) {
  const flat = [];
  for (const [name, value] of Object.entries(components ?? {})) {
    if (SPLIT.has(name) && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [field, inner] of Object.entries(value)) flat.push([`${name}.${field}`, inner]);
    } else {
      flat.push([name, value]);
    }
  }
  return flat.filter(([name]) => COMPONENT_NAME.test(name)).slice(0, MAX_COMPONENTS);
}

function clientHints() {
  const data = navigator.userAgentData;
  if (!data) return undefined;
  const hints = {};
  if (typeof data.platform === 'string') hints.platform = data.platform.slice(0, 32);
  if (typeof data.mobile === 'boolean') hints.mobile = data.mobile;
  if (Array.isArray(data.brands)) {
    hints.brands = data.brands.slice(0, 10).map(({ brand, version }) => ({
      brand: String(brand).slice(0, 64),
      version: String(version).slice(0, 32),
    }));
  }
  return hints;
}

async function computeDevice() {
  const { Thumbmark, stableStringify } = await import(THUMBMARK_MODULE);
  const result = await new Thumbmark({ logging: false, exclude: VOLATILE, timeout: 2000 }).get();
  if (typeof result?.thumbmark !== 'string' || !/^[0-9a-f]{16,128}$/.test(result.thumbmark)) return undefined;
  const components = {};
  // Without WebCrypto (an insecure origin) the thumbmark alone still allows an exact match.
  if (globalThis.crypto?.subtle) {
    const hashed = await Promise.all(
      flatten(result.components).map(async ([name, value]) => [
        name,
        await sha256Prefix(stableStringify(value)),
      ]),
    );
    for (const [name, hash] of hashed) components[name] = hash;
  }
  const device = { thumbmark: result.thumbmark, components };
  const hints = clientHints();
  if (hints) device.hints = hints;
  return device;
}

// Started once, when the page loads, so it is ready by the time the person has used their passkey.
const devicePromise = computeDevice().catch(() => undefined);

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms, undefined))]);
}

/** The username typing being recorded. */
const typing = { keys: [], pending: new Map(), spoiled: false };

function resetTyping() {
  typing.keys = [];
  typing.pending = new Map();
  typing.spoiled = false;
}

function watchUsername(field) {
  field.addEventListener('focus', resetTyping);
  field.addEventListener('input', () => {
    if (field.value === '') resetTyping();
  });
  field.addEventListener('keydown', (event) => {
    if (IGNORED_KEYS.has(event.key)) return;
    const printable = [...event.key].length === 1;
    if (!printable || event.repeat || event.isComposing || event.ctrlKey || event.metaKey) {
      typing.spoiled = true;
      return;
    }
    if (typing.keys.length >= MAX_KEYS) {
      typing.spoiled = true;
      return;
    }
    const entry = { key: event.key, down: performance.now(), up: undefined };
    typing.keys.push(entry);
    typing.pending.set(event.code || `key:${event.key}`, entry);
  });
  field.addEventListener('keyup', (event) => {
    const id = event.code || `key:${event.key}`;
    const entry = typing.pending.get(id);
    if (!entry) return;
    entry.up = performance.now();
    typing.pending.delete(id);
  });
}

function currentTyping() {
  const field = document.getElementById('username');
  if (!field || typing.spoiled || typing.keys.length < 2) return undefined;
  if (typing.keys.some((k) => k.up === undefined)) return undefined;
  if (typing.keys.map((k) => k.key).join('') !== field.value) return undefined;
  return { keys: typing.keys.map(({ key, down, up }) => ({ key, down, up })) };
}

const usernameField = document.getElementById('username');
if (usernameField) watchUsername(usernameField);

/**
 * The attempt's risk signals for the verify request's `risk` member: `{ device?, typing? }`, each left
 * out when it could not be captured. Never rejects; waits at most about 3 s for the fingerprint.
 */
export async function collectRiskSignals() {
  const signals = {};
  try {
    const typed = currentTyping();
    if (typed) signals.typing = typed;
  } catch {
    // Typing is optional evidence: an odd keyboard must not stop the sign-in.
  }
  try {
    const device = await withTimeout(devicePromise, DEVICE_WAIT_MS);
    if (device) signals.device = device;
  } catch {
    // The same for the fingerprint.
  }
  return signals;
}
