/**
 * A tenant's access and step-up policy (Cedar), for its admins: list versions, validate, upload a
 * draft (refused with Cedar's messages and positions), activate, roll back, replay a draft against the
 * last real attempts (allow / step-up / deny before and after), and simulate a sequence of attempts
 * against a fresh history. Reading needs `ReadPolicies` / `ReadSettings` (tenant-admin, auditor); changes
 * need `ManagePolicy` / `ManageSettings` (tenant-admin) and a fresh hardware-bound sign-in (see
 * `admin-auth.ts`). Risk weights count as policy: they change decisions.
 */
import { z } from 'zod';
import { buildContext, type DeviceFacts, type GeoFacts } from '../../policy/cedar/context.ts';
import { DEFAULT_POLICY } from '../../policy/cedar/default-policy.ts';
import { type CompiledPolicy, compilePolicy } from '../../policy/cedar/engine.ts';
import type { Operation } from '../../policy/cedar/schema.ts';
import type { TenantPolicies } from '../../policy/tenant-policies.ts';
import type { RiskServices } from '../../risk/engine.ts';
import { riskWeightsOf } from '../../risk/scorer.ts';
import { simulate } from '../../risk/simulation.ts';
import type { Tenant, TenantPolicy } from '../../store/generated/postgres/client.ts';
import type { Store } from '../../store/index.ts';
import { requireAdmin } from '../admin-auth.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface AdminPolicyRouteDeps {
  store: Store;
  edge: SessionEdge;
  policies: TenantPolicies;
  /** The running risk engine's data (geolocation, ASN, lists) for simulations. */
  riskServices?: RiskServices;
}

const policyText = z.strictObject({
  text: z
    .string()
    .min(1)
    .max(256 * 1024),
});
const versionParams = tenantParams.extend({ version: z.coerce.number().int().min(1) });

function view(row: TenantPolicy) {
  return {
    version: row.version,
    status: row.status,
    hash: row.hash,
    createdAt: row.createdAt.toISOString(),
    activatedAt: row.activatedAt?.toISOString() ?? null,
    text: row.text,
  };
}

function settingsView(t: Tenant) {
  return {
    slug: t.slug,
    displayName: t.displayName,
    attestationPolicy: t.attestationPolicy,
    stepUpWindowSeconds: t.stepUpWindowSeconds,
  };
}

/** The decision inputs stored with an attempt (see risk-decision.ts). */
interface StoredInputs {
  operation: Operation;
  roles: string[];
  enrolled: { mfa?: boolean; phr?: boolean; phrh?: boolean };
  assurance: { aal: 1 | 2 | 3; amr: string[]; phr: boolean; phrh: boolean };
  device: DeviceFacts;
  geo: GeoFacts;
  score: number;
  reasons: string[];
}

export function adminPolicyRoutes(deps: AdminPolicyRouteDeps): Route[] {
  const { edge, policies } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/policies',
      operationId: 'listPolicies',
      summary: 'The tenant’s policy versions, the active one, and the default policy.',
      tags: ['admin'],
      params: tenantParams,
      responses: { 200: { description: 'Versions.' }, 403: { description: 'Not an admin.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadPolicies' });
        const rows = await policies.list(attempt.tenant.id);
        return {
          active: rows.find((r) => r.status === 'active')?.version ?? null,
          versions: rows.map(view),
          defaultPolicy: DEFAULT_POLICY,
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/policies/validate',
      operationId: 'validatePolicy',
      summary: 'Validates a policy against the schema: Cedar’s errors and warnings with line and column.',
      tags: ['admin'],
      params: tenantParams,
      body: policyText,
      responses: { 200: { description: '`{ valid, errors, warnings }`.' } },
      handler: async ({ req, res, params, body }) => {
        await requireAdmin(edge, req, res, params.tenant, { action: 'ReadPolicies' });
        const result = compilePolicy(body.text);
        return result.ok
          ? { valid: true, errors: [], warnings: result.warnings }
          : { valid: false, errors: result.errors, warnings: [] };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/policies',
      operationId: 'createPolicyDraft',
      summary: 'Uploads a draft policy (the next version); refused with Cedar’s errors when invalid.',
      tags: ['admin'],
      params: tenantParams,
      body: policyText,
      status: 201,
      responses: {
        201: { description: 'The draft.' },
        400: { description: '`invalid_policy` with `errors`.' },
      },
      handler: async ({ req, res, params, body }) => {
        const { attempt, account } = await requireAdmin(edge, req, res, params.tenant, {
          action: 'ManagePolicy',
        });
        return view(await policies.createDraft(attempt.tenant.id, body.text, account.id));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/policies/:version/activate',
      operationId: 'activatePolicy',
      summary: 'Makes a version the tenant’s policy (the previous one retires); every instance within 2 s.',
      tags: ['admin'],
      params: versionParams,
      body: z.strictObject({}),
      responses: { 200: { description: 'The active version.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ManagePolicy' });
        return view(await policies.activate(attempt.tenant.id, params.version));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/policies/rollback',
      operationId: 'rollbackPolicy',
      summary: 'Re-activates the previously active version (or the default policy).',
      tags: ['admin'],
      params: tenantParams,
      body: z.strictObject({}),
      responses: { 200: { description: 'The active version, or `{ active: null }` for the default.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ManagePolicy' });
        const row = await policies.rollback(attempt.tenant.id);
        return row ? view(row) : { active: null };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/policies/replay',
      operationId: 'replayPolicy',
      summary:
        'Replays a draft (text or version) against the last N real attempts: outcomes before and after.',
      tags: ['admin'],
      params: tenantParams,
      body: z.strictObject({
        text: z
          .string()
          .min(1)
          .max(256 * 1024)
          .optional(),
        version: z.number().int().min(1).optional(),
        last: z.number().int().min(1).max(10_000).default(1000),
      }),
      responses: {
        200: {
          description:
            'Counts before and after, and the attempts whose outcome changes (who, operation, reasons before and after).',
        },
      },
      handler: async ({ req, res, params, body }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadPolicies' });
        const tenantId = attempt.tenant.id;
        const draft = await policies.resolve(tenantId, body);
        const current = (await policies.activeFor(tenantId)).policy;
        const rows = await deps.store.db.riskAttempt.findMany({
          where: { tenantId, decision: { not: '' } },
          orderBy: { at: 'desc' },
          take: body.last,
          select: { id: true, at: true, accountId: true, assessment: true },
        });
        const before = { allow: 0, step_up: 0, deny: 0 };
        const after = { allow: 0, step_up: 0, deny: 0 };
        const changed: Array<{
          id: string;
          at: string;
          accountId: string | null;
          username: string | null;
          operation: Operation;
          before: string;
          after: string;
          reasonsBefore: string[];
          reasonsAfter: string[];
        }> = [];
        for (const row of rows) {
          const inputs = (JSON.parse(row.assessment) as { inputs?: StoredInputs }).inputs;
          if (!inputs) continue;
          const decide = (policy: CompiledPolicy) =>
            policy.decide({
              action: inputs.operation,
              person: {
                id: row.accountId ?? 'anonymous',
                tenant: tenantId,
                roles: inputs.roles,
                enrolled: inputs.enrolled,
              },
              resource: { type: 'Tenant', id: tenantId },
              context: buildContext({
                risk: { score: inputs.score, reasons: inputs.reasons },
                assurance: inputs.assurance,
                authTimeMs: row.at.getTime(),
                device: inputs.device,
                geo: inputs.geo,
                at: row.at.getTime(),
              }),
            });
          const was = decide(current);
          const now = decide(draft);
          before[was.outcome]++;
          after[now.outcome]++;
          if (was.outcome !== now.outcome && changed.length < 100) {
            changed.push({
              id: row.id,
              at: row.at.toISOString(),
              accountId: row.accountId,
              username: null,
              operation: inputs.operation,
              before: was.outcome,
              after: now.outcome,
              reasonsBefore: was.reasons,
              reasonsAfter: now.reasons,
            });
          }
        }
        // Who: the changed attempts' sign-in names, for the admin reading the diff.
        const ids = [...new Set(changed.flatMap((c) => (c.accountId ? [c.accountId] : [])))];
        const names = new Map(
          (
            await deps.store.db.account.findMany({
              where: { tenantId, id: { in: ids } },
              select: { id: true, username: true },
            })
          ).map((a) => [a.id, a.username]),
        );
        for (const c of changed) c.username = (c.accountId && names.get(c.accountId)) || null;
        return { attempts: before.allow + before.step_up + before.deny, before, after, changed };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/risk/simulate',
      operationId: 'simulateRisk',
      summary: 'Replays a sequence of attempts against a fresh history under the active or a draft policy.',
      description:
        'Each attempt: `personKey`, `at` (epoch ms), `ip`, `userAgent`, `device`, `typing`, `outcome` (`success` or `failure` of the factor). ' +
        'Returns each attempt’s assessment and decision; nothing is stored.',
      tags: ['admin'],
      params: tenantParams,
      body: z.strictObject({
        attempts: z.array(z.unknown()).min(1).max(10_000),
        text: z
          .string()
          .min(1)
          .max(256 * 1024)
          .optional(),
        version: z.number().int().min(1).optional(),
      }),
      responses: { 200: { description: '`{ results }`, one per attempt in order.' } },
      handler: async ({ req, res, params, body }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadPolicies' });
        const tenantId = attempt.tenant.id;
        const policy = await policies.resolve(tenantId, body);
        const tenant = await deps.store.db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
        const results = await simulate(body.attempts as Parameters<typeof simulate>[0], {
          policy,
          services: deps.riskServices ?? {},
          weights: riskWeightsOf(tenant),
        });
        return { results };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/settings',
      operationId: 'getTenantSettings',
      summary: 'The tenant’s sign-in settings: attestation policy, step-up window, display name.',
      tags: ['admin'],
      params: tenantParams,
      responses: { 200: { description: 'Settings.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadSettings' });
        const t = await deps.store.db.tenant.findUniqueOrThrow({ where: { id: attempt.tenant.id } });
        return settingsView(t);
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/t/:tenant/api/admin/settings',
      operationId: 'updateTenantSettings',
      summary:
        'Changes sign-in settings: `attestationPolicy` (`any`: untrusted authenticators reach at most AAL2; `trusted`: only trusted attestations register), `stepUpWindowSeconds` (how long a step-up counts), `displayName`.',
      tags: ['admin'],
      params: tenantParams,
      body: z.strictObject({
        attestationPolicy: z.enum(['any', 'trusted']).optional(),
        stepUpWindowSeconds: z.number().int().min(60).max(86_400).optional(),
        displayName: z.string().trim().min(1).max(64).optional(),
      }),
      responses: { 200: { description: 'Settings (every instance within 2 s).' } },
      handler: async ({ req, res, params, body }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ManageSettings' });
        const t = await deps.store.db.tenant.update({ where: { id: attempt.tenant.id }, data: body });
        return settingsView(t);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/risk/weights',
      operationId: 'getRiskWeights',
      summary: 'The tenant’s risk weights (signal name or reason code → multiplier; 1 when absent).',
      tags: ['admin'],
      params: tenantParams,
      responses: { 200: { description: '`{ weights }`.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadPolicies' });
        const tenant = await deps.store.db.tenant.findUniqueOrThrow({ where: { id: attempt.tenant.id } });
        return {
          weights: riskWeightsOf(tenant),
        };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/t/:tenant/api/admin/risk/weights',
      operationId: 'setRiskWeights',
      summary: 'Sets the tenant’s risk weights: 0 mutes a signal or reason, 2 doubles it (at most 10).',
      tags: ['admin'],
      params: tenantParams,
      body: z.strictObject({
        weights: z
          .record(
            z.string().regex(/^[a-z_]+(\.[a-z_]+)?$/, 'a signal name or reason code'),
            z.number().min(0).max(10),
          )
          .refine((w) => Object.keys(w).length <= 100, 'at most 100 weights'),
      }),
      responses: { 200: { description: '`{ weights }`.' } },
      handler: async ({ req, res, params, body }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ManagePolicy' });
        await deps.store.db.tenant.update({
          where: { id: attempt.tenant.id },
          data: { riskWeights: Object.keys(body.weights).length > 0 ? JSON.stringify(body.weights) : null },
        });
        return { weights: body.weights };
      },
    }),
  ];
}
