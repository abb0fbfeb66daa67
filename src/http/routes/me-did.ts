/**
 * `GET /t/:tenant/api/me/did`: the signed-in person's DID for the portal. Its document and metadata
 * resolved through the service's own resolver (as `/1.0/identifiers/{did}`), the chain it lives on and
 * whether that chain answers now, and the recent chain jobs that changed it (every job of the account's
 * flows: DID operations, the delegate removals of device revocations, ownership and deactivation).
 *
 * The chain being down is a state to show, not an error: the answer stays 200 with `reachable: false`,
 * `document: null` and a `problem` saying why the document could not be read.
 */
import { z } from 'zod';
import { didOperationSummary } from '../../audit/plain-language.ts';
import type { ChainConnection } from '../../chain/index.ts';
import { type ChainJobView, view } from '../../chain/outbox.ts';
import { TrustgateError } from '../../errors.ts';
import { accountJobPrefix } from '../../flows/account-jobs.ts';
import type { DidResolverService } from '../../identity/resolver/index.ts';
import type { Store } from '../../store/index.ts';
import { withTimeout } from '../../util/timeout.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface MeDidRouteDeps {
  store: Store;
  edge: SessionEdge;
  resolver: Pick<DidResolverService, 'resolve'>;
  chain: ChainConnection;
  /** How long the chain may take to answer (default 3 s). */
  timeoutMs?: number;
}

/** Recent operations listed, newest first. */
const OPERATIONS = 20;

const didSchema = z
  .object({
    did: z.string(),
    document: z.record(z.string(), z.unknown()).nullable(),
    metadata: z.record(z.string(), z.unknown()),
    chain: z.object({
      chainId: z.number().int(),
      mode: z.enum(['embedded', 'external']),
      registry: z.string(),
      blockNumber: z.number().int().nullable(),
      reachable: z.boolean(),
    }),
    operations: z.array(
      z.object({
        id: z.string(),
        kind: z.string(),
        summary: z.string(),
        status: z.enum(['pending', 'sent', 'confirmed', 'failed']),
        txHash: z.string().nullable(),
        blockNumber: z.number().int().nullable(),
        createdAt: z.string(),
        confirmedAt: z.string().nullable(),
        error: z.string().nullable(),
      }),
    ),
    problem: z
      .object({ code: z.string(), detail: z.string() })
      .optional()
      .meta({ description: 'Why the document could not be read (the chain did not answer, …).' }),
  })
  .meta({ id: 'MyDid' });

function operationView(job: ChainJobView) {
  return {
    id: job.id,
    kind: job.kind,
    summary: didOperationSummary(job.kind, job.idempotencyKey),
    status: job.status,
    txHash: job.txHash,
    blockNumber: job.blockNumber,
    createdAt: job.createdAt,
    confirmedAt: job.confirmedAt,
    error: job.lastError,
  };
}

const UNREACHABLE = {
  code: 'chain_unavailable',
  detail: 'The chain did not answer; the DID document cannot be read now.',
};

/** The problem shown for a resolution that failed; only what is safe to show. */
function problemOf(err: unknown): { code: string; detail: string } {
  if (err instanceof TrustgateError) return { code: err.code, detail: err.expose ? err.message : err.title };
  return UNREACHABLE;
}

export function meDidRoutes(deps: MeDidRouteDeps): Route[] {
  const { edge, chain } = deps;
  const timeoutMs = deps.timeoutMs ?? 3_000;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/did',
      operationId: 'getMyDid',
      summary: 'My DID: its document and metadata, the chain and whether it answers, recent DID operations.',
      tags: ['identity'],
      params: tenantParams,
      responses: {
        200: {
          description: 'The DID (200 even when the chain is down: see `chain.reachable`).',
          schema: didSchema,
        },
        401: { description: 'No session.' },
      },
      handler: async ({ req, res, params }) => {
        const { account } = await edge.require(req, res, params.tenant);
        const [blockNumber, jobs] = await Promise.all([
          chain.ping(timeoutMs).catch(() => null),
          deps.store.db.chainJob.findMany({
            where: {
              tenantId: account.tenantId,
              idempotencyKey: { startsWith: accountJobPrefix(account.id) },
            },
            orderBy: { createdAt: 'desc' },
            take: OPERATIONS,
          }),
        ]);
        // A document served from the index while the chain is down could be out of date: none is shown.
        const resolved =
          blockNumber === null
            ? { error: UNREACHABLE }
            : await withTimeout(deps.resolver.resolve(account.did), timeoutMs, 'resolution timeout').then(
                (result) => ({ result }),
                (err: unknown) => ({ error: problemOf(err) }),
              );
        return {
          did: account.did,
          document:
            'result' in resolved ? (resolved.result.didDocument as Record<string, unknown> | null) : null,
          metadata: 'result' in resolved ? resolved.result.didDocumentMetadata : {},
          chain: {
            chainId: chain.chainId,
            mode: chain.mode,
            registry: chain.registryAddress,
            blockNumber,
            reachable: blockNumber !== null,
          },
          operations: jobs.map((job) => operationView(view(job))),
          ...('error' in resolved ? { problem: resolved.error } : {}),
        };
      },
    }),
  ];
}
