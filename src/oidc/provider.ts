/**
 * One OpenID Connect provider (oidc-provider, OpenID Certified) per tenant, issuer
 * `{PUBLIC_URL}/t/{tenant}`, built on first use and rebuilt when the tenant's keys rotate.
 *
 * What Trustgate adds to the library:
 *   - storage in the shared database (`adapter.ts`) and keys sealed under the master key (`keys.ts`);
 *   - sign-in happens on Trustgate's own pages: the provider's login prompt asks for a live Trustgate
 *     session of the same person that satisfies the requested `acr_values` (the library's default policy
 *     never re-prompts for a higher `acr`), and `max_age` forces a fresh proof;
 *   - `acr`, `amr` and `auth_time` reach ID tokens and introspection; `did` and, with scope
 *     `assurance`, an IdentityAssuranceCredential bound to the client reach the app;
 *   - first-party clients skip consent; dynamic registration needs an initial access token and cannot
 *     claim first-party status;
 *   - each grant is tied to the Trustgate session it was made in (`OidcLink`), so ending that session
 *     revokes it (`revocation.ts`).
 */
import { createHmac, randomBytes } from 'node:crypto';
import Provider, {
  type Account,
  type ClientMetadata,
  type Configuration,
  errors,
  interactionPolicy,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { KeyRing } from '../crypto/envelope.ts';
import { getOrCreateSecret } from '../crypto/secrets.ts';
import type { Logger } from '../log.ts';
import { type ActiveSession, hashToken, type Sessions } from '../sessions/sessions.ts';
import type { Tenant } from '../store/generated/postgres/client.ts';
import type { Store, Tx } from '../store/index.ts';
import { findTenant, issuerOf } from '../tenants.ts';
import { renderLoggedOut, renderLogout, renderOidcError } from '../web/oidc-pages.ts';
import { oidcAdapterFor, revokeGrant } from './adapter.ts';
import { ACR_VALUES, requestedAcrs, satisfiesAcr } from './assurance.ts';
import { OidcKeys } from './keys.ts';
import { describeDeliveryError } from './revocation.ts';

/**
 * Scopes Trustgate knows. `did` releases the person's DID (the same at every app); `assurance` adds the
 * IdentityAssuranceCredential; `vc:issue` is for the VC API.
 */
export const OIDC_SCOPES = ['openid', 'did', 'offline_access', 'profile', 'assurance', 'vc:issue'] as const;

/** Client metadata only an admin can set: the client skips the consent page. */
export const FIRST_PARTY = 'trustgate_first_party';

/** Issues the IdentityAssuranceCredential an app receives with scope `assurance`. */
export type AssuranceIssuer = (input: {
  tenantId: string;
  account: { id: string; did: string };
  clientId: string;
  /** The session the grant was made in, when still live. */
  session?: ActiveSession;
  acr?: string;
  amr?: string[];
  authTime?: number;
}) => Promise<string | undefined>;

export interface OidcDeps {
  store: Store;
  keys: KeyRing;
  sessions: Sessions;
  publicUrl: string;
  log: Logger;
  /** The Trustgate session cookie's name. */
  sessionCookie: string;
  /** How long a signing or cookie key is current (then the next one takes over). */
  keyRotationMs: number;
  /** Let back-channel logout reach private and loopback addresses (development and tests). */
  allowPrivateCallbacks: boolean;
  /** Behind a TLS-terminating proxy (X-Forwarded-Proto decides the cookie `secure` flag). */
  proxy: boolean;
  assurance?: AssuranceIssuer;
}

export interface TenantProvider {
  provider: Provider;
  tenant: Tenant;
}

interface Cached {
  built: Promise<TenantProvider>;
  fingerprint: string;
  checkedAtMs: number;
}

/** How often a cached provider checks whether its tenant's keys changed (rotation, another instance). */
const KEY_CHECK_MS = 60_000;

export class TenantProviders {
  readonly oidcKeys: OidcKeys;
  private readonly cache = new Map<string, Cached>();
  /** Per request: the clients whose back-channel logout the provider could not deliver, and why. */
  private readonly undelivered = new WeakMap<object, Map<string, string>>();
  private readonly sessionsOfRequest = new WeakMap<object, Promise<ActiveSession | null>>();

  constructor(private readonly deps: OidcDeps) {
    this.oidcKeys = new OidcKeys({ store: deps.store, keys: deps.keys, rotationMs: deps.keyRotationMs });
  }

  /** The provider of tenant `slug` (404 for an unknown tenant). */
  async get(slug: string): Promise<TenantProvider> {
    const tenant = await findTenant(this.deps.store, slug);
    const hit = this.cache.get(tenant.id);
    const nowMs = Date.now();
    if (hit && nowMs - hit.checkedAtMs < KEY_CHECK_MS) return this.fresh(hit, tenant);
    if (hit) {
      hit.checkedAtMs = nowMs;
      const fingerprint = await this.oidcKeys.fingerprint(tenant.id);
      if (fingerprint === hit.fingerprint) return this.fresh(hit, tenant);
    }
    return this.build(tenant);
  }

  /** The provider of the tenant with id `tenantId`. */
  async byTenantId(tenantId: string): Promise<TenantProvider> {
    const tenant = await this.deps.store.db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    return this.get(tenant.slug);
  }

  private async fresh(hit: Cached, tenant: Tenant): Promise<TenantProvider> {
    const built = await hit.built;
    // Settings such as the display name change without a rebuild.
    built.tenant = tenant;
    return built;
  }

  private build(tenant: Tenant): Promise<TenantProvider> {
    const entry: Cached = { built: Promise.resolve() as never, fingerprint: '', checkedAtMs: Date.now() };
    entry.built = (async () => {
      const keySet = await this.oidcKeys.load(tenant.id);
      entry.fingerprint = await this.oidcKeys.fingerprint(tenant.id);
      const pairwiseSalt = await pairwiseSaltOf(this.deps.store, this.deps.keys, tenant.id);
      const provider = new Provider(
        issuerOf(this.deps.publicUrl, tenant.slug),
        this.configuration(tenant, keySet, pairwiseSalt),
      );
      provider.proxy = this.deps.proxy;
      this.instrument(provider, tenant);
      return { provider, tenant };
    })();
    entry.built.catch(() => this.cache.delete(tenant.id));
    this.cache.set(tenant.id, entry);
    return entry.built;
  }

  /** The `sub` the client `clientId` knows a person by (public: the account id; pairwise: per sector). */
  async subjectFor(tenantId: string, accountId: string, clientId: string | null): Promise<string> {
    if (!clientId) return accountId;
    const { provider } = await this.byTenantId(tenantId);
    const client = (await provider.Client.find(clientId)) as
      | { subjectType?: string; sectorIdentifier?: string; clientId: string }
      | undefined;
    if (client?.subjectType !== 'pairwise') return accountId;
    return pairwiseSubject(
      await pairwiseSaltOf(this.deps.store, this.deps.keys, tenantId),
      client,
      accountId,
    );
  }

  /**
   * The live Trustgate session a request carries (from its cookie), in `tenant`: read once per request
   * (the login check and the grant link of one authorization share it).
   */
  liveSession(ctx: KoaContextWithOIDC, tenant: Tenant): Promise<ActiveSession | null> {
    let found = this.sessionsOfRequest.get(ctx);
    if (!found) {
      const token = ctx.cookies.get(this.deps.sessionCookie, { signed: false });
      found = token ? this.deps.sessions.find(token, tenant) : Promise.resolve(null);
      this.sessionsOfRequest.set(ctx, found);
    }
    return found;
  }

  private configuration(
    tenant: Tenant,
    keySet: { jwks: { keys: Array<Record<string, unknown>> }; cookieKeys: string[] },
    pairwiseSalt: Buffer,
  ): Configuration {
    const { store } = this.deps;
    const base = `/t/${tenant.slug}`;
    const policy = interactionPolicy.base();
    const login = policy.get('login');
    // After the library's checks (no session, max_age, id_token_hint…): a live Trustgate session of the
    // same person, with nothing owed, that satisfies what the app asked for.
    login?.checks.add(
      new interactionPolicy.Check(
        'trustgate_session',
        'End-User must be signed in to Trustgate with the requested assurance',
        'login_required',
        async (ctx) => {
          const live = await this.liveSession(ctx, tenant);
          if (!live || live.pending || live.row.accountId !== ctx.oidc.session?.accountId) {
            return interactionPolicy.Check.REQUEST_PROMPT;
          }
          const wanted = requestedAcrs(ctx.oidc.params?.acr_values);
          if (wanted.length === 0) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
          const stated = ctx.oidc.session?.acr;
          const ok =
            stated !== undefined &&
            wanted.includes(stated) &&
            satisfiesAcr(live.assurance, live.authTimeMs, stated);
          return ok ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
        },
      ),
    );

    return {
      adapter: oidcAdapterFor(store, tenant.id),
      jwks: keySet.jwks as Configuration['jwks'],
      cookies: {
        keys: keySet.cookieKeys,
        names: {
          session: `_tg_oidc_session_${tenant.slug}`,
          interaction: '_tg_oidc_interaction',
          resume: '_tg_oidc_resume',
        },
        long: { path: `${base}/`, sameSite: 'lax', httpOnly: true },
        short: { path: `${base}/`, sameSite: 'lax', httpOnly: true },
      },
      routes: {
        authorization: '/authorize',
        token: '/token',
        userinfo: '/userinfo',
        jwks: '/jwks',
        introspection: '/introspect',
        revocation: '/revoke',
        registration: '/register',
        end_session: '/logout',
        pushed_authorization_request: '/par',
      },
      scopes: [...OIDC_SCOPES],
      claims: {
        // acr, amr and auth_time under `openid`: every ID token states how the person signed in.
        iss: null,
        sid: null,
        openid: ['sub', 'acr', 'amr', 'auth_time'],
        // The DID is the same at every app: its own scope, so pairwise subjects are not undone silently.
        did: ['did'],
        profile: ['name', 'preferred_username'],
        assurance: ['assurance_credential'],
      },
      acrValues: [...ACR_VALUES],
      subjectTypes: ['public', 'pairwise'],
      pairwiseIdentifier: async (_ctx, accountId, client) => pairwiseSubject(pairwiseSalt, client, accountId),
      clientDefaults: {
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        id_token_signed_response_alg: 'ES256',
        token_endpoint_auth_method: 'client_secret_basic',
      },
      enabledJWA: {
        idTokenSigningAlgValues: ['ES256', 'EdDSA', 'RS256'],
        userinfoSigningAlgValues: ['ES256', 'EdDSA', 'RS256'],
        introspectionSigningAlgValues: ['ES256', 'EdDSA', 'RS256'],
        authorizationSigningAlgValues: ['ES256', 'EdDSA', 'RS256'],
        requestObjectSigningAlgValues: ['ES256', 'EdDSA', 'RS256', 'PS256'],
        dPoPSigningAlgValues: ['ES256', 'EdDSA', 'PS256', 'RS256'],
      },
      extraClientMetadata: {
        properties: [FIRST_PARTY],
        validator: (ctx, key, value) => {
          if (key !== FIRST_PARTY || value === undefined) return;
          if (typeof value !== 'boolean') {
            throw new errors.InvalidClientMetadata(`${FIRST_PARTY} must be a boolean`);
          }
          // Only admins (who write clients directly) may mark a client first-party.
          const route = (ctx as KoaContextWithOIDC | undefined)?.oidc?.route;
          if (route === 'registration' || route === 'client_update') {
            throw new errors.InvalidClientMetadata(`${FIRST_PARTY} cannot be registered dynamically`);
          }
        },
      },
      features: {
        devInteractions: { enabled: false },
        registration: { enabled: true, initialAccessToken: true },
        registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
        // Resource servers (confidential clients) introspect any token of the tenant; a public client only
        // its own. Only the client a token was issued to can revoke it.
        introspection: {
          enabled: true,
          allowedPolicy: async (ctx, client, token) =>
            token.clientId === client.clientId ||
            (client.clientAuthMethod !== 'none' &&
              // A deleted client's tokens are not active (the provider would also fail to compute their
              // pairwise `sub` and answer 500).
              (await ctx.oidc.provider.Client.find(String(token.clientId))) !== undefined),
        },
        revocation: {
          enabled: true,
          allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
        },
        userinfo: { enabled: true },
        dPoP: { enabled: true },
        backchannelLogout: { enabled: true },
        clientCredentials: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: async (ctx, form) => {
            allowLogoutReturnInFormAction(ctx);
            ctx.type = 'html';
            ctx.body = renderLogout({ tenant, form });
          },
          postLogoutSuccessSource: async (ctx) => {
            ctx.type = 'html';
            ctx.body = renderLoggedOut({ tenant, clientName: ctx.oidc.client?.clientName });
          },
        },
      },
      clientBasedCORS: (_ctx, origin, client) =>
        (client.redirectUris ?? []).some((uri) => {
          try {
            return new URL(uri).origin === origin;
          } catch {
            return false;
          }
        }),
      rotateRefreshToken: true,
      // Tokens do not die with the provider's session row: a grant lives as long as the Trustgate session
      // it was made in (ending that revokes it, see revocation.ts), or until the app's offline access
      // is revoked. This also spares a session lookup on every token use.
      expiresWithSession: async () => false,
      ttl: {
        AccessToken: 900,
        AuthorizationCode: 60,
        ClientCredentials: 600,
        IdToken: 3600,
        Interaction: 3600,
        Session: 12 * 3600,
        Grant: 14 * 24 * 3600,
        RefreshToken: 14 * 24 * 3600,
      },
      interactions: {
        policy,
        url: (_ctx, interaction) => `${base}/interaction/${interaction.uid}`,
      },
      loadExistingGrant: async (ctx) => {
        const grantId =
          ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
        if (grantId) return ctx.oidc.provider.Grant.find(grantId);
        return undefined;
      },
      findAccount: async (ctx, sub, token) => this.findAccount(ctx, tenant, sub, token),
      extraTokenClaims: async (ctx, token) => {
        if (token.kind !== 'AccessToken') return undefined;
        const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
        if (!source) return undefined;
        return {
          ...(source.acr ? { acr: source.acr } : {}),
          ...(source.amr ? { amr: source.amr } : {}),
          ...(source.authTime ? { auth_time: source.authTime } : {}),
        };
      },
      renderError: async (ctx, out) => {
        ctx.type = 'html';
        ctx.body = renderOidcError({ tenant, error: String(out.error), description: out.error_description });
      },
      fetch: (url, options) => {
        if (!this.deps.allowPrivateCallbacks) return fetch(url, options);
        // Development and tests: back-channel logout to loopback receivers, without the SSRF dispatcher.
        const { dispatcher: _omit, ...rest } = options as RequestInit & { dispatcher?: unknown };
        return fetch(url, rest);
      },
      // The ID token carries the claims of the granted scopes (the assurance credential among them).
      conformIdTokenClaims: false,
      allowOmittingSingleRegisteredRedirectUri: false,
      responseTypes: ['code'],
    } satisfies Configuration;
  }

  private async findAccount(
    ctx: KoaContextWithOIDC,
    tenant: Tenant,
    sub: string,
    token: unknown,
  ): Promise<Account | undefined> {
    // Plain SQL: read on every code exchange, refresh and userinfo call.
    const [account] = await this.deps.store.db.$queryRaw<
      Array<{ id: string; did: string; displayName: string | null; username: string | null }>
    >`SELECT "id", "did", "displayName", "username" FROM "Account"
      WHERE "id" = ${sub} AND "tenantId" = ${tenant.id} AND "status" = 'active'`;
    if (!account) return undefined;
    return {
      accountId: account.id,
      claims: async (use, scope) => {
        const claims: Record<string, unknown> = { sub: account.id, did: account.did };
        if (account.displayName) claims.name = account.displayName;
        if (account.username) claims.preferred_username = account.username;
        const scopes = new Set(scope.split(' '));
        const clientId = ctx.oidc.client?.clientId;
        if (use === 'id_token' && scopes.has('assurance') && this.deps.assurance && clientId) {
          const source = token as { acr?: string; amr?: string[]; authTime?: number; grantId?: string };
          const session = source.grantId ? await this.sessionOfGrant(tenant, source.grantId) : undefined;
          const credential = await this.deps.assurance({
            tenantId: tenant.id,
            account: { id: account.id, did: account.did },
            clientId,
            ...(session ? { session } : {}),
            ...(source.acr ? { acr: source.acr } : {}),
            ...(source.amr ? { amr: source.amr } : {}),
            ...(source.authTime ? { authTime: source.authTime } : {}),
          });
          if (credential) claims.assurance_credential = credential;
        }
        return claims as { sub: string };
      },
    };
  }

  /** The live session a grant was made in (through its link), if it is still live. */
  private async sessionOfGrant(tenant: Tenant, grantId: string): Promise<ActiveSession | undefined> {
    const link = await this.deps.store.db.oidcLink.findFirst({
      where: { tenantId: tenant.id, grantId, revokedAt: null },
      select: { lineage: true },
    });
    if (!link) return undefined;
    const row = await this.deps.store.db.session.findFirst({
      where: { lineage: link.lineage, endedAt: null },
      orderBy: { createdAt: 'desc' },
    });
    return row ? ((await this.deps.sessions.findByRow(row, tenant)) ?? undefined) : undefined;
  }

  /** Hooks the provider's request pipeline: grant links, logout of the Trustgate session, logging. */
  private instrument(provider: Provider, tenant: Tenant): void {
    provider.use(async (ctx, next) => {
      await next();
      const oidc = (ctx as KoaContextWithOIDC).oidc;
      if (!oidc) return;
      // Without a provider session the library answers end_session with its own auto-submitted form
      // (logoutSource is not called): that form's redirect to the app needs the same allowance.
      if (oidc.route === 'end_session') allowLogoutReturnInFormAction(ctx as KoaContextWithOIDC);
      if ((oidc.route === 'authorization' || oidc.route === 'resume') && oidc.entities.AuthorizationCode) {
        await this.link(ctx as KoaContextWithOIDC, tenant);
      }
      // Only a confirmation the provider accepted (its 303): a refused one (wrong or missing `xsrf`)
      // is rendered as an error below this middleware and must not sign the person out.
      if (oidc.route === 'end_session_confirm' && ctx.status === 303) {
        // "Yes": out of Trustgate and every app; "No, stay signed in": out of the asking app only.
        if (oidc.params?.logout) await this.endTrustgateSession(ctx as KoaContextWithOIDC, tenant);
        else if (oidc.client) await this.closeLinks(ctx as KoaContextWithOIDC, tenant, oidc.client.clientId);
      }
    });
    provider.on('server_error', (ctx, err) =>
      this.deps.log.error({ err, route: ctx.oidc?.route }, 'oidc error'),
    );
    provider.on('backchannel.error', (ctx, err, client) => {
      // RP-initiated logout: remembered, so that request leaves the link pending for the retrying worker.
      const failed = this.undelivered.get(ctx) ?? new Map<string, string>();
      failed.set(client.clientId, describeDeliveryError(err));
      this.undelivered.set(ctx, failed);
      this.deps.log.warn({ err, clientId: client.clientId }, 'back-channel logout failed');
    });
  }

  /** Records which Trustgate session lineage a grant belongs to (once per provider session and client). */
  private async link(ctx: KoaContextWithOIDC, tenant: Tenant): Promise<void> {
    const { session, client, entities } = ctx.oidc;
    const grantId = entities.AuthorizationCode?.grantId;
    if (!session?.accountId || !client || !grantId) return;
    const live = await this.liveSession(ctx, tenant);
    if (!live) return;
    const sid = session.sidFor(client.clientId);
    const data = {
      lineage: live.row.lineage,
      accountId: session.accountId,
      grantId,
      sid: sid ?? null,
      revokedAt: null,
      logoutPending: false,
    };
    await this.deps.store.db.oidcLink.upsert({
      where: {
        tenantId_sessionUid_clientId: {
          tenantId: tenant.id,
          sessionUid: session.uid,
          clientId: client.clientId,
        },
      },
      create: { tenantId: tenant.id, sessionUid: session.uid, clientId: client.clientId, ...data },
      update: data,
    });
  }

  /**
   * RP-initiated logout signs the person out of Trustgate too. The provider has already logged its own
   * session out of every client (back-channel included), so its links are closed without a second
   * logout token; ending the Trustgate session then revokes whatever else that browser session granted.
   */
  private async endTrustgateSession(ctx: KoaContextWithOIDC, tenant: Tenant): Promise<void> {
    await this.closeLinks(ctx, tenant);
    const token = ctx.cookies.get(this.deps.sessionCookie, { signed: false });
    if (token) await this.deps.sessions.end(hashToken(token), 'oidc_logout');
  }

  /**
   * After the provider logged its session out (of every client, or of `clientId` only): revokes the
   * grants made in it and closes their links. The provider keeps grants past its logout (tokens do not
   * expire with its session), and grants never outlive the logout of the app or session they belong to.
   * The provider already sent the logout tokens; those it failed to deliver are retried by the worker.
   */
  private async closeLinks(ctx: KoaContextWithOIDC, tenant: Tenant, clientId?: string): Promise<void> {
    const uid = ctx.oidc.session?.uid;
    if (!uid) return;
    const db = this.deps.store.db;
    const where = {
      tenantId: tenant.id,
      sessionUid: uid,
      revokedAt: null,
      ...(clientId ? { clientId } : {}),
    };
    const links = await db.oidcLink.findMany({ where, select: { grantId: true } });
    for (const { grantId } of links) await revokeGrant(db as unknown as Tx, tenant.id, grantId);
    await db.oidcLink.updateMany({ where, data: { revokedAt: new Date(), logoutPending: false } });
    for (const [failed, message] of this.undelivered.get(ctx) ?? []) {
      if (clientId && failed !== clientId) continue;
      await db.oidcLink.updateMany({
        where: { tenantId: tenant.id, sessionUid: uid, clientId: failed },
        data: {
          logoutPending: true,
          logoutError: message,
          logoutAttempts: 1,
          nextAttemptAt: new Date(Date.now() + 5_000),
        },
      });
    }
  }
}

/**
 * RP-initiated logout confirms with a form posted to Trustgate that redirects to the app's
 * `post_logout_redirect_uri`, and Chromium applies `form-action` to a form's redirects too, so under
 * `form-action 'self'` the browser stops short of the app. This adds that address's origin (already
 * checked against the client's registration) to the
 * form-action of this one response; every other page keeps `form-action 'self'`. Idempotent.
 */
export function allowLogoutReturnInFormAction(ctx: KoaContextWithOIDC): void {
  const uri = ctx.oidc?.params?.post_logout_redirect_uri;
  if (typeof uri !== 'string') return;
  // Checked here again: an error response to a refused logout request still carries the raw parameter.
  if (!ctx.oidc.client?.postLogoutRedirectUriAllowed(uri)) return;
  let origin: string;
  try {
    const url = new URL(uri);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return;
    origin = url.origin;
  } catch {
    return;
  }
  const csp: unknown = ctx.response.get('Content-Security-Policy');
  if (typeof csp !== 'string' || csp === '') return;
  const directives = csp
    .split(';')
    .map((d) => d.trim())
    .filter(Boolean)
    .map((directive) => {
      const [name, ...values] = directive.split(/\s+/);
      if (name?.toLowerCase() !== 'form-action' || values.includes(origin)) return directive;
      return [name, ...values.filter((v) => v !== "'none'"), origin].join(' ');
    });
  ctx.set('Content-Security-Policy', directives.join('; '));
}

/** The tenant's pairwise-subject salt (a sealed service secret, created once). */
export function pairwiseSaltOf(store: Store, keys: KeyRing, tenantId: string): Promise<Buffer> {
  return getOrCreateSecret(store, keys, `oidc.pairwise:${tenantId}`, () => randomBytes(32));
}

/** A pairwise `sub` (OpenID Connect Core §8.1): HMAC of the client's sector and the account id. */
export function pairwiseSubject(
  salt: Buffer,
  client: { sectorIdentifier?: string | undefined; clientId: string },
  accountId: string,
): string {
  return createHmac('sha256', salt)
    .update(`${client.sectorIdentifier ?? client.clientId}\u0000${accountId}`)
    .digest('base64url');
}

/** Validates client metadata the way the provider will read it (throws InvalidClientMetadata). */
export async function validateClientMetadata(provider: Provider, metadata: ClientMetadata): Promise<void> {
  await (provider.Client as unknown as { validate(m: ClientMetadata): Promise<void> }).validate(metadata);
}
