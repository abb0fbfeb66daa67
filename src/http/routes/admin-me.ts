/**
 * `GET /t/:tenant/api/admin/me`: who the admin console is talking to. The person signed in, the
 * tenant of the path, their roles, and for every admin action whether Cedar would allow it on that
 * tenant (the same decision `requireAdmin` asks for; freshness aside, which `session.writeFreshUntil`
 * tells). Any signed-in person of the tenant gets an answer, with every action false when they hold no
 * role (the portal uses it to decide whether to link to the console). Someone signed in to another
 * tenant gets 404, as on every admin route, unless Cedar allows them something here (a super-admin).
 */
import { z } from 'zod';
import { NotFoundError } from '../../errors.ts';
import { meets } from '../../factors/assurance.ts';
import { ADMIN_ACTIONS, type AdminAction, adminAuthorizer, rolesOf } from '../../policy/admin-authz.ts';
import { RECENT_PHRH } from '../admin-auth.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface AdminMeRouteDeps {
  edge: SessionEdge;
}

const ACTIONS = Object.keys(ADMIN_ACTIONS) as AdminAction[];

const meSchema = z
  .object({
    account: z.object({
      id: z.string(),
      username: z.string().nullable(),
      displayName: z.string().nullable(),
    }),
    tenant: z.object({ slug: z.string(), displayName: z.string() }),
    home: z
      .object({ slug: z.string(), displayName: z.string() })
      .meta({ description: 'The tenant the person signed in to (differs for a super-admin of another).' }),
    roles: z.array(z.string()),
    superAdmin: z.boolean(),
    can: z.record(z.string(), z.boolean()).meta({ description: 'Admin action → allowed on this tenant.' }),
    session: z.object({
      aal: z.number().int(),
      phrh: z.boolean(),
      authTime: z.string(),
      writeFreshUntil: z
        .string()
        .nullable()
        .meta({ description: 'When the AAL3 / phrh proof stops counting for changes; null without one.' }),
    }),
  })
  .meta({ id: 'AdminMe' });

export function adminMeRoutes(deps: AdminMeRouteDeps): Route[] {
  const { edge } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/me',
      operationId: 'adminMe',
      summary:
        'Who is signed in: roles, which admin actions Cedar allows on this tenant, and session freshness.',
      tags: ['admin'],
      params: tenantParams,
      responses: {
        200: { description: 'The signed-in person and what they may do here.', schema: meSchema },
        401: { description: 'No session.' },
        404: { description: 'No such tenant, or signed in to another tenant without a role here.' },
      },
      handler: async ({ req, params }) => {
        const tenant = await edge.tenant(params.tenant);
        const { tenant: home, session, account } = await edge.requireHome(req);
        const roles = rolesOf(account.roles);
        const principal = { accountId: account.id, tenantId: home.id, roles };
        const authorizer = adminAuthorizer();
        const can = Object.fromEntries(
          ACTIONS.map((action) => [action, authorizer.decide(principal, action, tenant.id).allowed]),
        ) as Record<AdminAction, boolean>;
        // As requireAdmin: another tenant's person learns nothing about this one.
        if (home.id !== tenant.id && !ACTIONS.some((a) => can[a])) throw new NotFoundError();
        const hardware = meets(session.assurance, session.authTimeMs, { aal: RECENT_PHRH.aal, acr: 'phrh' });
        return {
          account: { id: account.id, username: account.username, displayName: account.displayName },
          tenant: { slug: tenant.slug, displayName: tenant.displayName },
          home: { slug: home.slug, displayName: home.displayName },
          roles,
          superAdmin: roles.includes('super-admin'),
          can,
          session: {
            aal: session.assurance.aal,
            phrh: session.assurance.phrh,
            authTime: new Date(session.authTimeMs).toISOString(),
            writeFreshUntil: hardware
              ? new Date(session.authTimeMs + (RECENT_PHRH.maxAgeS ?? 0) * 1000).toISOString()
              : null,
          },
        };
      },
    }),
  ];
}
