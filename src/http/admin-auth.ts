/**
 * Admin access at the HTTP edge. Every admin route names one capability (a Cedar action, see
 * `policy/admin-authz.ts`); this checks, in order:
 *
 *   1. the path's tenant exists                                    else 404
 *   2. a live session, in whichever tenant it was opened           else 401
 *   3. Cedar permits the session's account (roles, home tenant) the action on the path's tenant:
 *        denied in its own tenant                                  → 403 `forbidden`
 *        denied on another tenant (not a super-admin)              → 404, as if nothing were there
 *   4. a change (the action's `write`) needs a hardware-bound, phishing-resistant sign-in (AAL3 /
 *      `phrh`) proved in the last 5 minutes                        else 401 RFC 9470 challenge
 *
 * Sessions belong to one tenant. A super-admin signs in to their own tenant (normally `default`) and
 * that session is accepted on every tenant's admin API and on the global one (`/api/admin/tenants`):
 * Cedar's super-admin policy is the only one that permits acting on another tenant. Roles are granted
 * with `npm run admin:bootstrap` (the first super-admin), `npm run admin:grant` or the roles API.
 */
import type { Request, Response } from 'express';
import { NotFoundError, TrustgateError } from '../errors.ts';
import type { AssuranceRequirement } from '../factors/assurance.ts';
import type { Attempt } from '../flows/auth-context.ts';
import { ADMIN_ACTIONS, type AdminAction, adminAuthorizer, rolesOf } from '../policy/admin-authz.ts';
import { requireAssurance } from '../sessions/require.ts';
import type { ActiveSession } from '../sessions/sessions.ts';
import type { Account, Tenant } from '../store/generated/postgres/client.ts';
import type { SessionEdge } from './session-auth.ts';

export type { AdminAction, AdminRole } from '../policy/admin-authz.ts';

/** Admin changes: a hardware-bound, phishing-resistant proof in the last 5 minutes. */
export const RECENT_PHRH: AssuranceRequirement = { aal: 3, acr: 'phrh', maxAgeS: 5 * 60 };

export class ForbiddenError extends TrustgateError {
  constructor(detail = 'Your account has no role that allows this.') {
    super('forbidden', 403, 'Forbidden', detail);
  }
}

/** The admin of a request. */
export interface AdminContext {
  /** The attempt context in the tenant acted on (`attempt.tenant` is the path's tenant). */
  attempt: Attempt;
  session: ActiveSession;
  account: Account;
  roles: string[];
  /** The tenant acted on. */
  tenant: Tenant;
  /** The tenant the admin's account and session belong to. */
  home: Tenant;
}

/**
 * The signed-in admin allowed `action` on the tenant `slug`; throws 404, 401, 403 or the RFC 9470
 * challenge as described above.
 */
export async function requireAdmin(
  edge: SessionEdge,
  req: Request,
  res: Response,
  slug: string,
  options: { action: AdminAction },
): Promise<AdminContext> {
  const tenant = await edge.tenant(slug);
  return authorize(edge, req, res, tenant, options.action);
}

/**
 * The signed-in admin allowed a global `action` (tenants): the resource is the tenant named, if any,
 * else the admin's own tenant, so only a policy without a tenant condition (super-admin) permits it.
 */
export async function requireGlobalAdmin(
  edge: SessionEdge,
  req: Request,
  res: Response,
  options: { action: AdminAction; tenant?: Tenant },
): Promise<AdminContext> {
  return authorize(edge, req, res, options.tenant ?? null, options.action);
}

async function authorize(
  edge: SessionEdge,
  req: Request,
  res: Response,
  target: Tenant | null,
  action: AdminAction,
): Promise<AdminContext> {
  const { tenant: home, session, account } = await edge.requireHome(req);
  const tenant = target ?? home;
  const roles = rolesOf(account.roles);
  const decision = adminAuthorizer().decide(
    { accountId: account.id, tenantId: home.id, roles },
    action,
    tenant.id,
  );
  if (!decision.allowed) {
    // Another tenant's admin learns nothing about this tenant's objects.
    throw home.id === tenant.id ? new ForbiddenError() : new NotFoundError();
  }
  if (ADMIN_ACTIONS[action].write) requireAssurance(session, RECENT_PHRH);
  return { attempt: edge.attemptFor(req, res, tenant), session, account, roles, tenant, home };
}
