/**
 * Relying-party helpers for OpenID Connect tests: `openid-client` v6 as the app, and the browser's
 * part (following redirects with a cookie jar, through Trustgate's interaction routes) done by an
 * AuthClient that is signed in.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { type ClientInput, createClient } from '../../src/oidc/clients.ts';
import type { Service } from '../../src/service.ts';
import { type Answer, AuthClient } from './auth-client.ts';
import type { SoftAuthenticator } from './webauthn/soft-authenticator.ts';

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

/** A person who signed up with a passkey, in a fresh browser stand-in, on the default tenant at `url`. */
export async function signedUpPerson(url: string, username: string) {
  const browser = new AuthClient(url);
  const r = await browser.signUp(username);
  if (r.status !== 201)
    throw new Error(`sign-up of ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return { browser, account: r.body.account as { id: string; did: string } };
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
    absorbCookies(browser, res);
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
  const stopAt = params.redirect_uri ?? REDIRECT_URI;
  const hops = await browse(browser, request.url.href, stopAt);
  const callback = callbackOf(hops, stopAt);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
  });
  return { tokens, hops, request, callback };
}

/** Stores the cookies a response sets in the browser's jar (deleting the ones it clears). */
export function absorbCookies(browser: AuthClient, res: Response): void {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    if (value === '' || /Max-Age=0|expires=Thu, 01 Jan 1970/i.test(line)) browser.cookies.delete(name);
    else browser.cookies.set(name, value);
  }
}

/** Submits an HTML form as the browser would (urlencoded, its cookies, the page's Origin); one hop. */
export async function submitForm(
  browser: AuthClient,
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Hop> {
  const res = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      origin: browser.origin,
      'content-type': 'application/x-www-form-urlencoded',
      ...(browser.cookies.size > 0 ? { cookie: browser.cookieHeader() } : {}),
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
  });
  absorbCookies(browser, res);
  const location = res.headers.get('location') ?? undefined;
  return {
    status: res.status,
    url,
    ...(location ? { location: new URL(location, url).href } : {}),
    body: await res.text(),
  };
}

/** The form `id` of an HTML page: its action and hidden fields (e.g. the logout form's `xsrf`). */
export function formOf(html: string, id: string): { action: string; fields: Record<string, string> } {
  const form = new RegExp(`<form[^>]*id="${id.replace(/\./g, '\\.')}"[^>]*>([\\s\\S]*?)</form>`).exec(html);
  if (!form) throw new Error(`no form ${id} in the page`);
  const action = /action="([^"]*)"/.exec(form[0])?.[1];
  if (!action) throw new Error(`form ${id} has no action`);
  const fields: Record<string, string> = {};
  for (const input of form[1]!.matchAll(/<input[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1];
    if (name !== undefined) fields[name] = value ?? '';
  }
  return { action, fields };
}

/** The path a sign-in or step-up page returns to (its `return` parameter). */
export function returnPathOf(pageUrl: string): string {
  const back = new URL(pageUrl).searchParams.get('return');
  if (!back) throw new Error(`no return parameter in ${pageUrl}`);
  return back;
}

/** The interaction uid of an `/t/{tenant}/interaction/{uid}` URL. */
export function interactionUidOf(url: string): string {
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(new URL(url).pathname)?.[1];
  if (!uid) throw new Error(`not an interaction URL: ${url}`);
  return uid;
}

/** Steps the browser's session up with a passkey held by `authenticator` (e.g. a security key). */
export async function stepUpWith(browser: AuthClient, authenticator: SoftAuthenticator): Promise<Answer> {
  const options = await browser.call<{ options: PublicKeyCredentialRequestOptionsJSON }>(
    'POST',
    browser.t('/auth/step-up/passkey/options'),
    {},
  );
  if (options.status !== 200) return options as unknown as Answer;
  return browser.call('POST', browser.t('/auth/step-up/passkey/verify'), {
    response: authenticator.getAssertion(options.body.options, { origin: browser.origin }),
  });
}

/**
 * A relying party's back-channel logout endpoint on 127.0.0.1: records every `logout_token` it accepts.
 * While `failures` is above zero it answers 503 instead (counting down), like an app that is down.
 */
export class LogoutReceiver {
  readonly tokens: string[] = [];
  /** How many of the next deliveries to refuse with 503. */
  failures = 0;
  /** Deliveries refused so far. */
  refused = 0;
  readonly url: string;
  private readonly server: Server;

  private constructor(server: Server, url: string) {
    this.server = server;
    this.url = url;
  }

  static async start(): Promise<LogoutReceiver> {
    let receiver: LogoutReceiver | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        const token = req.method === 'POST' ? new URLSearchParams(body).get('logout_token') : null;
        if (token && receiver && receiver.failures > 0) {
          receiver.failures--;
          receiver.refused++;
          res.writeHead(503).end();
          return;
        }
        if (token) receiver?.tokens.push(token);
        res.writeHead(token ? 200 : 400, { 'cache-control': 'no-store' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new LogoutReceiver(server, `http://127.0.0.1:${port}/backchannel-logout`);
    return receiver;
  }

  /** Waits until at least `count` tokens arrived (throws after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 5_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.tokens.length < count) {
      if (Date.now() > deadline)
        throw new Error(`expected ${count} logout tokens, got ${this.tokens.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.tokens;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Verifies a back-channel logout token as an app must (OpenID Connect Back-Channel Logout 1.0 §2.6):
 * signature against the issuer's JWKS, `iss`, `aud`, `iat`, the logout event, and no `nonce`.
 */
export async function verifyLogoutToken(config: oidc.Configuration, token: string): Promise<JWTPayload> {
  const meta = config.serverMetadata();
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(meta.jwks_uri!)), {
    issuer: meta.issuer,
    audience: config.clientMetadata().client_id,
    requiredClaims: ['iat', 'jti', 'events'],
  });
  return payload;
}

export { oidc };
