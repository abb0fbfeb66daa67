/**
 * A person's security activity in plain language: one sentence per audit event (`SecurityEvent`), with
 * where it happened and how worried to be (`tone`). The sentences use what the service knows about the
 * same moment: the scored attempt of a sign-in (city, country, new device, reasons), passkey names and
 * device labels. They never carry another person's data: who acted is said by kind ("an
 * administrator"), never by name or id.
 *
 * One describer per event type, in `DESCRIBERS`; a type without one gets a generic sentence built from
 * its name, never the bare code.
 */
import { personReason } from '../risk/reason-labels.ts';

/** How an item should look: routine, worth a look, or alarming. */
export type Tone = 'info' | 'warn' | 'danger';

/** One line of the activity page. */
export interface ActivityItem {
  id: string;
  /** ISO 8601. */
  at: string;
  /** The audit event type; for the other sources `signin.failed`, `stepup.failed`, `recovery.failed` or `did.operation`. */
  type: string;
  title: string;
  detail: string | null;
  tone: Tone;
  /** "Lyon, France"; null when unknown. */
  place: string | null;
}

/** The scored attempt (`RiskAttempt`) of the same sign-in, step-up or recovery. */
export interface AttemptFacts {
  city: string | null;
  country: string | null;
  /** The risk engine did not recognise the device. */
  newDevice: boolean;
  reasons: string[];
  /** The label of the device it was made on, when known. */
  device: string | null;
}

/** What the describers may look up. */
export interface DescribeContext {
  /** The person's passkeys by id (removed ones are gone). */
  passkeys: ReadonlyMap<string, { name: string; hardwareBound: boolean }>;
  /** The person's devices by id. */
  devices: ReadonlyMap<string, { label: string | null }>;
}

/** One audit event, as stored. */
export interface EventFacts {
  id: string;
  type: string;
  at: Date;
  detail: Record<string, unknown>;
  /** Who did it when not the person (`{ kind: 'admin' | 'person' | 'system', … }`). */
  actor: Record<string, unknown> | null;
  /** The attempt matched to it, if any. */
  attempt?: AttemptFacts;
  /** A step-up that completed a sign-in the decision point had held: the sign-in's attempt. */
  completes?: AttemptFacts;
}

type Sentence = Pick<ActivityItem, 'title' | 'detail' | 'tone'>;
type Describer = (event: EventFacts, ctx: DescribeContext) => Sentence;

const countryNames = new Intl.DisplayNames(['en'], { type: 'region' });

function countryName(code: string): string {
  try {
    return countryNames.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** "Lyon, France", "France", or null. */
export function placeOf(attempt: AttemptFacts | undefined): string | null {
  if (!attempt?.country) return attempt?.city ?? null;
  const country = countryName(attempt.country);
  return attempt.city ? `${attempt.city}, ${country}` : country;
}

/** " from Lyon" (the city, else the country), or nothing. */
function from(attempt: AttemptFacts | undefined): string {
  const where = attempt?.city ?? (attempt?.country ? countryName(attempt.country) : undefined);
  return where ? ` from ${where}` : '';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
const quoted = (name: string) => `“${name}”`;

/** What a proof was made with: "your security key", "your passkey “Laptop”", "a recovery code". */
function factorPhrase(detail: Record<string, unknown>, ctx: DescribeContext): string {
  const factors = strings(detail.factors);
  const passkeyId = str(detail.passkeyId);
  if (factors.includes('passkey') || passkeyId) {
    const passkey = passkeyId ? ctx.passkeys.get(passkeyId) : undefined;
    if (passkey?.hardwareBound) return 'your security key';
    return passkey ? `your passkey ${quoted(passkey.name)}` : 'a passkey';
  }
  if (factors.includes('totp')) return 'your authenticator app';
  if (factors.includes('recovery_code')) return 'a recovery code';
  if (factors.includes('did')) return 'your DID wallet';
  return 'your sign-in method';
}

/** "With your passkey “Laptop” on Chrome 131 / macOS". */
function how(event: EventFacts, ctx: DescribeContext): string {
  const device = event.attempt?.device;
  return `With ${factorPhrase(event.detail, ctx)}${device ? ` on ${device}` : ''}.`;
}

const endedOthers = (detail: Record<string, unknown>): string | null => {
  const n = num(detail.endedSessions);
  return n > 0 ? `You were signed out everywhere else (${n} session${n === 1 ? '' : 's'}).` : null;
};

/** "New sign-in from Lyon on a new device" or "Sign-in from Paris". */
function signInPhrase(attempt: AttemptFacts | undefined): string {
  return attempt?.newDevice ? `New sign-in${from(attempt)} on a new device` : `Sign-in${from(attempt)}`;
}

const signedIn: Describer = (event, ctx) => {
  if (event.detail.decision === 'step_up') {
    return {
      title: `${signInPhrase(event.attempt)}: an extra check was needed`,
      detail: how(event, ctx),
      tone: 'warn',
    };
  }
  return {
    title: event.attempt?.newDevice ? signInPhrase(event.attempt) : `Signed in${from(event.attempt)}`,
    detail: how(event, ctx),
    tone: event.attempt?.newDevice ? 'warn' : 'info',
  };
};

const steppedUp: Describer = (event, ctx) =>
  event.completes
    ? {
        title: `${signInPhrase(event.completes)}: stepped up with ${factorPhrase(event.detail, ctx)}`,
        detail: event.completes.device ? `On ${event.completes.device}.` : null,
        tone: 'warn',
      }
    : { title: `Confirmed it was you with ${factorPhrase(event.detail, ctx)}`, detail: null, tone: 'info' };

/** What was refused, by the decision point's action (the event type is `<action>.denied`). */
const REFUSED: Readonly<Record<string, string>> = {
  sign_in: 'Sign-in refused',
  sign_up: 'Account creation refused',
  step_up: 'Extra check refused',
  recover: 'Account recovery refused',
  'factor.enrol': 'Adding a sign-in method was refused',
  'factor.remove': 'Removing a sign-in method was refused',
  'session.end': 'Ending a session was refused',
};

const refused: Describer = (event) => {
  const action = event.type.slice(0, -'.denied'.length);
  const reason =
    personReason([...strings(event.detail.reasons), ...(event.attempt?.reasons ?? [])]) ??
    'your organisation’s sign-in rules';
  return {
    title: `${REFUSED[action] ?? 'Refused'}${from(event.attempt)}: ${reason}`,
    detail: 'If this was not you, your account is safe: nothing was let in.',
    tone: 'danger',
  };
};

function passkeyName(detail: Record<string, unknown>, ctx: DescribeContext): string | undefined {
  const id = str(detail.passkeyId);
  return id ? ctx.passkeys.get(id)?.name : undefined;
}

const enrolled: Describer = (event, ctx) => {
  const d = event.detail;
  switch (d.factor) {
    case 'passkey': {
      const attestation = (d.attestation ?? {}) as Record<string, unknown>;
      const kind = attestation.hardwareBound === true ? 'Security key' : 'Passkey';
      const name = passkeyName(d, ctx);
      const model = str(attestation.modelName);
      return {
        title: name ? `${kind} ${quoted(name)} added` : `${kind} added`,
        detail: model ? `Model: ${model}.` : null,
        tone: 'info',
      };
    }
    case 'totp':
      return { title: 'Authenticator app turned on', detail: endedOthers(d), tone: 'info' };
    case 'recovery_codes':
      return {
        title: 'New recovery codes created',
        detail: ['Your earlier codes no longer work.', endedOthers(d)].filter(Boolean).join(' '),
        tone: 'info',
      };
    default:
      return { title: 'Sign-in method added', detail: endedOthers(d), tone: 'info' };
  }
};

const removed: Describer = (event, ctx) => {
  const d = event.detail;
  if (d.factor === 'totp')
    return { title: 'Authenticator app turned off', detail: endedOthers(d), tone: 'warn' };
  if (d.factor === 'passkey') {
    const name = passkeyName(d, ctx);
    const revoked = num(d.revokedCredentials);
    return {
      title: name ? `Passkey ${quoted(name)} removed` : 'A passkey was removed',
      detail:
        [revoked > 0 ? `Its device credential was revoked.` : null, endedOthers(d)]
          .filter(Boolean)
          .join(' ') || null,
      tone: 'warn',
    };
  }
  return { title: 'Sign-in method removed', detail: endedOthers(d), tone: 'warn' };
};

/** The device's label, when it has one and is the person's. */
/** The label of the event's device, when it has one and is the person's. */
function deviceLabelOf(detail: Record<string, unknown>, ctx: DescribeContext): string | undefined {
  const id = str(detail.deviceId);
  return (id ? ctx.devices.get(id)?.label : undefined) ?? undefined;
}

/** "device “Work phone”", or "a device". */
function deviceName(detail: Record<string, unknown>, ctx: DescribeContext): string {
  const label = deviceLabelOf(detail, ctx);
  return label ? `device ${quoted(label)}` : 'a device';
}

const deviceRevoked: Describer = (event, ctx) => {
  const d = event.detail;
  const byAdmin = event.actor?.kind === 'admin';
  const label = deviceLabelOf(d, ctx);
  const parts = [
    num(d.endedSessions) > 0 ? `${num(d.endedSessions)} session(s) ended` : null,
    strings(d.passkeyIds).length > 0 ? `${strings(d.passkeyIds).length} passkey(s) disabled` : null,
    num(d.revokedCredentials) > 0 ? `${num(d.revokedCredentials)} credential(s) revoked` : null,
  ].filter(Boolean);
  const reason = byAdmin ? str(d.reason) : undefined;
  return {
    title: `${label ? `Device ${quoted(label)}` : 'A device was'} revoked${byAdmin ? ' by an administrator' : ''}`,
    detail:
      [parts.length > 0 ? `${parts.join(', ')}.` : null, reason ? `Reason given: ${reason}` : null]
        .filter(Boolean)
        .join(' ') || null,
    tone: 'warn',
  };
};

/** The describers, by event type (`*.denied` events go to `refused`). */
const DESCRIBERS: Readonly<Record<string, Describer>> = {
  'signup.succeeded': (event, ctx) => ({
    title: `Account created${from(event.attempt)}`,
    detail: how(event, ctx),
    tone: 'info',
  }),
  'signin.succeeded': signedIn,
  'stepup.succeeded': steppedUp,
  'recovery.used': (event) => ({
    title: `Account recovered with a recovery code${from(event.attempt)}`,
    detail: 'You were signed out everywhere else. Add a new passkey to sign in next time.',
    tone: 'warn',
  }),
  'signin.failed': (event) => ({
    title: `Failed sign-in attempt${from(event.attempt)}`,
    detail:
      'Someone tried to sign in to your account and did not get in. If it was not you, nothing is needed.',
    tone: 'warn',
  }),
  'stepup.failed': (event) => ({
    title: `Failed extra check${from(event.attempt)}`,
    detail: 'A key or code was refused while confirming it was you. If it was not you, sign out everywhere.',
    tone: 'warn',
  }),
  'recovery.failed': (event) => ({
    title: `Failed account recovery attempt${from(event.attempt)}`,
    detail: 'A recovery code was refused. If it was not you, nothing is needed: the code did not work.',
    tone: 'warn',
  }),
  'factor.enrolled': enrolled,
  'factor.removed': removed,
  'passkey.renamed': (event) => ({
    title: str(event.detail.to)
      ? `Passkey renamed to ${quoted(str(event.detail.to)!)}`
      : 'A passkey was renamed',
    detail: str(event.detail.from) ? `It was called ${quoted(str(event.detail.from)!)}.` : null,
    tone: 'info',
  }),
  'device.renamed': (event) => ({
    title: str(event.detail.to)
      ? `Device renamed to ${quoted(str(event.detail.to)!)}`
      : 'A device was renamed',
    detail: null,
    tone: 'info',
  }),
  'session.ended': () => ({
    title: 'You signed out one of your other sessions',
    detail: null,
    tone: 'info',
  }),
  'passkey.counter_regression': (event, ctx) => {
    const name = passkeyName(event.detail, ctx);
    return {
      title: `${name ? `Passkey ${quoted(name)}` : 'A passkey'} blocked: it may have been copied`,
      detail: 'Sessions that used it were signed out. Remove it and add a new one.',
      tone: 'danger',
    };
  },
  'device.revoked': deviceRevoked,
  'device.revocation_completed': (event, ctx) => ({
    title: `Removal of ${deviceName(event.detail, ctx)} finished`,
    detail: null,
    tone: 'info',
  }),
  'device.revocation_failed': (event, ctx) => ({
    title: `Removal of ${deviceName(event.detail, ctx)} did not finish every step`,
    detail: 'It is retried; your administrator can see which step is left.',
    tone: 'warn',
  }),
  'admin.roles_changed': (event) => {
    const after = strings(event.detail.after);
    return {
      title: 'Your administrator roles changed',
      detail:
        after.length > 0 ? `Your roles now: ${after.join(', ')}.` : 'You now have no administrator role.',
      tone: 'warn',
    };
  },
  'admin.session_ended': () => ({
    title: 'An administrator signed you out of a session',
    detail: null,
    tone: 'warn',
  }),
  'credential.issued': (event) => ({
    title: `${issuerOf(event.actor)} issued you a credential`,
    detail: str(event.detail.type) ? `${credentialTypeName(str(event.detail.type)!)}.` : null,
    tone: 'info',
  }),
  'credential.status_changed': credentialStatusChanged,
};

/** Who issued or changed a credential, as the holder reads it. */
function issuerOf(actor: Record<string, unknown> | null): string {
  if (actor?.kind === 'admin') return 'An administrator';
  if (actor?.kind === 'client') return 'An app';
  return 'Trustgate';
}

/** `IdentityAssuranceCredential` → "Identity assurance credential". */
function credentialTypeName(type: string): string {
  const words = type.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Revoked, suspended or reinstated: the changes that took effect, in the holder's words. */
function credentialStatusChanged(event: EventFacts): Sentence {
  const changes = Array.isArray(event.detail.changes)
    ? (event.detail.changes as Array<Record<string, unknown>>)
    : [];
  const effective = changes.filter((c) => c.changed !== false);
  const by = issuerOf(event.actor);
  if (effective.some((c) => c.purpose === 'revocation' && c.value === true)) {
    return {
      title: `${by} revoked one of your credentials`,
      detail: 'Apps that check it now see it as revoked.',
      tone: 'warn',
    };
  }
  if (effective.some((c) => c.purpose === 'suspension' && c.value === true)) {
    return {
      title: `${by} suspended one of your credentials`,
      detail: 'It can be reinstated later.',
      tone: 'warn',
    };
  }
  if (effective.some((c) => c.purpose === 'suspension' && c.value === false)) {
    return { title: `${by} reinstated one of your credentials`, detail: null, tone: 'info' };
  }
  return {
    title: `${by} checked the status of one of your credentials`,
    detail: 'Nothing changed.',
    tone: 'info',
  };
}

/** "Security event: passkey renamed" for `passkey.renamed`. */
function generic(type: string): Sentence {
  const words = type.replace(/[._]+/g, ' ').trim();
  return { title: `Security event: ${words || 'unnamed'}`, detail: null, tone: 'info' };
}

/** The activity item of one audit event. */
export function describeEvent(event: EventFacts, ctx: DescribeContext): ActivityItem {
  const describer = DESCRIBERS[event.type] ?? (event.type.endsWith('.denied') ? refused : undefined);
  const sentence = describer ? describer(event, ctx) : generic(event.type);
  return {
    id: event.id,
    at: event.at.toISOString(),
    type: event.type,
    ...sentence,
    place: placeOf(event.completes ?? event.attempt),
  };
}

/** What a chain job does to the person's DID, from its kind and idempotency key. */
export function didOperationSummary(kind: string, key: string): string {
  if (/:deactivate/.test(key)) return 'Your DID was deactivated';
  if (/:take-ownership:/.test(key)) return 'You took ownership of your DID';
  if (/:device-revocation:/.test(key)) return 'A revoked device’s key was removed from your DID';
  switch (kind.replace(/Signed$/, '')) {
    case 'addDelegate':
      return 'A key was added to your DID';
    case 'revokeDelegate':
      return 'A key was removed from your DID';
    case 'setAttribute':
      return 'A detail was published on your DID';
    case 'revokeAttribute':
      return 'A detail was withdrawn from your DID';
    case 'changeOwner':
      return 'Your DID’s owner changed';
    default:
      return 'Your DID changed';
  }
}

/** The activity item of one chain job that changed the person's DID. */
export function describeDidOperation(job: {
  id: string;
  kind: string;
  idempotencyKey: string;
  status: string;
  createdAt: Date;
  lastError: string | null;
}): ActivityItem {
  const summary = didOperationSummary(job.kind, job.idempotencyKey);
  const [suffix, tone]: [string, Tone] =
    job.status === 'confirmed'
      ? ['', 'info']
      : job.status === 'failed'
        ? [': it failed', 'warn']
        : [' (waiting for the chain)', 'info'];
  return {
    id: job.id,
    at: job.createdAt.toISOString(),
    type: 'did.operation',
    title: `${summary}${suffix}`,
    detail: job.status === 'failed' ? 'Nothing changed on chain. You can try again.' : null,
    tone,
    place: null,
  };
}
