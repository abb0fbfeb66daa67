/**
 * `GET /t/:tenant/api/admin/dashboard`: the risk dashboard's aggregates. Real sign-ins are counted on
 * the day they happen; for exact aggregates (days, buckets, rates, reasons, cities) the test inserts
 * RiskAttempt rows directly into a tenant where nobody signs in, and rows of another tenant that must
 * never show. Who may read it: ReadRisk (auditor, tenant-admin, super-admin), not helpdesk (403), not
 * another tenant's admin (404). Bad `days` is 400 problem+json. Runs on PostgreSQL when
 * TEST_POSTGRES_URL is set (the day is the one dialect-specific SQL expression), else on SQLite.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RiskDashboard } from '../../src/risk/dashboard.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import {
  freshPostgresUrl,
  startTestService,
  TEST_POSTGRES_URL,
  type TestService,
} from '../helpers/service.ts';

let svc: TestService;
let hw: HardwareAttestation;
let pg: ReturnType<typeof freshPostgresUrl> | undefined;
let root: Awaited<ReturnType<typeof adminClient>>;
let acmeId: string;

const DAY = 86_400_000;
const db = () => svc.service.store.db;

const PARIS = { city: 'Paris', country: 'FR', lat: 48.8566, lon: 2.3522 };
const LYON = { city: 'Lyon', country: 'FR', lat: 45.764, lon: 4.8357 };
const SYDNEY = { city: 'Sydney', country: 'AU', lat: -33.8688, lon: 151.2093 };

/** Midnight UTC today, and `k` days before it (plus `hours`). */
const todayStart = () => {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
};
const dayKey = (k: number) => new Date(todayStart() - k * DAY).toISOString().slice(0, 10);
const at = (k: number) => new Date(k === 0 ? todayStart() + 1_000 : todayStart() - k * DAY + 12 * 3_600_000);

interface Row {
  daysAgo: number;
  action?: string;
  decision: '' | 'allow' | 'step_up' | 'deny';
  score: number;
  reasons?: string[];
  place?: { city: string; country: string; lat: number; lon: number };
}

async function insert(tenantId: string, rows: Row[]) {
  await db().riskAttempt.createMany({
    data: rows.map((r) => ({
      tenantId,
      action: r.action ?? 'sign_in',
      at: at(r.daysAgo),
      outcome:
        r.decision === ''
          ? 'failure'
          : r.decision === 'allow'
            ? 'success'
            : r.decision === 'step_up'
              ? 'step_up'
              : 'denied',
      decision: r.decision,
      score: r.score,
      reasons: JSON.stringify(r.reasons ?? []),
      ...(r.place ?? {}),
    })),
  });
}

async function person(tenantId: string) {
  const address = `0x${randomBytes(20).toString('hex')}`;
  return db().account.create({ data: { tenantId, did: `did:ethr:0x7a69:${address}`, address } });
}

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  pg = TEST_POSTGRES_URL ? freshPostgresUrl() : undefined;
  svc = await startTestService({
    ...hw.env,
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    ...(pg ? { DATABASE_URL: pg.url } : {}),
  });
  acmeId = (await db().tenant.create({ data: { slug: 'acme', displayName: 'Acme' } })).id;
  const otherId = (await db().tenant.create({ data: { slug: 'other', displayName: 'Other' } })).id;
  // The reader is a super-admin of `default`: nobody signs in to `acme`, so its rows are only these.
  root = await adminClient(svc, hw, 'super-admin');
  await insert(acmeId, [
    { daysAgo: 0, decision: 'allow', score: 0, place: PARIS },
    // `allow-operations` is the default policy's permit: what let the attempt through, not a risk reason.
    { daysAgo: 0, decision: 'allow', score: 5, reasons: ['device.new', 'allow-operations'], place: PARIS },
    { daysAgo: 0, decision: 'allow', score: 12, reasons: ['time.unusual', 'network.hosting'], place: PARIS },
    {
      daysAgo: 0,
      decision: 'step_up',
      score: 55,
      reasons: ['device.new', 'geo.new_country', 'new-device-more-risk-hardware-key'],
      place: PARIS,
    },
    {
      daysAgo: 0,
      decision: 'deny',
      score: 100,
      reasons: ['device.revoked', 'deny-revoked-device'],
      place: SYDNEY,
    },
    { daysAgo: 0, decision: '', score: 0 },
    { daysAgo: 2, decision: 'allow', score: 20, place: LYON },
    { daysAgo: 2, decision: 'allow', score: 29, place: LYON },
    {
      daysAgo: 2,
      action: 'step_up',
      decision: 'allow',
      score: 100,
      reasons: ['travel.impossible'],
      place: LYON,
    },
    {
      daysAgo: 13,
      decision: 'deny',
      score: 70,
      reasons: ['travel.impossible', 'device.new', 'deny-impossible-travel-new-device'],
      place: SYDNEY,
    },
    { daysAgo: 14, decision: 'allow', score: 1, place: PARIS },
  ]);
  await insert(
    otherId,
    Array.from({ length: 5 }, () => ({
      daysAgo: 0,
      decision: 'deny' as const,
      score: 90,
      reasons: ['network.denied'],
      place: { city: 'Othertown', country: 'NZ', lat: -41, lon: 174 },
    })),
  );
  // Totals: two people, one live and one ended session, two devices in use and one revoked.
  const a = await person(acmeId);
  await person(acmeId);
  await person(otherId);
  const now = Date.now();
  for (const endedAt of [null, new Date(now)]) {
    await db().session.create({
      data: {
        id: randomBytes(32).toString('base64url'),
        tenantId: acmeId,
        accountId: a.id,
        aal: 2,
        amr: '[]',
        factors: '[]',
        authTime: new Date(now),
        lastSeenAt: new Date(now),
        idleExpiresAt: new Date(now + 1_800_000),
        absoluteExpiresAt: new Date(now + 43_200_000),
        endedAt,
      },
    });
  }
  for (const state of ['trusted', 'new', 'revoked']) {
    await db().riskDevice.create({
      data: { tenantId: acmeId, accountId: a.id, thumbmark: randomBytes(16).toString('hex'), state },
    });
  }
}, 120_000);
afterAll(async () => {
  await svc?.destroy();
  await pg?.drop();
  hw?.remove();
});

const dashboard = (client: AuthClient, tenant: string, query = '') =>
  client.call<RiskDashboard>('GET', `/t/${tenant}/api/admin/dashboard${query}`);

describe('the dashboard’s aggregates', () => {
  it('counts sign-ins per day over the window, zeros included, and only sign-ins', async () => {
    const r = await dashboard(root, 'acme');
    expect(r.status).toBe(200);
    expect(r.body.days).toBe(14);
    expect(r.body.signIns).toHaveLength(14);
    expect(r.body.signIns[0]!.day).toBe(dayKey(13));
    expect(r.body.signIns[13]!.day).toBe(dayKey(0));
    expect(r.body.from).toBe(`${dayKey(13)}T00:00:00.000Z`);
    const byDay = Object.fromEntries(r.body.signIns.map(({ day, ...c }) => [day, c]));
    expect(byDay[dayKey(0)]).toEqual({ allow: 3, stepUp: 1, deny: 1, failure: 1 });
    // The step-up attempt of that day is not a sign-in.
    expect(byDay[dayKey(2)]).toEqual({ allow: 2, stepUp: 0, deny: 0, failure: 0 });
    expect(byDay[dayKey(13)]).toEqual({ allow: 0, stepUp: 0, deny: 1, failure: 0 });
    expect(byDay[dayKey(1)]).toEqual({ allow: 0, stepUp: 0, deny: 0, failure: 0 });
  });

  it('totals decisions of every action, with rates among decided attempts', async () => {
    const { body } = await dashboard(root, 'acme');
    expect(body.decisions).toMatchObject({ allow: 6, stepUp: 1, deny: 2, failure: 1, total: 10 });
    expect(body.decisions.stepUpRate).toBeCloseTo(1 / 9, 10);
    expect(body.decisions.denyRate).toBeCloseTo(2 / 9, 10);
  });

  it('buckets decided scores by tens, 100 in the last bucket', async () => {
    const { body } = await dashboard(root, 'acme');
    expect(body.scores.map((b) => [b.from, b.to])).toEqual([
      [0, 9],
      [10, 19],
      [20, 29],
      [30, 39],
      [40, 49],
      [50, 59],
      [60, 69],
      [70, 79],
      [80, 89],
      [90, 100],
    ]);
    expect(body.scores.map((b) => b.count)).toEqual([2, 1, 2, 0, 0, 1, 0, 1, 0, 2]);
  });

  it('ranks the top 8 reasons with their explanations (signals’ and the policy’s)', async () => {
    const { body } = await dashboard(root, 'acme');
    expect(body.topReasons).toHaveLength(8);
    expect(body.topReasons.slice(0, 2)).toEqual([
      { reason: 'device.new', label: 'A new device', count: 3 },
      {
        reason: 'travel.impossible',
        label: 'Impossible travel since the last successful sign-in',
        count: 2,
      },
    ]);
    const labels = Object.fromEntries(body.topReasons.map((r) => [r.reason, r.label]));
    expect(labels['new-device-more-risk-hardware-key']).toBe(
      'A new device with more risk: sign in again with a hardware-bound passkey',
    );
    expect(labels['device.revoked']).toBe('A revoked device');
    // Nine reasons, ties by name: the ninth (time.unusual) is cut, another tenant's never counted.
    expect(body.topReasons.map((r) => r.reason)).not.toContain('time.unusual');
    expect(body.topReasons.map((r) => r.reason)).not.toContain('network.denied');
    expect(body.topReasons.map((r) => r.reason)).not.toContain('allow-operations');
  });

  it('groups located attempts by city with denied and step-up counts, never another tenant’s', async () => {
    const { body } = await dashboard(root, 'acme');
    expect(body.locations).toEqual([
      {
        ...PARIS,
        lat: expect.closeTo(PARIS.lat, 4),
        lon: expect.closeTo(PARIS.lon, 4),
        count: 4,
        denied: 0,
        stepUp: 1,
      },
      {
        ...LYON,
        lat: expect.closeTo(LYON.lat, 4),
        lon: expect.closeTo(LYON.lon, 4),
        count: 3,
        denied: 0,
        stepUp: 0,
      },
      {
        ...SYDNEY,
        lat: expect.closeTo(SYDNEY.lat, 4),
        lon: expect.closeTo(SYDNEY.lon, 4),
        count: 2,
        denied: 2,
        stepUp: 0,
      },
    ]);
  });

  it('counts people, live sessions and devices of the tenant', async () => {
    const { body } = await dashboard(root, 'acme');
    expect(body.totals).toEqual({ people: 2, activeSessions: 1, devices: 2, revokedDevices: 1 });
  });

  it('widens the window with days (the attempt 14 days ago enters at 15)', async () => {
    const { body } = await dashboard(root, 'acme', '?days=15');
    expect(body.signIns).toHaveLength(15);
    expect(body.signIns[0]).toEqual({ day: dayKey(14), allow: 1, stepUp: 0, deny: 0, failure: 0 });
    expect(body.locations[0]).toMatchObject({ city: 'Paris', count: 5 });
    const one = await dashboard(root, 'acme', '?days=1');
    expect(one.body.signIns).toEqual([{ day: dayKey(0), allow: 3, stepUp: 1, deny: 1, failure: 1 }]);
    expect(one.body.decisions.total).toBe(6);
  });

  it('counts real sign-ins on the day they happen', async () => {
    const before = await dashboard(root, 'default', '?days=1');
    const someone = new AuthClient(svc.url);
    expect((await someone.signUp('dashboard-person')).status).toBe(201);
    expect((await someone.fork().signIn()).status).toBe(200);
    const after = await dashboard(root, 'default', '?days=1');
    expect(after.body.signIns[0]!.allow - before.body.signIns[0]!.allow).toBe(2);
    expect(after.body.totals.people - before.body.totals.people).toBe(1);
  });
});

describe('who may read it', () => {
  it('refuses bad days with 400 problem+json invalid_request', async () => {
    for (const days of ['0', '91', '1.5', 'abc', '']) {
      const r = await dashboard(root, 'acme', `?days=${days}`);
      expect(r.status, days).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ code: 'invalid_request' });
    }
  });

  it('lets an auditor of the tenant read; refuses helpdesk (403) and another tenant’s admin (404)', async () => {
    const auditor = await adminClient(svc, hw, 'auditor', { tenant: 'other' });
    const own = await dashboard(auditor, 'other');
    expect(own.status).toBe(200);
    expect(own.body.locations.map((l) => l.city)).toContain('Othertown');
    expect(own.body.locations.map((l) => l.city)).not.toContain('Paris');

    const elsewhere = await dashboard(auditor, 'acme');
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body).toMatchObject({ code: 'not_found' });

    const helpdesk = await adminClient(svc, hw, 'helpdesk', { tenant: 'other' });
    const refused = await dashboard(helpdesk, 'other');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'forbidden' });
    expect((await dashboard(new AuthClient(svc.url, undefined, 'acme'), 'acme')).status).toBe(401);
  });
});
