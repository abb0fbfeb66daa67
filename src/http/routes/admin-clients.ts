/**
 * Admin API for a tenant's OpenID Connect clients and initial access tokens (for dynamic
 * registration). Reads need `ReadClients` (tenant-admin, auditor); changes need `ManageClients`
 * (tenant-admin) and a fresh hardware-bound sign-in (see `admin-auth.ts`).
 */
import { z } from 'zod';
import { NotFoundError } from '../../errors.ts';
import { clientInput, createClient, deleteClient, listClients } from '../../oidc/clients.ts';
import type { TenantProviders } from '../../oidc/provider.ts';
import type { Store } from '../../store/index.ts';
import { requireAdmin } from '../admin-auth.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface AdminClientRouteDeps {
  store: Store;
  edge: SessionEdge;
  providers: TenantProviders;
}

export function adminClientRoutes(deps: AdminClientRouteDeps): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/clients',
      operationId: 'adminListClients',
      summary: 'The tenant’s OpenID Connect clients (never their secrets).',
      tags: ['admin'],
      params: tenantParams,
      responses: { 200: { description: '`{ clients }`.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(deps.edge, req, res, params.tenant, { action: 'ReadClients' });
        return { clients: await listClients(deps.store, attempt.tenant.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/clients',
      operationId: 'adminCreateClient',
      summary: 'Create a client; a confidential client’s secret is shown once.',
      description:
        '`type: public` clients have no secret and must use PKCE; `first_party` clients skip the consent page ' +
        '(only admins can set it). Metadata is validated by the provider as dynamic registration would.',
      tags: ['admin'],
      params: tenantParams,
      body: clientInput,
      status: 201,
      responses: {
        201: { description: '`{ client, client_secret? }`.' },
        400: { description: 'invalid_client_metadata.' },
      },
      handler: async ({ req, res, params, body }) => {
        const { attempt } = await requireAdmin(deps.edge, req, res, params.tenant, {
          action: 'ManageClients',
        });
        const { provider } = await deps.providers.get(params.tenant);
        const created = await createClient(provider, deps.store, attempt.tenant.id, body);
        return {
          client: created.client,
          ...(created.clientSecret ? { client_secret: created.clientSecret } : {}),
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/t/:tenant/api/admin/clients/:clientId',
      operationId: 'adminDeleteClient',
      summary: 'Delete a client with every grant and token issued to it.',
      tags: ['admin'],
      params: tenantParams.extend({ clientId: z.string().min(1).max(200) }),
      status: 204,
      responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such client.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(deps.edge, req, res, params.tenant, {
          action: 'ManageClients',
        });
        if (!(await deleteClient(deps.store, attempt.tenant.id, params.clientId))) {
          throw new NotFoundError('No such client.');
        }
        // Nothing to return: answer here, or the request would hang.
        res.status(204).end();
        return undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/initial-access-tokens',
      operationId: 'adminCreateInitialAccessToken',
      summary: 'An initial access token for dynamic client registration (RFC 7591), shown once.',
      tags: ['admin'],
      params: tenantParams,
      body: z.strictObject({
        expiresInSeconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 24 * 3600)
          .default(24 * 3600),
      }),
      status: 201,
      responses: { 201: { description: '`{ initial_access_token, expires_in }`.' } },
      handler: async ({ req, res, params, body }) => {
        await requireAdmin(deps.edge, req, res, params.tenant, { action: 'ManageClients' });
        const { provider } = await deps.providers.get(params.tenant);
        const token = await new provider.InitialAccessToken({ expiresIn: body.expiresInSeconds }).save();
        return { initial_access_token: token, expires_in: body.expiresInSeconds };
      },
    }),
  ];
}
