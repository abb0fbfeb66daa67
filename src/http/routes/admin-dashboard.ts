/**
 * `GET /t/:tenant/api/admin/dashboard?days=N` (ReadRisk): the console's risk dashboard over the last
 * N calendar days (1-90, default 14), aggregated by `risk/dashboard.ts`. Reason codes are explained
 * with the signals' labels (`risk/reason-labels.ts`) and, for the policy's own reasons (policy ids),
 * the `@reason` of the tenant's active policy.
 */
import { z } from 'zod';
import type { TenantPolicies } from '../../policy/tenant-policies.ts';
import { riskDashboard } from '../../risk/dashboard.ts';
import { reasonLabel } from '../../risk/reason-labels.ts';
import type { Store } from '../../store/index.ts';
import { requireAdmin } from '../admin-auth.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface AdminDashboardRouteDeps {
  store: Store;
  edge: SessionEdge;
  policies: TenantPolicies;
}

const counts = { allow: z.number(), stepUp: z.number(), deny: z.number(), failure: z.number() };

const dashboardSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    days: z.number().int(),
    signIns: z.array(z.object({ day: z.string().meta({ description: 'YYYY-MM-DD (UTC).' }), ...counts })),
    decisions: z.object({ ...counts, total: z.number(), stepUpRate: z.number(), denyRate: z.number() }),
    scores: z.array(z.object({ from: z.number(), to: z.number(), count: z.number() })),
    topReasons: z.array(z.object({ reason: z.string(), label: z.string(), count: z.number() })),
    locations: z.array(
      z.object({
        city: z.string().nullable(),
        country: z.string(),
        lat: z.number(),
        lon: z.number(),
        count: z.number(),
        denied: z.number(),
        stepUp: z.number(),
      }),
    ),
    totals: z.object({
      people: z.number(),
      activeSessions: z.number(),
      devices: z.number(),
      revokedDevices: z.number(),
    }),
  })
  .meta({ id: 'RiskDashboard' });

export function adminDashboardRoutes(deps: AdminDashboardRouteDeps): Route[] {
  const { edge } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/dashboard',
      operationId: 'adminRiskDashboard',
      summary: 'Risk dashboard: sign-ins per day, decisions, scores, top reasons, locations, totals.',
      description:
        'Days are UTC calendar days ending today. `decisions` counts every action; its rates are shares of ' +
        'decided attempts (failures are refused factors, before any decision). `scores` counts decided ' +
        'attempts; `devices` are devices in use (not revoked).',
      tags: ['admin'],
      params: tenantParams,
      query: z.object({
        days: z.coerce
          .number()
          .int()
          .min(1)
          .max(90)
          .default(14)
          .meta({ description: 'Calendar days, today included (1-90).' }),
      }),
      responses: {
        200: { description: 'The dashboard.', schema: dashboardSchema },
        400: { description: 'invalid_request: `days` is not an integer from 1 to 90.' },
      },
      handler: async ({ req, res, params, query }) => {
        const { tenant } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadRisk' });
        const { policy } = await deps.policies.activeFor(tenant.id);
        return riskDashboard(deps.store, {
          tenantId: tenant.id,
          days: query.days,
          labelOf: (reason) => reasonLabel(reason) ?? policy.policies.get(reason)?.reason,
          isPermit: (reason) => policy.policies.get(reason)?.effect === 'permit',
        });
      },
    }),
  ];
}
