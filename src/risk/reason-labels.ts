/**
 * What the risk signals' reason codes mean, in two registers: `admin`, precise (the console's
 * dashboard and charts), and `person`, a few plain words a person reads after "Sign-in refused: …"
 * (their activity page). The codes and their rules are documented in each signal's file under
 * `signals/`; a policy's own reasons are its `@reason` annotations (see `policy/cedar/engine.ts`).
 */

/** One reason code's explanations. */
export interface ReasonLabel {
  /** For admins: what the signal saw. */
  admin: string;
  /** For the person: a short phrase, lower case, no final stop. */
  person: string;
}

/**
 * Every reason code that adds to a score, in order of how much it explains a refusal to the person
 * (the most telling first): `personReason` picks the first one present. Codes worth 0 points
 * (`device.known`, `typing.consistent`, …) never reach an attempt's reasons.
 */
export const REASON_LABELS: Readonly<Record<string, ReasonLabel>> = {
  'device.revoked': { admin: 'A revoked device', person: 'a device that was removed from your account' },
  'travel.impossible': {
    admin: 'Impossible travel since the last successful sign-in',
    person: 'too far from where you last signed in',
  },
  'velocity.account_failures': {
    admin: 'Repeated failures on this account',
    person: 'too many failed attempts on your account',
  },
  'velocity.stuffing': {
    admin: 'Credential stuffing from this address',
    person: 'an address trying many accounts',
  },
  'velocity.spraying': {
    admin: 'Password spraying from this address',
    person: 'an address trying many accounts',
  },
  'velocity.ip_failures': {
    admin: 'Repeated failures from this address',
    person: 'too many failed attempts',
  },
  'velocity.fingerprint_failures': {
    admin: 'Repeated failures from this device fingerprint',
    person: 'too many failed attempts from this device',
  },
  'network.denied': { admin: 'An address on a deny list', person: 'a blocked network' },
  'typing.scripted': { admin: 'Scripted typing', person: 'typing that looked automated' },
  'geo.new_country': { admin: 'A country never seen for this person', person: 'unusual location' },
  'network.hosting': {
    admin: 'A hosting or datacenter network',
    person: 'a hosting network or VPN',
  },
  'typing.anomalous': { admin: 'Typing rhythm unlike the person’s', person: 'unusual typing' },
  'travel.fast': { admin: 'Fast travel since the last sign-in', person: 'far from where you last signed in' },
  'device.new': { admin: 'A new device', person: 'a new device' },
  'device.ua_mismatch': {
    admin: 'A known device’s fingerprint from another browser',
    person: 'a device that did not match its browser',
  },
  'time.unusual': { admin: 'An unusual hour for this person', person: 'an unusual time' },
  'geo.unlocatable': {
    admin: 'An address that cannot be located',
    person: 'an address that cannot be located',
  },
};

/** The admin explanation of a signal's reason code, if it is one. */
export function reasonLabel(code: string): string | undefined {
  return Object.hasOwn(REASON_LABELS, code) ? REASON_LABELS[code]!.admin : undefined;
}

/** The phrase that best explains, to the person, an attempt with these reason codes; undefined if none does. */
export function personReason(codes: readonly string[]): string | undefined {
  const present = new Set(codes);
  for (const [code, label] of Object.entries(REASON_LABELS)) if (present.has(code)) return label.person;
  return undefined;
}
