/**
 * Admin access at the HTTP edge: a live session whose account holds one of the allowed roles in the
 * path's tenant, and, for changes, a recent multi-factor proof (RFC 9470 challenge otherwise). Roles
 * are granted with `npm run admin:grant` (the console and Cedar-based admin authorization come later).
 */
import type { Request, Response } from 'express';
import { TrustgateError } from '../errors.ts';
import { RECENT_AAL2, requireAssurance } from '../sessions/require.ts';
import type { SessionEdge } from './session-auth.ts';

export type AdminRole = 'super-admin' | 'tenant-admin' | 'auditor' | 'helpdesk';

export class ForbiddenError extends TrustgateError {
  constructor(detail = 'Your account has no role that allows this.') {
    super('forbidden', 403, 'Forbidden', detail);
  }
}

/** The signed-in admin of the request; 401 without a session, 403 without an allowed role. */
export async function requireAdmin(
  edge: SessionEdge,
  req: Request,
  res: Response,
  slug: string,
  options: { roles: readonly AdminRole[]; write: boolean },
) {
  const signedIn = await edge.require(req, res, slug);
  const roles = JSON.parse(signedIn.account.roles) as string[];
  if (!roles.some((r) => (options.roles as readonly string[]).includes(r))) throw new ForbiddenError();
  if (options.write) requireAssurance(signedIn.session, RECENT_AAL2);
  return { ...signedIn, roles };
}
