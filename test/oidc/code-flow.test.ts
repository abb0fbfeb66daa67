/**
 * The authorization code flow with PKCE, with openid-client v6 as the app: discovery, sign-in through
 * Trustgate's pages, tokens with `acr`, `amr`, `auth_time` and `did`, userinfo, introspection,
 * refresh rotation with reuse detection, and revocation when the Trustgate session ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorizationRequest,
  browse,
  callbackOf,
  makeClient,
  oidc,
  rpConfig,
  signedUpPerson,
  signInToApp,
} from '../helpers/oidc.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let issuer: string;

beforeAll(async () => {
  svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000', RISK_ENABLED: 'false' });
  issuer = `${svc.url}/t/default`;
});
afterAll(async () => {
  await svc?.destroy();
});

const person = (username: string) => signedUpPerson(svc.url, username);

describe('discovery', () => {
  it('publishes one issuer per tenant with the NIST AAL and phr/phrh acr values', async () => {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(issuer);
    expect(meta.acr_values_supported).toEqual([
      'http://idmanagement.gov/ns/assurance/aal/1',
      'http://idmanagement.gov/ns/assurance/aal/2',
      'http://idmanagement.gov/ns/assurance/aal/3',
      'phr',
      'phrh',
    ]);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.dpop_signing_alg_values_supported).toContain('ES256');
    expect(meta.id_token_signing_alg_values_supported).toEqual(['ES256', 'EdDSA', 'RS256']);
    const jwks = (await (await fetch(String(meta.jwks_uri))).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    // Current and next key of each algorithm are published; no private parts.
    expect(jwks.keys.filter((k) => k.alg === 'ES256')).toHaveLength(2);
    expect(jwks.keys.every((k) => k.d === undefined && k.p === undefined)).toBe(true);
  });
});

describe('authorization code + PKCE', () => {
  it('signs a person in to a first-party app with acr, amr, auth_time and did', async () => {
    const { browser, account } = await person('oidc-alice');
    const { client, clientSecret } = await makeClient(svc.service, {
      scope: 'openid did profile offline_access',
    });
    const config = await rpConfig(issuer, client.client_id, clientSecret);
    const { tokens } = await signInToApp(config, browser, { scope: 'openid did profile' });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(account.id);
    expect(claims.did).toBe(account.did);
    expect(claims.acr).toBe('phr');
    expect(claims.amr).toEqual(expect.arrayContaining(['user']));
    expect(typeof claims.auth_time).toBe('number');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: account.id, did: account.did, preferred_username: 'oidc-alice' });
    const introspection = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(introspection).toMatchObject({
      active: true,
      sub: account.id,
      acr: 'phr',
      client_id: client.client_id,
    });
    expect(introspection.auth_time).toBe(claims.auth_time);
  });

  it('rotates refresh tokens, and a reused one revokes the whole grant', async () => {
    const { browser } = await person('oidc-rotate');
    const { client, clientSecret } = await makeClient(svc.service, { scope: 'openid offline_access' });
    const config = await rpConfig(issuer, client.client_id, clientSecret);
    const { tokens } = await signInToApp(config, browser, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    expect(tokens.refresh_token).toBeTruthy();
    // Without the `did` scope the DID (the same at every app) is not released.
    expect(tokens.claims()?.did).toBeUndefined();
    const second = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(tokens.refresh_token);
    // The first refresh token again: reuse. The grant is revoked, so the newer tokens die too.
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(oidc.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await oidc.tokenIntrospection(config, second.access_token)).active).toBe(false);
  });

  it('revokes the grants of a Trustgate session when it ends: refresh fails, introspection is inactive', async () => {
    const { browser } = await person('oidc-signout');
    const { client, clientSecret } = await makeClient(svc.service, { scope: 'openid offline_access' });
    const config = await rpConfig(issuer, client.client_id, clientSecret);
    const { tokens } = await signInToApp(config, browser, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    const out = await browser.call('POST', browser.t('/auth/sign-out'), {});
    expect(out.status).toBeLessThan(300);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // And no silent sign-in from the provider's session: the app is asked to sign the person in again.
    const request = await authorizationRequest(config, { prompt: 'none' });
    const callback = callbackOf(await browse(browser, request.url.href));
    expect(callback.searchParams.get('error')).toBe('login_required');
  });

  it('sends a browser without a session to the sign-in page, and back to the app after it', async () => {
    const { browser } = await person('oidc-later');
    await browser.call('POST', browser.t('/auth/sign-out'), {});
    const { client, clientSecret } = await makeClient(svc.service);
    const config = await rpConfig(issuer, client.client_id, clientSecret);
    const request = await authorizationRequest(config);
    const hops = await browse(browser, request.url.href);
    // The browser lands on the sign-in page, which carries the way back to the request.
    expect(hops.at(-1)!.status).toBe(200);
    const toSignIn = hops.at(-1)!.url;
    expect(toSignIn).toMatch(/\/t\/default\/sign-in\?return=%2Ft%2Fdefault%2Finteraction%2F/);
    expect((await browser.signIn()).status).toBe(200);
    const returnTo = decodeURIComponent(new URL(toSignIn).searchParams.get('return')!);
    const callback = callbackOf(await browse(browser, `${svc.url}${returnTo}`));
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect(tokens.claims()?.acr).toBe('phr');
  });
});
