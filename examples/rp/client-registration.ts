/**
 * How the example app gets its OpenID Connect client at Trustgate, without any Trustgate CLI:
 *
 *   1. a client made by an admin (`POST /t/{tenant}/api/admin/clients`): its `client_id` and, for a
 *      confidential client, `client_secret` (given as `RP_CLIENT_ID` / `RP_CLIENT_SECRET`);
 *   2. otherwise dynamic client registration (RFC 7591) at `{issuer}/register` with an initial access
 *      token an admin made (`POST /t/{tenant}/api/admin/initial-access-tokens`, given as
 *      `RP_INITIAL_ACCESS_TOKEN`). A registered client is third-party: people see a consent page.
 *
 * Either way the result is an openid-client `Configuration` from the issuer's discovery document.
 */
import * as oidc from 'openid-client';

/** A client the app already has. No secret: a public client (PKCE only). */
export interface ExistingClient {
  clientId: string;
  clientSecret?: string;
}

export interface ClientSource {
  /** `{PUBLIC_URL}/t/{tenant}`. */
  issuer: string;
  /** Used when given. */
  client?: ExistingClient;
  /** Used to register when no client is given. */
  initialAccessToken?: string;
  /** What to register: the app's callback and post-logout addresses, and its name. */
  registration: { clientName: string; redirectUri: string; postLogoutRedirectUri: string };
}

export interface ResolvedClient {
  config: oidc.Configuration;
  clientId: string;
  /** Set when this start registered a new client (so the operator can keep it). */
  registered?: { clientId: string; clientSecret?: string };
}

/** Thrown when neither a client nor an initial access token was given. */
export class NoClientError extends Error {
  constructor() {
    super(
      'No client configured: set RP_CLIENT_ID (and RP_CLIENT_SECRET for a confidential client), ' +
        'or RP_INITIAL_ACCESS_TOKEN to register one. See examples/rp/README.md.',
    );
    this.name = 'NoClientError';
  }
}

/** Plain http is for development (localhost); openid-client refuses it unless told. */
const insecureIfHttp = (issuer: URL): oidc.DiscoveryRequestOptions =>
  issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {};

export async function resolveClient(source: ClientSource): Promise<ResolvedClient> {
  const issuer = new URL(source.issuer);
  if (source.client) {
    return { config: await configure(issuer, source.client), clientId: source.client.clientId };
  }
  if (!source.initialAccessToken) throw new NoClientError();
  const registered = await oidc.dynamicClientRegistration(
    issuer,
    {
      client_name: source.registration.clientName,
      redirect_uris: [source.registration.redirectUri],
      post_logout_redirect_uris: [source.registration.postLogoutRedirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    undefined,
    { ...insecureIfHttp(issuer), initialAccessToken: source.initialAccessToken },
  );
  const metadata = registered.clientMetadata();
  const client: ExistingClient = {
    clientId: metadata.client_id,
    ...(typeof metadata.client_secret === 'string' ? { clientSecret: metadata.client_secret } : {}),
  };
  return { config: await configure(issuer, client), clientId: client.clientId, registered: client };
}

function configure(issuer: URL, client: ExistingClient): Promise<oidc.Configuration> {
  return client.clientSecret
    ? oidc.discovery(
        issuer,
        client.clientId,
        { client_secret: client.clientSecret },
        oidc.ClientSecretBasic(client.clientSecret),
        insecureIfHttp(issuer),
      )
    : oidc.discovery(
        issuer,
        client.clientId,
        { token_endpoint_auth_method: 'none' },
        oidc.None(),
        insecureIfHttp(issuer),
      );
}
