/**
 * OpenID Connect clients: dynamic registration (RFC 7591/7592) only with an initial access token made
 * by an admin, never first-party; the admin clients API by role (anonymous, no role, auditor,
 * tenant-admin signed up with a security key, an admin whose last proof is stale, an AAL2-only admin);
 * invalid metadata refused with a code; a deleted
 * client's tokens stop working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_CACHE_MS } from '../../src/oidc/adapter.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import {
  authorizationRequest,
  browse,
  callbackOf,
  makeClient,
  oidc,
  REDIRECT_URI,
  rpConfig,
  signInToApp,
} from '../helpers/oidc.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let issuer: string;
let admin: AuthClient;
let hw: HardwareAttestation;

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000', RISK_ENABLED: 'false' });
  issuer = `${svc.url}/t/default`;
  admin = await personWithRoles('reg-admin', ['tenant-admin']);
});
afterAll(async () => {
  await svc?.destroy();
  hw?.remove();
});

/** A person with `roles`, signed up with a security key (AAL3 / `phrh`), or a synced passkey (AAL2). */
async function personWithRoles(username: string, roles: string[], options: { hardware?: boolean } = {}) {
  return adminClient(svc, hw, roles, { username, ...options });
}

/** A JSON request to the provider's registration endpoint. */
async function register(
  method: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`${issuer}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

async function initialAccessToken(by = admin): Promise<string> {
  const r = await by.call<{ initial_access_token: string; expires_in: number }>(
    'POST',
    by.t('/api/admin/initial-access-tokens'),
    { expiresInSeconds: 600 },
  );
  expect(r.status).toBe(201);
  expect(r.body.expires_in).toBe(600);
  return r.body.initial_access_token;
}

const metadata = (extra: Record<string, unknown> = {}) => ({
  client_name: 'Registered app',
  redirect_uris: [REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  scope: 'openid offline_access',
  ...extra,
});

/** Follows an authorization request through the consent page (a third-party client), allowing it. */
async function consentAndReturn(browser: AuthClient, url: string): Promise<URL> {
  const hops = await browse(browser, url);
  const page = hops.at(-1)!;
  expect(page.status).toBe(200);
  expect(page.body).toContain('id="consent-allow"');
  const uid = /\/interaction\/([A-Za-z0-9_-]+)$/.exec(page.url)?.[1];
  expect(uid).toBeTruthy();
  const allowed = await browser.call<{ location: string }>(
    'POST',
    browser.t(`/interaction/${uid}/consent`),
    {},
  );
  expect(allowed.status).toBe(200);
  return callbackOf(await browse(browser, new URL(allowed.body.location, svc.url).href));
}

describe('dynamic client registration', () => {
  it('refuses registration without an initial access token', async () => {
    const r = await register('POST', '/register', metadata());
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_token');
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer /);
    // Nor with a made-up one.
    const made = await register('POST', '/register', metadata(), 'not-an-initial-access-token');
    expect(made.status).toBe(401);
    expect(made.body.error).toBe('invalid_token');
    expect(await svc.service.store.db.oidcPayload.count({ where: { model: 'Client' } })).toBe(0);
  });

  it('refuses an initial access token from people who are not tenant admins', async () => {
    const anonymous = new AuthClient(svc.url);
    const body = { expiresInSeconds: 600 };
    expect((await anonymous.call('POST', anonymous.t('/api/admin/initial-access-tokens'), body)).status).toBe(
      401,
    );
    const auditor = await personWithRoles('iat-auditor', ['auditor']);
    const r = await auditor.call('POST', auditor.t('/api/admin/initial-access-tokens'), body);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'forbidden' });
    expect(r.body.initial_access_token).toBeUndefined();
  });

  it('registers a client with an initial access token; the client signs a person in through consent', async () => {
    const token = await initialAccessToken();
    const r = await register('POST', '/register', metadata(), token);
    expect(r.status).toBe(201);
    const { client_id, client_secret, registration_access_token, registration_client_uri } = r.body as Record<
      string,
      string
    >;
    expect(client_id).toBeTruthy();
    expect(client_secret).toBeTruthy();
    expect(registration_access_token).toBeTruthy();
    expect(registration_client_uri).toBe(`${issuer}/register/${client_id}`);
    expect(r.body.trustgate_first_party).toBeUndefined();

    const browser = new AuthClient(svc.url);
    expect((await browser.signUp('reg-user')).status).toBe(201);
    const config = await rpConfig(issuer, client_id!, client_secret);
    const request = await authorizationRequest(config, { scope: 'openid offline_access', prompt: 'consent' });
    // Not first-party: the person is asked first.
    const callback = await consentAndReturn(browser, request.url.href);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect(tokens.claims()?.aud).toBe(client_id);
    expect(tokens.refresh_token).toBeTruthy();
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
  });

  it('refuses a client that claims to be first-party (invalid_client_metadata), and writes nothing', async () => {
    const token = await initialAccessToken();
    const before = await svc.service.store.db.oidcPayload.count({ where: { model: 'Client' } });
    for (const value of [true, false, 'yes']) {
      const r = await register('POST', '/register', metadata({ trustgate_first_party: value }), token);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_client_metadata');
    }
    expect(await svc.service.store.db.oidcPayload.count({ where: { model: 'Client' } })).toBe(before);
  });

  it('reads the client with its registration access token (RFC 7592), and refuses others', async () => {
    const token = await initialAccessToken();
    const created = await register('POST', '/register', metadata({ client_name: 'Readable' }), token);
    expect(created.status).toBe(201);
    const id = String(created.body.client_id);
    const rat = String(created.body.registration_access_token);
    const read = await register('GET', `/register/${id}`, undefined, rat);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      client_id: id,
      client_name: 'Readable',
      redirect_uris: [REDIRECT_URI],
    });
    expect((await register('GET', `/register/${id}`, undefined)).status).toBe(401);
    expect((await register('GET', `/register/${id}`, undefined, 'not-the-token')).status).toBe(401);
    // The initial access token is not a registration access token.
    expect((await register('GET', `/register/${id}`, undefined, token)).status).toBe(401);
    // Another client's registration access token does not read this one.
    const other = await register('POST', '/register', metadata({ client_name: 'Other' }), token);
    const otherRat = String(other.body.registration_access_token);
    expect((await register('GET', `/register/${id}`, undefined, otherRat)).status).toBe(401);
  });

  it('refuses to make a registered client first-party through an update (RFC 7592)', async () => {
    const token = await initialAccessToken();
    const created = await register('POST', '/register', metadata({ client_name: 'Updatable' }), token);
    const id = String(created.body.client_id);
    const rat = String(created.body.registration_access_token);
    const update = await register(
      'PUT',
      `/register/${id}`,
      {
        ...metadata({ client_name: 'Updatable' }),
        client_id: id,
        client_secret: created.body.client_secret,
        trustgate_first_party: true,
      },
      rat,
    );
    expect(update.status).toBe(400);
    expect(update.body.error).toBe('invalid_client_metadata');
    const stored = await svc.service.store.db.oidcPayload.findFirstOrThrow({
      where: { model: 'Client', id },
    });
    expect(JSON.parse(stored.payload).trustgate_first_party).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no redirect_uris', { redirect_uris: undefined }, 'invalid_redirect_uri'],
    ['a redirect URI with a fragment', { redirect_uris: [`${REDIRECT_URI}#frag`] }, 'invalid_redirect_uri'],
    ['a redirect URI that is not a URL', { redirect_uris: ['not a url'] }, 'invalid_redirect_uri'],
    ['an unknown scope', { scope: 'openid admin:everything' }, 'invalid_client_metadata'],
    ['an unknown grant type', { grant_types: ['password'] }, 'invalid_client_metadata'],
    ['an unsupported response type', { response_types: ['token'] }, 'invalid_client_metadata'],
    ['an unknown signing algorithm', { id_token_signed_response_alg: 'none' }, 'invalid_client_metadata'],
    [
      'a native app with an http redirect URI that is not loopback',
      { application_type: 'native', redirect_uris: ['http://app.example/callback'] },
      'invalid_redirect_uri',
    ],
  ])('refuses registration metadata with %s (%s)', async (_name, extra, code) => {
    const token = await initialAccessToken();
    const r = await register('POST', '/register', metadata(extra), token);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe(code);
  });
});

describe('admin clients API: who may do what', () => {
  const input = { client_name: 'Admin-made app', redirect_uris: ['https://app.example/callback'] };

  it('refuses anonymous callers (401) and people without a role (403)', async () => {
    const anonymous = new AuthClient(svc.url);
    expect((await anonymous.call('GET', anonymous.t('/api/admin/clients'))).status).toBe(401);
    expect((await anonymous.call('POST', anonymous.t('/api/admin/clients'), input)).status).toBe(401);
    const nobody = await personWithRoles('clients-nobody', []);
    const read = await nobody.call('GET', nobody.t('/api/admin/clients'));
    expect(read.status).toBe(403);
    expect(read.body).toMatchObject({ code: 'forbidden' });
    expect((await nobody.call('POST', nobody.t('/api/admin/clients'), input)).status).toBe(403);
  });

  it('lets an auditor read the clients but not create or delete one', async () => {
    const { client } = await makeClient(svc.service, { client_name: 'Audited app' });
    const auditor = await personWithRoles('clients-auditor', ['auditor']);
    const list = await auditor.call<{ clients: Array<{ client_id: string }> }>(
      'GET',
      auditor.t('/api/admin/clients'),
    );
    expect(list.status).toBe(200);
    expect(list.body.clients.map((c) => c.client_id)).toContain(client.client_id);
    const create = await auditor.call('POST', auditor.t('/api/admin/clients'), input);
    expect(create.status).toBe(403);
    expect(create.body).toMatchObject({ code: 'forbidden' });
    const del = await auditor.call('DELETE', auditor.t(`/api/admin/clients/${client.client_id}`));
    expect(del.status).toBe(403);
    expect(
      await svc.service.store.db.oidcPayload.count({ where: { model: 'Client', id: client.client_id } }),
    ).toBe(1);
  });

  it('lets a tenant admin create a client: the secret is shown once and never listed', async () => {
    const r = await admin.call<{ client: Record<string, unknown>; client_secret: string }>(
      'POST',
      admin.t('/api/admin/clients'),
      { ...input, first_party: true },
    );
    expect(r.status).toBe(201);
    expect(r.body.client).toMatchObject({
      first_party: true,
      public: false,
      redirect_uris: input.redirect_uris,
    });
    const secret = r.body.client_secret;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(r.body.client.client_secret).toBeUndefined();
    const list = await admin.call<{ clients: Array<Record<string, unknown>> }>(
      'GET',
      admin.t('/api/admin/clients'),
    );
    expect(list.status).toBe(200);
    const listed = list.body.clients.find((c) => c.client_id === r.body.client.client_id);
    expect(listed).toBeTruthy();
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(list.body.clients.every((c) => c.client_secret === undefined)).toBe(true);
    expect(list.body.clients.every((c) => c.registration_access_token === undefined)).toBe(true);
  });

  it('lets a tenant admin create a public client with no secret', async () => {
    const r = await admin.call<{ client: Record<string, unknown>; client_secret?: string }>(
      'POST',
      admin.t('/api/admin/clients'),
      { ...input, type: 'public' },
    );
    expect(r.status).toBe(201);
    expect(r.body.client).toMatchObject({ public: true, token_endpoint_auth_method: 'none' });
    expect(r.body.client_secret).toBeUndefined();
  });

  it.each([
    ['whose last proof is stale', 'clients-stale', true],
    ['who signed in with a synced passkey only (AAL2)', 'clients-aal2', false],
  ])(
    'asks an admin %s to step up to phrh before a change (RFC 9470), but still lets them read',
    async (_, username, hardware) => {
      const stale = await personWithRoles(username, ['tenant-admin'], { hardware });
      if (hardware) {
        await svc.service.store.db.session.updateMany({
          where: { endedAt: null, account: { username } },
          data: { authTime: new Date(Date.now() - 3_600_000) },
        });
      }
      const before = await svc.service.store.db.oidcPayload.count({ where: { model: 'Client' } });
      for (const [method, path, body] of [
        ['POST', '/api/admin/clients', input],
        ['DELETE', '/api/admin/clients/tg_whatever', undefined],
        ['POST', '/api/admin/initial-access-tokens', { expiresInSeconds: 600 }],
      ] as const) {
        const r = await stale.call(method, stale.t(path), body);
        expect(r.status).toBe(401);
        expect(r.body).toMatchObject({ code: 'insufficient_user_authentication' });
        const challenge = r.headers.get('www-authenticate') ?? '';
        expect(challenge).toMatch(/^Bearer error="insufficient_user_authentication"/);
        expect(challenge).toContain('acr_values="phrh"');
        expect(challenge).toMatch(/max_age=300$/);
      }
      expect(await svc.service.store.db.oidcPayload.count({ where: { model: 'Client' } })).toBe(before);
      expect((await stale.call('GET', stale.t('/api/admin/clients'))).status).toBe(200);
    },
  );

  it.each<[string, Record<string, unknown>, string]>([
    ['no redirect_uris', { client_name: 'x' }, 'invalid_request'],
    ['an empty redirect_uris', { client_name: 'x', redirect_uris: [] }, 'invalid_request'],
    [
      'a javascript: redirect URI',
      { client_name: 'x', redirect_uris: ['javascript:alert(1)'] },
      'invalid_request',
    ],
    [
      'a redirect URI with a fragment',
      { ...input, redirect_uris: ['https://app.example/cb#x'] },
      'invalid_client_metadata',
    ],
    ['an unknown scope', { ...input, scope: 'openid admin_everything' }, 'invalid_client_metadata'],
    ['a malformed scope', { ...input, scope: 'openid  Profile!' }, 'invalid_request'],
    ['an unknown field', { ...input, trustgate_first_party: true }, 'invalid_request'],
  ])('refuses a client with %s (400 %s) and stores nothing', async (_name, body, code) => {
    const before = await svc.service.store.db.oidcPayload.count({ where: { model: 'Client' } });
    const r = await admin.call('POST', admin.t('/api/admin/clients'), body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code });
    expect(await svc.service.store.db.oidcPayload.count({ where: { model: 'Client' } })).toBe(before);
  });
});

describe('deleting a client', () => {
  it('makes its tokens unusable: userinfo, introspection, refresh', async () => {
    const created = await admin.call<{ client: { client_id: string }; client_secret: string }>(
      'POST',
      admin.t('/api/admin/clients'),
      {
        client_name: 'Doomed app',
        redirect_uris: [REDIRECT_URI],
        first_party: true,
        scope: 'openid offline_access',
      },
    );
    expect(created.status).toBe(201);
    const id = created.body.client.client_id;
    const config = await rpConfig(issuer, id, created.body.client_secret);
    const browser = new AuthClient(svc.url);
    expect((await browser.signUp('doomed-user')).status).toBe(201);
    const { tokens } = await signInToApp(config, browser, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    expect(tokens.refresh_token).toBeTruthy();
    // An independent client (a resource server) introspects the tokens.
    const { client: watcher, clientSecret: watcherSecret } = await makeClient(svc.service, {
      client_name: 'Resource server',
    });
    const rs = await rpConfig(issuer, watcher.client_id, watcherSecret);
    expect((await oidc.tokenIntrospection(rs, tokens.access_token)).active).toBe(true);

    const del = await admin.call('DELETE', admin.t(`/api/admin/clients/${id}`));
    expect(del.status).toBe(204);

    expect((await oidc.tokenIntrospection(rs, tokens.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(rs, tokens.refresh_token!)).active).toBe(false);
    const info = await fetch(`${issuer}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(info.status).toBe(401);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: expect.stringMatching(/^invalid_(grant|client)$/),
    });
    // Nothing issued to it is left, and it is gone from the list.
    expect(
      await svc.service.store.db.oidcPayload.count({
        where: {
          model: { in: ['AccessToken', 'RefreshToken', 'Grant', 'AuthorizationCode'] },
          payload: { contains: id },
        },
      }),
    ).toBe(0);
    const list = await admin.call<{ clients: Array<{ client_id: string }> }>(
      'GET',
      admin.t('/api/admin/clients'),
    );
    expect(list.body.clients.map((c) => c.client_id)).not.toContain(id);
    // A second delete finds nothing.
    const again = await admin.call('DELETE', admin.t(`/api/admin/clients/${id}`));
    expect(again.status).toBe(404);
  });

  it('makes its client-credentials tokens inactive too, and the client unable to authenticate', async () => {
    const created = await admin.call<{ client: { client_id: string }; client_secret: string }>(
      'POST',
      admin.t('/api/admin/clients'),
      { client_name: 'Machine', redirect_uris: [REDIRECT_URI], grant_types: ['client_credentials'] },
    );
    expect(created.status).toBe(201);
    const id = created.body.client.client_id;
    const config = await rpConfig(issuer, id, created.body.client_secret);
    const machine = await oidc.clientCredentialsGrant(config);
    const { client: watcher, clientSecret: watcherSecret } = await makeClient(svc.service, {
      client_name: 'Resource server 2',
    });
    const rs = await rpConfig(issuer, watcher.client_id, watcherSecret);
    expect((await oidc.tokenIntrospection(rs, machine.access_token)).active).toBe(true);

    expect((await admin.call('DELETE', admin.t(`/api/admin/clients/${id}`))).status).toBe(204);
    expect((await oidc.tokenIntrospection(rs, machine.access_token)).active).toBe(false);
    // Once every instance's client cache has expired, the deleted client cannot authenticate at all.
    await new Promise((resolve) => setTimeout(resolve, CLIENT_CACHE_MS + 100));
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${id}:${created.body.client_secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('answers introspection of a token whose client is gone as inactive, never a 500', async () => {
    // As if the token had been issued by another instance in the moment its cached client was deleted.
    const { client, clientSecret } = await makeClient(svc.service, { client_name: 'Vanishing app' });
    const config = await rpConfig(issuer, client.client_id, clientSecret);
    const browser = new AuthClient(svc.url);
    expect((await browser.signUp('vanishing-user')).status).toBe(201);
    const { tokens } = await signInToApp(config, browser);
    const { client: watcher, clientSecret: watcherSecret } = await makeClient(svc.service, {
      client_name: 'Resource server 3',
    });
    const rs = await rpConfig(issuer, watcher.client_id, watcherSecret);
    expect((await oidc.tokenIntrospection(rs, tokens.access_token)).active).toBe(true);
    await svc.service.store.db.oidcPayload.deleteMany({ where: { model: 'Client', id: client.client_id } });
    await new Promise((resolve) => setTimeout(resolve, CLIENT_CACHE_MS + 100));
    expect((await oidc.tokenIntrospection(rs, tokens.access_token)).active).toBe(false);
  });

  it('also ends a dynamically registered client', async () => {
    const token = await initialAccessToken();
    const created = await register(
      'POST',
      '/register',
      metadata({ client_name: 'Registered, then deleted' }),
      token,
    );
    const id = String(created.body.client_id);
    const rat = String(created.body.registration_access_token);
    expect((await admin.call('DELETE', admin.t(`/api/admin/clients/${id}`))).status).toBe(204);
    // Its registration access token no longer reads it.
    expect((await register('GET', `/register/${id}`, undefined, rat)).status).toBe(401);
    const res = await fetch(
      `${issuer}/authorize?${new URLSearchParams({
        client_id: id,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: REDIRECT_URI,
      })}`,
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<code id="oidc-error-code">invalid_client</code>');
  });
});
