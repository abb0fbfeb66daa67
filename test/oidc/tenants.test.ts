/**
 * Tenants are separate issuers: a second tenant has its own issuer, discovery and keys; its tokens,
 * codes, clients and sessions mean nothing at the first tenant's provider; one tenant's admin cannot
 * reach the other's clients (404: to them the other tenant's admin API has nothing).
 */
import { createLocalJWKSet, type JWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';

let svc: TestService;
let hw: HardwareAttestation;
const issuers = { default: '', acme: '' };
/** A confidential client in each tenant, with the RP configuration for it. */
const apps = {} as Record<'default' | 'acme', { id: string; secret: string; config: oidc.Configuration }>;
/** A signed-in person in each tenant. */
const people = {} as Record<'default' | 'acme', AuthClient>;

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000', RISK_ENABLED: 'false' });
  await svc.service.store.db.tenant.create({ data: { slug: 'acme', displayName: 'Acme' } });
  for (const slug of ['default', 'acme'] as const) {
    issuers[slug] = `${svc.url}/t/${slug}`;
    const { client, clientSecret } = await makeClient(
      svc.service,
      { client_name: `${slug} app`, scope: 'openid offline_access' },
      slug,
    );
    apps[slug] = {
      id: client.client_id,
      secret: clientSecret!,
      config: await rpConfig(issuers[slug], client.client_id, clientSecret),
    };
    people[slug] = new AuthClient(svc.url, new SoftAuthenticator(), slug);
    expect((await people[slug].signUp(`${slug}-person`)).status).toBe(201);
  }
});
afterAll(async () => {
  await svc?.destroy();
  hw?.remove();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function postForm(url: string, form: Record<string, string>, authorization?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization ? { authorization } : {}),
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function jwksOf(slug: 'default' | 'acme') {
  return ((await (await fetch(`${issuers[slug]}/jwks`)).json()) as { keys: JWK[] }).keys;
}

describe('a second tenant is a separate issuer', () => {
  it('has its own issuer, endpoints and discovery', async () => {
    const meta = (await (await fetch(`${issuers.acme}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string
    >;
    expect(meta.issuer).toBe(issuers.acme);
    for (const endpoint of [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'jwks_uri',
      'introspection_endpoint',
      'revocation_endpoint',
      'registration_endpoint',
      'end_session_endpoint',
    ]) {
      expect(meta[endpoint], endpoint).toMatch(new RegExp(`^${issuers.acme}/`));
    }
    const other = (await (await fetch(`${issuers.default}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };
    expect(other.issuer).toBe(issuers.default);
  });

  it('signs with keys of its own: no key is shared with the other tenant', async () => {
    const [mine, theirs] = await Promise.all([jwksOf('acme'), jwksOf('default')]);
    expect(mine.length).toBeGreaterThanOrEqual(6);
    const theirKids = new Set(theirs.map((k) => k.kid));
    expect(mine.filter((k) => theirKids.has(k.kid))).toEqual([]);
    const theirKeys = new Set(theirs.map((k) => k.x ?? k.n));
    expect(mine.filter((k) => theirKeys.has(k.x ?? k.n))).toEqual([]);
  });

  it('answers an unknown tenant with 404, not a provider', async () => {
    const res = await fetch(`${svc.url}/t/nosuchtenant/.well-known/openid-configuration`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { code: string }).code).toBe('not_found');
  });

  it('issues ID tokens that only its own JWKS verifies', async () => {
    const { tokens } = await signInToApp(apps.acme.config, people.acme);
    const idToken = tokens.id_token!;
    const { payload } = await jwtVerify(idToken, createLocalJWKSet({ keys: await jwksOf('acme') }), {
      issuer: issuers.acme,
      audience: apps.acme.id,
    });
    expect(payload.iss).toBe(issuers.acme);
    await expect(
      jwtVerify(idToken, createLocalJWKSet({ keys: await jwksOf('default') })),
    ).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
});

describe('what one tenant issued means nothing at the other', () => {
  it('refuses an acme access token at default’s userinfo and answers inactive at its introspection', async () => {
    const { tokens } = await signInToApp(apps.acme.config, people.acme, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    expect((await oidc.tokenIntrospection(apps.acme.config, tokens.access_token)).active).toBe(true);

    const info = await fetch(`${issuers.default}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(info.status).toBe(401);
    expect(((await info.json()) as { error: string }).error).toBe('invalid_token');
    for (const token of [tokens.access_token, tokens.refresh_token!]) {
      expect((await oidc.tokenIntrospection(apps.default.config, token)).active).toBe(false);
    }
    // Nor can default refresh with it, or revoke it.
    const refresh = await postForm(
      `${issuers.default}/token`,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! },
      basic(apps.default.id, apps.default.secret),
    );
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    await oidc.tokenRevocation(apps.default.config, tokens.access_token);
    expect((await oidc.tokenIntrospection(apps.acme.config, tokens.access_token)).active).toBe(true);
    // It still works where it was issued.
    const own = await oidc.fetchUserInfo(apps.acme.config, tokens.access_token, oidc.skipSubjectCheck);
    expect(own.sub).toBeTruthy();
  });

  it('does not redeem an acme authorization code at default (and the code stays good at acme)', async () => {
    const request = await authorizationRequest(apps.acme.config);
    const callback = callbackOf(await browse(people.acme, request.url.href));
    const code = callback.searchParams.get('code')!;
    expect(callback.searchParams.get('iss')).toBe(issuers.acme);
    const form = {
      grant_type: 'authorization_code',
      code,
      code_verifier: request.verifier,
      redirect_uri: REDIRECT_URI,
    };
    // With default's own client: no such code there.
    expect(
      await postForm(`${issuers.default}/token`, form, basic(apps.default.id, apps.default.secret)),
    ).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // With acme's client credentials: no such client there.
    expect(
      await postForm(`${issuers.default}/token`, form, basic(apps.acme.id, apps.acme.secret)),
    ).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const tokens = await oidc.authorizationCodeGrant(apps.acme.config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect(tokens.claims()?.iss).toBe(issuers.acme);
  });

  it('does not know acme’s client at default’s authorization endpoint', async () => {
    const request = await authorizationRequest(apps.acme.config);
    const atDefault = new URL(request.url.href.replace(issuers.acme, issuers.default));
    const hops = await browse(people.default, atDefault.href);
    expect(hops).toHaveLength(1);
    expect(hops[0]!.status).toBe(400);
    expect(hops[0]!.location).toBeUndefined();
    expect(hops[0]!.body).toContain('<code id="oidc-error-code">invalid_client</code>');
  });

  it('does not sign a default person in to an acme app with their default session', async () => {
    const request = await authorizationRequest(apps.acme.config);
    const browser = people.default;
    const hops = await browse(browser, request.url.href);
    // The browser lands on acme's sign-in page, not back at the app with a code.
    expect(hops.some((h) => h.location?.startsWith(REDIRECT_URI))).toBe(false);
    expect(hops.at(-1)!.url).toMatch(new RegExp(`^${svc.url}/t/acme/sign-in\\?return=`));
    const silent = await authorizationRequest(apps.acme.config, { prompt: 'none' });
    const callback = callbackOf(await browse(browser, silent.url.href));
    expect(callback.searchParams.get('error')).toBe('login_required');
    expect(callback.searchParams.get('code')).toBeNull();
  });
});

describe('one tenant’s admin and the other tenant’s clients', () => {
  /** A tenant admin signed up with a security key: their writes are not refused for assurance. */
  const adminOf = (slug: 'default' | 'acme', username: string) =>
    adminClient(svc, hw, 'tenant-admin', { tenant: slug, username });

  it('keeps a default admin out of acme’s clients API, and acme’s clients out of default’s', async () => {
    const admin = await adminOf('default', 'default-admin');
    // Their session is a default session: Cedar permits a tenant admin nothing at acme (404).
    const list = await admin.call('GET', `/t/acme/api/admin/clients`);
    expect(list.status).toBe(404);
    expect(list.body.clients).toBeUndefined();
    const create = await admin.call('POST', `/t/acme/api/admin/clients`, {
      client_name: 'Planted',
      redirect_uris: ['https://evil.example/cb'],
    });
    expect(create.status).toBe(404);
    const del = await admin.call('DELETE', `/t/acme/api/admin/clients/${apps.acme.id}`);
    expect(del.status).toBe(404);
    const token = await admin.call('POST', `/t/acme/api/admin/initial-access-tokens`, {
      expiresInSeconds: 600,
    });
    expect(token.status).toBe(404);
    // Through their own tenant's API, acme's client does not exist.
    const own = await admin.call<{ clients: Array<{ client_id: string }> }>(
      'GET',
      admin.t('/api/admin/clients'),
    );
    expect(own.status).toBe(200);
    expect(own.body.clients.map((c) => c.client_id)).toContain(apps.default.id);
    expect(own.body.clients.map((c) => c.client_id)).not.toContain(apps.acme.id);
    const delOther = await admin.call('DELETE', admin.t(`/api/admin/clients/${apps.acme.id}`));
    expect(delOther.status).toBe(404);
    // Nothing happened to acme's client.
    const acme = await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'acme' } });
    expect(
      await svc.service.store.db.oidcPayload.count({
        where: { tenantId: acme.id, model: 'Client', id: apps.acme.id },
      }),
    ).toBe(1);
    expect(
      await svc.service.store.db.oidcPayload.count({
        where: { tenantId: acme.id, model: 'Client', payload: { contains: 'evil.example' } },
      }),
    ).toBe(0);
  });

  it('lets an acme admin see acme’s clients only', async () => {
    const admin = await adminOf('acme', 'acme-admin');
    const list = await admin.call<{ clients: Array<{ client_id: string }> }>(
      'GET',
      admin.t('/api/admin/clients'),
    );
    expect(list.status).toBe(200);
    const ids = list.body.clients.map((c) => c.client_id);
    expect(ids).toContain(apps.acme.id);
    expect(ids).not.toContain(apps.default.id);
    expect((await admin.call('GET', '/t/default/api/admin/clients')).status).toBe(404);
  });

  it('refuses an initial access token of one tenant at the other’s registration endpoint', async () => {
    const admin = await adminOf('acme', 'acme-admin2');
    const r = await admin.call<{ initial_access_token: string }>(
      'POST',
      admin.t('/api/admin/initial-access-tokens'),
      {
        expiresInSeconds: 600,
      },
    );
    expect(r.status).toBe(201);
    const body = JSON.stringify({ redirect_uris: [REDIRECT_URI] });
    const at = (slug: 'default' | 'acme') =>
      fetch(`${issuers[slug]}/register`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${r.body.initial_access_token}`,
        },
        body,
      });
    const elsewhere = await at('default');
    expect(elsewhere.status).toBe(401);
    expect(((await elsewhere.json()) as { error: string }).error).toBe('invalid_token');
    expect((await at('acme')).status).toBe(201);
  });
});
