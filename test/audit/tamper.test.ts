/**
 * Tampering with the audit log, against a real service and its embedded chain (AuditAnchor deployed
 * at start, heads anchored through the chain outbox). A database administrator who edits a record,
 * deletes one, reorders two, or truncates the tail is caught by the hash chain itself; one who edits a
 * record and recomputes every later hash (and the stored head) passes every database check and is
 * caught only by the head anchored on chain.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainAnchorSource } from '../../src/audit/anchoring.ts';
import { recomputeHash } from '../../src/audit/chain.ts';
import { recordEvent } from '../../src/audit/events.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { readLatestAnchor } from '../../src/chain/audit-anchor.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ AUDIT_ANCHOR_EVERY: '5', AUDIT_ANCHOR_MINUTES: '60' });
});
afterAll(async () => {
  await svc?.destroy();
});

const db = () => svc.service.store.db;
const verify = (tenantId: string, withAnchors = true) =>
  verifyAuditChain(svc.service.store, tenantId, {
    anchors: withAnchors ? chainAnchorSource(svc.service.chain) : null,
  });

/** A tenant with `n` records, written in one transaction (so the worker anchors the head at `n`). */
async function seed(n: number): Promise<string> {
  const tenantId = randomUUID();
  await svc.service.store.tx(async (tx) => {
    for (let i = 1; i <= n; i++) {
      await recordEvent(tx, { tenantId, type: 'signin.succeeded', accountId: `acc-${i}`, detail: { i } });
    }
  });
  return tenantId;
}

/** Runs the anchoring worker until the tenant's anchors are mined and recorded. */
async function anchorNow(tenantId: string): Promise<void> {
  const anchoring = svc.service.auditAnchoring!;
  await anchoring.runOnce();
  for (const row of await db().auditAnchor.findMany({ where: { tenantId } })) {
    if (row.chainJobId) await svc.service.outbox.waitFor(row.chainJobId, 20_000);
  }
  await anchoring.runOnce();
}

const record = (tenantId: string, seq: number) =>
  db().securityEvent.findUniqueOrThrow({ where: { tenantId_seq: { tenantId, seq } } });

describe('anchoring', () => {
  it('deploys AuditAnchor on the embedded chain and shows its address at /api/chain', async () => {
    const address = svc.service.chain.auditAnchorAddress!;
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(await svc.service.chain.provider.getCode(address)).not.toBe('0x');
    const info = (await (await fetch(`${svc.url}/api/chain`)).json()) as { anchors: Record<string, string> };
    expect(info.anchors).toEqual({ audit: address });
  });

  it('anchors a head every N records through the outbox and records tx hash and block', async () => {
    const tenantId = await seed(7);
    await anchorNow(tenantId);
    const anchors = await db().auditAnchor.findMany({ where: { tenantId } });
    expect(anchors).toHaveLength(1);
    const head = await record(tenantId, 7);
    expect(anchors[0]).toMatchObject({ seq: 7, head: head.hash, status: 'anchored' });
    expect(anchors[0]!.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(anchors[0]!.blockNumber).toBeGreaterThan(0n);
    expect(await readLatestAnchor(svc.service.chain, tenantId)).toEqual({ seq: 7, head: `0x${head.hash}` });
    expect(await verify(tenantId)).toMatchObject({ ok: true, records: 7, anchorsChecked: 1 });
  });

  it('anchors fewer than N records once M minutes have passed, and not before', async () => {
    const tenantId = await seed(2);
    await svc.service.auditAnchoring!.runOnce();
    expect(await db().auditAnchor.count({ where: { tenantId } })).toBe(0);
    await svc.service.auditAnchoring!.runOnce(new Date(Date.now() + 61 * 60_000));
    expect(await db().auditAnchor.findFirst({ where: { tenantId } })).toMatchObject({ seq: 2 });
  });
});

describe('tampering', () => {
  it('catches an edited record (hash mismatch), naming it', async () => {
    const tenantId = await seed(10);
    await anchorNow(tenantId);
    await db().securityEvent.update({
      where: { tenantId_seq: { tenantId, seq: 4 } },
      data: { detail: JSON.stringify({ i: 40 }) },
    });
    expect(await verify(tenantId)).toMatchObject({
      ok: false,
      records: 3,
      firstBroken: { seq: 4, reason: 'hash_mismatch' },
    });
  });

  it('catches a deleted record (seq gap), naming the missing seq', async () => {
    const tenantId = await seed(10);
    await db().securityEvent.delete({ where: { tenantId_seq: { tenantId, seq: 6 } } });
    expect(await verify(tenantId)).toMatchObject({
      ok: false,
      firstBroken: { seq: 6, reason: 'missing_record' },
    });
  });

  it('catches two reordered records (prevHash mismatch)', async () => {
    const tenantId = await seed(10);
    const key = (seq: number) => ({ tenantId_seq: { tenantId, seq } });
    await db().securityEvent.update({ where: key(3), data: { seq: 1_000 } });
    await db().securityEvent.update({ where: key(4), data: { seq: 3 } });
    await db().securityEvent.update({ where: key(1_000), data: { seq: 4 } });
    expect(await verify(tenantId)).toMatchObject({
      ok: false,
      firstBroken: { seq: 3, reason: 'prev_hash_mismatch' },
    });
  });

  it('catches a deleted tail (against the stored head, and the anchor when the head is rewritten too)', async () => {
    const tenantId = await seed(10);
    await anchorNow(tenantId);
    await db().securityEvent.deleteMany({ where: { tenantId, seq: { gt: 8 } } });
    expect(await verify(tenantId)).toMatchObject({ ok: false, firstBroken: { seq: 9, reason: 'truncated' } });
    const last = await record(tenantId, 8);
    await db().auditHead.update({ where: { tenantId }, data: { seq: 8, hash: last.hash! } });
    expect(await verify(tenantId, false)).toMatchObject({ ok: true, records: 8 });
    expect(await verify(tenantId)).toMatchObject({ ok: false, firstBroken: { seq: 9, reason: 'truncated' } });
  });

  it('catches an edit with every later hash recomputed only by the on-chain anchor', async () => {
    const tenantId = await seed(10);
    await anchorNow(tenantId);
    expect(await verify(tenantId)).toMatchObject({ ok: true, anchorsChecked: 1 });

    // The attacker rewrites record 4, then re-links and re-hashes 4…10 and the stored head.
    let prevHash = (await record(tenantId, 3)).hash!;
    for (let seq = 4; seq <= 10; seq++) {
      const row = await record(tenantId, seq);
      const edited = {
        ...row,
        prevHash,
        ...(seq === 4 ? { accountId: 'someone-else', detail: JSON.stringify({ i: 4, hidden: true }) } : {}),
      };
      const hash = recomputeHash(edited);
      await db().securityEvent.update({
        where: { id: row.id },
        data: { prevHash, hash, accountId: edited.accountId, detail: edited.detail },
      });
      prevHash = hash;
    }
    await db().auditHead.update({ where: { tenantId }, data: { hash: prevHash } });
    // So is the anchor row the database holds: the chain keeps the truth.
    await db().auditAnchor.updateMany({ where: { tenantId }, data: { head: prevHash } });

    // Every database check passes …
    expect(await verify(tenantId, false)).toMatchObject({ ok: true, records: 10 });
    // … the anchor does not.
    expect(await verify(tenantId)).toMatchObject({
      ok: false,
      anchorsChecked: 1,
      firstBroken: { seq: 10, reason: 'anchor_mismatch' },
    });
  });
});
