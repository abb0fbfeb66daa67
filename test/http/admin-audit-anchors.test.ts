/**
 * The audit verification as the console shows it: besides naming the first broken record, the answer
 * carries the stored chain head and the latest on-chain anchors (status, transaction, block), each read
 * back from the chain and compared with the record the log holds at that seq now, so an admin sees
 * which anchor a rewrite contradicts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/audit/events.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let hw: HardwareAttestation;
let auditor: Awaited<ReturnType<typeof adminClient>>;
let tenantId: string;

const db = () => svc.service.store.db;

/** Runs the anchoring worker until the tenant's anchors are mined and recorded. */
async function anchorNow(): Promise<void> {
  const anchoring = svc.service.auditAnchoring!;
  await anchoring.runOnce();
  for (const row of await db().auditAnchor.findMany({ where: { tenantId } })) {
    if (row.chainJobId) await svc.service.outbox.waitFor(row.chainJobId, 20_000);
  }
  await anchoring.runOnce();
}

interface Verification {
  ok: boolean;
  records: number;
  firstBroken?: { seq: number; reason: string };
  head: { seq: number; hash: string } | null;
  anchors: Array<{
    seq: number;
    status: string;
    head: string;
    txHash: string | null;
    blockNumber: number | null;
    anchoredAt: string | null;
    onChain: string;
  }>;
}

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({
    ...hw.env,
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    AUDIT_ANCHOR_EVERY: '3',
    AUDIT_ANCHOR_MINUTES: '600',
  });
  tenantId = (await db().tenant.create({ data: { slug: 'anchored', displayName: 'Anchored' } })).id;
  auditor = await adminClient(svc, hw, 'auditor', { tenant: 'anchored' });
  for (let i = 0; i < 4; i++) await recordEvent(db(), { tenantId, type: 'test.anchor', detail: { i } });
}, 60_000);

afterAll(async () => {
  await svc?.destroy();
  hw?.remove();
});

describe('audit verification with the head and the anchors', () => {
  it('answers the stored head: the last record, verified', async () => {
    const r = await auditor.call<Verification>('GET', auditor.t('/api/admin/audit/verify'));
    expect(r.status).toBe(200);
    const head = await db().auditHead.findUniqueOrThrow({ where: { tenantId } });
    expect(r.body).toMatchObject({ ok: true, records: head.seq, head: { seq: head.seq, hash: head.hash } });
    const last = await db().securityEvent.findUniqueOrThrow({
      where: { tenantId_seq: { tenantId, seq: head.seq } },
    });
    expect(head.hash).toBe(last.hash);
  });

  it('lists an anchored head with its transaction and block, matching the chain', async () => {
    await anchorNow();
    const r = await auditor.call<Verification>('GET', auditor.t('/api/admin/audit/verify'));
    const row = await db().auditAnchor.findFirstOrThrow({ where: { tenantId }, orderBy: { seq: 'desc' } });
    expect(r.body.ok).toBe(true);
    expect(r.body.anchors.map((a) => a.seq)).toEqual(
      [...r.body.anchors.map((a) => a.seq)].sort((a, b) => b - a),
    );
    expect(r.body.anchors[0]).toEqual({
      seq: row.seq,
      status: 'anchored',
      head: row.head,
      txHash: row.txHash,
      blockNumber: Number(row.blockNumber),
      anchoredAt: row.anchoredAt!.toISOString(),
      onChain: 'matches',
    });
    expect(r.body.anchors[0]!.txHash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('marks the anchor the log no longer agrees with after the anchored record is edited', async () => {
    const { seq } = await db().auditAnchor.findFirstOrThrow({
      where: { tenantId },
      orderBy: { seq: 'desc' },
    });
    // A rewrite that also recomputes the hash: the chain's head is what it contradicts.
    await db().securityEvent.update({
      where: { tenantId_seq: { tenantId, seq } },
      data: { hash: 'f'.repeat(64) },
    });
    const r = await auditor.call<Verification>('GET', auditor.t('/api/admin/audit/verify'));
    expect(r.body.ok).toBe(false);
    expect(r.body.firstBroken).toMatchObject({ seq });
    expect(r.body.anchors[0]).toMatchObject({ seq, onChain: 'differs' });
  });
});
