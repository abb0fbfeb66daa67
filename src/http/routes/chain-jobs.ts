/**
 * Chain job status: where a relayed registry write stands (pending, sent, confirmed, failed).
 *
 * Not yet authorized: the job id is a random UUID (122 bits) handed only to whoever enqueued the job, so
 * it works as a capability until the identity routes put tenant and account checks in front of this.
 */
import { z } from 'zod';
import type { ChainOutbox } from '../../chain/outbox.ts';
import { NotFoundError } from '../../errors.ts';
import { defineRoute, type Route } from '../routes.ts';

export interface ChainJobRouteDeps {
  outbox: Pick<ChainOutbox, 'get'>;
}

const jobSchema = z
  .object({
    id: z.string(),
    kind: z.string().meta({ description: 'Registry operation, e.g. addDelegate, setAttributeSigned.' }),
    status: z.enum(['pending', 'sent', 'confirmed', 'failed']),
    txHash: z.string().nullable(),
    nonce: z.number().int().nullable().meta({ description: "The relayer's transaction nonce." }),
    blockNumber: z.number().int().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    confirmedAt: z.string().nullable(),
  })
  .meta({ id: 'ChainJob', description: 'A durable, relayed chain write.' });

/** `GET /api/chain/jobs/:id`. */
export function chainJobRoutes(deps: ChainJobRouteDeps): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/chain/jobs/:id',
      operationId: 'getChainJob',
      summary: 'Status of a relayed chain write (outbox job).',
      tags: ['chain'],
      params: z.object({ id: z.uuid().describe('Job id returned when the write was accepted.') }),
      responses: {
        200: { description: 'The job.', schema: jobSchema },
        404: { description: 'No such job.' },
      },
      handler: async ({ params, res }) => {
        const job = await deps.outbox.get(params.id);
        if (!job) throw new NotFoundError('No such chain job.');
        res.setHeader('Cache-Control', 'no-store');
        return {
          id: job.id,
          kind: job.kind,
          status: job.status,
          txHash: job.txHash,
          nonce: job.nonce,
          blockNumber: job.blockNumber,
          attempts: job.attempts,
          lastError: job.lastError,
          createdAt: job.createdAt,
          confirmedAt: job.confirmedAt,
        };
      },
    }),
  ];
}
