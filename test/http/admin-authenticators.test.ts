/**
 * `GET /t/:tenant/api/admin/authenticators`: the attestation policy (as just changed through the
 * settings API), the trust store's roots (the operator's test root among the built-in vendor roots,
 * with subject, expiry and fingerprint), the metadata state, and the tenant's passkeys grouped by model:
 * a trusted, hardware-bound security key model apart from an unattested synced passkey model, another
 * tenant's passkeys never counted. ReadSettings: auditor yes, helpdesk 403, another tenant's admin 404.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminClient,
  type HardwareAttestation,
  hardwareAttestationEnv,
  SECURITY_KEY_AAGUID,
} from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { SOFT_AUTHENTICATOR_AAGUID, SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';

let svc: TestService;
let hw: HardwareAttestation;
let admin: Awaited<ReturnType<typeof adminClient>>;

interface Authenticators {
  attestationPolicy: 'any' | 'trusted';
  roots: Array<{ fmt: string; subject: string; issuer: string; notAfter: string; sha256: string }>;
  metadata: { loaded: boolean; entries: number; nextUpdate: string | null };
  seen: Array<{
    aaguid: string;
    model: string | null;
    passkeys: number;
    trusted: boolean;
    hardwareBound: boolean;
  }>;
}

/** A model only another tenant uses. */
const OTHER_AAGUID = '0b0b0b0b-0000-4000-8000-0000000000bb';

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000' });
  await svc.service.store.db.tenant.create({ data: { slug: 'acme', displayName: 'Acme' } });
  // acme: one admin with a security key, two people with synced passkeys (unattested).
  admin = await adminClient(svc, hw, 'tenant-admin', { tenant: 'acme' });
  for (const name of ['synced-one', 'synced-two']) {
    expect((await new AuthClient(svc.url, undefined, 'acme').signUp(name)).status).toBe(201);
  }
  const elsewhere = new AuthClient(svc.url, new SoftAuthenticator({ aaguid: OTHER_AAGUID }), 'default');
  expect((await elsewhere.signUp('other-tenant-person')).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await svc?.destroy();
  hw?.remove();
});

const read = (client: AuthClient, tenant = 'acme') =>
  client.call<Authenticators>('GET', `/t/${tenant}/api/admin/authenticators`);

describe('authenticators', () => {
  it('groups the tenant’s passkeys by model, trusted hardware keys apart, none of another tenant', async () => {
    const r = await read(admin);
    expect(r.status).toBe(200);
    expect(r.body.seen).toEqual([
      expect.objectContaining({
        aaguid: SOFT_AUTHENTICATOR_AAGUID,
        model: null,
        passkeys: 2,
        trusted: false,
        hardwareBound: false,
      }),
      expect.objectContaining({
        aaguid: SECURITY_KEY_AAGUID,
        model: null,
        passkeys: 1,
        trusted: true,
        hardwareBound: true,
      }),
    ]);
    expect(r.body.seen.map((s) => s.aaguid)).not.toContain(OTHER_AAGUID);
  });

  it('lists the trust store’s roots with subject, expiry and SHA-256, the operator’s packed root included', async () => {
    const { body } = await read(admin);
    const cert = new X509Certificate(hw.chain.rootPem);
    const sha256 = createHash('sha256').update(cert.raw).digest('hex');
    const root = body.roots.find((r) => r.sha256 === sha256);
    expect(root).toEqual({
      fmt: 'packed',
      subject: cert.subject.split('\n').join(', '),
      issuer: cert.issuer.split('\n').join(', '),
      notAfter: new Date(cert.validTo).toISOString(),
      sha256,
    });
    expect(root!.subject).toContain('CN=');
    // The built-in vendor roots are there too, each for its own format.
    expect(new Set(body.roots.map((r) => r.fmt))).toEqual(new Set(['packed', 'android-key', 'apple']));
    expect(body.roots.every((r) => /^[0-9a-f]{64}$/.test(r.sha256))).toBe(true);
  });

  it('says no metadata BLOB is loaded when none is configured', async () => {
    const { body } = await read(admin);
    expect(body.metadata).toMatchObject({ loaded: false, entries: 0, nextUpdate: null });
  });

  it('shows the attestation policy as just changed through the settings API', async () => {
    expect((await read(admin)).body.attestationPolicy).toBe('any');
    const changed = await admin.call('PATCH', admin.t('/api/admin/settings'), {
      attestationPolicy: 'trusted',
    });
    expect(changed.status).toBe(200);
    expect((await read(admin)).body.attestationPolicy).toBe('trusted');
  });

  it('lets an auditor read; refuses helpdesk (403), a person without a role (403), another tenant (404)', async () => {
    const auditor = await adminClient(svc, hw, 'auditor', { tenant: 'acme' });
    expect((await read(auditor)).status).toBe(200);
    const helpdesk = await adminClient(svc, hw, 'helpdesk', { tenant: 'acme' });
    expect((await read(helpdesk)).body).toMatchObject({ code: 'forbidden' });
    const person = new AuthClient(svc.url, hw.securityKey(), 'acme');
    await person.signUp('no-role');
    expect((await read(person)).status).toBe(403);
    const otherAdmin = await adminClient(svc, hw, 'tenant-admin');
    const r = await read(otherAdmin);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'not_found' });
  });
});
