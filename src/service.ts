/**
 * Composition root: opens the store (migrating it first), the shared state and the chain, builds the
 * app and listens. `stop()` shuts down in reverse order after draining in-flight requests.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditAnchoring, chainAnchorSource } from './audit/anchoring.ts';
import { type ChainConnection, connectChain } from './chain/index.ts';
import { ChainOutbox } from './chain/outbox.ts';
import type { Config } from './config.ts';
import { cachedKeySigner } from './credentials/es256k.ts';
import { CredentialIssuance } from './credentials/issuance.ts';
import { TenantIssuers } from './credentials/issuers.ts';
import { PresentationVerifier } from './credentials/presentations.ts';
import { StatusChecker } from './credentials/status-check.ts';
import { StatusLists } from './credentials/status-lists.ts';
import { StatusListPublisher } from './credentials/status-publication.ts';
import { subjectOf, verifyCredential } from './credentials/verify.ts';
import type { KeyRing } from './crypto/envelope.ts';
import { loadKeyRing } from './crypto/master-key.ts';
import { StartupError } from './errors.ts';
import { builtInAttestationRoots, builtInMdsRoots } from './factors/attestation/built-in-roots.ts';
import { AttestationTrustStore } from './factors/attestation/trust-store.ts';
import { PasskeyFactor } from './factors/passkey.ts';
import { RecoveryCodes } from './factors/recovery-codes.ts';
import { TotpFactor } from './factors/totp.ts';
import { AccountJobs } from './flows/account-jobs.ts';
import { type AuthDeps, DEFAULT_AUTH_LIMITS } from './flows/auth-context.ts';
import { createApp, trustProxySetting } from './http/app.ts';
import { createMetrics } from './http/metrics.ts';
import { oidcMount } from './http/oidc-mount.ts';
import { accountRoutes } from './http/routes/accounts.ts';
import { adminAuditRoutes } from './http/routes/admin-audit.ts';
import { adminAuthenticatorRoutes } from './http/routes/admin-authenticators.ts';
import { adminClientRoutes } from './http/routes/admin-clients.ts';
import { adminDashboardRoutes } from './http/routes/admin-dashboard.ts';
import { adminDeviceRoutes } from './http/routes/admin-devices.ts';
import { adminMeRoutes } from './http/routes/admin-me.ts';
import { adminPeopleRoutes } from './http/routes/admin-people.ts';
import { adminPolicyRoutes } from './http/routes/admin-policies.ts';
import { adminSsfRoutes } from './http/routes/admin-ssf.ts';
import { adminTenantRoutes } from './http/routes/admin-tenants.ts';
import { authRoutes } from './http/routes/auth.ts';
import { chainJobRoutes } from './http/routes/chain-jobs.ts';
import { homeRoutes } from './http/routes/home.ts';
import { identifierRoutes } from './http/routes/identifiers.ts';
import { meActivityRoutes } from './http/routes/me-activity.ts';
import { meCredentialRoutes } from './http/routes/me-credentials.ts';
import { meDeviceRoutes } from './http/routes/me-devices.ts';
import { meDidRoutes } from './http/routes/me-did.ts';
import { meFactorRoutes } from './http/routes/me-factors.ts';
import { oidcInteractionRoutes } from './http/routes/oidc-interactions.ts';
import { opsRoutes } from './http/routes/ops.ts';
import { pageRoutes } from './http/routes/pages.ts';
import { statusRoutes } from './http/routes/status.ts';
import { vcApiRoutes } from './http/routes/vc-api.ts';
import { type BearerAuthorizer, vcIssueRoutes } from './http/routes/vc-issue.ts';
import type { Route } from './http/routes.ts';
import { SessionEdge } from './http/session-auth.ts';
import { AccountTokens } from './identity/account-tokens.ts';
import { Accounts } from './identity/accounts.ts';
import { createIdentityAgent, type IdentityAgent } from './identity/agent.ts';
import { DidAuthenticator } from './identity/did-auth.ts';
import { DidResolverService, ethrNetworkOf } from './identity/resolver/index.ts';
import { PrismaPrivateKeyStore } from './identity/veramo-stores.ts';
import type { Logger } from './log.ts';
import { createSafeFetch, type SafeFetchOptions } from './net/safe-fetch.ts';
import { purgeExpiredOidcRows } from './oidc/adapter.ts';
import { oidcBearer } from './oidc/bearer.ts';
import { type AssuranceIssuer, TenantProviders } from './oidc/provider.ts';
import { LogoutDelivery, revokeGrantsOfEndedSessions } from './oidc/revocation.ts';
import { fromRoot } from './paths.ts';
import { adminAuthorizer } from './policy/admin-authz.ts';
import { allowAtComputedLevel, type DecisionPoint } from './policy/decision.ts';
import { TenantPolicies } from './policy/tenant-policies.ts';
import { RiskEngine, type RiskServices } from './risk/engine.ts';
import { AsnDatabase } from './risk/geo/asn.ts';
import { Geolocation } from './risk/geo/geolocation.ts';
import { StoredRiskHistory } from './risk/history.ts';
import { CidrList } from './risk/net/cidr-list.ts';
import { RiskDecisionPoint } from './risk/risk-decision.ts';
import { type RiskWeights, riskWeightsOf } from './risk/scorer.ts';
import { StateVelocity } from './risk/velocity.ts';
import { RateLimiter } from './security/rate-limit.ts';
import { type DeviceServices, startDevices } from './service-devices.ts';
import { Sessions } from './sessions/sessions.ts';
import { createState } from './state/index.ts';
import type { EphemeralState } from './state/types.ts';
import { openStore, type Store } from './store/index.ts';
import { applyMigrations } from './store/migrate.ts';
import { ensureDefaultTenant } from './tenants.ts';

export const version = (JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version: string })
  .version;

export interface Service {
  /** Base URL the HTTP server listens on (loopback form when bound to all interfaces). */
  readonly url: string;
  readonly config: Config;
  readonly store: Store;
  readonly state: EphemeralState;
  readonly chain: ChainConnection;
  readonly agent: IdentityAgent;
  readonly resolver: DidResolverService;
  readonly outbox: ChainOutbox;
  /** Anchors audit chain heads on chain; undefined when anchoring is off (external chain without it). */
  readonly auditAnchoring: AuditAnchoring | undefined;
  readonly credentials: {
    issuers: TenantIssuers;
    statusLists: StatusLists;
    statusPublisher: StatusListPublisher;
    issuance: CredentialIssuance;
  };
  /** The tenants' OpenID Connect providers. */
  readonly oidc: TenantProviders;
  /** Devices: the revocation cascade, Shared Signals streams and push, the revocation fan-out. */
  readonly devices: DeviceServices;
  readonly server: Server;
  /** Graceful shutdown: stop accepting, drain, close chain, state and store. Idempotent. */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  log: Logger;
  /** Extra routes (tests mount probes through the real pipeline). */
  extraRoutes?: Route[];
  /** The decision point for sign-in attempts (default: allow at the computed level). */
  decisions?: DecisionPoint;
  /** Overrides of did:web fetch settings (tests inject a DNS resolver). */
  didWeb?: Partial<SafeFetchOptions>;
  /** Access tokens for the VC API (`vc:issue`) until the OpenID Connect provider supplies them (tests). */
  vcBearer?: BearerAuthorizer;
}

/** Starts Trustgate with `config`. Throws StartupError/ConfigError with a clear message. */
export async function startService(config: Config, options: ServiceOptions): Promise<Service> {
  const { log } = options;
  const opened: Array<() => Promise<void>> = [];
  const closeOpened = async () => {
    for (const close of opened.reverse()) await close().catch((err) => log.error({ err }, 'close failed'));
  };
  try {
    const keys = loadKeyRing(config, log);

    const migrated = await applyMigrations({ url: config.DATABASE_URL, log }).catch((err: Error) => {
      throw new StartupError(`The database is unavailable or could not be migrated: ${err.message}`);
    });
    if (migrated.applied.length > 0) log.info({ applied: migrated.applied }, 'applied database migrations');
    const store = await openStore({ url: config.DATABASE_URL, log }).catch((err: Error) => {
      throw new StartupError(`The database is unreachable: ${err.message}`);
    });
    opened.push(() => store.close());
    await ensureDefaultTenant(store);

    const state = await createState({
      redisUrl: config.REDIS_URL,
      prefix: config.REDIS_PREFIX,
      onError: (err, context) => log.warn({ err, context }, 'shared state error'),
    }).catch((err: Error) => {
      throw new StartupError(err.message);
    });
    opened.push(() => state.close());

    const chain = await connectChain(config, { store, keys, log });
    opened.push(() => chain.close());
    const resolver = new DidResolverService({
      ethr: [ethrNetworkOf(chain)],
      ethrIndex: { onError: (err) => log.warn({ err }, 'did:ethr watcher poll failed') },
      web: { allowHosts: config.DID_WEB_ALLOW_HOSTS, ...options.didWeb },
    });
    await resolver.start();
    opened.push(() => resolver.stop());
    const agent = createIdentityAgent({ store, keys, chain, resolver: resolver.resolvable() });
    // Stopped before the chain closes (closeOpened runs in reverse), so in-flight jobs settle first.
    const outbox = new ChainOutbox({ store, chain, log, state });
    outbox.start();
    opened.push(() => outbox.stop());
    // Audit chain heads go on chain through the outbox; stopped before it (closeOpened runs in reverse).
    const auditAnchoring = chain.auditAnchorAddress
      ? new AuditAnchoring({
          store,
          outbox,
          log,
          every: config.AUDIT_ANCHOR_EVERY,
          intervalMs: config.AUDIT_ANCHOR_MINUTES * 60_000,
        })
      : undefined;
    auditAnchoring?.start();
    if (auditAnchoring) opened.push(() => auditAnchoring.stop());
    const accounts = new Accounts(store, agent, chain.chainId);
    const didAuth = new DidAuthenticator(state, resolver.resolvable());
    const tokens = new AccountTokens(state);
    const accountJobs = new AccountJobs(store, outbox, state, accounts);
    const issuers = new TenantIssuers(agent);
    const statusLists = new StatusLists(store);
    const statusPublisher = new StatusListPublisher({
      store,
      statusLists,
      issuers,
      agent,
      publicUrl: config.PUBLIC_URL,
    });
    // Issuing (VC API, sign-in, passkeys). The VC API's access tokens come from `vcBearer.current`: the
    // OpenID Connect provider sets it (BearerAuthorizer in src/http/routes/vc-issue.ts).
    // Issuers sign with their key unsealed once per few minutes (cachedKeySigner), not per credential.
    const issuerKeys = new PrismaPrivateKeyStore(store, keys);
    const issuance = new CredentialIssuance({
      store,
      agent,
      issuers,
      statusLists,
      publisher: statusPublisher,
      log,
      signer: (issuer) => cachedKeySigner(issuerKeys, issuer.kid),
    });
    const vcBearer: { current?: BearerAuthorizer } = options.vcBearer ? { current: options.vcBearer } : {};
    // Our own lists are read in process; anyone else's are fetched through the SSRF guard.
    const statusChecker = new StatusChecker({
      fetch: createSafeFetch(),
      resolver,
      local: { publicUrl: config.PUBLIC_URL, publisher: statusPublisher },
    });
    const checkStatus = async (credential: unknown) => {
      await statusChecker.check(credential);
    };
    const presentations = new PresentationVerifier(state, resolver.resolvable(), async (jwt) => {
      const result = await verifyCredential(jwt, { resolver, checkStatus });
      return { ...result, subject: subjectOf(result.credential) };
    });

    // Sign-in: factors, sessions, the decision point and the limits, shared by the flows.
    const trust = await AttestationTrustStore.load({
      builtInRoots: builtInAttestationRoots(),
      builtInMdsRootPems: builtInMdsRoots(),
      ...(config.ATTESTATION_ROOTS_DIR ? { rootsDir: config.ATTESTATION_ROOTS_DIR } : {}),
      ...(config.MDS_BLOB ? { mdsBlob: config.MDS_BLOB } : {}),
      ...(config.MDS_ROOT_CERTS ? { mdsRoots: config.MDS_ROOT_CERTS.split(',').map((p) => p.trim()) } : {}),
    }).catch((err: Error) => {
      throw new StartupError(`The attestation trust store could not be loaded: ${err.message}`);
    });
    if (trust.mds?.stale) log.warn('the FIDO metadata BLOB is past its nextUpdate date: refresh MDS_BLOB');
    const publicUrl = new URL(config.PUBLIC_URL);
    const sessions = new Sessions(store);
    const policies = new TenantPolicies(store);
    const risk = config.RISK_ENABLED ? await startRisk(config, { store, state, policies, log }) : undefined;
    const auth: AuthDeps = {
      store,
      accounts,
      sessions,
      passkeys: new PasskeyFactor({
        store,
        state,
        trust,
        rp: { id: publicUrl.hostname, name: config.RP_NAME, origin: publicUrl.origin },
      }),
      totp: new TotpFactor({ store, keys, state, issuerName: config.RP_NAME }),
      recoveryCodes: new RecoveryCodes({ store }),
      didAuth,
      decisions: options.decisions ?? risk?.decisions ?? allowAtComputedLevel,
      limiter: new RateLimiter(state),
      limits: {
        ...DEFAULT_AUTH_LIMITS,
        perIp: { max: config.AUTH_RATE_LIMIT_PER_MINUTE, windowMs: 60_000 },
      },
      credentials: issuance,
    };
    const edge = new SessionEdge({ store, sessions, publicUrl: config.PUBLIC_URL });
    // The built-in admin policies are validated now: a broken one stops the start, not every admin.
    adminAuthorizer();

    // OpenID Connect: one provider per tenant; ending a Trustgate session revokes its grants.
    // Apps asking for scope `assurance` receive an IdentityAssuranceCredential about the sign-in, with
    // the client as audience (only while the session the grant was made in is live).
    const oidc = startOidc(config, { store, keys, sessions, edge, log }, async (input) =>
      input.session
        ? (
            await issuance.issueAssurance({
              tenantId: input.tenantId,
              account: input.account,
              session: input.session,
              audience: input.clientId,
            })
          ).jwt
        : undefined,
    );
    // The VC API accepts the providers' access tokens (scope `vc:issue`) unless a test injected its own.
    vcBearer.current ??= oidcBearer(store, oidc.providers);
    opened.push(() => oidc.stop());
    const devices = await startDevices({
      store,
      state,
      keys,
      log,
      publicUrl: config.PUBLIC_URL,
      allowPrivate: config.OIDC_ALLOW_PRIVATE_CALLBACKS,
      sessions,
      issuance,
      providers: oidc.providers,
      accounts,
      accountJobs,
      agent,
      chain,
      outbox,
    });
    opened.push(() => devices.stop());

    let draining = false;
    const metrics = config.METRICS_ENABLED ? createMetrics() : undefined;
    const routes: Route[] = [];
    routes.push(
      ...homeRoutes({ publicUrl: config.PUBLIC_URL, version }),
      ...pageRoutes({ store, publicUrl: config.PUBLIC_URL }),
      ...opsRoutes({
        readiness: [
          { name: 'database', check: () => store.ping() },
          { name: 'chain', check: () => chain.ping(config.READY_TIMEOUT_MS) },
          ...(state.kind === 'redis' ? [{ name: 'redis', check: () => state.ping() }] : []),
        ],
        readyTimeoutMs: config.READY_TIMEOUT_MS,
        isDraining: () => draining,
        metrics,
        chain: () => chain,
        info: { title: 'Trustgate', version, serverUrl: config.PUBLIC_URL },
        allRoutes: () => routes,
      }),
      ...identifierRoutes({ resolver }),
      ...chainJobRoutes({ outbox }),
      ...statusRoutes({ publisher: statusPublisher }),
      ...vcApiRoutes({ resolver, statusChecker, presentations }),
      ...vcIssueRoutes({
        store,
        edge,
        issuance,
        get bearer() {
          return vcBearer.current;
        },
      }),
      ...accountRoutes({
        store,
        accountJobs,
        accounts,
        agent,
        chain,
        outbox,
        resolver,
        didAuth,
        tokens,
        publicUrl: config.PUBLIC_URL,
      }),
      ...authRoutes({ auth, edge, publicUrl: config.PUBLIC_URL }),
      ...meFactorRoutes({ auth, edge }),
      ...meCredentialRoutes({ edge, issuance }),
      ...meDeviceRoutes({ edge, revocations: devices.revocations, chain }),
      ...oidcInteractionRoutes({ providers: oidc.providers, edge, sessions }),
      ...adminClientRoutes({ store, edge, providers: oidc.providers }),
      ...adminPolicyRoutes({ store, edge, policies, ...(risk ? { riskServices: risk.services } : {}) }),
      ...adminAuditRoutes({
        store,
        edge,
        anchors: () => (chain.auditAnchorAddress ? chainAnchorSource(chain) : null),
      }),
      ...adminDeviceRoutes({ store, edge, revocations: devices.revocations }),
      ...adminSsfRoutes({ edge, streams: devices.streams }),
      ...adminPeopleRoutes({ store, edge, sessions }),
      ...adminTenantRoutes({ store, edge, publicUrl: config.PUBLIC_URL }),
      ...adminMeRoutes({ edge }),
      ...adminDashboardRoutes({ store, edge, policies }),
      ...adminAuthenticatorRoutes({ store, edge, trust }),
      ...meActivityRoutes({ store, edge }),
      ...meDidRoutes({ store, edge, resolver, chain, timeoutMs: config.READY_TIMEOUT_MS }),
      ...(options.extraRoutes ?? []),
    );
    const app = createApp({
      log,
      routes,
      bodyLimit: config.BODY_LIMIT,
      trustProxy: config.TRUST_PROXY,
      production: config.NODE_ENV === 'production',
      metrics,
      before: [oidcMount(oidc.providers)],
    });

    const server = await listen(app, config.PORT, config.HOST);
    const address = server.address() as AddressInfo;
    const host = ['0.0.0.0', '::'].includes(address.address) ? '127.0.0.1' : address.address;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        draining = true;
        log.info('shutting down: draining in-flight requests');
        await closeServer(server, config.SHUTDOWN_TIMEOUT_MS);
        await closeOpened();
        log.info('stopped');
      })();
      return stopping;
    };
    const credentials = { issuers, statusLists, statusPublisher, issuance };
    return {
      url,
      config,
      store,
      state,
      chain,
      agent,
      resolver,
      outbox,
      auditAnchoring,
      credentials,
      oidc: oidc.providers,
      devices,
      server,
      stop,
    };
  } catch (err) {
    await closeOpened();
    throw err;
  }
}

/**
 * The OpenID Connect side: the tenants' providers, the listener that revokes grants when a Trustgate
 * session ends, the back-channel logout worker, and a purge of expired provider rows.
 */
function startOidc(
  config: Config,
  deps: { store: Store; keys: KeyRing; sessions: Sessions; edge: SessionEdge; log: Logger },
  assurance?: AssuranceIssuer,
) {
  const providers = new TenantProviders({
    store: deps.store,
    keys: deps.keys,
    sessions: deps.sessions,
    publicUrl: config.PUBLIC_URL,
    log: deps.log,
    sessionCookie: deps.edge.names.session,
    keyRotationMs: config.OIDC_KEY_ROTATION_DAYS * 86_400_000,
    allowPrivateCallbacks: config.OIDC_ALLOW_PRIVATE_CALLBACKS,
    proxy: trustProxySetting(config.TRUST_PROXY) !== false,
    ...(assurance ? { assurance } : {}),
  });
  const logouts = new LogoutDelivery({ store: deps.store, providers, log: deps.log });
  deps.sessions.onEnd(async (tx, ended) => {
    if ((await revokeGrantsOfEndedSessions(tx, ended)) > 0) setImmediate(() => logouts.kick());
  });
  logouts.start();
  const purge = setInterval(() => {
    purgeExpiredOidcRows(deps.store).catch((err) =>
      deps.log.warn({ err }, 'purging expired OIDC rows failed'),
    );
  }, 10 * 60_000);
  purge.unref();
  return {
    providers,
    logouts,
    stop: async () => {
      clearInterval(purge);
      await logouts.stop();
    },
  };
}

/**
 * The risk engine and its data: geolocation opens at start (tens of milliseconds); the ASN index takes
 * about a second to build, so it loads in the background and the network signal skips until it is in.
 */
async function startRisk(
  config: Config,
  deps: { store: Store; state: EphemeralState; policies: TenantPolicies; log: Logger },
): Promise<{ decisions: RiskDecisionPoint; engine: RiskEngine; services: RiskServices }> {
  const services: RiskServices = { maxSpeedKmh: config.RISK_MAX_SPEED_KMH };
  if (config.RISK_GEO_DB !== 'off') {
    const files =
      config.RISK_GEO_DB === 'packaged' ? undefined : config.RISK_GEO_DB.split(',').map((f) => f.trim());
    services.geo = await Geolocation.open({ ...(files ? { files } : {}) }).catch((err: Error) => {
      throw new StartupError(`RISK_GEO_DB could not be opened: ${err.message}`);
    });
  }
  const lists = async (paths: string[]) =>
    Promise.all(paths.map((p) => CidrList.load(p))).catch((err: Error) => {
      throw new StartupError(`A risk CIDR list could not be loaded: ${err.message}`);
    });
  services.deny = await lists(config.RISK_DENY_LISTS);
  services.allow = await lists(config.RISK_ALLOW_LISTS);
  if (config.RISK_ASN_DATA !== 'off') {
    const [ipv4Csv, ipv6Csv] =
      config.RISK_ASN_DATA === 'packaged' ? [] : config.RISK_ASN_DATA.split(',').map((f) => f.trim());
    setTimeout(() => {
      AsnDatabase.load({
        ...(ipv4Csv && ipv6Csv ? { ipv4Csv, ipv6Csv } : {}),
        hostingAsns: config.RISK_HOSTING_ASNS,
      })
        .then((asn) => {
          services.asn = asn;
        })
        .catch((err: unknown) =>
          deps.log.warn({ err }, 'ASN data could not be loaded: the network signal skips'),
        );
    }, 50).unref();
  }
  const engine = new RiskEngine(services);
  const weightCache = new Map<string, { weights: RiskWeights; readAtMs: number }>();
  const decisions = new RiskDecisionPoint({
    store: deps.store,
    engine,
    history: new StoredRiskHistory(deps.store),
    policies: deps.policies,
    velocity: new StateVelocity(deps.state),
    weights: async (tenantId) => {
      const hit = weightCache.get(tenantId);
      if (hit && Date.now() - hit.readAtMs < 2_000) return hit.weights;
      const tenant = await deps.store.db.tenant.findUnique({
        where: { id: tenantId },
        select: { riskWeights: true },
      });
      const weights = tenant ? riskWeightsOf(tenant) : {};
      weightCache.set(tenantId, { weights, readAtMs: Date.now() });
      return weights;
    },
  });
  return { decisions, engine, services };
}

function listen(app: ReturnType<typeof createApp>, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new StartupError(`PORT ${port} on ${host} is already in use; stop the other process or set PORT.`)
          : err,
      ),
    );
  });
}

/** Stops accepting, lets in-flight requests finish (up to `timeoutMs`), then cuts what remains. */
async function closeServer(server: Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
  timer.unref();
  await closed;
  clearTimeout(timer);
}
