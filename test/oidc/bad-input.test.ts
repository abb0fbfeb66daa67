/**
 * Bad input at the OpenID Connect provider, answered per spec with a specific error and never a 500:
 * unregistered redirect URIs (the provider's error page, no redirect), a code used twice (refused, and
 * what the first use issued is revoked), PKCE mistakes, `alg: none` request objects, unknown
 * `acr_values`, unknown clients, unsupported response types, and malformed requests to the token,
 * introspection, revocation and userinfo endpoints (JSON OAuth errors).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import {
  authorizationRequest,
  browse,
  callbackOf,
  type Hop,
  makeClient,
  oidc,
  REDIRECT_URI,
  rpConfig,
  signInToApp,
} from '../helpers/oidc.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let issuer: string;
/** A signed-in browser and a first-party confidential client, shared by the cases that need them. */
let browser: AuthClient;
let clientId: string;
let clientSecret: string;
let config: oidc.Configuration;

beforeAll(async () => {
  svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000', RISK_ENABLED: 'false' });
  issuer = `${svc.url}/t/default`;
  browser = new AuthClient(svc.url);
  expect((await browser.signUp('bad-input')).status).toBe(201);
  const made = await makeClient(svc.service, { scope: 'openid offline_access' });
  clientId = made.client.client_id;
  clientSecret = made.clientSecret!;
  config = await rpConfig(issuer, clientId, clientSecret);
});
afterAll(async () => {
  await svc?.destroy();
});

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** An authorization URL built by hand (openid-client would refuse some of these inputs). */
function authorizeUrl(params: Record<string, string>): string {
  const url = new URL(`${issuer}/authorize`);
  const defaults = {
    client_id: clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: REDIRECT_URI,
    state: 'st4te',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  };
  for (const [k, v] of Object.entries({ ...defaults, ...params })) url.searchParams.set(k, v);
  return url.href;
}

/** The error an authorization response sent back to the app (query, or fragment for implicit types). */
function redirectedError(location: URL): URLSearchParams {
  return location.search ? location.searchParams : new URLSearchParams(location.hash.slice(1));
}

/** The error code shown on the provider's (or Trustgate's) HTML error page. */
function pageError(hop: Hop): string | undefined {
  return /<code id="oidc-error-code">([^<]*)<\/code>/.exec(hop.body)?.[1];
}

/** A form POST to one of the provider's endpoints; returns status, headers and the parsed JSON body. */
async function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return answer(res);
}

async function answer(res: Response) {
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let body: Record<string, unknown> = {};
  if (contentType.includes('json')) body = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, contentType, body };
}

/** The grant an (opaque) access token was issued under, from the provider's rows. */
async function grantIdOf(accessToken: string) {
  const db = svc.service.store.db;
  const row = await db.oidcPayload.findFirst({ where: { model: 'AccessToken', id: accessToken } });
  return row?.grantId ?? undefined;
}

describe('redirect URIs that are not registered', () => {
  const variants: Array<[string, string]> = [
    ['a trailing slash', `${REDIRECT_URI}/`],
    ['another port', 'http://127.0.0.1:10/callback'],
    ['another path', 'http://127.0.0.1:9/callback/evil'],
    ['an added query', `${REDIRECT_URI}?next=https://evil.example/`],
    ['an open redirect to another site', 'https://evil.example/'],
    ['a scheme-relative address', '//evil.example'],
    ['userinfo that hides another host', 'http://127.0.0.1:9@evil.example/callback'],
    ['another scheme', 'https://127.0.0.1:9/callback'],
  ];

  it.each(variants)('shows the error page for %s and never redirects there', async (_name, uri) => {
    const interactionsBefore = await svc.service.store.db.oidcPayload.count({
      where: { model: { in: ['Interaction', 'AuthorizationCode'] } },
    });
    // The browser is signed in: without the check, it would be sent on with a code.
    const hops = await browse(browser, authorizeUrl({ redirect_uri: uri }));
    expect(hops).toHaveLength(1);
    const [hop] = hops as [Hop];
    expect(hop.status).toBe(400);
    expect(hop.location).toBeUndefined();
    expect(pageError(hop)).toBe('invalid_redirect_uri');
    expect(hop.body).not.toContain('evil.example/callback');
    // Nothing was started for a request that cannot be answered.
    expect(
      await svc.service.store.db.oidcPayload.count({
        where: { model: { in: ['Interaction', 'AuthorizationCode'] } },
      }),
    ).toBe(interactionsBefore);
  });

  it('shows the error page as HTML with the code, escaped', async () => {
    const res = await fetch(authorizeUrl({ redirect_uri: 'https://evil.example/"><script>x()</script>' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const body = await res.text();
    expect(body).toContain('<code id="oidc-error-code">invalid_redirect_uri</code>');
    expect(body).not.toContain('<script>x()</script>');
  });

  it('also refuses an unregistered redirect_uri at the token endpoint (invalid_grant)', async () => {
    const request = await authorizationRequest(config);
    const callback = callbackOf(await browse(browser, request.url.href));
    const code = callback.searchParams.get('code')!;
    const r = await post(
      '/token',
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: request.verifier,
        redirect_uri: `${REDIRECT_URI}/`,
      },
      { authorization: basic(clientId, clientSecret) },
    );
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_grant');
  });
});

describe('authorization codes', () => {
  it('refuses a code used twice and revokes what its first use issued', async () => {
    const { tokens, callback, request } = await signInToApp(config, browser, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    const grantId = await grantIdOf(tokens.access_token);
    expect(grantId).toBeTruthy();
    await expect(
      oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    // RFC 6749 §4.1.2: the tokens issued for the first use are revoked.
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck)).rejects.toThrow();
    // Nothing of the grant is left behind.
    expect(await svc.service.store.db.oidcPayload.count({ where: { grantId: grantId! } })).toBe(0);
  });

  it('lets one of two concurrent redemptions of a code win, and revokes the grant for both', async () => {
    const request = await authorizationRequest(config);
    const code = callbackOf(await browse(browser, request.url.href)).searchParams.get('code')!;
    const redeem = () =>
      post(
        '/token',
        {
          grant_type: 'authorization_code',
          code,
          code_verifier: request.verifier,
          redirect_uri: REDIRECT_URI,
        },
        { authorization: basic(clientId, clientSecret) },
      );
    const results = await Promise.all([redeem(), redeem()]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 400]);
    const lost = results.find((r) => r.status === 400)!;
    expect(lost.body.error).toBe('invalid_grant');
    const won = results.find((r) => r.status === 200)!;
    // The reuse revoked the grant: the winner's access token is no longer active either.
    const introspection = await oidc.tokenIntrospection(config, String(won.body.access_token));
    expect(introspection.active).toBe(false);
  });

  it('refuses a PKCE verifier that does not match the challenge (invalid_grant)', async () => {
    const request = await authorizationRequest(config);
    const callback = callbackOf(await browse(browser, request.url.href));
    await expect(
      oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: request.state,
        expectedNonce: request.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    // Without any verifier, too.
    const r = await post(
      '/token',
      {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
      },
      { authorization: basic(clientId, clientSecret) },
    );
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_grant');
  });

  it('refuses a public client’s authorization request without a code_challenge', async () => {
    const { client } = await makeClient(svc.service, { type: 'public' });
    const url = authorizeUrl({ client_id: client.client_id });
    const stripped = new URL(url);
    stripped.searchParams.delete('code_challenge');
    stripped.searchParams.delete('code_challenge_method');
    const hops = await browse(browser, stripped.href);
    const params = redirectedError(callbackOf(hops));
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toMatch(/PKCE/i);
    expect(params.get('code')).toBeNull();
    expect(params.get('state')).toBe('st4te');
  });

  it('refuses the plain PKCE method (only S256 is offered)', async () => {
    const { client } = await makeClient(svc.service, { type: 'public' });
    const hops = await browse(
      browser,
      authorizeUrl({
        client_id: client.client_id,
        code_challenge_method: 'plain',
        code_challenge: 'a'.repeat(43),
      }),
    );
    const params = redirectedError(callbackOf(hops));
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('code')).toBeNull();
  });
});

describe('request objects', () => {
  const unsigned = (claims: Record<string, unknown>) => {
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    return `${part({ alg: 'none', typ: 'oauth-authz-req+jwt' })}.${part(claims)}.`;
  };

  it('refuses an `alg: none` request object at the authorization endpoint', async () => {
    const request = unsigned({
      iss: clientId,
      aud: issuer,
      client_id: clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: 'from-request',
    });
    const hops = await browse(browser, authorizeUrl({ request }));
    const last = hops.at(-1)!;
    expect(last.status).toBeLessThan(500);
    const params = redirectedError(callbackOf(hops));
    // Request objects are not offered (discovery says so), so the request is refused outright.
    expect(params.get('error')).toBe('request_not_supported');
    expect(params.get('code')).toBeNull();
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    // Discovery omits it, which means false (OpenID Connect Discovery 1.0 §3).
    expect(meta.request_parameter_supported ?? false).toBe(false);
  });

  it('refuses an `alg: none` request object pushed to the PAR endpoint', async () => {
    const request = unsigned({
      iss: clientId,
      aud: issuer,
      client_id: clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const r = await post(
      '/par',
      { client_id: clientId, request },
      { authorization: basic(clientId, clientSecret) },
    );
    expect(r.status).toBe(400);
    expect(r.contentType).toMatch(/json/);
    expect(r.body.error).toBe('request_not_supported');
  });
});

describe('acr_values the provider does not know', () => {
  it('signs in anyway and states the acr that was reached', async () => {
    const { tokens } = await signInToApp(config, browser, { acr_values: 'urn:example:unknown-acr' });
    const claims = tokens.claims()!;
    expect(claims.acr).toBe('phr');
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
      acr_values_supported: string[];
    };
    expect(meta.acr_values_supported).toContain(claims.acr);
    expect(meta.acr_values_supported).not.toContain('urn:example:unknown-acr');
  });
});

describe('unknown clients and response types', () => {
  it('shows the error page for an unknown client_id (nowhere to redirect)', async () => {
    const hops = await browse(browser, authorizeUrl({ client_id: 'tg_no_such_client' }));
    expect(hops).toHaveLength(1);
    expect(hops[0]!.status).toBe(400);
    expect(hops[0]!.location).toBeUndefined();
    expect(pageError(hops[0]!)).toBe('invalid_client');
  });

  it('shows the error page when client_id is missing', async () => {
    const url = new URL(authorizeUrl({}));
    url.searchParams.delete('client_id');
    const hops = await browse(browser, url.href);
    expect(hops[0]!.status).toBe(400);
    expect(hops[0]!.location).toBeUndefined();
    expect(pageError(hops[0]!)).toBe('invalid_request');
  });

  it.each(['token', 'id_token', 'code id_token', 'none'])(
    'sends unsupported_response_type back to the app for response_type=%s',
    async (responseType) => {
      const hops = await browse(browser, authorizeUrl({ response_type: responseType, nonce: 'n0nce' }));
      const params = redirectedError(callbackOf(hops));
      expect(params.get('error')).toBe('unsupported_response_type');
      expect(params.get('code')).toBeNull();
      expect(params.get('access_token')).toBeNull();
      expect(params.get('id_token')).toBeNull();
    },
  );
});

describe('malformed requests to the token, introspection, revocation and userinfo endpoints', () => {
  const auth = () => ({ authorization: basic(clientId, clientSecret) });
  const wrongSecret = () => ({ authorization: basic(clientId, 'not-the-secret') });

  const cases: Array<{
    name: string;
    path: string;
    form: Record<string, string>;
    headers: () => Record<string, string>;
    status: number;
    error: string;
  }> = [
    {
      name: 'token without grant_type',
      path: '/token',
      form: {},
      headers: auth,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'token with an unknown grant_type',
      path: '/token',
      form: { grant_type: 'urn:example:magic' },
      headers: auth,
      status: 400,
      error: 'unsupported_grant_type',
    },
    {
      name: 'token without code',
      path: '/token',
      form: { grant_type: 'authorization_code', redirect_uri: REDIRECT_URI },
      headers: auth,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'token with a made-up code',
      path: '/token',
      form: {
        grant_type: 'authorization_code',
        code: 'not-a-code',
        redirect_uri: REDIRECT_URI,
        code_verifier: 'a'.repeat(43),
      },
      headers: auth,
      status: 400,
      error: 'invalid_grant',
    },
    {
      name: 'token with a made-up refresh token',
      path: '/token',
      form: { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' },
      headers: auth,
      status: 400,
      error: 'invalid_grant',
    },
    {
      name: 'token with a wrong client secret',
      path: '/token',
      form: { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT_URI },
      headers: wrongSecret,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'token without any client authentication',
      path: '/token',
      form: { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT_URI },
      headers: () => ({}),
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'token from an unknown client',
      path: '/token',
      form: { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT_URI },
      headers: () => ({ authorization: basic('tg_no_such_client', 'x') }),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'token with a garbled Basic header',
      path: '/token',
      form: { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT_URI },
      headers: () => ({ authorization: 'Basic !!!not-base64' }),
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'introspection without token',
      path: '/introspect',
      form: {},
      headers: auth,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'introspection with a wrong client secret',
      path: '/introspect',
      form: { token: 'x' },
      headers: wrongSecret,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'revocation without token',
      path: '/revoke',
      form: {},
      headers: auth,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'revocation with a wrong client secret',
      path: '/revoke',
      form: { token: 'x' },
      headers: wrongSecret,
      status: 401,
      error: 'invalid_client',
    },
  ];

  it.each(cases)('answers $name with $status $error as JSON', async (c) => {
    const r = await post(c.path, c.form, c.headers());
    expect(r.status).toBe(c.status);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(r.body.error).toBe(c.error);
    if (c.status === 401) expect(r.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('answers a JSON body at the token endpoint with invalid_request (form bodies only)', async () => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    const r = await answer(res);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_request');
  });

  it('answers a truncated form body without a 500', async () => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() },
      body: 'grant_type=authorization_code&code=%E0%A4%A&redirect_uri=%',
    });
    const r = await answer(res);
    expect(r.status).toBe(400);
    expect(r.contentType).toMatch(/json/);
    // The broken escapes are read leniently (as form decoders do); the code is then unknown.
    expect(r.body.error).toBe('invalid_grant');
  });

  it('answers an unknown token at revocation with 200 (RFC 7009 §2.2) and at introspection as inactive', async () => {
    expect((await post('/revoke', { token: 'no-such-token' }, auth())).status).toBe(200);
    // An unknown hint is ignored, not an error (RFC 7009 §2.1).
    const hinted = await post(
      '/revoke',
      { token: 'no-such-token', token_type_hint: 'urn:example:x' },
      auth(),
    );
    expect(hinted.status).toBe(200);
    const r = await post('/introspect', { token: 'no-such-token' }, auth());
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ active: false });
  });

  it('answers userinfo with a made-up or missing bearer token with 401 and a Bearer challenge', async () => {
    const made = await fetch(`${issuer}/userinfo`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(made.status).toBe(401);
    expect((await made.json()) as Record<string, unknown>).toMatchObject({ error: 'invalid_token' });
    expect(made.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const missing = await fetch(`${issuer}/userinfo`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toMatch(/json/);
    // No credentials at all: a bare challenge, without an error code in it (RFC 6750 §3.1).
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    expect(missing.headers.get('www-authenticate')).not.toMatch(/error=/);
    expect((await missing.json()) as Record<string, unknown>).toMatchObject({ error: 'invalid_token' });
  });

  it('keeps a client’s tokens usable after its failed authentication attempts', async () => {
    const { tokens } = await signInToApp(config, browser);
    for (const c of cases.filter((x) => x.status === 401))
      await post(c.path, { token: tokens.access_token }, c.headers());
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
  });
});
