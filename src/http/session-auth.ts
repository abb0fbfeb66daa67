/**
 * Cookie sessions at the HTTP edge: who is asking (tenant, browser binding, session), and the
 * cross-site request guard. Browsers send `Origin` on every cross-site POST (and `Sec-Fetch-Site`), so a
 * state-changing request whose Origin is not this service's, or that a browser marks cross-site, is
 * refused before anything runs. Together with JSON-only bodies (a form cannot send
 * `application/json`) and SameSite cookies this stops cross-site form posts.
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { TrustgateError } from '../errors.ts';
import type { Attempt } from '../flows/auth-context.ts';
import { UnauthorizedError } from '../identity/account-tokens.ts';
import {
  type CookieNames,
  clearCookie,
  cookieNames,
  flowId,
  readCookie,
  setCookie,
} from '../sessions/cookies.ts';
import { InsufficientAssuranceError } from '../sessions/require.ts';
import { type ActiveSession, hashToken, type Sessions } from '../sessions/sessions.ts';
import type { Account, Tenant } from '../store/generated/postgres/client.ts';
import type { Store } from '../store/index.ts';
import { findTenant } from '../tenants.ts';

export class CrossSiteRequestError extends TrustgateError {
  constructor() {
    super(
      'cross_site_request',
      403,
      'Cross-site request refused',
      'This request did not come from this site.',
    );
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export class SessionEdge {
  readonly names: CookieNames;
  private readonly origin: string;

  constructor(private readonly deps: { store: Store; sessions: Sessions; publicUrl: string }) {
    this.names = cookieNames(deps.publicUrl);
    this.origin = new URL(deps.publicUrl).origin;
  }

  /** Refuses a state-changing request a browser sent from another site. */
  assertSameSite(req: Request): void {
    if (SAFE.has(req.method)) return;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (origin !== this.origin) throw new CrossSiteRequestError();
      return;
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new CrossSiteRequestError();
  }

  /** The tenant `slug` names, or 404. */
  tenant(slug: string): Promise<Tenant> {
    return findTenant(this.deps.store, slug);
  }

  /** The tenant and attempt context of a sign-in request (sets the flow cookie when missing). */
  async attempt(req: Request, res: Response, slug: string): Promise<Attempt> {
    this.assertSameSite(req);
    const tenant = await findTenant(this.deps.store, slug);
    return this.attemptFor(req, res, tenant);
  }

  attemptFor(req: Request, res: Response, tenant: Tenant): Attempt {
    const flow = flowId(req, res, this.names);
    const previous = readCookie(req, this.names.session);
    // The risk payload of the body (declared and size-checked by each route's schema).
    const risk = (req.body as { risk?: { device?: unknown; typing?: unknown } } | undefined)?.risk;
    return {
      tenant,
      ...(risk && typeof risk === 'object' ? { risk: { device: risk.device, typing: risk.typing } } : {}),
      binding: createHash('sha256').update(`flow:${flow}`).digest('base64url'),
      ...(previous ? { previousSessionId: hashToken(previous) } : {}),
      ...(req.ip ? { ip: req.ip } : {}),
      ...(req.headers['user-agent'] ? { userAgent: String(req.headers['user-agent']).slice(0, 512) } : {}),
    };
  }

  /**
   * The live session of the request in `slug`'s tenant, with its account; 401 when there is none. A
   * session that still owes a step-up gets the RFC 9470 challenge, except where `allowPending` (the
   * step-up itself, reading the session, signing out).
   */
  async require(
    req: Request,
    res: Response,
    slug: string,
    options: { allowPending?: boolean } = {},
  ): Promise<{ attempt: Attempt; session: ActiveSession; account: Account }> {
    this.assertSameSite(req);
    const tenant = await findTenant(this.deps.store, slug);
    const { session, account } = await this.live(req, tenant, options);
    return { attempt: this.attemptFor(req, res, tenant), session, account };
  }

  /**
   * The live session of the request in the tenant it was opened in, whatever tenant the path names,
   * with that tenant and the account; 401 when there is none. Only for the admin API, where Cedar
   * decides whether an admin of that tenant may act on the path's tenant (a super-admin may act on
   * every tenant; anyone else gets 404 there).
   */
  async requireHome(req: Request): Promise<{ tenant: Tenant; session: ActiveSession; account: Account }> {
    this.assertSameSite(req);
    const token = readCookie(req, this.names.session);
    const row = token
      ? await this.deps.store.db.session.findUnique({
          where: { id: hashToken(token) },
          select: { tenantId: true },
        })
      : null;
    const tenant = row ? await this.deps.store.db.tenant.findUnique({ where: { id: row.tenantId } }) : null;
    if (!tenant) throw new UnauthorizedError('Sign in first.');
    return { tenant, ...(await this.live(req, tenant)) };
  }

  private async live(
    req: Request,
    tenant: Tenant,
    options: { allowPending?: boolean } = {},
  ): Promise<{ session: ActiveSession; account: Account }> {
    const session = await this.deps.sessions.find(readCookie(req, this.names.session), tenant);
    if (!session) throw new UnauthorizedError('Sign in first.');
    if (session.pending && !options.allowPending) {
      throw new InsufficientAssuranceError(session.pending, 'Finish signing in: a step-up is required.');
    }
    const account = await this.deps.store.db.account.findUnique({ where: { id: session.row.accountId } });
    if (account?.status !== 'active') throw new UnauthorizedError('The account is not active.');
    return { session, account };
  }

  /** Sets the session cookie for a new or rotated session. */
  setSession(res: Response, token: string, session: ActiveSession): void {
    const maxAgeS = Math.max(1, Math.floor((session.row.absoluteExpiresAt.getTime() - Date.now()) / 1000));
    setCookie(res, this.names, this.names.session, token, maxAgeS);
  }

  clearSession(res: Response): void {
    clearCookie(res, this.names, this.names.session);
  }

  tokenOf(req: Request): string | undefined {
    return readCookie(req, this.names.session);
  }
}

/** The session as its owner sees it (never the token). */
export function sessionView(session: ActiveSession) {
  const row = session.row;
  return {
    id: row.publicId,
    aal: session.assurance.aal,
    acr: session.acr,
    amr: session.assurance.amr,
    factors: session.assurance.factors,
    phr: session.assurance.phr,
    phrh: session.assurance.phrh,
    authTime: new Date(session.authTimeMs).toISOString(),
    pending: session.pending ?? null,
    idleExpiresAt: row.idleExpiresAt.toISOString(),
    absoluteExpiresAt: row.absoluteExpiresAt.toISOString(),
    mustEnrolPasskey: row.mustEnrolPasskey,
  };
}

export function accountSummary(account: Account) {
  return {
    id: account.id,
    did: account.did,
    username: account.username,
    displayName: account.displayName,
  };
}
