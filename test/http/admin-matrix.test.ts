/**
 * Role matrix over every admin endpoint: each endpoint of `ENDPOINTS` (the one table: method, path,
 * capability, sample call, expected success status, and how to see that the call took effect) is
 * called by each of `PRINCIPALS`: anonymous, a person without a role, helpdesk, auditor, tenant-admin,
 * a super-admin of another tenant, a tenant-admin of another tenant, and a tenant-admin and a
 * super-admin whose sign-in was not hardware-bound (AAL2 only, no step-up). The expected answer comes
 * from `expected` and the independent statement of what each role may do (`MAY`), not from src/.
 *
 *   anonymous                                → 401
 *   a role that may not, in its own tenant   → 403 (and a global endpoint for anyone but super-admin)
 *   any admin but a super-admin, elsewhere   → 404
 *   allowed, a change, without phrh          → 401 RFC 9470 challenge (acr_values="phrh", max_age=300)
 *   allowed                                  → the endpoint's success status
 *
 * Where a call changes something, `applied` checks that it took effect exactly when it was allowed, so a
 * refused change leaves nothing behind. A last test proves the table lists every admin route the
 * service serves (from /openapi.json). Runs on PostgreSQL (and Redis) when TEST_POSTGRES_URL
 * (TEST_REDIS_URL) is set, else on SQLite.
 */
import { createHash, randomBytes } from 'node:crypto';
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
/** The tenant the per-tenant endpoints are called on. */
const TENANT = 'acme';

interface Fixtures {
  tenantId: string;
  /** A person of `acme` without roles (the object of people endpoints). */
  personId: string;
}
const fx = {} as Fixtures;
const db = () => svc.service.store.db;

/** One call's path parameters and body, made fresh for calls that use something up. */
interface Call {
  params?: Record<string, string>;
  body?: unknown;
}

interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** As declared (`:tenant` is `acme`; global endpoints start with `/api/admin`). */
  route: string;
  /** The Cedar action the endpoint is meant to need. */
  action: string;
  /** Status of an allowed call. */
  ok: number;
  call?: () => Promise<Call> | Call;
  /** Whether the call's change is visible (for changes). */
  applied?: (call: Call) => Promise<boolean>;
}

// --- fixtures ---------------------------------------------------------------------------------------

const unique = () => randomBytes(4).toString('hex');
let calls = 0;

async function newSession(): Promise<string> {
  const now = Date.now();
  const row = await db().session.create({
    data: {
      id: randomBytes(32).toString('base64url'),
      tenantId: fx.tenantId,
      accountId: fx.personId,
      aal: 2,
      amr: '["hwk","user"]',
      factors: '[]',
      authTime: new Date(now),
      lastSeenAt: new Date(now),
      idleExpiresAt: new Date(now + 1_800_000),
      absoluteExpiresAt: new Date(now + 43_200_000),
    },
  });
  return row.publicId;
}

async function newPolicyVersion(status: 'draft' | 'active'): Promise<number> {
  const last = await db().tenantPolicy.findFirst({
    where: { tenantId: fx.tenantId },
    orderBy: { version: 'desc' },
  });
  const text = `${DEFAULT_POLICY}\n// ${unique()}\n`;
  if (status === 'active') {
    await db().tenantPolicy.updateMany({
      where: { tenantId: fx.tenantId, status: 'active' },
      data: { status: 'retired' },
    });
  }
  const row = await db().tenantPolicy.create({
    data: {
      tenantId: fx.tenantId,
      version: (last?.version ?? 0) + 1,
      text,
      hash: createHash('sha256').update(text).digest('hex'),
      status,
      ...(status === 'active' ? { activatedAt: new Date() } : {}),
    },
  });
  return row.version;
}

async function newDevice(): Promise<string> {
  const row = await db().riskDevice.create({
    data: { tenantId: fx.tenantId, accountId: fx.personId, thumbmark: unique().repeat(4) },
  });
  return row.id;
}

const policyStatus = async (version: string) =>
  (
    await db().tenantPolicy.findUniqueOrThrow({
      where: { tenantId_version: { tenantId: fx.tenantId, version: Number(version) } },
    })
  ).status;

// --- the table ----------------------------------------------------------------------------------------

/** Not a Cedar action: the endpoint answers any signed-in person of the tenant (and super-admins). */
const ANY_SIGNED_IN = 'ReadSelf';

const ENDPOINTS: Endpoint[] = [
  // people, sessions, roles, risk (admin-people.ts)
  { method: 'GET', route: '/t/:tenant/api/admin/people', action: 'ReadPeople', ok: 200 },
  {
    method: 'GET',
    route: '/t/:tenant/api/admin/people/:id',
    action: 'ReadPeople',
    ok: 200,
    call: () => ({ params: { id: fx.personId } }),
  },
  {
    method: 'GET',
    route: '/t/:tenant/api/admin/people/:id/sessions',
    action: 'ReadSessions',
    ok: 200,
    call: () => ({ params: { id: fx.personId } }),
  },
  {
    method: 'PUT',
    route: '/t/:tenant/api/admin/people/:id/roles',
    action: 'ManageRoles',
    ok: 200,
    call: async () => {
      await db().account.update({ where: { id: fx.personId }, data: { roles: '[]' } });
      return { params: { id: fx.personId }, body: { roles: ['auditor'] } };
    },
    applied: async () =>
      (await db().account.findUniqueOrThrow({ where: { id: fx.personId } })).roles === '["auditor"]',
  },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/sessions/:publicId/end',
    action: 'EndSession',
    ok: 200,
    call: async () => ({ params: { publicId: await newSession() }, body: {} }),
    applied: async (c) =>
      (await db().session.findUniqueOrThrow({ where: { publicId: c.params!.publicId! } })).endedAt !== null,
  },
  { method: 'GET', route: '/t/:tenant/api/admin/risk/assessments', action: 'ReadRisk', ok: 200 },
  { method: 'GET', route: '/t/:tenant/api/admin/dashboard', action: 'ReadRisk', ok: 200 },
  // who the console talks to (admin-me.ts): any signed-in person of the tenant
  { method: 'GET', route: '/t/:tenant/api/admin/me', action: ANY_SIGNED_IN, ok: 200 },

  // devices and revocations (admin-devices.ts)
  {
    method: 'GET',
    route: '/t/:tenant/api/admin/people/:accountId/devices',
    action: 'ReadDevices',
    ok: 200,
    call: () => ({ params: { accountId: fx.personId } }),
  },
  {
    method: 'GET',
    route: '/t/:tenant/api/admin/devices/:id',
    action: 'ReadDevices',
    ok: 200,
    call: async () => ({ params: { id: await newDevice() } }),
  },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/devices/:id/revoke',
    action: 'RevokeDevice',
    ok: 202,
    call: async () => ({ params: { id: await newDevice() }, body: { reason: 'lost' } }),
    applied: async (c) => (await db().deviceRevocation.count({ where: { deviceId: c.params!.id! } })) > 0,
  },
  {
    method: 'GET',
    route: '/t/:tenant/api/admin/revocations/:id',
    action: 'ReadDevices',
    ok: 200,
    call: async () => {
      const row = await db().deviceRevocation.create({
        data: {
          tenantId: fx.tenantId,
          accountId: fx.personId,
          deviceId: await newDevice(),
          requestedBy: '{"kind":"system"}',
        },
      });
      return { params: { id: row.id } };
    },
  },

  // policies, risk configuration and settings (admin-policies.ts)
  { method: 'GET', route: '/t/:tenant/api/admin/policies', action: 'ReadPolicies', ok: 200 },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/policies/validate',
    action: 'ReadPolicies',
    ok: 200,
    call: () => ({ body: { text: DEFAULT_POLICY } }),
  },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/policies',
    action: 'ManagePolicy',
    ok: 201,
    call: () => ({ body: { text: `${DEFAULT_POLICY}\n// ${unique()}\n` } }),
    applied: async (c) =>
      (await db().tenantPolicy.count({
        where: { tenantId: fx.tenantId, text: (c.body as { text: string }).text },
      })) === 1,
  },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/policies/:version/activate',
    action: 'ManagePolicy',
    ok: 200,
    call: async () => ({ params: { version: String(await newPolicyVersion('draft')) }, body: {} }),
    applied: async (c) => (await policyStatus(c.params!.version!)) === 'active',
  },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/policies/rollback',
    action: 'ManagePolicy',
    ok: 200,
    call: async () => ({ params: { version: String(await newPolicyVersion('active')) }, body: {} }),
    applied: async (c) => (await policyStatus(c.params!.version!)) === 'retired',
  },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/policies/replay',
    action: 'ReadPolicies',
    ok: 200,
    call: () => ({ body: { text: DEFAULT_POLICY, last: 10 } }),
  },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/risk/simulate',
    action: 'ReadPolicies',
    ok: 200,
    call: () => ({
      body: { attempts: [{ personKey: 'p1', at: Date.now(), ip: '91.0.0.1', outcome: 'success' }] },
    }),
  },
  { method: 'GET', route: '/t/:tenant/api/admin/settings', action: 'ReadSettings', ok: 200 },
  { method: 'GET', route: '/t/:tenant/api/admin/authenticators', action: 'ReadSettings', ok: 200 },
  {
    method: 'PATCH',
    route: '/t/:tenant/api/admin/settings',
    action: 'ManageSettings',
    ok: 200,
    call: () => ({ body: { displayName: `Acme ${unique()}` } }),
    applied: async (c) =>
      (await db().tenant.findUniqueOrThrow({ where: { id: fx.tenantId } })).displayName ===
      (c.body as { displayName: string }).displayName,
  },
  { method: 'GET', route: '/t/:tenant/api/admin/risk/weights', action: 'ReadPolicies', ok: 200 },
  {
    method: 'PUT',
    route: '/t/:tenant/api/admin/risk/weights',
    action: 'ManagePolicy',
    ok: 200,
    call: () => ({ body: { weights: { device: ++calls / 1000 } } }),
    applied: async (c) =>
      (await db().tenant.findUniqueOrThrow({ where: { id: fx.tenantId } })).riskWeights ===
      JSON.stringify((c.body as { weights: unknown }).weights),
  },

  // OpenID Connect clients (admin-clients.ts) and Shared Signals streams (admin-ssf.ts)
  { method: 'GET', route: '/t/:tenant/api/admin/clients', action: 'ReadClients', ok: 200 },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/clients',
    action: 'ManageClients',
    ok: 201,
    call: () => ({
      body: { client_name: `matrix-${unique()}`, redirect_uris: ['https://app.example/cb'] },
    }),
    applied: async (c) =>
      (await db().oidcPayload.count({
        where: {
          tenantId: fx.tenantId,
          model: 'Client',
          payload: { contains: (c.body as { client_name: string }).client_name },
        },
      })) === 1,
  },
  {
    method: 'DELETE',
    route: '/t/:tenant/api/admin/clients/:clientId',
    action: 'ManageClients',
    ok: 204,
    call: async () => {
      const { client } = await makeClient(svc.service, { client_name: 'doomed' }, TENANT);
      return { params: { clientId: client.client_id } };
    },
    applied: async (c) =>
      (await db().oidcPayload.count({
        where: { tenantId: fx.tenantId, model: 'Client', id: c.params!.clientId! },
      })) === 0,
  },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/initial-access-tokens',
    action: 'ManageClients',
    ok: 201,
    call: () => ({ body: { expiresInSeconds: 600 } }),
  },
  { method: 'GET', route: '/t/:tenant/api/admin/ssf/streams', action: 'ReadClients', ok: 200 },
  {
    method: 'POST',
    route: '/t/:tenant/api/admin/ssf/streams',
    action: 'ManageClients',
    ok: 201,
    call: () => ({ body: { endpointUrl: `https://receiver.example/ssf/${unique()}` } }),
    applied: async (c) =>
      (await db().ssfStream.count({
        where: { tenantId: fx.tenantId, endpointUrl: (c.body as { endpointUrl: string }).endpointUrl },
      })) === 1,
  },
  {
    method: 'DELETE',
    route: '/t/:tenant/api/admin/ssf/streams/:id',
    action: 'ManageClients',
    ok: 204,
    call: async () => {
      const row = await db().ssfStream.create({
        data: { tenantId: fx.tenantId, endpointUrl: 'https://receiver.example/ssf' },
      });
      return { params: { id: row.id } };
    },
    applied: async (c) => (await db().ssfStream.count({ where: { id: c.params!.id! } })) === 0,
  },

  // audit (admin-audit.ts)
  { method: 'GET', route: '/t/:tenant/api/admin/audit', action: 'ReadAudit', ok: 200 },
  { method: 'GET', route: '/t/:tenant/api/admin/audit/verify', action: 'ReadAudit', ok: 200 },
  { method: 'GET', route: '/t/:tenant/api/admin/audit/export', action: 'ReadAudit', ok: 200 },

  // tenants (admin-tenants.ts): global paths
  { method: 'GET', route: '/api/admin/tenants', action: 'ReadTenants', ok: 200 },
  {
    method: 'POST',
    route: '/api/admin/tenants',
    action: 'ManageTenants',
    ok: 201,
    call: () => ({ body: { slug: `m-${unique()}`, displayName: 'Matrix' } }),
    applied: async (c) =>
      (await db().tenant.count({ where: { slug: (c.body as { slug: string }).slug } })) === 1,
  },
  {
    method: 'GET',
    route: '/api/admin/tenants/:slug',
    action: 'ReadTenants',
    ok: 200,
    call: () => ({ params: { slug: TENANT } }),
  },
];

// --- who asks, and what they should get ---------------------------------------------------------------

interface Principal {
  /** Home tenant of the account; null for anonymous. */
  tenant: 'acme' | 'default' | null;
  roles: string[];
  /** Signed up with a hardware security key (AAL3 / phrh). */
  hardware: boolean;
}

const PRINCIPALS = {
  anonymous: { tenant: null, roles: [], hardware: false },
  'no role': { tenant: TENANT, roles: [], hardware: true },
  helpdesk: { tenant: TENANT, roles: ['helpdesk'], hardware: true },
  auditor: { tenant: TENANT, roles: ['auditor'], hardware: true },
  'tenant-admin': { tenant: TENANT, roles: ['tenant-admin'], hardware: true },
  'super-admin (of default)': { tenant: 'default', roles: ['super-admin'], hardware: true },
  'tenant-admin of another tenant': { tenant: 'default', roles: ['tenant-admin'], hardware: true },
  'tenant-admin without step-up (AAL2)': { tenant: TENANT, roles: ['tenant-admin'], hardware: false },
  'super-admin without step-up (AAL2)': { tenant: 'default', roles: ['super-admin'], hardware: false },
} satisfies Record<string, Principal>;
type Who = keyof typeof PRINCIPALS;

const GLOBAL_ACTIONS = new Set(['ReadTenants', 'ManageTenants']);
const TABLE_ACTIONS = new Set(ENDPOINTS.map((e) => e.action));

/** What each tenant role may do in its own tenant (the requirement; super-admin may do everything). */
const MAY: Record<string, ReadonlySet<string>> = {
  helpdesk: new Set(['ReadPeople', 'ReadDevices', 'ReadSessions', 'RevokeDevice', 'EndSession']),
  auditor: new Set([
    'ReadPeople',
    'ReadDevices',
    'ReadSessions',
    'ReadRisk',
    'ReadPolicies',
    'ReadSettings',
    'ReadClients',
    'ReadAudit',
  ]),
  'tenant-admin': new Set([...TABLE_ACTIONS].filter((a) => !GLOBAL_ACTIONS.has(a))),
};

const isChange = (action: string) => !action.startsWith('Read');

type Expected = number | 'phrh challenge';

function expected(endpoint: Endpoint, p: Principal): Expected {
  if (p.tenant === null) return 401;
  const superAdmin = p.roles.includes('super-admin');
  const allowed = GLOBAL_ACTIONS.has(endpoint.action)
    ? superAdmin
    : superAdmin ||
      (p.tenant === TENANT &&
        (endpoint.action === ANY_SIGNED_IN || p.roles.some((r) => MAY[r]?.has(endpoint.action))));
  if (!allowed) return GLOBAL_ACTIONS.has(endpoint.action) || p.tenant === TENANT ? 403 : 404;
  if (isChange(endpoint.action) && !p.hardware) return 'phrh challenge';
  return endpoint.ok;
}

// --- running it ----------------------------------------------------------------------------------------

const clients = {} as Record<Who, AuthClient>;

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  pg = TEST_POSTGRES_URL ? freshPostgresUrl() : undefined;
  svc = await startTestService({
    ...hw.env,
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    ...(pg && TEST_REDIS_URL ? { REDIS_URL: TEST_REDIS_URL } : {}),
  });
  fx.tenantId = (await db().tenant.create({ data: { slug: TENANT, displayName: 'Acme' } })).id;
  const person = new AuthClient(svc.url, undefined, TENANT);
  const up = await person.signUp('matrix-person');
  expect(up.status).toBe(201);
  fx.personId = (up.body.account as { id: string }).id;
  for (const [who, p] of Object.entries(PRINCIPALS) as Array<[Who, Principal]>) {
    clients[who] =
      p.tenant === null
        ? new AuthClient(svc.url, undefined, TENANT)
        : await adminClient(svc, hw, p.roles, { tenant: p.tenant, hardware: p.hardware });
  }
}, 120_000);
afterAll(async () => {
  await svc?.destroy();
  await pg?.drop();
  hw?.remove();
});

/** Sends a call as `client` (raw: the audit export is not JSON). */
async function send(client: AuthClient, endpoint: Endpoint, call: Call) {
  const path = endpoint.route.replace(/:([A-Za-z]+)/g, (_, name: string) =>
    name === 'tenant' ? TENANT : encodeURIComponent(call.params?.[name] ?? `missing-${name}`),
  );
  const res = await fetch(`${svc.url}${path}`, {
    method: endpoint.method,
    headers: {
      origin: client.origin,
      ...(client.cookies.size > 0 ? { cookie: client.cookieHeader() } : {}),
      ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe.each(ENDPOINTS)('$method $route ($action)', (endpoint) => {
  it.each(Object.keys(PRINCIPALS) as Who[])('as %s', async (who) => {
    const want = expected(endpoint, PRINCIPALS[who]);
    const call = (await endpoint.call?.()) ?? {};
    const r = await send(clients[who], endpoint, call);
    const detail = `${who}: ${r.status} ${r.text.slice(0, 300)}`;
    if (want === 'phrh challenge') {
      expect(r.status, detail).toBe(401);
      expect(r.headers.get('www-authenticate'), detail).toMatch(
        /^Bearer error="insufficient_user_authentication", .*acr_values="phrh", max_age=300$/,
      );
      expect(JSON.parse(r.text)).toMatchObject({ code: 'insufficient_user_authentication' });
    } else {
      expect(r.status, detail).toBe(want);
    }
    if (want !== 'phrh challenge' && want >= 400 && r.text) {
      // Every refusal is problem+json; a 404 says nothing about what exists.
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      if (want === 404) expect(JSON.parse(r.text)).toMatchObject({ code: 'not_found' });
    }
    if (endpoint.applied)
      expect(await endpoint.applied(call), `applied for ${who}`).toBe(want === endpoint.ok);
  });
});

describe('the table', () => {
  it('lists every admin route the service serves, and nothing else', async () => {
    const doc = (await (await fetch(`${svc.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const served = Object.entries(doc.paths)
      .filter(([path]) => path.includes('/api/admin'))
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const listed = ENDPOINTS.map((e) => `${e.method} ${e.route.replace(/:([A-Za-z]+)/g, '{$1}')}`).sort();
    expect(listed).toEqual(served);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('covers each principal kind with an expectation that differs somewhere (the matrix can fail)', () => {
    const outcomes = (Object.values(PRINCIPALS) as Principal[]).map((p) =>
      JSON.stringify(ENDPOINTS.map((e) => expected(e, p))),
    );
    expect(new Set(outcomes).size).toBe(outcomes.length);
  });
});
