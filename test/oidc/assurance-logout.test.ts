/**
 * Assurance an app asks for, and logout reaching the app, with openid-client v6 as the app:
 *   - `acr_values=phrh` sends a person signed in with an ordinary passkey to step up; a trusted
 *     hardware key completes the request with `acr: phrh` and amr `hwk`, the ordinary passkey again
 *     ends on the "stronger sign-in" page and the app gets `unmet_authentication_requirements`;
 *   - `max_age=0` and `prompt=login` never succeed silently, and the new `auth_time` is later;
 *   - unknown `acr_values` are voluntary (OpenID Connect Core §3.1.2.1): the flow succeeds and `acr`
 *     states what was reached;
 *   - RP-initiated logout (confirm page, anti-forgery field) ends the Trustgate session and the grants,
 *     and back-channel logout tokens reach a local receiver, on RP-initiated logout and on sign-out.
 *
 * The service allows back-channel calls to loopback (OIDC_ALLOW_PRIVATE_CALLBACKS) and trusts a test
 * attestation root, so a packed attestation chained to it makes a hardware-bound passkey (AAL3).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import {
  authorizationRequest,
  browse,
  callbackOf,
  formOf,
  interactionUidOf,
  LogoutReceiver,
  makeClient,
  oidc,
  REDIRECT_URI,
  returnPathOf,
  rpConfig,
  signInToApp,
  stepUpWith,
  submitForm,
  verifyLogoutToken,
} from '../helpers/oidc.ts';
import { startTestService, type TestService, tempDir } from '../helpers/service.ts';
import { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';
import { type AttestationChain, createAttestationChain } from '../helpers/webauthn/test-pki.ts';

const SECURITY_KEY_AAGUID = '1a2b3c4d-0000-4000-8000-0000000000a3';
const POST_LOGOUT_URI = 'http://127.0.0.1:9/signed-out';
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

let svc: TestService;
let issuer: string;
let chain: AttestationChain;
let receiver: LogoutReceiver;
const dir = tempDir();

beforeAll(async () => {
  chain = await createAttestationChain({ aaguid: SECURITY_KEY_AAGUID, withIntermediate: true });
  mkdirSync(join(dir.path, 'roots', 'packed'), { recursive: true });
  writeFileSync(join(dir.path, 'roots', 'packed', 'vendor.pem'), chain.rootPem);
  receiver = await LogoutReceiver.start();
  svc = await startTestService({
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    RISK_ENABLED: 'false',
    ATTESTATION_ROOTS_DIR: join(dir.path, 'roots'),
    OIDC_ALLOW_PRIVATE_CALLBACKS: 'true',
  });
  issuer = `${svc.url}/t/default`;
});
afterAll(async () => {
  await svc?.destroy();
  await receiver?.close();
  dir.remove();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A proof made up to 2 s before an authorization request counts as made for it (clock skew between
 * instances), and the request's `iat` is whole seconds: waiting this long makes the sign-in "earlier".
 */
const outliveSignIn = () => sleep(3_100);

let n = 0;

/** A person signed in with an ordinary synced passkey (phr, AAL2). */
async function ordinaryPerson() {
  const browser = new AuthClient(svc.url, new SoftAuthenticator({ backupEligible: true, backedUp: true }));
  const r = await browser.signUp(`assure${++n}`);
  expect(r.status).toBe(201);
  expect(r.body.session).toMatchObject({ acr: 'phr', phrh: false });
  return { browser, account: r.body.account as { id: string; did: string } };
}

/** An ordinary person who also added a security key with a trusted attestation (not used to sign in). */
async function personWithSecurityKey() {
  const person = await ordinaryPerson();
  const key = new SoftAuthenticator({
    aaguid: SECURITY_KEY_AAGUID,
    attestation: { chain },
    attachment: 'cross-platform',
    transports: ['usb'],
  });
  const added = await person.browser.addPasskey('Security key', {}, key);
  expect(added.status).toBe(201);
  expect(added.body).toMatchObject({ attestationTrusted: true, hardwareBound: true });
  // Adding a key adds nothing to the session: it is still an ordinary sign-in.
  expect((await person.browser.session()).body.session).toMatchObject({ acr: 'phr' });
  return { ...person, key };
}

async function firstPartyApp(input: Parameters<typeof makeClient>[1] = {}) {
  const { client, clientSecret } = await makeClient(svc.service, {
    scope: 'openid offline_access',
    ...input,
  });
  return { clientId: client.client_id, config: await rpConfig(issuer, client.client_id, clientSecret) };
}

/** Starts an authorization request and follows it as far as the browser goes without the person. */
async function startRequest(config: oidc.Configuration, browser: AuthClient, params: Record<string, string>) {
  const request = await authorizationRequest(config, params);
  const hops = await browse(browser, request.url.href);
  return { request, hops, last: hops.at(-1)! };
}

function expectNoCodeFor(hops: Awaited<ReturnType<typeof browse>>) {
  expect(hops.some((h) => h.location?.startsWith(REDIRECT_URI))).toBe(false);
}

const STEP_UP_PAGE =
  /^http:\/\/127\.0\.0\.1:\d+\/t\/default\/step-up\?return=%2Ft%2Fdefault%2Finteraction%2F/;

describe('acr_values=phrh', () => {
  it('sends a person signed in with an ordinary passkey to step up, and a trusted security key completes it with acr phrh and amr hwk', async () => {
    const { browser, key, account } = await personWithSecurityKey();
    const { config } = await firstPartyApp();
    await outliveSignIn();

    const { request, hops, last } = await startRequest(config, browser, { acr_values: 'phrh' });
    expectNoCodeFor(hops);
    expect(last.status).toBe(200);
    expect(last.url).toMatch(STEP_UP_PAGE);

    const stepped = await stepUpWith(browser, key);
    expect(stepped.status).toBe(200);
    expect(stepped.body.session).toMatchObject({ acr: 'phrh', aal: 3 });

    const callback = callbackOf(await browse(browser, `${svc.url}${returnPathOf(last.url)}`));
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(account.id);
    expect(claims.acr).toBe('phrh');
    expect(claims.amr).toEqual(expect.arrayContaining(['hwk']));
    expect(claims.auth_time).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 10);

    const introspection = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(introspection).toMatchObject({ active: true, sub: account.id, acr: 'phrh' });
    expect(introspection.amr).toEqual(expect.arrayContaining(['hwk']));
    expect(introspection.auth_time).toBe(claims.auth_time);
  });

  it('gives a person who signed in with the security key phrh without asking again', async () => {
    const { key } = await personWithSecurityKey();
    const keyBrowser = new AuthClient(svc.url, key);
    const signedIn = await keyBrowser.signIn();
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.session).toMatchObject({ acr: 'phrh' });
    const { config } = await firstPartyApp();
    await outliveSignIn();
    const { tokens, hops } = await signInToApp(config, keyBrowser, { acr_values: 'phrh' });
    expect(hops.some((h) => h.location?.includes('/step-up'))).toBe(false);
    expect(tokens.claims()?.acr).toBe('phrh');
  });

  it('shows the "stronger sign-in is needed" page after a step-up with the ordinary passkey, and the app gets unmet_authentication_requirements', async () => {
    const { browser } = await personWithSecurityKey();
    const { config } = await firstPartyApp();
    await outliveSignIn();

    const { request, last } = await startRequest(config, browser, { acr_values: 'phrh' });
    expect(last.url).toMatch(STEP_UP_PAGE);
    const stepped = await browser.stepUpWithPasskey();
    expect(stepped.status).toBe(200);
    expect(stepped.body.session).toMatchObject({ acr: 'phr' });

    const back = await browse(browser, `${svc.url}${returnPathOf(last.url)}`);
    expectNoCodeFor(back);
    const page = back.at(-1)!;
    expect(page.status).toBe(200);
    expect(page.body).toContain('A stronger sign-in is needed');
    expect(page.body).toContain('hardware-bound');

    const uid = interactionUidOf(page.url);
    const abort = await browser.call<{ location: string }>('POST', browser.t(`/interaction/${uid}/abort`), {
      reason: 'unmet',
    });
    expect(abort.status).toBe(200);
    const callback = callbackOf(await browse(browser, new URL(abort.body.location, svc.url).href));
    expect(callback.searchParams.get('error')).toBe('unmet_authentication_requirements');
    expect(callback.searchParams.get('code')).toBeNull();
    await expect(
      oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      }),
    ).rejects.toMatchObject({ error: 'unmet_authentication_requirements' });
  });
  it('completes the request when, after the "stronger sign-in" page, the person tries again with the security key', async () => {
    const { browser, key } = await personWithSecurityKey();
    const { config } = await firstPartyApp();
    await outliveSignIn();
    const { request, last } = await startRequest(config, browser, { acr_values: 'phrh' });
    expect((await browser.stepUpWithPasskey()).status).toBe(200);
    const page = (await browse(browser, `${svc.url}${returnPathOf(last.url)}`)).at(-1)!;
    expect(page.body).toContain('A stronger sign-in is needed');
    const retry = /id="unmet-retry" href="([^"]+)"/.exec(page.body)?.[1]?.replaceAll('&amp;', '&');
    expect(retry).toBeDefined();

    expect((await stepUpWith(browser, key)).status).toBe(200);
    const callback = callbackOf(
      await browse(browser, `${svc.url}${returnPathOf(new URL(retry!, svc.url).href)}`),
    );
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect(tokens.claims()!.acr).toBe('phrh');
  });
});

describe('max_age and prompt=login', () => {
  it('max_age=0 sends a signed-in person to step up (no silent success), and auth_time moves forward', async () => {
    const { browser } = await ordinaryPerson();
    const { config } = await firstPartyApp();
    const first = await signInToApp(config, browser);
    const firstAuthTime = first.tokens.claims()!.auth_time!;
    await outliveSignIn();

    const { request, hops, last } = await startRequest(config, browser, { max_age: '0' });
    expectNoCodeFor(hops);
    expect(last.url).toMatch(STEP_UP_PAGE);
    expect((await browser.stepUpWithPasskey()).status).toBe(200);

    const callback = callbackOf(await browse(browser, `${svc.url}${returnPathOf(last.url)}`));
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      maxAge: 0,
    });
    expect(tokens.claims()!.auth_time).toBeGreaterThan(firstAuthTime);
    expect(tokens.claims()!.acr).toBe('phr');
  });

  it('prompt=login sends a signed-in person to step up, and auth_time moves forward', async () => {
    const { browser } = await ordinaryPerson();
    const { config } = await firstPartyApp();
    const first = await signInToApp(config, browser);
    const firstAuthTime = first.tokens.claims()!.auth_time!;
    await outliveSignIn();

    const { request, hops, last } = await startRequest(config, browser, { prompt: 'login' });
    expectNoCodeFor(hops);
    expect(last.url).toMatch(STEP_UP_PAGE);
    expect((await browser.stepUpWithPasskey()).status).toBe(200);

    const callback = callbackOf(await browse(browser, `${svc.url}${returnPathOf(last.url)}`));
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    expect(tokens.claims()!.auth_time).toBeGreaterThan(firstAuthTime);
  });

  it('a max_age the session is within needs no step-up', async () => {
    const { browser } = await ordinaryPerson();
    const { config } = await firstPartyApp();
    await outliveSignIn();
    const { tokens, hops } = await signInToApp(config, browser, { max_age: '600' });
    expect(hops.some((h) => h.location?.includes('/step-up'))).toBe(false);
    expect(tokens.claims()!.acr).toBe('phr');
  });
});

describe('unknown acr_values', () => {
  it('answers an unknown value with what was reached (phr), never an error', async () => {
    const { browser } = await ordinaryPerson();
    const { config } = await firstPartyApp();
    const { tokens, hops } = await signInToApp(config, browser, { acr_values: 'urn:example:unknown' });
    expect(hops.every((h) => h.status < 500)).toBe(true);
    expect(tokens.claims()!.acr).toBe('phr');
  });

  it('honours the known values of a mixed list: unknown + phr succeeds with phr', async () => {
    const { browser } = await ordinaryPerson();
    const { config } = await firstPartyApp();
    const { tokens } = await signInToApp(config, browser, { acr_values: 'urn:example:unknown phr' });
    expect(tokens.claims()!.acr).toBe('phr');
  });

  it('honours the known values of a mixed list: unknown + phrh still asks for a step-up', async () => {
    const { browser } = await ordinaryPerson();
    const { config } = await firstPartyApp();
    await outliveSignIn();
    const { hops, last } = await startRequest(config, browser, { acr_values: 'urn:example:unknown phrh' });
    expect(hops.every((h) => h.status < 500)).toBe(true);
    expectNoCodeFor(hops);
    expect(last.url).toMatch(STEP_UP_PAGE);
  });

  it('states the first requested value the session reaches (phrh preferred, phr reached)', async () => {
    const { browser } = await ordinaryPerson();
    const { config } = await firstPartyApp();
    await outliveSignIn();
    const { tokens, hops } = await signInToApp(config, browser, { acr_values: 'phrh phr' });
    expect(hops.some((h) => h.location?.includes('/step-up'))).toBe(false);
    expect(tokens.claims()!.acr).toBe('phr');
  });
});

describe('RP-initiated logout', () => {
  it('confirms on a page, returns to the registered URI, ends the Trustgate session and the grant, and sends one logout token', async () => {
    const { browser, account } = await ordinaryPerson();
    const { clientId, config } = await firstPartyApp({
      post_logout_redirect_uris: [POST_LOGOUT_URI],
      backchannel_logout_uri: receiver.url,
    });
    const { tokens } = await signInToApp(config, browser, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    const idToken = tokens.id_token!;
    const sid = tokens.claims()!.sid;
    expect(typeof sid).toBe('string');
    const before = receiver.tokens.length;

    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: idToken,
      post_logout_redirect_uri: POST_LOGOUT_URI,
      state: 'bye',
    });
    const confirmPage = (await browse(browser, end.href, POST_LOGOUT_URI)).at(-1)!;
    expect(confirmPage.status).toBe(200);
    expect(confirmPage.body).toContain('Sign out?');
    const form = formOf(confirmPage.body, 'op.logoutForm');
    expect(form.fields.xsrf).toBeTruthy();
    const action = new URL(form.action, confirmPage.url).href;

    // Without the page's anti-forgery field the confirmation is refused and nothing ends.
    const forged = await submitForm(browser, action, { logout: 'yes' });
    expect(forged.status).toBe(400);
    expect((await browser.session()).status).toBe(200);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    const done = await submitForm(browser, action, { ...form.fields, logout: 'yes' });
    expect(done.status).toBe(303);
    const landed = new URL(done.location!);
    expect(`${landed.origin}${landed.pathname}`).toBe(POST_LOGOUT_URI);
    expect(landed.searchParams.get('state')).toBe('bye');

    expect((await browser.session()).status).toBe(401);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });

    const [logoutToken] = (await receiver.waitFor(before + 1)).slice(before);
    const payload = await verifyLogoutToken(config, logoutToken!);
    expect(payload).toMatchObject({ iss: issuer, aud: clientId, sub: account.id, sid });
    expect(payload.events).toEqual({ [BACKCHANNEL_EVENT]: {} });
    expect(payload.nonce).toBeUndefined();
    // The Trustgate session ending does not send a second token for the same logout.
    await sleep(500);
    expect(receiver.tokens.length).toBe(before + 1);
  });

  it('signs the person out of the app only when they choose to stay signed in to Trustgate', async () => {
    const { browser } = await ordinaryPerson();
    const { config } = await firstPartyApp({ post_logout_redirect_uris: [POST_LOGOUT_URI] });
    const { tokens } = await signInToApp(config, browser);
    const other = await firstPartyApp();
    const { tokens: otherTokens } = await signInToApp(other.config, browser);
    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: POST_LOGOUT_URI,
    });
    const page = (await browse(browser, end.href, POST_LOGOUT_URI)).at(-1)!;
    const form = formOf(page.body, 'op.logoutForm');
    // "No, stay signed in" submits the form without `logout`.
    const done = await submitForm(browser, new URL(form.action, page.url).href, form.fields);
    expect(done.status).toBe(303);
    expect(done.location).toBe(POST_LOGOUT_URI);
    expect((await browser.session()).status).toBe(200);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    // The other app the person signed in to in this session is not signed out.
    expect((await oidc.tokenIntrospection(other.config, otherTokens.access_token)).active).toBe(true);
  });

  it('refuses a post_logout_redirect_uri that is not registered', async () => {
    const { browser } = await ordinaryPerson();
    const { config } = await firstPartyApp({ post_logout_redirect_uris: [POST_LOGOUT_URI] });
    const { tokens } = await signInToApp(config, browser);
    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'https://evil.example/signed-out',
    });
    const hops = await browse(browser, end.href, 'https://evil.example');
    expect(hops.some((h) => h.location?.startsWith('https://evil.example'))).toBe(false);
    expect(hops.at(-1)!.status).toBe(400);
    expect((await browser.session()).status).toBe(200);
  });
});

describe('back-channel logout on RP-initiated logout, when the app is down', () => {
  it('retries the logout token until the app takes it', async () => {
    const { browser } = await ordinaryPerson();
    const { clientId, config } = await firstPartyApp({
      post_logout_redirect_uris: [POST_LOGOUT_URI],
      backchannel_logout_uri: receiver.url,
    });
    const { tokens } = await signInToApp(config, browser);
    const before = receiver.tokens.length;
    receiver.failures = 1;

    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: POST_LOGOUT_URI,
    });
    const page = (await browse(browser, end.href, POST_LOGOUT_URI)).at(-1)!;
    const form = formOf(page.body, 'op.logoutForm');
    const done = await submitForm(browser, new URL(form.action, page.url).href, {
      ...form.fields,
      logout: 'yes',
    });
    expect(done.location).toBe(POST_LOGOUT_URI);
    expect(receiver.refused).toBe(1);
    const pending = await svc.service.store.db.oidcLink.findFirstOrThrow({ where: { clientId } });
    expect(pending).toMatchObject({ logoutPending: true });
    expect(pending.logoutError).toMatch(/503/);

    // The worker tries again after its backoff (5 s) and the app gets its token.
    const [logoutToken] = (await receiver.waitFor(before + 1, 15_000)).slice(before);
    const payload = await verifyLogoutToken(config, logoutToken!);
    expect(payload.sid).toBe(tokens.claims()!.sid);
    const delivered = await svc.service.store.db.oidcLink.findFirstOrThrow({ where: { clientId } });
    expect(delivered).toMatchObject({ logoutPending: false, logoutError: null });
  });
});

describe('back-channel logout on sign-out', () => {
  it('gives a pairwise app its pairwise sub in the logout token, never the account id', async () => {
    const { browser, account } = await ordinaryPerson();
    const { config } = await firstPartyApp({
      subject_type: 'pairwise',
      backchannel_logout_uri: receiver.url,
    });
    const { tokens } = await signInToApp(config, browser);
    const sub = tokens.claims()!.sub;
    expect(sub).not.toBe(account.id);
    const before = receiver.tokens.length;
    expect((await browser.call('POST', browser.t('/auth/sign-out'), {})).status).toBe(204);
    const [logoutToken] = (await receiver.waitFor(before + 1)).slice(before);
    const payload = await verifyLogoutToken(config, logoutToken!);
    expect(payload.sub).toBe(sub);
    expect(payload.sid).toBe(tokens.claims()!.sid);
  });

  it('sends the app a logout token with the ID token’s sid when the person signs out of Trustgate', async () => {
    const { browser, account } = await ordinaryPerson();
    const { clientId, config } = await firstPartyApp({ backchannel_logout_uri: receiver.url });
    const { tokens } = await signInToApp(config, browser);
    const sid = tokens.claims()!.sid;
    const before = receiver.tokens.length;

    const out = await browser.call('POST', browser.t('/auth/sign-out'), {});
    expect(out.status).toBe(204);

    const [logoutToken] = (await receiver.waitFor(before + 1)).slice(before);
    const payload = await verifyLogoutToken(config, logoutToken!);
    expect(payload).toMatchObject({ iss: issuer, aud: clientId, sub: account.id, sid });
    expect(payload.events).toEqual({ [BACKCHANNEL_EVENT]: {} });
    expect(payload.nonce).toBeUndefined();

    const link = await svc.service.store.db.oidcLink.findFirstOrThrow({ where: { clientId } });
    expect(link).toMatchObject({ logoutPending: false, logoutError: null, sid });
    expect(link.revokedAt).not.toBeNull();
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  });
});
