/**
 * Relying-party helpers for OpenID Connect tests: `openid-client` v6 as the app, and the browser's
 * part (following redirects with a cookie jar, through Trustgate's interaction routes) done by an
 * AuthClient that is signed in.
 */
import * as oidc from 'openid-client';
import { type ClientInput, createClient } from '../../src/oidc/clients.ts';
import type { Service } from '../../src/service.ts';
import type { AuthClient } from './auth-client.ts';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** Creates a client in `tenant` straight through the domain API (the admin API has its own tests). */
export async function makeClient(service: Service, input: Partial<ClientInput> = {}, tenant = 'default') {
  const { provider, tenant: row } = await service.oidc.get(tenant);
  return createClient(provider, service.store, row.id, {
    client_name: 'Test app',
    redirect_uris: [REDIRECT_URI],
    first_party: true,
    ...input,
  } as ClientInput);
}

/** openid-client's configuration for the tenant's issuer (discovery over plain http allowed). */
export async function rpConfig(
  issuer: string,
  clientId: string,
  clientSecret?: string,
): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(issuer),
    clientId,
    clientSecret ? { client_secret: clientSecret } : { token_endpoint_auth_method: 'none' },
    clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(),
    { execute: [oidc.allowInsecureRequests] },
  );
}

export interface Hop {
  status: number;
  url: string;
  location?: string;
  body: string;
}

/**
 * Follows redirects from `url` with the browser's cookies until a response is not a redirect, or the
 * redirect leaves for the app's `stopAt` prefix. Returns every hop.
 */
export async function browse(browser: AuthClient, url: string, stopAt = REDIRECT_URI): Promise<Hop[]> {
  const hops: Hop[] = [];
  let next: string | undefined = url;
  for (let i = 0; next && i < 20; i++) {
    const res = await fetch(next, {
      redirect: 'manual',
      headers: { ...(browser.cookies.size > 0 ? { cookie: browser.cookieHeader() } : {}) },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /Max-Age=0|expires=Thu, 01 Jan 1970/i.test(line)) browser.cookies.delete(name);
      else browser.cookies.set(name, value);
    }
    const location = res.headers.get('location') ?? undefined;
    const absolute: string | undefined = location ? new URL(location, next).href : undefined;
    hops.push({
      status: res.status,
      url: next,
      ...(absolute ? { location: absolute } : {}),
      body: await res.text(),
    });
    if (!absolute || absolute.startsWith(stopAt)) break;
    next = absolute;
  }
  return hops;
}

/** The last hop's redirect to the app, or throws with the hops for the failure message. */
export function callbackOf(hops: Hop[], stopAt = REDIRECT_URI): URL {
  const last = hops.at(-1);
  if (!last?.location?.startsWith(stopAt)) {
    throw new Error(`no redirect to the app; hops: ${JSON.stringify(hops.map(({ body: _b, ...h }) => h))}`);
  }
  return new URL(last.location);
}

/** Starts an authorization request with PKCE; returns its URL and the verifier. */
export async function authorizationRequest(
  config: oidc.Configuration,
  params: Record<string, string> = {},
): Promise<{ url: URL; verifier: string; state: string; nonce: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url, verifier, state, nonce };
}

/** The whole code flow for a signed-in browser: authorize, follow, exchange. */
export async function signInToApp(
  config: oidc.Configuration,
  browser: AuthClient,
  params: Record<string, string> = {},
) {
  const request = await authorizationRequest(config, params);
  const hops = await browse(browser, request.url.href);
  const callback = callbackOf(hops);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
  });
  return { tokens, hops, request, callback };
}

export { oidc };
