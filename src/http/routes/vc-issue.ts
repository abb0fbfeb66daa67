/**
 * W3C VC API issuing (Issuer Service and Status Service): `POST /credentials/issue` and
 * `POST /credentials/status`, at the global paths and per tenant at `/t/{tenant}/credentials/…`.
 *
 * Who may call, checked in this order:
 *   1. bearer   `Authorization: Bearer <access token>` (RFC 6750) validated by the `BearerAuthorizer`
 *               (the OpenID Connect provider); unknown, expired or another tenant's token → 401
 *               `invalid_token`; a token without scope `vc:issue` → 403 `insufficient_scope`
 *   2. admin    otherwise a cookie session allowed `IssueCredentials` (tenant-admin, super-admin) with
 *               a fresh hardware-bound sign-in (RFC 9470 challenge otherwise), same-site requests only
 *   3. nobody   neither → 401 with `WWW-Authenticate: Bearer`
 * The tenant is the path's; on the global paths it is the token's, or `default` for an admin session.
 * Only the tenant's own credentials are found: another tenant's answers 404 like an unknown one.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import {
  CredentialIssuance,
  ISSUE_FORMATS,
  type IssuanceActor,
  type StatusChangeRequest,
} from '../../credentials/issuance.ts';
import { VC_V2_CONTEXT } from '../../credentials/vc-jose.ts';
import type { CredentialFormat } from '../../credentials/verify.ts';
import { TrustgateError } from '../../errors.ts';
import type { Store } from '../../store/index.ts';
import { DEFAULT_TENANT, findTenant } from '../../tenants.ts';
import { requireAdmin } from '../admin-auth.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

/** The OAuth scope that allows issuing and changing status through the VC API. */
export const VC_ISSUE_SCOPE = 'vc:issue';

/** What an access token stands for. */
export interface BearerGrant {
  /** The tenant whose OpenID provider issued the token. */
  tenantId: string;
  clientId: string;
  /** Granted scopes (space-separated `scope` split). */
  scopes: string[];
}

/**
 * Validates OAuth 2.0 access tokens for the VC API (implemented over the OpenID Connect provider).
 * `authorize` answers the grant behind `token`, or null when the token is unknown, expired, revoked or
 * not an access token. `tenantSlug` is the path's tenant on tenant-scoped paths (undefined on the
 * global ones); the routes also check that the grant's tenant is that tenant.
 */
export interface BearerAuthorizer {
  authorize(token: string, tenantSlug?: string): Promise<BearerGrant | null>;
}

export interface VcIssueRouteDeps {
  store: Store;
  edge: SessionEdge;
  issuance: CredentialIssuance;
  /** Read at request time, so the OpenID Connect provider can supply it once it has started. */
  bearer?: BearerAuthorizer;
}

/** 401 with a Bearer challenge (RFC 6750 §3): without an `error` when no credentials were sent. */
class BearerChallengeError extends TrustgateError {
  constructor(code: 'unauthorized' | 'invalid_token', detail: string) {
    const challenge =
      code === 'unauthorized'
        ? `Bearer realm="trustgate", scope="${VC_ISSUE_SCOPE}"`
        : `Bearer realm="trustgate", error="invalid_token", error_description="${detail.replace(/["\\]/g, '')}"`;
    super(code, 401, 'Unauthorized', detail, { headers: { 'WWW-Authenticate': challenge } });
  }
}

/** 403 `insufficient_scope` (RFC 6750 §3.1): the token lacks `vc:issue`. */
export class InsufficientScopeError extends TrustgateError {
  constructor() {
    super(
      'insufficient_scope',
      403,
      'Insufficient scope',
      `The access token lacks scope ${VC_ISSUE_SCOPE}.`,
      {
        headers: {
          'WWW-Authenticate': `Bearer realm="trustgate", error="insufficient_scope", scope="${VC_ISSUE_SCOPE}"`,
        },
      },
    );
  }
}

/** RFC 6750 §2.1: `Bearer` and a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** Who is calling, in which tenant (see the module comment for the order). */
async function authorize(
  deps: VcIssueRouteDeps,
  req: Request,
  res: Response,
  slug: string | undefined,
): Promise<{ tenantId: string; actor: IssuanceActor }> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const token = BEARER.exec(header)?.[1];
    if (!token)
      throw new BearerChallengeError('invalid_token', 'The Authorization header is not a bearer token.');
    const grant = deps.bearer ? await deps.bearer.authorize(token, slug) : null;
    if (!grant)
      throw new BearerChallengeError('invalid_token', 'The access token is unknown, expired or revoked.');
    // A token of another tenant is as good as none here (and says nothing about that tenant).
    if (slug !== undefined && (await findTenant(deps.store, slug)).id !== grant.tenantId) {
      throw new BearerChallengeError('invalid_token', 'The access token is unknown, expired or revoked.');
    }
    if (!grant.scopes.includes(VC_ISSUE_SCOPE)) throw new InsufficientScopeError();
    return { tenantId: grant.tenantId, actor: { kind: 'client', clientId: grant.clientId } };
  }
  if (!deps.edge.tokenOf(req)) {
    throw new BearerChallengeError(
      'unauthorized',
      'Send an access token with scope vc:issue, or sign in as an admin.',
    );
  }
  const { attempt, account } = await requireAdmin(deps.edge, req, res, slug ?? DEFAULT_TENANT, {
    action: 'IssueCredentials',
  });
  return { tenantId: attempt.tenant.id, actor: { kind: 'admin', accountId: account.id } };
}

// ---------------------------------------------------------------------------------------------------------
// Schemas (VC API: IssueCredentialRequest / IssueCredentialResponse / UpdateCredentialStatusRequest)

const issueBody = z.object({
  credential: z.record(z.string(), z.unknown()).meta({
    description: 'The unsecured credential: VC 2.0 (issued as vc+jwt) or VC 1.1 (issued as jwt_vc).',
  }),
  options: z
    .strictObject({
      credentialId: z
        .string()
        .min(1)
        .max(512)
        .optional()
        .meta({ description: 'The id to refer to the credential by, when it has no `id` of its own.' }),
      format: z
        .enum(ISSUE_FORMATS as [CredentialFormat, ...CredentialFormat[]])
        .optional()
        .meta({ description: 'Trustgate extension: the format the @context implies, stated explicitly.' }),
    })
    .optional(),
});

const verifiableCredentialSchema = z
  .object({
    verifiableCredential: z.record(z.string(), z.unknown()).meta({
      description:
        'A vc+jwt as an EnvelopedVerifiableCredential (`id`: `data:application/vc+jwt,<jws>`), or a jwt_vc ' +
        'in its W3C JSON form with a JwtProof2020 `proof.jwt`.',
    }),
  })
  .meta({ id: 'IssueCredentialResponse' });

const entryRef = z.strictObject({
  id: z.string().max(2048).optional(),
  type: z
    .enum(['BitstringStatusListEntry', 'BitstringStatusList', 'BitstringStatusListCredential'])
    .meta({ description: 'The status mechanism: Bitstring Status List.' }),
  statusPurpose: z.string().min(1).max(64).meta({ description: '`revocation` (final) or `suspension`.' }),
  statusListIndex: z
    .string()
    .regex(/^\d{1,10}$/)
    .optional(),
  statusListCredential: z.string().max(2048).optional(),
});

const statusBody = z
  .strictObject({
    credentialId: z.string().min(1).max(512).meta({ description: 'The id of an issued credential.' }),
    credentialStatus: entryRef,
    status: z
      .boolean()
      .meta({ description: '`true` revokes or suspends; `false` reinstates (suspension only).' }),
    indexAllocator: z.string().max(512).optional().meta({ description: 'Accepted and ignored.' }),
  })
  .meta({ id: 'UpdateCredentialStatusRequest' });

const statusAnswer = z
  .object({
    credentialId: z.string(),
    credentialStatus: z.array(
      z.object({
        id: z.string(),
        type: z.literal('BitstringStatusListEntry'),
        statusPurpose: z.string(),
        statusListIndex: z.string(),
        statusListCredential: z.string(),
        status: z.boolean(),
      }),
    ),
  })
  .meta({ id: 'CredentialStatusResult' });

/** The VC API response form of a signed credential. */
function verifiableCredentialOf(issued: { jwt: string; format: CredentialFormat }): Record<string, unknown> {
  if (issued.format === 'vc+jwt') {
    return {
      '@context': VC_V2_CONTEXT,
      id: `data:application/vc+jwt,${issued.jwt}`,
      type: 'EnvelopedVerifiableCredential',
    };
  }
  return CredentialIssuance.decode(issued);
}

const auth401 = {
  401: { description: 'No credentials (`unauthorized`), `invalid_token`, or an admin step-up (RFC 9470).' },
  403: {
    description:
      '`insufficient_scope` (token without vc:issue), or `forbidden` (session without an admin role).',
  },
};

export function vcIssueRoutes(deps: VcIssueRouteDeps): Route[] {
  const routes: Route[] = [];
  for (const scoped of [false, true]) {
    const prefix = scoped ? '/t/:tenant' : '';
    const params = scoped ? tenantParams : z.object({});
    const where = scoped ? ' (tenant-scoped)' : '';
    routes.push(
      defineRoute({
        method: 'post',
        path: `${prefix}/credentials/issue`,
        operationId: scoped ? 'issueTenantCredential' : 'issueCredential',
        summary: `Issue a credential${where}: signed by the tenant's issuer DID, with revocation and suspension status.`,
        description:
          'W3C VC API. The credential’s @context decides the format: VC 2.0 is secured as `vc+jwt` ' +
          '(VC-JOSE-COSE) and answered as an EnvelopedVerifiableCredential; VC 1.1 as a `jwt_vc` (ES256K). ' +
          'The issuer adds `issuer`, an `id` (urn:uuid) when none is given, and two BitstringStatusListEntry ' +
          '(`revocation`, `suspension`). Callers: a tenant admin session, or an access token with scope ' +
          '`vc:issue` (on the global path the token’s tenant; an admin session issues for `default`).',
        tags: ['credentials'],
        params,
        body: issueBody,
        status: 201,
        responses: {
          201: { description: 'Issued.', schema: verifiableCredentialSchema },
          400: { description: '`invalid_credential` with `problems`, or `invalid_request`.' },
          ...auth401,
          409: { description: '`credential_exists`: the id is taken.' },
        },
        handler: async ({ req, res, params, body }) => {
          const slug = (params as { tenant?: string }).tenant;
          const { tenantId, actor } = await authorize(deps, req, res, slug);
          const issued = await deps.issuance.issueRequested({
            tenantId,
            credential: body.credential,
            ...(body.options ? { options: body.options } : {}),
            actor,
          });
          res.setHeader('Cache-Control', 'no-store');
          return { verifiableCredential: verifiableCredentialOf(issued) };
        },
      }),
      defineRoute({
        method: 'post',
        path: `${prefix}/credentials/status`,
        operationId: scoped ? 'updateTenantCredentialStatus' : 'updateCredentialStatus',
        summary: `Revoke, suspend or reinstate an issued credential${where}.`,
        description:
          'W3C VC API UpdateCredentialStatusRequest: `credentialStatus.statusPurpose` `revocation` with ' +
          '`status: true` revokes (final: `status: false` then answers 409 `revocation_is_final`); ' +
          '`suspension` with `true` suspends and `false` reinstates. The change is published at ' +
          '`GET /status/{listId}` within the list’s signing window (at most 5 minutes in caches).',
        tags: ['credentials'],
        params,
        body: statusBody,
        responses: {
          200: {
            description: 'Updated: every status entry of the credential with its bit.',
            schema: statusAnswer,
          },
          400: { description: '`unsupported_status_purpose`, `status_entry_mismatch`, `invalid_request`.' },
          ...auth401,
          404: { description: '`credential_not_found`: unknown here (also another tenant’s).' },
          409: { description: '`revocation_is_final`.' },
        },
        handler: async ({ req, res, params, body }) => {
          const slug = (params as { tenant?: string }).tenant;
          const { tenantId, actor } = await authorize(deps, req, res, slug);
          const change: StatusChangeRequest = {
            purpose: body.credentialStatus.statusPurpose,
            value: body.status,
            ...(body.credentialStatus.statusListCredential !== undefined
              ? { statusListCredential: body.credentialStatus.statusListCredential }
              : {}),
            ...(body.credentialStatus.statusListIndex !== undefined
              ? { statusListIndex: body.credentialStatus.statusListIndex }
              : {}),
          };
          const entries = await deps.issuance.changeStatus({
            tenantId,
            credentialId: body.credentialId,
            changes: [change],
            actor,
          });
          return { credentialId: body.credentialId, credentialStatus: entries };
        },
      }),
    );
  }
  return routes;
}
