/**
 * A tenant's audit log for its admins (`ReadAudit`: auditors, tenant admins, super-admins): the records
 * newest first with filters, a verification of the hash chain and its on-chain anchors naming the
 * first broken record (with the stored head and the latest anchors, each checked against the chain),
 * and an export as JSON Lines for SIEMs (streamed in `seq` order).
 */
import type { Response } from 'express';
import { z } from 'zod';
import type { StoredRecord } from '../../audit/chain.ts';
import { type AnchorSource, RECORD_COLUMNS, verifyAuditChain } from '../../audit/verify.ts';
import type { Store } from '../../store/index.ts';
import { requireAdmin } from '../admin-auth.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface AdminAuditRouteDeps {
  store: Store;
  edge: SessionEdge;
  /** The on-chain anchors; null when anchoring is off. */
  anchors: () => AnchorSource | null;
}

const listQuery = z.object({
  type: z.string().min(1).max(100).optional().meta({ description: 'Only records of this type.' }),
  account: z.string().min(1).max(100).optional().meta({ description: 'Only records about this account id.' }),
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .meta({ description: 'Only records written at or after.' }),
  before: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .meta({ description: 'Page cursor: records with a smaller seq (the previous page’s `next`).' }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const recordSchema = z.object({
  seq: z.number().int(),
  prevHash: z.string(),
  hash: z.string(),
  type: z.string(),
  accountId: z.string().nullable(),
  actor: z.unknown(),
  detail: z.unknown(),
  ip: z.string().nullable(),
  createdAt: z.string(),
});

/** How many of the latest anchors the verification lists. */
const ANCHORS_SHOWN = 10;

/**
 * What the chain holds at an anchored seq, compared with the record's hash in the log now: `matches`,
 * `differs` (the log was rewritten there), `not_found` (not mined yet, or never), `unchecked` (no chain).
 */
const ON_CHAIN = ['matches', 'differs', 'not_found', 'unchecked'] as const;
type OnChain = (typeof ON_CHAIN)[number];

const anchorSchema = z.object({
  seq: z.number().int(),
  status: z.string().meta({ description: '`pending`, `submitted`, `anchored` or `failed`.' }),
  head: z.string(),
  txHash: z.string().nullable(),
  blockNumber: z.number().int().nullable(),
  anchoredAt: z.string().nullable(),
  onChain: z.enum(ON_CHAIN),
});

/** The latest anchors of the tenant, newest first, each read back from the chain. */
async function latestAnchors(store: Store, tenantId: string, source: AnchorSource | null) {
  const rows = await store.db.auditAnchor.findMany({
    where: { tenantId },
    orderBy: { seq: 'desc' },
    take: ANCHORS_SHOWN,
  });
  const logged = await store.db.securityEvent.findMany({
    where: { tenantId, seq: { in: rows.map((r) => r.seq) } },
    select: { seq: true, hash: true },
  });
  const hashAt = new Map(logged.map((r) => [r.seq, r.hash]));
  const check = async (seq: number): Promise<OnChain> => {
    if (!source) return 'unchecked';
    try {
      const head = await source.headAt(tenantId, seq);
      if (!head) return 'not_found';
      return head.replace(/^0x/, '') === hashAt.get(seq) ? 'matches' : 'differs';
    } catch {
      return 'unchecked';
    }
  };
  return Promise.all(
    rows.map(async (row) => ({
      seq: row.seq,
      status: row.status,
      head: row.head,
      txHash: row.txHash,
      blockNumber: row.blockNumber === null ? null : Number(row.blockNumber),
      anchoredAt: row.anchoredAt?.toISOString() ?? null,
      onChain: await check(row.seq),
    })),
  );
}

/** A record as the API and the export show it (detail and actor as JSON, not text). */
function view(row: StoredRecord) {
  const parse = (text: string | null) => {
    if (text === null) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text; // a tampered record is shown as stored; verification names it
    }
  };
  return {
    seq: row.seq!,
    prevHash: row.prevHash ?? '',
    hash: row.hash ?? '',
    type: row.type,
    accountId: row.accountId,
    actor: parse(row.actor),
    detail: parse(row.detail),
    ip: row.ip,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Writes `line`, waiting for the socket to drain when its buffer is full. */
async function writeLine(res: Response, line: string): Promise<void> {
  if (!res.write(line)) {
    await new Promise<void>((resolve, reject) => {
      res.once('drain', resolve);
      res.once('close', () => reject(new Error('client went away')));
    });
  }
}

export function adminAuditRoutes(deps: AdminAuditRouteDeps): Route[] {
  const { store, edge } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/audit',
      operationId: 'listAuditRecords',
      summary: 'The tenant’s audit records, newest first, filtered by type, account and time.',
      tags: ['admin', 'audit'],
      params: tenantParams,
      query: listQuery,
      responses: {
        200: {
          description:
            '`{ records, next }`: `next` is the `before` cursor of the next page (null at the end).',
          schema: z.object({ records: z.array(recordSchema), next: z.number().int().nullable() }),
        },
        403: { description: 'Not an admin of this tenant.' },
      },
      handler: async ({ req, res, params, query }) => {
        const { tenant } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadAudit' });
        const rows = (await store.db.securityEvent.findMany({
          where: {
            tenantId: tenant.id,
            seq: query.before === undefined ? { not: null } : { lt: query.before },
            ...(query.type ? { type: query.type } : {}),
            ...(query.account ? { accountId: query.account } : {}),
            ...(query.since ? { createdAt: { gte: new Date(query.since) } } : {}),
          },
          orderBy: { seq: 'desc' },
          take: query.limit + 1,
          select: RECORD_COLUMNS,
        })) as StoredRecord[];
        const page = rows.slice(0, query.limit);
        res.setHeader('Cache-Control', 'no-store');
        return {
          records: page.map(view),
          next: rows.length > query.limit ? (page.at(-1)?.seq ?? null) : null,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/audit/verify',
      operationId: 'verifyAuditChain',
      summary:
        'Verifies the tenant’s audit hash chain and its on-chain anchors; names the first broken record.',
      description:
        'Reasons: `missing_record` (deleted), `prev_hash_mismatch` (reordered), `hash_mismatch` (edited), ' +
        '`anchor_mismatch` (rewritten with recomputed hashes: only the chain catches it), `truncated`, ' +
        '`head_mismatch`.',
      tags: ['admin', 'audit'],
      params: tenantParams,
      responses: {
        200: {
          description:
            '`{ ok, records, anchorsChecked, firstBroken?, head, anchors }`: `records` intact records from ' +
            'seq 1; `head` the stored chain head; `anchors` the latest anchors, newest first.',
          schema: z.object({
            ok: z.boolean(),
            tenantId: z.string(),
            records: z.number().int(),
            anchorsChecked: z.number().int(),
            anchorsUnavailable: z.string().optional(),
            firstBroken: z
              .object({ seq: z.number().int(), reason: z.string(), detail: z.string() })
              .optional(),
            head: z.object({ seq: z.number().int(), hash: z.string() }).nullable(),
            anchors: z.array(anchorSchema),
          }),
        },
      },
      handler: async ({ req, res, params }) => {
        const { tenant } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadAudit' });
        res.setHeader('Cache-Control', 'no-store');
        const source = deps.anchors();
        const result = await verifyAuditChain(store, tenant.id, { anchors: source });
        const [head, anchors] = await Promise.all([
          store.db.auditHead.findUnique({
            where: { tenantId: tenant.id },
            select: { seq: true, hash: true },
          }),
          latestAnchors(store, tenant.id, source),
        ]);
        return { ...result, head, anchors };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/audit/export',
      operationId: 'exportAuditRecords',
      summary: 'Every audit record of the tenant as JSON Lines (`application/x-ndjson`), oldest first.',
      tags: ['admin', 'audit'],
      params: tenantParams,
      responses: {
        200: {
          description: 'One record per line, with seq, prevHash and hash.',
          contentType: 'application/x-ndjson',
        },
      },
      handler: async ({ req, res, params }) => {
        const { tenant } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadAudit' });
        res.status(200);
        res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader(
          'Content-Disposition',
          `attachment; filename="audit-${params.tenant}-${new Date().toISOString().slice(0, 10)}.jsonl"`,
        );
        let after = 0;
        for (;;) {
          const rows = (await store.db.securityEvent.findMany({
            where: { tenantId: tenant.id, seq: { gt: after } },
            orderBy: { seq: 'asc' },
            take: 500,
            select: RECORD_COLUMNS,
          })) as StoredRecord[];
          if (rows.length === 0) break;
          await writeLine(res, `${rows.map((r) => JSON.stringify(view(r))).join('\n')}\n`);
          after = rows.at(-1)!.seq!;
        }
        res.end();
        return undefined;
      },
    }),
  ];
}
