/**
 * Tenants and tenant isolation in the admin API. A super-admin (signed in to `default`) creates and
 * lists tenants; a new tenant is a separate issuer with its own discovery, policy and people at once.
 * An admin of tenant A gets 404 for every object of tenant B (people, sessions, roles, clients, policy
 * versions, devices) through A's paths, 404 on B's paths, and B's risk assessments never show in A's.
 * The people API pages, searches and filters within the tenant; ending a session ends it everywhere;
 * a tenant admin cannot grant super-admin, and the last super-admin cannot lose the role.
 *
 * Runs on PostgreSQL (and Redis) when TEST_POSTGRES_URL (TEST_REDIS_URL) is set, else on SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/cedar/default-policy.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { makeClient } from '../helpers/oidc.ts';
import {
  freshPostgresUrl,
  startTestService,
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  type TestService,
} from '../helpers/service.ts';

let svc: TestService;
let hw: HardwareAttestation;
let pg: ReturnType<typeof freshPostgresUrl> | undefined;
let root: Awaited<ReturnType<typeof adminClient>>;

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  pg = TEST_POSTGRES_URL ? freshPostgresUrl() : undefined;
  svc = await startTestService({
    ...hw.env,
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    TRUST_PROXY: 'loopback',
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    ...(pg && TEST_REDIS_URL ? { REDIS_URL: TEST_REDIS_URL } : {}),
  });
  root = await adminClient(svc, hw, 'super-admin', { username: 'root' });
}, 120_000);
afterAll(async () => {
  await svc?.destroy();
  await pg?.drop();
  hw?.remove();
});

const db = () => svc.service.store.db;

async function createTenant(slug: string, displayName = slug.toUpperCase()) {
  const r = await root.call('POST', '/api/admin/tenants', { slug, displayName });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

describe('super-admins create and list tenants', () => {
  it('creates a tenant that is at once its own issuer, with discovery, keys and the default policy', async () => {
    const created = await createTenant('gamma', 'Gamma Corp');
    const issuer = `${svc.url}/t/gamma`;
    expect(created).toMatchObject({
      slug: 'gamma',
      displayName: 'Gamma Corp',
      attestationPolicy: 'any',
      issuer,
      discovery: `${issuer}/.well-known/openid-configuration`,
    });
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(meta.issuer).toBe(issuer);
    expect(String(meta.token_endpoint)).toContain('/t/gamma/');
    const jwks = (await (await fetch(String(meta.jwks_uri))).json()) as { keys: Array<{ kid: string }> };
    const defaultJwks = (await (await fetch(`${svc.url}/t/default/jwks`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(jwks.keys.map((k) => k.kid)).not.toEqual(
      expect.arrayContaining(defaultJwks.keys.map((k) => k.kid)),
    );

    // People sign up there; its admin sees the default policy as the active one (none of its own yet).
    const admin = await adminClient(svc, hw, 'tenant-admin', { tenant: 'gamma' });
    const policies = await admin.call('GET', admin.t('/api/admin/policies'));
    expect(policies.body).toMatchObject({ active: null, versions: [], defaultPolicy: DEFAULT_POLICY });
    const settings = await admin.call('GET', admin.t('/api/admin/settings'));
    expect(settings.body).toMatchObject({ slug: 'gamma', displayName: 'Gamma Corp' });

    const detail = await root.call('GET', '/api/admin/tenants/gamma');
    expect(detail.body).toMatchObject({ slug: 'gamma', people: 1, activePolicyVersion: null, issuer });
    const event = await db().securityEvent.findFirst({
      where: {
        type: 'admin.tenant_created',
        tenantId: (await db().tenant.findUniqueOrThrow({ where: { slug: 'gamma' } })).id,
      },
    });
    expect(event?.actor).toContain(root.accountId);
  });

  it('lists tenants newest first, page by page', async () => {
    await createTenant('list-a');
    await createTenant('list-b');
    const first = await root.call<{ tenants: Array<{ slug: string }>; next: string | null }>(
      'GET',
      '/api/admin/tenants?limit=1',
    );
    expect(first.status).toBe(200);
    expect(first.body.tenants).toHaveLength(1);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await root.call<{ tenants: Array<{ slug: string }> }>(
      'GET',
      `/api/admin/tenants?limit=1&cursor=${first.body.next}`,
    );
    expect(second.body.tenants).toHaveLength(1);
    // The two newest (created in the same millisecond they tie, and the id decides).
    expect([...first.body.tenants, ...second.body.tenants].map((t) => t.slug).sort()).toEqual([
      'list-a',
      'list-b',
    ]);
    const all = await root.call<{ tenants: Array<{ slug: string }>; next: string | null }>(
      'GET',
      '/api/admin/tenants?limit=100',
    );
    expect(all.body.next).toBeNull();
    expect(all.body.tenants.map((t) => t.slug).at(-1)).toBe('default');
    expect(all.body.tenants.map((t) => t.slug)).toEqual(expect.arrayContaining(['gamma', 'list-a']));
  });

  it('refuses a taken slug (409), a malformed one (400), and anyone but a super-admin (403), creating nothing', async () => {
    await createTenant('taken');
    const again = await root.call('POST', '/api/admin/tenants', { slug: 'taken', displayName: 'Again' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'tenant_exists' });
    for (const slug of ['Upper', '-lead', 'a/b', '', 'x'.repeat(64)]) {
      expect((await root.call('POST', '/api/admin/tenants', { slug, displayName: 'Bad' })).status, slug).toBe(
        400,
      );
    }
    const tenantAdmin = await adminClient(svc, hw, 'tenant-admin');
    const r = await tenantAdmin.call('POST', '/api/admin/tenants', { slug: 'sneaky', displayName: 'Sneaky' });
    expect(r.status).toBe(403);
    expect((await tenantAdmin.call('GET', '/api/admin/tenants/taken')).status).toBe(403);
    expect(await db().tenant.count({ where: { slug: 'sneaky' } })).toBe(0);
  });
});

describe('tenant isolation: an admin of alpha and the objects of beta', () => {
  const beta = {} as { personId: string; did: string; session: string; clientId: string; deviceId: string };
  let alphaAdmin: Awaited<ReturnType<typeof adminClient>>;
  let betaPerson: AuthClient;

  beforeAll(async () => {
    await createTenant('alpha');
    await createTenant('beta');
    alphaAdmin = await adminClient(svc, hw, 'tenant-admin', { tenant: 'alpha' });
    await new AuthClient(svc.url, undefined, 'alpha').signUp('alpha-person');
    betaPerson = new AuthClient(svc.url, undefined, 'beta');
    const up = await betaPerson.signUp('beta-person');
    expect(up.status).toBe(201);
    const account = up.body.account as { id: string; did: string };
    beta.personId = account.id;
    beta.did = account.did;
    const betaId = (await db().tenant.findUniqueOrThrow({ where: { slug: 'beta' } })).id;
    beta.session = (
      await db().session.findFirstOrThrow({ where: { accountId: account.id, endedAt: null } })
    ).publicId;
    beta.clientId = (await makeClient(svc.service, { client_name: 'Beta app' }, 'beta')).client.client_id;
    beta.deviceId = (
      await db().riskDevice.create({
        data: { tenantId: betaId, accountId: account.id, thumbmark: 'b'.repeat(32) },
      })
    ).id;
    // A policy version of beta's own (alpha has none with that number).
    const betaAdmin = await adminClient(svc, hw, 'tenant-admin', { tenant: 'beta' });
    expect(
      (await betaAdmin.call('POST', betaAdmin.t('/api/admin/policies'), { text: DEFAULT_POLICY })).status,
    ).toBe(201);
  });

  it('answers 404 for each of beta’s objects through alpha’s paths, and changes nothing', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['GET', `/people/${beta.personId}`],
      ['GET', `/people/${beta.personId}/sessions`],
      ['GET', `/people/${beta.personId}/devices`],
      ['PUT', `/people/${beta.personId}/roles`, { roles: ['tenant-admin'] }],
      ['POST', `/sessions/${beta.session}/end`, {}],
      ['DELETE', `/clients/${beta.clientId}`],
      ['POST', '/policies/1/activate', {}],
      ['GET', `/devices/${beta.deviceId}`],
      ['POST', `/devices/${beta.deviceId}/revoke`, {}],
    ];
    for (const [method, path, body] of calls) {
      const r = await alphaAdmin.call(method, alphaAdmin.t(`/api/admin${path}`), body);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(404);
      expect(r.body).toMatchObject({ code: 'not_found' });
    }
    // Beta's person, session, client, policy and device are untouched.
    expect((await db().account.findUniqueOrThrow({ where: { id: beta.personId } })).roles).toBe('[]');
    expect((await db().session.findUniqueOrThrow({ where: { publicId: beta.session } })).endedAt).toBeNull();
    expect(await db().oidcPayload.count({ where: { model: 'Client', id: beta.clientId } })).toBe(1);
    expect((await db().tenantPolicy.findFirstOrThrow({ where: { text: DEFAULT_POLICY } })).status).toBe(
      'draft',
    );
    expect((await db().riskDevice.findUniqueOrThrow({ where: { id: beta.deviceId } })).state).not.toBe(
      'revoked',
    );
    expect((await betaPerson.call('GET', betaPerson.t('/auth/session'))).status).toBe(200);
  });

  it('shows none of beta’s people, clients or risk assessments in alpha’s lists and searches', async () => {
    const people = await alphaAdmin.call<{ people: Array<{ id: string; username: string }> }>(
      'GET',
      alphaAdmin.t('/api/admin/people?limit=100'),
    );
    expect(people.status).toBe(200);
    expect(people.body.people.map((p) => p.username)).toContain('alpha-person');
    expect(people.body.people.map((p) => p.id)).not.toContain(beta.personId);
    for (const q of ['beta-person', beta.did]) {
      const found = await alphaAdmin.call<{ people: unknown[] }>(
        'GET',
        alphaAdmin.t(`/api/admin/people?q=${encodeURIComponent(q)}`),
      );
      expect(found.body.people).toEqual([]);
    }
    const clients = await alphaAdmin.call<{ clients: Array<{ client_id: string }> }>(
      'GET',
      alphaAdmin.t('/api/admin/clients'),
    );
    expect(clients.body.clients.map((c) => c.client_id)).not.toContain(beta.clientId);
    expect(await db().riskAttempt.count({ where: { accountId: beta.personId } })).toBeGreaterThan(0);
    const risk = await alphaAdmin.call<{ assessments: Array<{ accountId: string }> }>(
      'GET',
      alphaAdmin.t(`/api/admin/risk/assessments?account=${beta.personId}`),
    );
    expect(risk.status).toBe(200);
    expect(risk.body.assessments).toEqual([]);
    const all = await alphaAdmin.call<{ assessments: Array<{ accountId: string }> }>(
      'GET',
      alphaAdmin.t('/api/admin/risk/assessments?limit=100'),
    );
    expect(all.body.assessments.length).toBeGreaterThan(0);
    expect(all.body.assessments.map((a) => a.accountId)).not.toContain(beta.personId);
  });

  it('answers 404 on beta’s own admin paths to alpha’s admin, and 200 to a super-admin of default', async () => {
    for (const path of [
      '/people',
      `/people/${beta.personId}`,
      '/clients',
      '/policies',
      '/risk/assessments',
      '/settings',
    ]) {
      expect((await alphaAdmin.call('GET', `/t/beta/api/admin${path}`)).status, path).toBe(404);
      expect((await root.call('GET', `/t/beta/api/admin${path}`)).status, path).toBe(200);
    }
    const end = await alphaAdmin.call('POST', `/t/beta/api/admin/sessions/${beta.session}/end`, {});
    expect(end.status).toBe(404);
    expect((await db().session.findUniqueOrThrow({ where: { publicId: beta.session } })).endedAt).toBeNull();
  });
});

describe('people, sessions and roles', () => {
  it('pages and searches people, and refuses a forged cursor', async () => {
    await createTenant('paged');
    const admin = await adminClient(svc, hw, 'auditor', { tenant: 'paged', username: 'pg-auditor' });
    for (const name of ['carol', 'carla', 'dave']) {
      expect((await new AuthClient(svc.url, undefined, 'paged').signUp(name)).status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { body: { people: Array<{ username: string }>; next: string | null } } = await admin.call(
        'GET',
        admin.t(`/api/admin/people?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(r.body.people.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.people.map((p) => p.username));
      cursor = r.body.next;
    } while (cursor);
    expect(seen.sort()).toEqual(['carla', 'carol', 'dave', 'pg-auditor']);
    const search = await admin.call<{ people: Array<{ username: string }> }>(
      'GET',
      admin.t('/api/admin/people?q=CAR'),
    );
    expect(search.body.people.map((p) => p.username).sort()).toEqual(['carla', 'carol']);
    const forged = Buffer.from('{"at":"nope","id":"x"}').toString('base64url');
    const bad = await admin.call('GET', admin.t(`/api/admin/people?cursor=${forged}`));
    expect(bad.status).toBe(400);
  });

  it('shows a person’s factors and sessions; ending a session signs them out at once and is audited', async () => {
    const helpdesk = await adminClient(svc, hw, 'helpdesk');
    const person = new AuthClient(svc.url);
    const up = await person.signUp('ended-person');
    const id = (up.body.account as { id: string }).id;
    const detail = await helpdesk.call('GET', helpdesk.t(`/api/admin/people/${id}`));
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      id,
      username: 'ended-person',
      roles: [],
      factors: { passkeys: 1, hardwareBoundPasskeys: 0, totp: false },
      liveSessions: 1,
    });
    const sessions = await helpdesk.call<{ sessions: Array<{ id: string; aal: number; acr: string }> }>(
      'GET',
      helpdesk.t(`/api/admin/people/${id}/sessions`),
    );
    expect(sessions.body.sessions).toHaveLength(1);
    expect(sessions.body.sessions[0]).toMatchObject({ aal: 2, acr: 'phr' });
    expect(JSON.stringify(sessions.body)).not.toContain(person.cookieHeader().split('=')[1]!);
    const publicId = sessions.body.sessions[0]!.id;
    expect((await person.call('GET', person.t('/auth/session'))).status).toBe(200);
    const end = await helpdesk.call('POST', helpdesk.t(`/api/admin/sessions/${publicId}/end`), {});
    expect(end.body).toEqual({ id: publicId, ended: true });
    expect((await person.call('GET', person.t('/auth/session'))).status).toBe(401);
    const again = await helpdesk.call('POST', helpdesk.t(`/api/admin/sessions/${publicId}/end`), {});
    expect(again.body).toEqual({ id: publicId, ended: false });
    const row = await db().session.findUniqueOrThrow({ where: { publicId } });
    expect(row.endReason).toBe('ended_by_admin');
    expect(await db().securityEvent.count({ where: { type: 'admin.session_ended', accountId: id } })).toBe(1);
  });

  it('filters risk assessments by account, outcome and time', async () => {
    const admin = await adminClient(svc, hw, 'auditor');
    const person = new AuthClient(svc.url);
    const id = ((await person.signUp('risky-person')).body.account as { id: string }).id;
    const mine = await admin.call<{
      assessments: Array<{ accountId: string; outcome: string; score: number }>;
    }>('GET', admin.t(`/api/admin/risk/assessments?account=${id}`));
    expect(mine.body.assessments.length).toBeGreaterThan(0);
    expect(mine.body.assessments.every((a) => a.accountId === id)).toBe(true);
    expect(mine.body.assessments[0]).toMatchObject({ outcome: 'success', score: expect.any(Number) });
    const denied = await admin.call<{ assessments: unknown[] }>(
      'GET',
      admin.t(`/api/admin/risk/assessments?account=${id}&outcome=denied`),
    );
    expect(denied.body.assessments).toEqual([]);
    const future = new Date(Date.now() + 60_000).toISOString();
    const later = await admin.call<{ assessments: unknown[] }>(
      'GET',
      admin.t(`/api/admin/risk/assessments?since=${future}`),
    );
    expect(later.body.assessments).toEqual([]);
    expect((await admin.call('GET', admin.t('/api/admin/risk/assessments?outcome=maybe'))).status).toBe(400);
  });

  it('lets a tenant admin set roles but not grant super-admin; a super-admin may; the last super-admin keeps it', async () => {
    const tenantAdmin = await adminClient(svc, hw, 'tenant-admin');
    const person = new AuthClient(svc.url);
    const id = ((await person.signUp('promoted')).body.account as { id: string }).id;
    const set = await tenantAdmin.call('PUT', tenantAdmin.t(`/api/admin/people/${id}/roles`), {
      roles: ['helpdesk', 'auditor', 'helpdesk'],
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ roles: ['auditor', 'helpdesk'] });
    const grab = await tenantAdmin.call('PUT', tenantAdmin.t(`/api/admin/people/${id}/roles`), {
      roles: ['super-admin'],
    });
    expect(grab.status).toBe(403);
    const self = await tenantAdmin.call(
      'PUT',
      tenantAdmin.t(`/api/admin/people/${tenantAdmin.accountId}/roles`),
      {
        roles: ['tenant-admin', 'super-admin'],
      },
    );
    expect(self.status).toBe(403);
    expect((await db().account.findUniqueOrThrow({ where: { id } })).roles).toBe('["auditor","helpdesk"]');
    expect(
      (await tenantAdmin.call('PUT', tenantAdmin.t(`/api/admin/people/${id}/roles`), { roles: ['root'] }))
        .status,
    ).toBe(400);

    // Only root is super-admin so far: it cannot drop the role; once there is another, it can.
    const drop = await root.call('PUT', root.t(`/api/admin/people/${root.accountId}/roles`), { roles: [] });
    expect(drop.status).toBe(409);
    expect(drop.body).toMatchObject({ code: 'last_super_admin' });
    const grant = await root.call('PUT', root.t(`/api/admin/people/${id}/roles`), { roles: ['super-admin'] });
    expect(grant.status).toBe(200);
    expect(await db().securityEvent.count({ where: { type: 'admin.roles_changed', accountId: id } })).toBe(2);
    const revoke = await root.call('PUT', root.t(`/api/admin/people/${id}/roles`), { roles: [] });
    expect(revoke.status).toBe(200);
  });
});
