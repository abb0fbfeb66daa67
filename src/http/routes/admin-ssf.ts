/**
 * Admin API for OpenID Shared Signals streams: the receivers a tenant pushes CAEP Security Event Tokens
 * to (RFC 8935 push), each for one of the tenant's clients or tenant-wide, with the event types it wants
 * and an optional Authorization header (write-only, sealed). Client-management rights (ReadClients, ManageClients).
 */
import { z } from 'zod';
import { type SsfStreams, type StreamInput, streamInput } from '../../ssf/streams.ts';
import { requireAdmin } from '../admin-auth.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface AdminSsfRouteDeps {
  edge: SessionEdge;
  streams: SsfStreams;
}

export function adminSsfRoutes(deps: AdminSsfRouteDeps): Route[] {
  const { edge, streams } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/ssf/streams',
      operationId: 'adminListSsfStreams',
      summary: 'The tenant’s Shared Signals streams (never their Authorization header).',
      tags: ['admin', 'ssf'],
      params: tenantParams,
      responses: { 200: { description: '`{ streams }`.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadClients' });
        return { streams: await streams.list(attempt.tenant.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/ssf/streams',
      operationId: 'adminCreateSsfStream',
      summary:
        'Create a push stream: endpoint URL, CAEP event types, optional client and Authorization header.',
      tags: ['admin', 'ssf'],
      params: tenantParams,
      body: streamInput,
      status: 201,
      responses: { 201: { description: 'The stream.' }, 400: { description: 'invalid_request.' } },
      handler: async ({ req, res, params, body }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ManageClients' });
        return streams.create(attempt.tenant.id, body as StreamInput);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/t/:tenant/api/admin/ssf/streams/:id',
      operationId: 'adminDeleteSsfStream',
      summary: 'Delete a stream; its undelivered SETs are dropped.',
      tags: ['admin', 'ssf'],
      params: tenantParams.extend({ id: z.string().uuid() }),
      status: 204,
      responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such stream.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ManageClients' });
        await streams.delete(attempt.tenant.id, params.id);
        res.status(204).end();
        return undefined;
      },
    }),
  ];
}
