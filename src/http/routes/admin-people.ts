/**
 * Admin API for a tenant's people, their sessions and roles, and its risk assessments.
 *
 *   GET  /t/:tenant/api/admin/people                     ReadPeople     search by username, paged
 *   GET  /t/:tenant/api/admin/people/:id                 ReadPeople     account, roles, factors, devices
 *   GET  /t/:tenant/api/admin/people/:id/sessions        ReadSessions   live sessions
 *   PUT  /t/:tenant/api/admin/people/:id/roles           ManageRoles    (+ GrantSuperAdmin to add or
 *                                                                       remove super-admin)
 *   POST /t/:tenant/api/admin/sessions/:publicId/end     EndSession     OIDC grants follow (end listener)
 *   GET  /t/:tenant/api/admin/risk/assessments           ReadRisk       filters: account, outcome, since
 *
 * Isolation is in the queries: every one is scoped by the path's tenant id, so another tenant's
 * person, session or assessment is not found (404), whatever id is sent. Changes are audited in the
 * transaction that makes them.
 */
import { z } from 'zod';
import { recordEvent } from '../../audit/events.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { acrOf } from '../../factors/assurance.ts';
import { ADMIN_ROLES, rolesOf } from '../../policy/admin-authz.ts';
import type { Sessions } from '../../sessions/sessions.ts';
import type { Account, RiskAttempt, Session } from '../../store/generated/postgres/client.ts';
import type { Store } from '../../store/index.ts';
import { requireAdmin } from '../admin-auth.ts';
import { decodeCursor, page, pageQuery } from '../paging.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface AdminPeopleRouteDeps {
  store: Store;
  edge: SessionEdge;
  sessions: Sessions;
}

const personParams = tenantParams.extend({ id: z.string().min(1).max(100) });
const sessionParams = tenantParams.extend({ publicId: z.string().min(1).max(100) });

/** Outcomes of a scored attempt (see the `RiskAttempt` model). */
const OUTCOMES = ['success', 'failure', 'step_up', 'denied'] as const;

const parseJson = (text: string, fallback: unknown): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
};

function personView(a: Account) {
  return {
    id: a.id,
    did: a.did,
    username: a.username,
    displayName: a.displayName,
    status: a.status,
    custody: a.custody,
    roles: rolesOf(a.roles),
    createdAt: a.createdAt.toISOString(),
  };
}

function sessionView(s: Session) {
  return {
    id: s.publicId,
    aal: s.aal,
    acr: acrOf({ aal: s.aal as 1 | 2 | 3, phr: s.phr, phrh: s.phrh }),
    amr: parseJson(s.amr, []),
    authTime: s.authTime.toISOString(),
    createdAt: s.createdAt.toISOString(),
    lastSeenAt: s.lastSeenAt.toISOString(),
    idleExpiresAt: s.idleExpiresAt.toISOString(),
    absoluteExpiresAt: s.absoluteExpiresAt.toISOString(),
    userAgent: s.userAgent,
    ip: s.ip,
    deviceId: s.deviceId,
  };
}

function assessmentView(r: RiskAttempt) {
  return {
    id: r.id,
    accountId: r.accountId,
    action: r.action,
    at: r.at.toISOString(),
    outcome: r.outcome,
    decision: r.decision,
    score: r.score,
    reasons: parseJson(r.reasons, []),
    ip: r.ip,
    country: r.country,
    city: r.city,
    asn: r.asn,
    deviceId: r.deviceId,
    assessment: parseJson(r.assessment, {}),
  };
}

export function adminPeopleRoutes(deps: AdminPeopleRouteDeps): Route[] {
  const { store, edge, sessions } = deps;
  const db = store.db;

  /** The tenant's person `id`, or 404 (another tenant's person too). */
  const personOf = async (tenantId: string, id: string) => {
    const account = await db.account.findFirst({ where: { id, tenantId } });
    if (!account) throw new NotFoundError('No such person.');
    return account;
  };

  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/people',
      operationId: 'adminListPeople',
      summary: 'The tenant’s people, newest first; `q` searches usernames by prefix (or a DID exactly).',
      tags: ['admin'],
      params: tenantParams,
      query: pageQuery.extend({ q: z.string().trim().max(200).optional() }),
      responses: { 200: { description: '`{ people, next }` (`next`: cursor of the next page, or null).' } },
      handler: async ({ req, res, params, query }) => {
        const { tenant } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadPeople' });
        const cursor = decodeCursor(query.cursor);
        const q = query.q?.toLowerCase();
        const rows = await db.account.findMany({
          where: {
            tenantId: tenant.id,
            ...(q ? { OR: [{ username: { startsWith: q } }, { did: query.q }] } : {}),
            ...(cursor
              ? {
                  AND: [
                    {
                      OR: [{ createdAt: { lt: cursor.at } }, { createdAt: cursor.at, id: { lt: cursor.id } }],
                    },
                  ],
                }
              : {}),
          },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: query.limit + 1,
        });
        const { items, next } = page(rows, query.limit, (r) => r.createdAt);
        return { people: items.map(personView), next };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/people/:id',
      operationId: 'adminGetPerson',
      summary: 'A person: account, roles, a summary of their factors, devices and live sessions.',
      tags: ['admin'],
      params: personParams,
      responses: { 200: { description: 'The person.' }, 404: { description: 'No such person here.' } },
      handler: async ({ req, res, params }) => {
        const { tenant } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadPeople' });
        const account = await personOf(tenant.id, params.id);
        const scope = { tenantId: tenant.id, accountId: account.id };
        const now = new Date();
        const [passkeys, totp, recoveryCodes, devices, liveSessions] = await Promise.all([
          db.passkey.findMany({ where: scope, select: { status: true, hardwareBound: true } }),
          db.totpFactor.findFirst({ where: scope, select: { confirmed: true } }),
          db.recoveryCode.count({ where: { ...scope, usedAt: null } }),
          db.riskDevice.findMany({ where: scope, select: { state: true } }),
          db.session.count({
            where: { ...scope, endedAt: null, idleExpiresAt: { gt: now }, absoluteExpiresAt: { gt: now } },
          }),
        ]);
        const active = passkeys.filter((p) => p.status === 'active');
        return {
          ...personView(account),
          factors: {
            passkeys: active.length,
            hardwareBoundPasskeys: active.filter((p) => p.hardwareBound).length,
            disabledPasskeys: passkeys.length - active.length,
            totp: totp?.confirmed === true,
            recoveryCodesLeft: recoveryCodes,
          },
          devices: {
            total: devices.length,
            revoked: devices.filter((d) => d.state === 'revoked').length,
          },
          liveSessions,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/people/:id/sessions',
      operationId: 'adminListPersonSessions',
      summary: 'A person’s live sessions, newest first (never their tokens).',
      tags: ['admin'],
      params: personParams,
      responses: { 200: { description: '`{ sessions }`.' }, 404: { description: 'No such person here.' } },
      handler: async ({ req, res, params }) => {
        const { tenant } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadSessions' });
        const account = await personOf(tenant.id, params.id);
        const now = new Date();
        const rows = await db.session.findMany({
          where: {
            tenantId: tenant.id,
            accountId: account.id,
            endedAt: null,
            idleExpiresAt: { gt: now },
            absoluteExpiresAt: { gt: now },
          },
          orderBy: { createdAt: 'desc' },
          take: 100,
        });
        return { sessions: rows.map(sessionView) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/t/:tenant/api/admin/people/:id/roles',
      operationId: 'adminSetPersonRoles',
      summary: 'Sets a person’s admin roles. Adding or removing `super-admin` needs a super-admin.',
      description:
        'The last active super-admin cannot lose the role (409 `last_super_admin`): someone must be able to ' +
        'administer tenants.',
      tags: ['admin'],
      params: personParams,
      body: z.strictObject({ roles: z.array(z.enum(ADMIN_ROLES)).max(ADMIN_ROLES.length) }),
      responses: {
        200: { description: 'The person with their new roles.' },
        403: { description: 'Not allowed (e.g. a tenant admin granting super-admin).' },
        409: { description: '`last_super_admin`.' },
      },
      handler: async ({ req, res, params, body }) => {
        const admin = await requireAdmin(edge, req, res, params.tenant, { action: 'ManageRoles' });
        const account = await personOf(admin.tenant.id, params.id);
        const before = rolesOf(account.roles);
        const after = [...new Set(body.roles)].sort();
        const superAdminChanges = before.includes('super-admin') !== after.includes('super-admin');
        // A second Cedar question: only super-admins grant or take away super-admin.
        if (superAdminChanges) {
          await requireAdmin(edge, req, res, params.tenant, { action: 'GrantSuperAdmin' });
        }
        const updated = await store.tx(async (tx) => {
          if (superAdminChanges && !after.includes('super-admin')) {
            // Platform-wide on purpose: super-admins administer every tenant.
            const supers = await tx.account.count({
              where: { status: 'active', roles: { contains: '"super-admin"' } },
            });
            if (supers <= 1) {
              throw new ConflictError('last_super_admin', 'The last super-admin cannot lose the role.');
            }
          }
          const row = await tx.account.update({
            where: { id: account.id },
            data: { roles: JSON.stringify(after) },
          });
          await recordEvent(tx, {
            tenantId: admin.tenant.id,
            accountId: account.id,
            type: 'admin.roles_changed',
            detail: { before, after },
            ip: admin.attempt.ip ?? null,
            actor: { kind: 'admin', id: admin.account.id },
          });
          return row;
        });
        return personView(updated);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/sessions/:publicId/end',
      operationId: 'adminEndSession',
      summary: 'Ends a session; the OpenID Connect grants made in it are revoked with it.',
      tags: ['admin'],
      params: sessionParams,
      body: z.strictObject({}),
      responses: {
        200: { description: '`{ id, ended }` (`ended: false` when it had already ended).' },
        404: { description: 'No such session here.' },
      },
      handler: async ({ req, res, params }) => {
        const admin = await requireAdmin(edge, req, res, params.tenant, { action: 'EndSession' });
        const row = await db.session.findFirst({
          where: { publicId: params.publicId, tenantId: admin.tenant.id },
          select: { accountId: true },
        });
        if (!row) throw new NotFoundError('No such session.');
        const ended = await store.tx(async (tx) => {
          const done = await sessions.endByPublicId(row.accountId, params.publicId, 'ended_by_admin', tx);
          if (done) {
            await recordEvent(tx, {
              tenantId: admin.tenant.id,
              accountId: row.accountId,
              type: 'admin.session_ended',
              detail: { session: params.publicId },
              ip: admin.attempt.ip ?? null,
              actor: { kind: 'admin', id: admin.account.id },
            });
          }
          return done;
        });
        return { id: params.publicId, ended };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/risk/assessments',
      operationId: 'adminListRiskAssessments',
      summary: 'Scored attempts (sign-in, step-up, recovery), newest first, with their assessment.',
      tags: ['admin'],
      params: tenantParams,
      query: pageQuery.extend({
        account: z.string().min(1).max(100).optional().meta({ description: 'A person’s id.' }),
        outcome: z.enum(OUTCOMES).optional(),
        since: z.iso.datetime().optional().meta({ description: 'ISO 8601; attempts at or after it.' }),
      }),
      responses: { 200: { description: '`{ assessments, next }`.' } },
      handler: async ({ req, res, params, query }) => {
        const { tenant } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadRisk' });
        const cursor = decodeCursor(query.cursor);
        const rows = await db.riskAttempt.findMany({
          where: {
            tenantId: tenant.id,
            ...(query.account ? { accountId: query.account } : {}),
            ...(query.outcome ? { outcome: query.outcome } : {}),
            ...(query.since ? { at: { gte: new Date(query.since) } } : {}),
            ...(cursor
              ? { AND: [{ OR: [{ at: { lt: cursor.at } }, { at: cursor.at, id: { lt: cursor.id } }] }] }
              : {}),
          },
          orderBy: [{ at: 'desc' }, { id: 'desc' }],
          take: query.limit + 1,
        });
        const { items, next } = page(rows, query.limit, (r) => r.at);
        return { assessments: items.map(assessmentView), next };
      },
    }),
  ];
}
