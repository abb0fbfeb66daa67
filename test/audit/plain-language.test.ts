/**
 * The activity sentences for the event types the HTTP tests do not reach (factor changes, recovery,
 * clones, roles, DID chain jobs, every refused action), and the rules every sentence keeps: a place
 * only when one is known, never the bare event code, no one else's identity.
 */
import { describe, expect, it } from 'vitest';
import {
  type AttemptFacts,
  type DescribeContext,
  describeDidOperation,
  describeEvent,
  type EventFacts,
} from '../../src/audit/plain-language.ts';

const ctx: DescribeContext = {
  passkeys: new Map([
    ['pk-laptop', { name: 'Laptop', hardwareBound: false }],
    ['pk-key', { name: 'Desk key', hardwareBound: true }],
  ]),
  devices: new Map([['dev-phone', { label: 'Work phone' }]]),
};
const LYON: AttemptFacts = {
  city: 'Lyon',
  country: 'FR',
  newDevice: true,
  reasons: ['device.new'],
  device: 'Firefox 133 / Linux',
};

const event = (
  type: string,
  detail: Record<string, unknown> = {},
  more: Partial<EventFacts> = {},
): EventFacts => ({
  id: 'e1',
  type,
  at: new Date('2026-11-29T10:00:00Z'),
  detail,
  actor: null,
  ...more,
});
const title = (e: EventFacts) => describeEvent(e, ctx).title;

describe('sentences for a person', () => {
  it('names the factor of a sign-in and the device, with the place', () => {
    const item = describeEvent(
      event(
        'signin.succeeded',
        { factors: ['passkey'], passkeyId: 'pk-laptop', decision: 'allow' },
        { attempt: LYON },
      ),
      ctx,
    );
    expect(item).toMatchObject({
      title: 'New sign-in from Lyon on a new device',
      detail: 'With your passkey “Laptop” on Firefox 133 / Linux.',
      tone: 'warn',
      place: 'Lyon, France',
    });
    expect(title(event('signin.succeeded', { factors: ['totp'], decision: 'allow' }))).toBe('Signed in');
    expect(describeEvent(event('signin.succeeded', { factors: ['totp'] }), ctx).detail).toBe(
      'With your authenticator app.',
    );
  });

  it('says a held sign-in needed an extra check when no step-up completed it', () => {
    expect(title(event('signin.succeeded', { decision: 'step_up' }, { attempt: LYON }))).toBe(
      'New sign-in from Lyon on a new device: an extra check was needed',
    );
    expect(title(event('stepup.succeeded', { factors: ['totp'] }))).toBe(
      'Confirmed it was you with your authenticator app',
    );
  });

  it('explains each refused action with its most telling reason, or the organisation’s rules', () => {
    const place = { attempt: { ...LYON, city: null, reasons: [] } };
    expect(title(event('sign_in.denied', { reasons: ['device.new', 'device.revoked'] }, place))).toBe(
      'Sign-in refused from France: a device that was removed from your account',
    );
    expect(title(event('recover.denied', { reasons: ['velocity.account_failures'] }))).toBe(
      'Account recovery refused: too many failed attempts on your account',
    );
    expect(title(event('factor.enrol.denied', { reasons: ['deny-factor-change-from-new-device'] }))).toBe(
      'Adding a sign-in method was refused: your organisation’s sign-in rules',
    );
    for (const type of ['step_up.denied', 'sign_up.denied', 'factor.remove.denied', 'session.end.denied']) {
      const item = describeEvent(event(type, { reasons: ['geo.new_country'] }), ctx);
      expect(item.tone).toBe('danger');
      expect(item.title).toMatch(/refused: unusual location$/);
    }
  });

  it('describes factor changes, recovery and a suspected clone', () => {
    expect(title(event('factor.enrolled', { factor: 'totp', endedSessions: 2 }))).toBe(
      'Authenticator app turned on',
    );
    expect(describeEvent(event('factor.enrolled', { factor: 'totp', endedSessions: 2 }), ctx).detail).toBe(
      'You were signed out everywhere else (2 sessions).',
    );
    expect(title(event('factor.removed', { factor: 'totp' }))).toBe('Authenticator app turned off');
    expect(title(event('factor.enrolled', { factor: 'recovery_codes' }))).toBe('New recovery codes created');
    expect(title(event('factor.removed', { factor: 'passkey', passkeyId: 'gone' }))).toBe(
      'A passkey was removed',
    );
    expect(
      title(
        event('factor.enrolled', {
          factor: 'passkey',
          passkeyId: 'pk-key',
          attestation: { hardwareBound: true },
        }),
      ),
    ).toBe('Security key “Desk key” added');
    expect(describeEvent(event('recovery.used', {}, { attempt: LYON }), ctx)).toMatchObject({
      title: 'Account recovered with a recovery code from Lyon',
      tone: 'warn',
    });
    expect(describeEvent(event('passkey.counter_regression', { passkeyId: 'pk-laptop' }), ctx)).toMatchObject(
      {
        title: 'Passkey “Laptop” blocked: it may have been copied',
        tone: 'danger',
      },
    );
  });

  it('says an administrator acted without naming them', () => {
    const revoked = describeEvent(
      event(
        'device.revoked',
        { deviceId: 'dev-phone', endedSessions: 1, passkeyIds: ['a', 'b'] },
        { actor: { kind: 'admin', id: 'admin-account-id' } },
      ),
      ctx,
    );
    expect(revoked.title).toBe('Device “Work phone” revoked by an administrator');
    expect(revoked.detail).toBe('1 session(s) ended, 2 passkey(s) disabled.');
    expect(JSON.stringify(revoked)).not.toContain('admin-account-id');
    expect(title(event('device.revoked', { deviceId: 'unknown' }, { actor: { kind: 'person' } }))).toBe(
      'A device was revoked',
    );
    expect(describeEvent(event('admin.roles_changed', { before: [], after: ['auditor'] }), ctx).detail).toBe(
      'Your roles now: auditor.',
    );
    expect(title(event('admin.session_ended', { session: 's1' }))).toBe(
      'An administrator signed you out of a session',
    );
  });

  it('tells the holder about their credentials, issued or changed by someone else', () => {
    const admin = { kind: 'admin', id: 'admin-account-id' };
    const issued = describeEvent(
      event(
        'credential.issued',
        { type: 'IdentityAssuranceCredential', adminAccountId: 'admin-account-id' },
        { actor: admin },
      ),
      ctx,
    );
    expect(issued).toMatchObject({
      title: 'An administrator issued you a credential',
      detail: 'Identity assurance credential.',
    });
    expect(JSON.stringify(issued)).not.toContain('admin-account-id');
    expect(title(event('credential.issued', {}, { actor: { kind: 'client', id: 'hr-system' } }))).toBe(
      'An app issued you a credential',
    );
    const change = (purpose: string, value: boolean, changed = true) =>
      describeEvent(
        event('credential.status_changed', { changes: [{ purpose, value, changed }] }, { actor: admin }),
        ctx,
      );
    expect(change('revocation', true)).toMatchObject({
      title: 'An administrator revoked one of your credentials',
      tone: 'warn',
    });
    expect(change('suspension', true).title).toBe('An administrator suspended one of your credentials');
    expect(change('suspension', false).title).toBe('An administrator reinstated one of your credentials');
    expect(change('revocation', true, false).title).toBe(
      'An administrator checked the status of one of your credentials',
    );
  });

  it('names what a person renamed and the sessions they ended', () => {
    expect(
      describeEvent(event('passkey.renamed', { passkeyId: 'pk-laptop', from: 'Passkey', to: 'Laptop' }), ctx),
    ).toMatchObject({
      title: 'Passkey renamed to “Laptop”',
      detail: 'It was called “Passkey”.',
    });
    expect(title(event('device.renamed', { deviceId: 'dev-phone', from: null, to: 'Work phone' }))).toBe(
      'Device renamed to “Work phone”',
    );
    expect(title(event('session.ended', { session: 's2', from: 's1' }))).toBe(
      'You signed out one of your other sessions',
    );
  });

  it('never shows a bare code for an unknown type', () => {
    expect(describeEvent(event('vault.key_rotated'), ctx)).toMatchObject({
      title: 'Security event: vault key rotated',
      tone: 'info',
      place: null,
    });
  });
});

describe('DID changes', () => {
  const job = (kind: string, status: string, key = 'account:a1:op:k1') => ({
    id: 'j1',
    kind,
    idempotencyKey: key,
    status,
    createdAt: new Date('2026-11-29T10:00:00Z'),
    lastError: 'nonce too low at 0xdeadbeef',
  });

  it('says what changed and whether it is on chain yet, without the chain’s error text', () => {
    expect(describeDidOperation(job('addDelegateSigned', 'confirmed'))).toMatchObject({
      type: 'did.operation',
      title: 'A key was added to your DID',
      tone: 'info',
    });
    expect(describeDidOperation(job('setAttribute', 'pending')).title).toBe(
      'A detail was published on your DID (waiting for the chain)',
    );
    const failed = describeDidOperation(job('revokeDelegate', 'failed'));
    expect(failed).toMatchObject({ title: 'A key was removed from your DID: it failed', tone: 'warn' });
    expect(JSON.stringify(failed)).not.toContain('nonce');
    expect(describeDidOperation(job('changeOwnerSigned', 'confirmed', 'account:a1:deactivate#1')).title).toBe(
      'Your DID was deactivated',
    );
    expect(
      describeDidOperation(
        job('revokeDelegateSigned', 'confirmed', 'account:a1:op:device-revocation:r1:sigAuth#1'),
      ).title,
    ).toBe('A revoked device’s key was removed from your DID');
  });
});
