/**
 * Plain-language words for what the API answers in codes: places, browsers, devices, passkeys,
 * credential types and revocation steps.
 */
import type { Device, Passkey } from './types.ts';

export { describePlace, deviceName } from '../lib/devices.ts';

const BROWSERS: Array<[RegExp, string]> = [
  [/Edg\//, 'Edge'],
  [/OPR\//, 'Opera'],
  [/Firefox\//, 'Firefox'],
  [/Chrom(e|ium)\//, 'Chrome'],
  [/Safari\//, 'Safari'],
];
const SYSTEMS: Array<[RegExp, string]> = [
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Windows/, 'Windows'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
];

/** "Chrome on macOS" from a User-Agent header, or undefined when it says nothing recognisable. */
export function describeBrowser(userAgent: string | null | undefined): string | undefined {
  if (!userAgent) return undefined;
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system;
}

/** "YubiKey 5 · hardware-bound · attested": the passkey's model and what its attestation proves. */
export function passkeyTraits(
  passkey: Pick<Passkey, 'modelName' | 'hardwareBound' | 'backupEligible' | 'attestationTrusted'>,
): string {
  const traits = [passkey.modelName || 'Unknown model'];
  if (passkey.hardwareBound) traits.push('hardware-bound');
  else if (passkey.backupEligible) traits.push('synced');
  if (passkey.attestationTrusted) traits.push('attested');
  return traits.join(' · ');
}

/** A device's attestation in a sentence. */
export function describeAttestation(attestation: Device['attestation']): string {
  if (attestation.passkeys === 0) return 'No passkey was registered from this device.';
  const count = attestation.passkeys === 1 ? '1 passkey' : `${attestation.passkeys} passkeys`;
  const strength = attestation.hardwareBound
    ? 'kept in tamper-resistant hardware'
    : 'that can be copied to your other devices (synced) or kept in software';
  const proof = attestation.trusted
    ? 'its maker’s attestation was checked'
    : 'its maker’s attestation was not checked';
  const models = attestation.models.length > 0 ? ` (${attestation.models.join(', ')})` : '';
  return `${count}${models}, ${strength}; ${proof}.`;
}

/** "IdentityAssuranceCredential" → "Identity assurance". */
export function credentialTypeName(type: string): string {
  const words = type.replace(/Credential$/, '').replace(/([a-z])([A-Z])/g, '$1 $2');
  const lower = words.toLowerCase();
  return lower ? lower.charAt(0).toUpperCase() + lower.slice(1) : type;
}

const STEP_STATES: Record<string, string> = {
  pending: 'waiting',
  done: 'done',
  skipped: 'nothing to do',
  failed: 'failed',
};

/** A step's status in plain words. */
export const stepState = (status: string) => STEP_STATES[status] ?? status;
