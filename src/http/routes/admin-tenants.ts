/**
 * Tenants, for super-admins (global paths, not under `/t/:tenant`):
 *
 *   GET  /api/admin/tenants           ReadTenants     paged, newest first
 *   POST /api/admin/tenants           ManageTenants   { slug, displayName, attestationPolicy? }
 *   GET  /api/admin/tenants/:slug     ReadTenants
 *
 * A super-admin's session lives in its own tenant (normally `default`, where `npm run admin:bootstrap`
 * makes the first one); `requireGlobalAdmin` accepts a session of any tenant and Cedar permits these
 * actions to super-admins only. A new tenant is live at once: its issuer `{PUBLIC_URL}/t/{slug}`, its
 * OpenID provider and signing keys are created on first use, and it decides with the default Cedar
 * policy until its admins activate one of their own (the default keeps tracking the shipped one).
 */
import { z } from 'zod';
import { recordEvent } from '../../audit/events.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import type { Tenant } from '../../store/generated/postgres/client.ts';
import { isUniqueViolation, type Store } from '../../store/index.ts';
import { issuerOf } from '../../tenants.ts';
import { requireGlobalAdmin } from '../admin-auth.ts';
import { decodeCursor, page, pageQuery } from '../paging.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface AdminTenantRouteDeps {
  store: Store;
  edge: SessionEdge;
  publicUrl: string;
}

const slugParams = z.object({ slug: tenantParams.shape.tenant });

export function adminTenantRoutes(deps: AdminTenantRouteDeps): Route[] {
  const { store, edge, publicUrl } = deps;
  const db = store.db;

  const view = (t: Tenant) => {
    const issuer = issuerOf(publicUrl, t.slug);
    return {
      slug: t.slug,
      displayName: t.displayName,
      attestationPolicy: t.attestationPolicy,
      stepUpWindowSeconds: t.stepUpWindowSeconds,
      issuer,
      discovery: `${issuer}/.well-known/openid-configuration`,
      createdAt: t.createdAt.toISOString(),
    };
  };

  return [
    defineRoute({
      method: 'get',
      path: '/api/admin/tenants',
      operationId: 'adminListTenants',
      summary: 'Every tenant, newest first (super-admins).',
      tags: ['admin'],
      query: pageQuery,
      responses: { 200: { description: '`{ tenants, next }`.' } },
      handler: async ({ req, res, query }) => {
        await requireGlobalAdmin(edge, req, res, { action: 'ReadTenants' });
        const cursor = decodeCursor(query.cursor);
        const rows = await db.tenant.findMany({
          where: cursor
            ? { OR: [{ createdAt: { lt: cursor.at } }, { createdAt: cursor.at, id: { lt: cursor.id } }] }
            : {},
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: query.limit + 1,
        });
        const { items, next } = page(rows, query.limit, (t) => t.createdAt);
        return { tenants: items.map(view), next };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/admin/tenants',
      operationId: 'adminCreateTenant',
      summary: 'Creates a tenant: its own issuer, OpenID provider, policy (the default) and people.',
      tags: ['admin'],
      body: z.strictObject({
        slug: tenantParams.shape.tenant,
        displayName: z.string().trim().min(1).max(64),
        attestationPolicy: z.enum(['any', 'trusted']).default('any'),
      }),
      status: 201,
      responses: {
        201: { description: 'The tenant, with its issuer and discovery URL.' },
        409: { description: '`tenant_exists`.' },
      },
      handler: async ({ req, res, body }) => {
        const admin = await requireGlobalAdmin(edge, req, res, { action: 'ManageTenants' });
        try {
          return view(
            await store.tx(async (tx) => {
              const tenant = await tx.tenant.create({ data: body });
              await recordEvent(tx, {
                tenantId: tenant.id,
                type: 'admin.tenant_created',
                detail: { slug: tenant.slug, byTenant: admin.home.slug },
                ip: admin.attempt.ip ?? null,
                actor: { kind: 'admin', id: admin.account.id },
              });
              return tenant;
            }),
          );
        } catch (err) {
          if (isUniqueViolation(err))
            throw new ConflictError('tenant_exists', 'A tenant with this slug exists.');
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/admin/tenants/:slug',
      operationId: 'adminGetTenant',
      summary: 'A tenant: settings, issuer, number of people and active policy version (super-admins).',
      tags: ['admin'],
      params: slugParams,
      responses: { 200: { description: 'The tenant.' }, 404: { description: 'No such tenant.' } },
      handler: async ({ req, res, params }) => {
        // Authorized first: nobody but a super-admin learns which slugs exist from here.
        await requireGlobalAdmin(edge, req, res, { action: 'ReadTenants' });
        const tenant = await db.tenant.findUnique({ where: { slug: params.slug } });
        if (!tenant) throw new NotFoundError('No such tenant.');
        const [people, active] = await Promise.all([
          db.account.count({ where: { tenantId: tenant.id } }),
          db.tenantPolicy.findFirst({
            where: { tenantId: tenant.id, status: 'active' },
            select: { version: true },
          }),
        ]);
        return { ...view(tenant), people, activePolicyVersion: active?.version ?? null };
      },
    }),
  ];
}
