/**
 * The audit admin API: list (newest first, filters, paging), verify, and the JSON Lines export; who may
 * read it (auditor, tenant-admin, super-admin; not helpdesk, not people without a role, not anonymous,
 * and another tenant's admin sees nothing: 404).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/audit/events.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let hw: HardwareAttestation;
let auditor: Awaited<ReturnType<typeof adminClient>>;
let defaultTenantId: string;

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000' });
  await svc.service.store.db.tenant.create({ data: { slug: 'other', displayName: 'Other' } });
  defaultTenantId = (await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
  auditor = await adminClient(svc, hw, 'auditor');
  for (let i = 0; i < 5; i++) {
    await recordEvent(svc.service.store.db, {
      tenantId: defaultTenantId,
      accountId: i % 2 === 0 ? 'acc-even' : 'acc-odd',
      type: i % 2 === 0 ? 'test.even' : 'test.odd',
      detail: { i },
    });
  }
}, 60_000);

afterAll(async () => {
  await svc?.destroy();
  hw?.remove();
});

interface ListBody {
  records: Array<{ seq: number; type: string; accountId: string | null; detail: { i?: number } }>;
  next: number | null;
}

async function exportLines(client: AuthClient, tenant = 'default') {
  const res = await fetch(`${svc.url}/t/${tenant}/api/admin/audit/export`, {
    headers: { cookie: client.cookieHeader(), origin: client.origin },
  });
  return { res, text: await res.text() };
}

describe('reading the audit log', () => {
  it('lists records newest first, with type, account and time filters and a seq cursor', async () => {
    const all = await auditor.call<ListBody>('GET', auditor.t('/api/admin/audit?limit=500'));
    expect(all.status).toBe(200);
    const seqs = all.body.records.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    // The auditor's own sign-up is in the log too.
    expect(
      all.body.records.some((r) => r.type === 'signup.succeeded' && r.accountId === auditor.accountId),
    ).toBe(true);

    const odd = await auditor.call<ListBody>('GET', auditor.t('/api/admin/audit?type=test.odd'));
    expect(odd.body.records.map((r) => r.detail.i)).toEqual([3, 1]);
    const even = await auditor.call<ListBody>('GET', auditor.t('/api/admin/audit?account=acc-even'));
    expect(even.body.records.map((r) => r.detail.i)).toEqual([4, 2, 0]);
    const future = new Date(Date.now() + 60_000).toISOString();
    const none = await auditor.call<ListBody>('GET', auditor.t(`/api/admin/audit?since=${future}`));
    expect(none.body.records).toEqual([]);

    const page1 = await auditor.call<ListBody>('GET', auditor.t('/api/admin/audit?type=test.even&limit=2'));
    expect(page1.body.records.map((r) => r.detail.i)).toEqual([4, 2]);
    expect(page1.body.next).toBe(page1.body.records[1]!.seq);
    const page2 = await auditor.call<ListBody>(
      'GET',
      auditor.t(`/api/admin/audit?type=test.even&limit=2&before=${page1.body.next}`),
    );
    expect(page2.body).toMatchObject({ records: [{ detail: { i: 0 } }], next: null });
  });

  it('refuses a malformed filter with 400 problem+json', async () => {
    const r = await auditor.call('GET', auditor.t('/api/admin/audit?since=yesterday'));
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
  });

  it('exports every record as JSON Lines, oldest first, each line linked to the previous', async () => {
    const { res, text } = await exportLines(auditor);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = text.trimEnd().split('\n');
    const records = lines.map((l) => JSON.parse(l) as { seq: number; prevHash: string; hash: string });
    expect(records.length).toBeGreaterThanOrEqual(6);
    records.forEach((r, i) => {
      expect(r.seq).toBe(i + 1);
      if (i > 0) expect(r.prevHash).toBe(records[i - 1]!.hash);
    });
    // Nothing secret: the session cookie of the admin who signed up is nowhere in the log.
    for (const value of auditor.cookies.values()) expect(text).not.toContain(value);
  });

  it('verifies the chain and names the first broken record after tampering', async () => {
    const ok = await auditor.call('GET', auditor.t('/api/admin/audit/verify'));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true });
    expect(ok.body.records).toBeGreaterThanOrEqual(6);

    const tenantId = (await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'other' } })).id;
    for (let i = 0; i < 3; i++)
      await recordEvent(svc.service.store.db, { tenantId, type: 'x', detail: { i } });
    await svc.service.store.db.securityEvent.update({
      where: { tenantId_seq: { tenantId, seq: 2 } },
      data: { ip: '203.0.113.9' },
    });
    const superAdmin = await adminClient(svc, hw, 'super-admin');
    const broken = await superAdmin.call('GET', '/t/other/api/admin/audit/verify');
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({ ok: false, firstBroken: { seq: 2, reason: 'hash_mismatch' } });
  });
});

describe('who may read the audit log', () => {
  it('lets auditors, tenant admins and super-admins read every audit endpoint', async () => {
    for (const role of ['auditor', 'tenant-admin', 'super-admin']) {
      const admin = await adminClient(svc, hw, role);
      for (const path of ['/api/admin/audit', '/api/admin/audit/verify']) {
        expect((await admin.call('GET', admin.t(path))).status, `${role} ${path}`).toBe(200);
      }
      expect((await exportLines(admin)).res.status, `${role} export`).toBe(200);
    }
  });

  it('refuses helpdesk and people without a role (403), and anonymous callers (401)', async () => {
    for (const roles of [['helpdesk'], []]) {
      const person = await adminClient(svc, hw, roles);
      for (const path of ['/api/admin/audit', '/api/admin/audit/verify']) {
        expect((await person.call('GET', person.t(path))).status, `${roles} ${path}`).toBe(403);
      }
      const { res, text } = await exportLines(person);
      expect(res.status).toBe(403);
      expect(text).not.toContain('"hash"');
    }
    const anonymous = new AuthClient(svc.url);
    expect((await anonymous.call('GET', anonymous.t('/api/admin/audit'))).status).toBe(401);
    expect((await exportLines(anonymous)).res.status).toBe(401);
  });

  it('answers 404 to another tenant’s admin for every audit endpoint', async () => {
    const otherAdmin = await adminClient(svc, hw, 'tenant-admin', { tenant: 'other' });
    expect((await otherAdmin.call('GET', otherAdmin.t('/api/admin/audit'))).status).toBe(200);
    for (const path of ['/api/admin/audit', '/api/admin/audit/verify']) {
      expect((await otherAdmin.call('GET', `/t/default${path}`)).status, path).toBe(404);
    }
    const { res, text } = await exportLines(otherAdmin, 'default');
    expect(res.status).toBe(404);
    expect(text).not.toContain('test.even');
  });
});
