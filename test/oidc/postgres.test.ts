/**
 * Two instances behind one address (the same PUBLIC_URL, as behind a load balancer) sharing one
 * PostgreSQL database, one chain and, when TEST_REDIS_URL is set, one Redis: every step of the code
 * flow may land on either instance. A code issued by A is redeemed at B, an authorization started at A
 * continues at B, a refresh token rotated at B is a reuse at A, a sign-out at A is seen by B.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import {
  absorbCookies,
  authorizationRequest,
  browse,
  callbackOf,
  type Hop,
  makeClient,
  oidc,
  REDIRECT_URI,
  rpConfig,
} from '../helpers/oidc.ts';
import { freePort } from '../helpers/process.ts';
import {
  freshPostgresUrl,
  startTestService,
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  type TestService,
} from '../helpers/service.ts';

describe('OpenID Connect on two instances sharing PostgreSQL', () => {
  if (!TEST_POSTGRES_URL) {
    it.skip('multi-instance OIDC suite skipped: TEST_POSTGRES_URL not set', () => {});
    return;
  }

  let db: ReturnType<typeof freshPostgresUrl>;
  let a: TestService;
  let b: TestService;
  /** The one address both instances answer for (A's port). */
  let publicUrl: string;
  let issuer: string;
  let clientId: string;
  let clientSecret: string;
  /** The app, talking to A (discovery is A's), and the same app whose requests land on B. */
  let atA: oidc.Configuration;
  let atB: oidc.Configuration;

  beforeAll(async () => {
    db = freshPostgresUrl();
    const portA = await freePort();
    publicUrl = `http://127.0.0.1:${portA}`;
    issuer = `${publicUrl}/t/default`;
    // Both instances open each other's secrets (signing and cookie keys, sessions): one master key.
    const shared: Record<string, string> = {
      AUTH_RATE_LIMIT_PER_MINUTE: '100000',
      RISK_ENABLED: 'false',
      DATABASE_URL: db.url,
      MASTER_KEY: randomBytes(32).toString('base64url'),
      PUBLIC_URL: publicUrl,
      ...(TEST_REDIS_URL
        ? { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: `tg-oidc-${randomBytes(4).toString('hex')}:` }
        : {}),
    };
    a = await startTestService({ ...shared, PORT: String(portA) });
    // B uses A's chain as an external one, with the same relayer (the outbox coordinates nonces).
    const facts = (await (await fetch(`${a.url}/api/chain`)).json()) as { rpcUrl: string; registry: string };
    b = await startTestService({
      ...shared,
      CHAIN_RPC_URL: facts.rpcUrl,
      REGISTRY_ADDRESS: facts.registry,
      RELAYER_PRIVATE_KEY: a.service.chain.relayer.privateKey,
    });
    expect(b.url).not.toBe(a.url);

    const made = await makeClient(a.service, { scope: 'openid offline_access' });
    clientId = made.client.client_id;
    clientSecret = made.clientSecret!;
    atA = await rpConfig(issuer, clientId, clientSecret);
    // The same issuer and client, every endpoint reached through B.
    const meta = atA.serverMetadata();
    const viaB = Object.fromEntries(
      Object.entries(meta).map(([k, v]) => [k, typeof v === 'string' ? v.replace(publicUrl, b.url) : v]),
    ) as oidc.ServerMetadata;
    atB = new oidc.Configuration(
      { ...viaB, issuer },
      clientId,
      { client_secret: clientSecret },
      oidc.ClientSecretBasic(clientSecret),
    );
    oidc.allowInsecureRequests(atB);
  }, 120_000);

  afterAll(async () => {
    await b?.destroy();
    await a?.destroy();
    await db?.drop();
  });

  let n = 0;
  async function person() {
    const browser = new AuthClient(a.url);
    expect((await browser.signUp(`pg-oidc-${++n}`)).status).toBe(201);
    return browser;
  }

  /**
   * The browser's part with every request sent to `origin` (the instance the balancer picked), though
   * the provider's redirects name the shared PUBLIC_URL.
   */
  async function browseAt(browser: AuthClient, url: string, origin: string): Promise<Hop[]> {
    const hops: Hop[] = [];
    let next: string | undefined = url.replace(publicUrl, origin);
    for (let i = 0; next && i < 20; i++) {
      const res = await fetch(next, {
        redirect: 'manual',
        headers: browser.cookies.size > 0 ? { cookie: browser.cookieHeader() } : {},
      });
      absorbCookies(browser, res);
      const location = res.headers.get('location');
      const absolute: string | undefined = location ? new URL(location, next).href : undefined;
      hops.push({
        status: res.status,
        url: next,
        ...(absolute ? { location: absolute } : {}),
        body: await res.text(),
      });
      if (!absolute || absolute.startsWith(REDIRECT_URI)) break;
      next = absolute.replace(publicUrl, origin);
    }
    return hops;
  }

  async function codeFromA(browser: AuthClient, params: Record<string, string> = {}) {
    const request = await authorizationRequest(atA, params);
    const callback = callbackOf(await browse(browser, request.url.href));
    return { request, callback };
  }

  it('redeems at B a code issued by A', async () => {
    const browser = await person();
    const { request, callback } = await codeFromA(browser);
    expect(callback.searchParams.get('iss')).toBe(issuer);
    const tokens = await oidc.authorizationCodeGrant(atB, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect(tokens.claims()).toMatchObject({ iss: issuer, aud: clientId, acr: 'phr' });
    // Either instance answers for the token.
    expect((await oidc.tokenIntrospection(atA, tokens.access_token)).active).toBe(true);
    expect((await oidc.tokenIntrospection(atB, tokens.access_token)).active).toBe(true);
    // And the code is spent for both.
    await expect(
      oidc.authorizationCodeGrant(atA, callback, {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('continues at B an authorization started at A (shared cookie keys, sessions and interactions)', async () => {
    const browser = await person();
    const request = await authorizationRequest(atA, { prompt: 'consent', scope: 'openid offline_access' });
    // The first hop at A sets the provider's interaction cookie; everything after it goes to B.
    const [first] = await browse(browser, request.url.href, publicUrl);
    expect(first!.location).toMatch(new RegExp(`^${issuer}/interaction/`));
    const hops = await browseAt(browser, first!.location!, b.url);
    expect(hops.every((h) => h.url.startsWith(b.url))).toBe(true);
    const callback = callbackOf(hops);
    const tokens = await oidc.authorizationCodeGrant(atA, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('detects at A the reuse of a refresh token rotated at B, and revokes the grant everywhere', async () => {
    const browser = await person();
    const { request, callback } = await codeFromA(browser, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    const first = await oidc.authorizationCodeGrant(atA, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    const second = await oidc.refreshTokenGrant(atB, first.refresh_token!);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    await expect(oidc.refreshTokenGrant(atA, first.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // The whole grant is gone: B's rotated token and B's access token too.
    await expect(oidc.refreshTokenGrant(atB, second.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await oidc.tokenIntrospection(atB, second.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(atA, second.access_token)).active).toBe(false);
  });

  it('lets only one of two concurrent refreshes (one per instance) succeed', async () => {
    const browser = await person();
    const { request, callback } = await codeFromA(browser, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    const tokens = await oidc.authorizationCodeGrant(atA, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    const results = await Promise.allSettled([
      oidc.refreshTokenGrant(atA, tokens.refresh_token!),
      oidc.refreshTokenGrant(atB, tokens.refresh_token!),
    ]);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const f of failed)
      expect((f as PromiseRejectedResult).reason).toMatchObject({ error: 'invalid_grant' });
    // A reuse revokes the grant, so whatever the winner got is inactive too.
    for (const r of results) {
      if (r.status === 'fulfilled') {
        expect((await oidc.tokenIntrospection(atB, r.value.access_token)).active).toBe(false);
      }
    }
  });

  it('answers inactive at B for a grant revoked by signing out at A', async () => {
    const browser = await person();
    const { request, callback } = await codeFromA(browser, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    const tokens = await oidc.authorizationCodeGrant(atB, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect((await oidc.tokenIntrospection(atB, tokens.access_token)).active).toBe(true);
    const out = await browser.call('POST', browser.t('/auth/sign-out'), {});
    expect(out.status).toBeLessThan(300);
    expect((await oidc.tokenIntrospection(atB, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(atB, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const info = await fetch(`${b.url}/t/default/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(info.status).toBe(401);
  });

  it('publishes the same keys from both instances', async () => {
    const jwks = async (origin: string) =>
      ((await (await fetch(`${origin}/t/default/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys
        .map((k) => k.kid)
        .sort();
    const [fromA, fromB] = await Promise.all([jwks(a.url), jwks(b.url)]);
    expect(fromA.length).toBeGreaterThanOrEqual(6);
    expect(fromB).toEqual(fromA);
  });
});
