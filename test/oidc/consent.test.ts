/**
 * Consent, with openid-client v6 as the app: a third-party client gets Trustgate's consent page listing
 * what it asks for; allowing completes the flow, denying sends the app `access_denied`, and a
 * cross-site POST to the consent or abort endpoint is refused. First-party clients never see the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthClient } from '../helpers/auth-client.ts';
import {
  authorizationRequest,
  browse,
  callbackOf,
  interactionUidOf,
  makeClient,
  oidc,
  REDIRECT_URI,
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

let n = 0;
const person = () => signedUpPerson(svc.url, `consent${++n}`);

async function app(firstParty: boolean) {
  const { client, clientSecret } = await makeClient(svc.service, {
    client_name: firstParty ? 'Our own app' : 'Photo Printer',
    first_party: firstParty,
    scope: 'openid profile offline_access',
    ...(firstParty ? {} : { client_uri: 'https://printer.example/' }),
  });
  return rpConfig(issuer, client.client_id, clientSecret);
}

/** Follows a request to the consent page; returns the request and the page. */
async function toConsentPage(
  config: oidc.Configuration,
  browser: AuthClient,
  scope = 'openid profile',
  params: Record<string, string> = {},
) {
  const request = await authorizationRequest(config, { scope, ...params });
  const hops = await browse(browser, request.url.href);
  expect(hops.some((h) => h.location?.startsWith(REDIRECT_URI))).toBe(false);
  const page = hops.at(-1)!;
  return { request, page, uid: interactionUidOf(page.url) };
}

describe('third-party client', () => {
  it('shows the consent page with the app and the scopes it asks for', async () => {
    const { browser } = await person();
    const config = await app(false);
    // offline_access counts only with prompt=consent (OpenID Connect Core §11).
    const { page } = await toConsentPage(config, browser, 'openid profile offline_access', {
      prompt: 'consent',
    });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>');
    expect(page.body).toContain('Photo Printer would like to');
    expect(page.body).toContain('Know who you are');
    expect(page.body).toContain('See your name and username');
    expect(page.body).toContain('Stay connected while you are away');
    expect(page.body).toContain('https://printer.example/');
    expect(page.body).toContain('id="consent-allow"');
  });

  it('completes the flow when the person allows it', async () => {
    const { browser, account } = await person();
    const config = await app(false);
    const { request, uid } = await toConsentPage(config, browser);
    const allowed = await browser.call<{ location: string }>(
      'POST',
      browser.t(`/interaction/${uid}/consent`),
      {},
    );
    expect(allowed.status).toBe(200);
    const callback = callbackOf(await browse(browser, new URL(allowed.body.location, svc.url).href));
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect(tokens.claims()?.sub).toBe(account.id);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, account.id);
    expect(info.preferred_username).toMatch(/^consent\d+$/);
  });

  it('remembers what was allowed: the same scopes again need no consent, a new scope asks again', async () => {
    const { browser } = await person();
    const config = await app(false);
    const { uid } = await toConsentPage(config, browser, 'openid');
    const allowed = await browser.call<{ location: string }>(
      'POST',
      browser.t(`/interaction/${uid}/consent`),
      {},
    );
    callbackOf(await browse(browser, new URL(allowed.body.location, svc.url).href));

    const again = await signInToApp(config, browser, { scope: 'openid' });
    expect(again.tokens.claims()).toBeTruthy();
    const more = await toConsentPage(config, browser, 'openid profile');
    expect(more.page.status).toBe(200);
    expect(more.page.body).toContain('See your name and username');
  });

  it('sends the app access_denied when the person denies it', async () => {
    const { browser } = await person();
    const config = await app(false);
    const { request, uid } = await toConsentPage(config, browser);
    const denied = await browser.call<{ location: string }>('POST', browser.t(`/interaction/${uid}/abort`), {
      reason: 'denied',
    });
    expect(denied.status).toBe(200);
    const callback = callbackOf(await browse(browser, new URL(denied.body.location, svc.url).href));
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();
    expect(callback.searchParams.get('state')).toBe(request.state);
    await expect(
      oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      }),
    ).rejects.toMatchObject({ error: 'access_denied' });
  });

  it('refuses a cross-site POST to consent or abort (403), and the request can still be answered', async () => {
    const { browser } = await person();
    const config = await app(false);
    const { request, uid } = await toConsentPage(config, browser);
    const evil = { origin: 'https://evil.example' };
    const forgedConsent = await browser.call('POST', browser.t(`/interaction/${uid}/consent`), {}, evil);
    expect(forgedConsent.status).toBe(403);
    const forgedAbort = await browser.call(
      'POST',
      browser.t(`/interaction/${uid}/abort`),
      { reason: 'denied' },
      evil,
    );
    expect(forgedAbort.status).toBe(403);
    // A browser that sends no Origin but says the request is cross-site is refused too.
    const res = await fetch(`${svc.url}${browser.t(`/interaction/${uid}/consent`)}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'sec-fetch-site': 'cross-site',
        cookie: browser.cookieHeader(),
      },
      body: '{}',
    });
    expect(res.status).toBe(403);

    // Nothing was granted or aborted: the person's own answer still goes through.
    const allowed = await browser.call<{ location: string }>(
      'POST',
      browser.t(`/interaction/${uid}/consent`),
      {},
    );
    expect(allowed.status).toBe(200);
    const callback = callbackOf(await browse(browser, new URL(allowed.body.location, svc.url).href));
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect(tokens.access_token).toBeTruthy();
  });

  it('refuses consent from a browser without the person’s Trustgate session', async () => {
    const { browser } = await person();
    const config = await app(false);
    const { uid } = await toConsentPage(config, browser);
    const out = await browser.call('POST', browser.t('/auth/sign-out'), {});
    expect(out.status).toBe(204);
    const allowed = await browser.call('POST', browser.t(`/interaction/${uid}/consent`), {});
    expect(allowed.status).toBe(404);
    expect(allowed.body).toMatchObject({ code: 'interaction_not_found' });
  });
});

describe('first-party client', () => {
  it('never shows the consent page, even with prompt=consent and offline_access', async () => {
    const { browser } = await person();
    const config = await app(true);
    const { hops, tokens } = await signInToApp(config, browser, {
      scope: 'openid profile offline_access',
      prompt: 'consent',
    });
    const pages = hops.filter((h) => h.status === 200);
    expect(pages).toEqual([]);
    expect(hops.some((h) => h.body.includes('would like to'))).toBe(false);
    expect(tokens.refresh_token).toBeTruthy();
  });
});
