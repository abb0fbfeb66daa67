/**
 * `GET /t/:tenant/api/admin/me`: the console's "who am I". Each role's `can` map is Cedar's decision
 * (checked against what the role's admin endpoints answer), a person without a role gets every action
 * false rather than a refusal, a super-admin of the home tenant sees another tenant, any other admin of
 * another tenant gets 404, and `writeFreshUntil` is set only for a hardware-bound (AAL3 / phrh) sign-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ACTIONS } from '../../src/policy/admin-authz.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let hw: HardwareAttestation;

interface Me {
  account: { id: string; username: string | null; displayName: string | null };
  tenant: { slug: string; displayName: string };
  roles: string[];
  superAdmin: boolean;
  can: Record<string, boolean>;
  session: { aal: number; phrh: boolean; authTime: string; writeFreshUntil: string | null };
}

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000' });
  await svc.service.store.db.tenant.create({ data: { slug: 'acme', displayName: 'Acme Corp' } });
}, 60_000);
afterAll(async () => {
  await svc?.destroy();
  hw?.remove();
});

const me = (client: AuthClient, tenant = client.tenant) =>
  client.call<Me>('GET', `/t/${tenant}/api/admin/me`);

describe('who the console is talking to', () => {
  it('answers a person without a role with every action false (not 403)', async () => {
    const person = new AuthClient(svc.url, undefined, 'acme');
    const up = await person.signUp('plain-person');
    expect(up.status).toBe(201);
    const r = await me(person);
    expect(r.status).toBe(200);
    expect(r.body.account).toMatchObject({
      id: (up.body.account as { id: string }).id,
      username: 'plain-person',
    });
    expect(r.body.tenant).toEqual({ slug: 'acme', displayName: 'Acme Corp' });
    expect(r.body.roles).toEqual([]);
    expect(r.body.superAdmin).toBe(false);
    expect(Object.keys(r.body.can).sort()).toEqual(Object.keys(ADMIN_ACTIONS).sort());
    expect(Object.values(r.body.can).every((v) => v === false)).toBe(true);
    // A synced passkey is AAL2 / phr: no window for admin writes.
    expect(r.body.session).toMatchObject({ aal: 2, phrh: false, writeFreshUntil: null });
  });

  it('gives an auditor exactly the read actions of its role, as the endpoints enforce them', async () => {
    const auditor = await adminClient(svc, hw, 'auditor', { tenant: 'acme' });
    const r = await me(auditor);
    expect(r.status).toBe(200);
    expect(r.body.roles).toEqual(['auditor']);
    const allowed = Object.entries(r.body.can)
      .filter(([, v]) => v)
      .map(([a]) => a)
      .sort();
    expect(allowed).toEqual(
      [
        'ReadAudit',
        'ReadClients',
        'ReadDevices',
        'ReadPeople',
        'ReadPolicies',
        'ReadRisk',
        'ReadSessions',
        'ReadSettings',
      ].sort(),
    );
    // The map agrees with the API: allowed to read risk, refused to manage roles.
    expect((await auditor.call('GET', '/t/acme/api/admin/risk/assessments')).status).toBe(200);
    expect(r.body.can.ManageRoles).toBe(false);
    expect((await auditor.call('GET', '/t/acme/api/admin/dashboard')).status).toBe(200);
  });

  it('sets writeFreshUntil to five minutes after a hardware-bound sign-in', async () => {
    const admin = await adminClient(svc, hw, 'tenant-admin', { tenant: 'acme' });
    const r = await me(admin);
    expect(r.body.session.aal).toBe(3);
    expect(r.body.session.phrh).toBe(true);
    const authTime = Date.parse(r.body.session.authTime);
    expect(Date.parse(r.body.session.writeFreshUntil!)).toBe(authTime + 300_000);
    expect(Math.abs(authTime - Date.now())).toBeLessThan(60_000);
    expect(r.body.can.ManagePolicy).toBe(true);
    expect(r.body.can.ManageTenants).toBe(false);
  });

  it('lets a super-admin of the home tenant see another tenant, with every action', async () => {
    const root = await adminClient(svc, hw, 'super-admin');
    const r = await me(root, 'acme');
    expect(r.status).toBe(200);
    expect(r.body.tenant.slug).toBe('acme');
    expect(r.body.superAdmin).toBe(true);
    expect(Object.values(r.body.can).every((v) => v === true)).toBe(true);
  });

  it('answers 404 to an admin or a person of another tenant, and 401 without a session', async () => {
    const otherAdmin = await adminClient(svc, hw, 'tenant-admin');
    const r = await me(otherAdmin, 'acme');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ code: 'not_found' });
    expect(JSON.stringify(r.body)).not.toContain('Acme Corp');

    const anonymous = await me(new AuthClient(svc.url, undefined, 'acme'));
    expect(anonymous.status).toBe(401);
    expect((await me(otherAdmin, 'no-such-tenant')).status).toBe(404);
  });
});
