/**
 * Verifies a tenant's audit chain and names the FIRST broken record. It walks the records in `seq`
 * order, in batches (constant memory, any length), and checks, per record:
 *
 *   missing_record      seq is not the previous one + 1: a record was deleted (or its seq cleared)
 *   prev_hash_mismatch  prevHash is not the previous record's hash: records were reordered or spliced
 *   hash_mismatch       the hash recomputed from the record's fields differs: the record was edited
 *   anchor_mismatch     the head anchored on chain at this seq differs: the log was rewritten from an
 *                       earlier record on (an edit followed by recomputing every later hash), somewhere
 *                       after the previous matching anchor
 * and after the last record:
 *   truncated           an anchor or the stored head is past the last record: the tail was deleted
 *   head_mismatch       the stored head's hash is not the last record's
 *
 * The on-chain anchors are the only check a database administrator cannot satisfy by rewriting rows;
 * the latest anchor is always read from the chain, so any rewrite before it is caught.
 */
import type { AuditAnchor } from '../store/generated/postgres/client.ts';
import type { Store } from '../store/index.ts';
import { GENESIS_HASH, recomputeHash, type StoredRecord } from './chain.ts';

/** Why a record breaks the chain. */
export type BreakReason =
  | 'missing_record'
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'anchor_mismatch'
  | 'truncated'
  | 'head_mismatch';

export interface VerifyResult {
  ok: boolean;
  tenantId: string;
  /** Chained records walked (up to the first break). */
  records: number;
  /** On-chain anchors compared with the recomputed chain. */
  anchorsChecked: number;
  /** Set when the anchors could not be read (the chain is down, or anchoring is off). */
  anchorsUnavailable?: string;
  firstBroken?: { seq: number; reason: BreakReason; detail: string };
}

/** Where the anchored heads come from (the AuditAnchor contract). */
export interface AnchorSource {
  /** The tenant's latest anchored (seq, head); seq 0 when none. */
  latest(tenantId: string): Promise<{ seq: number; head: string }>;
  /** The head anchored at `seq` (hex, 0x-prefixed), or null. */
  headAt(tenantId: string, seq: number): Promise<string | null>;
}

export interface VerifyOptions {
  /** Null when anchoring is off: only the hash chain is checked. */
  anchors: AnchorSource | null;
  /** Records read per query (default 500). */
  batchSize?: number;
}

/** The columns of a chained record (what the hash covers, and the chain links). */
export const RECORD_COLUMNS = {
  tenantId: true,
  seq: true,
  prevHash: true,
  hash: true,
  type: true,
  accountId: true,
  actor: true,
  detail: true,
  ip: true,
  createdAt: true,
} as const;

/** Reads the anchored heads: the latest one, and every seq the database says was anchored. */
async function anchoredHeads(
  store: Store,
  tenantId: string,
  source: AnchorSource,
): Promise<Map<number, string>> {
  const heads = new Map<number, string>();
  const latest = await source.latest(tenantId);
  if (latest.seq > 0) heads.set(latest.seq, latest.head.replace(/^0x/, ''));
  // The rows only say where to look; what counts is what the chain holds at each seq.
  const rows: Pick<AuditAnchor, 'seq'>[] = await store.db.auditAnchor.findMany({
    where: { tenantId, status: { in: ['submitted', 'anchored'] } },
    select: { seq: true },
  });
  const seqs = [...new Set(rows.map((r) => r.seq))].filter((s) => !heads.has(s) && s < latest.seq);
  for (let i = 0; i < seqs.length; i += 16) {
    const batch = seqs.slice(i, i + 16);
    const found = await Promise.all(batch.map((seq) => source.headAt(tenantId, seq)));
    batch.forEach((seq, j) => {
      const head = found[j];
      if (head) heads.set(seq, head.replace(/^0x/, ''));
    });
  }
  return heads;
}

function safeRecompute(row: StoredRecord): string | null {
  try {
    return recomputeHash(row);
  } catch {
    return null; // detail or actor is no longer JSON: edited
  }
}

/** Walks `tenantId`'s chain; see the module comment for what is checked. */
export async function verifyAuditChain(
  store: Store,
  tenantId: string,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const batchSize = options.batchSize ?? 500;
  let anchors = new Map<number, string>();
  let anchorsUnavailable: string | undefined;
  if (options.anchors) {
    try {
      anchors = await anchoredHeads(store, tenantId, options.anchors);
    } catch (err) {
      anchorsUnavailable = `anchors could not be read: ${(err as Error).message}`;
    }
  } else {
    anchorsUnavailable = 'audit anchoring is not configured';
  }
  const result = (records: number, anchorsChecked: number, firstBroken?: VerifyResult['firstBroken']) => ({
    ok: !firstBroken,
    tenantId,
    records,
    anchorsChecked,
    ...(anchorsUnavailable ? { anchorsUnavailable } : {}),
    ...(firstBroken ? { firstBroken } : {}),
  });

  let expected = 1;
  let prevHash = GENESIS_HASH;
  let anchorsChecked = 0;
  let lastGoodAnchor = 0;
  for (;;) {
    const rows = (await store.db.securityEvent.findMany({
      where: { tenantId, seq: { gte: expected } },
      orderBy: { seq: 'asc' },
      take: batchSize,
      select: RECORD_COLUMNS,
    })) as StoredRecord[];
    if (rows.length === 0) break;
    for (const row of rows) {
      const seq = row.seq!;
      if (seq !== expected) {
        return result(expected - 1, anchorsChecked, {
          seq: expected,
          reason: 'missing_record',
          detail: `record ${expected} is missing (the next record is ${seq})`,
        });
      }
      if (row.prevHash !== prevHash) {
        return result(expected - 1, anchorsChecked, {
          seq,
          reason: 'prev_hash_mismatch',
          detail: `record ${seq} does not follow record ${seq - 1} (reordered or spliced)`,
        });
      }
      if (safeRecompute(row) !== row.hash) {
        return result(expected - 1, anchorsChecked, {
          seq,
          reason: 'hash_mismatch',
          detail: `record ${seq} was changed after it was written`,
        });
      }
      const anchored = anchors.get(seq);
      if (anchored !== undefined) {
        anchorsChecked++;
        if (anchored !== row.hash) {
          return result(expected - 1, anchorsChecked, {
            seq,
            reason: 'anchor_mismatch',
            detail:
              `the head anchored on chain at record ${seq} differs from the recomputed chain: a record ` +
              `after ${lastGoodAnchor} was changed and the later hashes rewritten`,
          });
        }
        lastGoodAnchor = seq;
      }
      prevHash = row.hash!;
      expected++;
    }
  }
  const records = expected - 1;
  const beyond = [...anchors.keys()].filter((s) => s > records).sort((a, b) => a - b)[0];
  if (beyond !== undefined) {
    anchorsChecked++;
    return result(records, anchorsChecked, {
      seq: records + 1,
      reason: 'truncated',
      detail: `record ${beyond} was anchored on chain, but the log ends at record ${records}`,
    });
  }
  const head = await store.db.auditHead.findUnique({ where: { tenantId } });
  if (head && head.seq > records) {
    return result(records, anchorsChecked, {
      seq: records + 1,
      reason: 'truncated',
      detail: `the chain head is at record ${head.seq}, but the log ends at record ${records}`,
    });
  }
  if (head && (head.seq !== records || head.hash !== prevHash)) {
    return result(records, anchorsChecked, {
      seq: records,
      reason: 'head_mismatch',
      detail: `the stored chain head (record ${head.seq}) does not match record ${records}`,
    });
  }
  return result(records, anchorsChecked);
}
