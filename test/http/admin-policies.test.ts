/**
 * Tenant policy administration: only admins read and change it (role matrix: none, auditor,
 * tenant-admin, stale session, AAL2-only admin); admins sign up with a hardware security key, since
 * changes need a fresh AAL3 / `phrh` sign-in; an invalid policy is refused with Cedar's message and position and the
 * active policy stays; a draft is replayed against real attempts before activation; activation takes
 * effect on the next sign-in; rollback restores the previous policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let hw: HardwareAttestation;
beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000', TRUST_PROXY: 'loopback' });
});
afterAll(async () => {
  await svc?.destroy();
  hw?.remove();
});

const DENY_US = `@id("allow-all")
permit (principal, action in Action::"AnyOperation", resource);

@id("deny-us")
@reason("No sign-ins from the US")
forbid (principal, action == Action::"SignIn", resource)
when { context.geo.country == "US" };
`;

/** A person with `roles`, signed up with a security key (AAL3 / `phrh`), or a synced passkey (AAL2). */
async function personWithRoles(username: string, roles: string[], options: { hardware?: boolean } = {}) {
  return adminClient(svc, hw, roles, { username, ...options });
}

const RFC9470_PHRH = /^Bearer error="insufficient_user_authentication".*acr_values="phrh", max_age=300$/;

describe('who may read and change the policy', () => {
  it('refuses people without a role (403), lets auditors read but not write, and admins do both', async () => {
    const nobody = await personWithRoles('nobody', []);
    expect((await nobody.call('GET', nobody.t('/api/admin/policies'))).status).toBe(403);
    const auditor = await personWithRoles('auditor1', ['auditor']);
    expect((await auditor.call('GET', auditor.t('/api/admin/policies'))).status).toBe(200);
    const write = await auditor.call('POST', auditor.t('/api/admin/policies'), { text: DENY_US });
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ code: 'forbidden' });
    const anonymous = new AuthClient(svc.url);
    expect((await anonymous.call('GET', anonymous.t('/api/admin/policies'))).status).toBe(401);
  });

  it('asks an admin whose last proof is old to step up before a change (RFC 9470)', async () => {
    const admin = await personWithRoles('staleadmin', ['tenant-admin']);
    await svc.service.store.db.session.updateMany({
      where: { endedAt: null, account: { username: 'staleadmin' } },
      data: { authTime: new Date(Date.now() - 3_600_000) },
    });
    const r = await admin.call('POST', admin.t('/api/admin/policies'), { text: DENY_US });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'insufficient_user_authentication' });
    expect(r.headers.get('www-authenticate')).toMatch(RFC9470_PHRH);
    expect(await svc.service.store.db.tenantPolicy.count({ where: { text: DENY_US } })).toBe(0);
  });

  it('gives an AAL2-only admin (synced passkey) the phrh challenge on every change, and still lets them read', async () => {
    const admin = await personWithRoles('aal2admin', ['tenant-admin'], { hardware: false });
    expect((await admin.call('GET', admin.t('/api/admin/policies'))).status).toBe(200);
    expect((await admin.call('GET', admin.t('/api/admin/settings'))).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/api/admin/policies', { text: DENY_US }],
      ['POST', '/api/admin/policies/rollback', {}],
      ['PATCH', '/api/admin/settings', { displayName: 'Changed' }],
      ['PUT', '/api/admin/risk/weights', { weights: { device: 0 } }],
    ] as const) {
      const r = await admin.call(method, admin.t(path), body);
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.body).toMatchObject({ required: { acr_values: 'phrh', max_age: 300 } });
      expect(r.headers.get('www-authenticate')).toMatch(RFC9470_PHRH);
    }
    const tenant = await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } });
    expect(tenant.displayName).not.toBe('Changed');
  });
});

describe('policy lifecycle', () => {
  it('refuses an invalid policy with Cedar’s message, line and column; the default policy stays active', async () => {
    const admin = await personWithRoles('admin1', ['tenant-admin']);
    const bad =
      'permit (principal, action in Action::"AnyOperation", resource)\nwhen { context.geo.contry == "US" };';
    const r = await admin.call<{
      code: string;
      errors: Array<{ message: string; line?: number; column?: number }>;
    }>('POST', admin.t('/api/admin/policies'), { text: bad });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('invalid_policy');
    expect(r.body.errors[0]!.message).toMatch(/contry/);
    expect(r.body.errors[0]!.line).toBe(2);
    const syntax = await admin.call<{ errors: Array<{ line?: number }> }>(
      'POST',
      admin.t('/api/admin/policies/validate'),
      {
        text: 'permit (principal, action, resource',
      },
    );
    expect(syntax.body).toMatchObject({ valid: false });
    expect(syntax.body.errors[0]!.line).toBe(1);
    const list = await admin.call('GET', admin.t('/api/admin/policies'));
    expect(list.body).toMatchObject({ active: null, versions: [] });
  });

  it('replays a draft, activates it (a US sign-in is then refused), and rolls back to the default', async () => {
    const admin = await personWithRoles('admin2', ['tenant-admin']);
    // A real sign-in from the US under the default policy, to replay against.
    const visitor = new AuthClient(svc.url);
    const options = await visitor.registrationOptions('visitor');
    const up = await visitor.call(
      'POST',
      visitor.t('/auth/sign-up/verify'),
      { response: visitor.register(options.body.options) },
      { 'x-forwarded-for': '8.8.8.8' },
    );
    expect(up.status).toBe(201);

    const draft = await admin.call<{ version: number; status: string }>(
      'POST',
      admin.t('/api/admin/policies'),
      {
        text: DENY_US,
      },
    );
    expect(draft.status).toBe(201);
    expect(draft.body).toMatchObject({ version: 1, status: 'draft' });
    const replay = await admin.call<{ before: { deny: number }; after: { deny: number } }>(
      'POST',
      admin.t('/api/admin/policies/replay'),
      { version: 1 },
    );
    expect(replay.status).toBe(200);
    expect(replay.body.after.deny).toBeGreaterThan(replay.body.before.deny ?? 0);

    expect((await admin.call('POST', admin.t('/api/admin/policies/1/activate'), {})).status).toBe(200);
    // The active policy is cached for up to two seconds per instance.
    await new Promise((r) => setTimeout(r, 2_100));
    const fromUs = visitor.fork();
    const signIn = async () => {
      const o = await fromUs.call<{ options: Parameters<AuthClient['assert']>[0] }>(
        'POST',
        fromUs.t('/auth/passkey/options'),
        {},
        { 'x-forwarded-for': '8.8.8.8' },
      );
      return fromUs.call(
        'POST',
        fromUs.t('/auth/passkey/verify'),
        { response: fromUs.assert(o.body.options) },
        { 'x-forwarded-for': '8.8.8.8' },
      );
    };
    const refused = await signIn();
    expect(refused.status).toBe(403);
    expect(refused.body.reasons).toContain('deny-us');

    const rolled = await admin.call('POST', admin.t('/api/admin/policies/rollback'), {});
    expect(rolled.body).toMatchObject({ active: null });
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await signIn()).status).toBe(200);
  });
});

describe('risk weights', () => {
  it('lets an admin set per-tenant weights, validated, and the next assessment uses them', async () => {
    const admin = await personWithRoles('admin3', ['tenant-admin']);
    const bad = await admin.call('PUT', admin.t('/api/admin/risk/weights'), {
      weights: { 'device.new': -1 },
    });
    expect(bad.status).toBe(400);
    const ok = await admin.call('PUT', admin.t('/api/admin/risk/weights'), { weights: { device: 0 } });
    expect(ok.status).toBe(200);
    expect((await admin.call('GET', admin.t('/api/admin/risk/weights'))).body).toEqual({
      weights: { device: 0 },
    });
    // A new person's first sign-in is a new device; muted, it adds nothing to the score.
    await new Promise((r) => setTimeout(r, 2_100));
    const c = new AuthClient(svc.url);
    const up = await c.call<{ options: Parameters<AuthClient['register']>[0] }>(
      'POST',
      c.t('/auth/sign-up/options'),
      {
        username: 'weighted',
      },
    );
    const r = await c.call('POST', c.t('/auth/sign-up/verify'), {
      response: c.register(up.body.options),
      risk: { device: { thumbmark: 'a'.repeat(32), components: { audio: 'x1' } } },
    });
    expect(r.status).toBe(201);
    const row = await svc.service.store.db.riskAttempt.findFirstOrThrow({
      where: { accountId: (r.body.account as { id: string }).id },
    });
    const device = (
      JSON.parse(row.assessment) as {
        contributions: Array<{ signal: string; weight: number; weighted: number }>;
      }
    ).contributions.find((x) => x.signal === 'device');
    expect(device).toMatchObject({ weight: 0, weighted: 0 });
    expect(row.score).toBe(0);
  });
});

describe('simulation', () => {
  it('replays attempts against a fresh history: the same person from the US an hour after Germany is refused', async () => {
    const admin = await personWithRoles('admin4', ['tenant-admin']);
    const t0 = Date.parse('2026-11-01T09:00:00Z');
    const device = (seed: string) => ({
      thumbmark: Buffer.from(seed).toString('hex').padEnd(32, '0'),
      components: Object.fromEntries(
        ['audio', 'canvas', 'fonts', 'math', 'plugins', 'webgl', 'gpu', 'cores', 'depth'].map((k) => [
          k,
          `${seed}${k}`,
        ]),
      ),
    });
    const attempts = [
      { personKey: 'p1', at: t0, ip: '91.0.0.1', device: device('laptop'), outcome: 'success' },
      { personKey: 'p1', at: t0 + 86_400_000, ip: '91.0.0.1', device: device('laptop'), outcome: 'success' },
      {
        personKey: 'p1',
        at: t0 + 86_400_000 + 3_600_000,
        ip: '8.8.8.8',
        device: device('stranger'),
        outcome: 'success',
      },
    ];
    const r = await admin.call<{ results: Array<{ outcome: string; reasons?: string[] }> }>(
      'POST',
      admin.t('/api/admin/risk/simulate'),
      { attempts },
    );
    expect(r.status).toBe(200);
    expect(r.body.results).toHaveLength(3);
    expect(r.body.results[1]!.outcome).toBe('allow');
    expect(r.body.results[2]!.outcome).toBe('deny');
    expect(JSON.stringify(r.body.results[2])).toContain('travel.impossible');
    // Nothing of the simulation is stored as a real attempt.
    expect(await svc.service.store.db.riskAttempt.count({ where: { accountId: 'p1' } })).toBe(0);
    const bad = await admin.call('POST', admin.t('/api/admin/risk/simulate'), {
      attempts: [{ at: 'yesterday' }],
    });
    expect(bad.status).toBe(400);
  });
});

describe('tenant settings', () => {
  it('lets an admin require trusted attestation: an unattested passkey is then refused at sign-up', async () => {
    const admin = await personWithRoles('admin5', ['tenant-admin']);
    const bad = await admin.call('PATCH', admin.t('/api/admin/settings'), { stepUpWindowSeconds: 5 });
    expect(bad.status).toBe(400);
    const r = await admin.call('PATCH', admin.t('/api/admin/settings'), { attestationPolicy: 'trusted' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ attestationPolicy: 'trusted', stepUpWindowSeconds: 900 });
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const refused = await new AuthClient(svc.url).signUp('unattested');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'attestation_untrusted' });
    expect(
      (await admin.call('PATCH', admin.t('/api/admin/settings'), { attestationPolicy: 'any' })).status,
    ).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const nobody = await personWithRoles('notadmin', []);
    expect(
      (await nobody.call('PATCH', nobody.t('/api/admin/settings'), { attestationPolicy: 'any' })).status,
    ).toBe(403);
  });
});
