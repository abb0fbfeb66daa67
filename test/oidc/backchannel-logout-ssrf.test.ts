/**
 * Back-channel logout never reaches private or loopback addresses by default (DESIGN invariant 6): with
 * OIDC_ALLOW_PRIVATE_CALLBACKS unset, a client whose `backchannel_logout_uri` is on 127.0.0.1 gets no
 * request, the failure is recorded on its OidcLink row (`logoutError`) for the retrying worker, and the
 * service carries on: the person is signed out, the grant revoked, other sign-ins unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import {
  browse,
  formOf,
  LogoutReceiver,
  makeClient,
  oidc,
  rpConfig,
  signInToApp,
  submitForm,
} from '../helpers/oidc.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const POST_LOGOUT_URI = 'http://127.0.0.1:9/signed-out';

let svc: TestService;
let issuer: string;
let receiver: LogoutReceiver;

beforeAll(async () => {
  receiver = await LogoutReceiver.start();
  svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000', RISK_ENABLED: 'false' });
  issuer = `${svc.url}/t/default`;
});
afterAll(async () => {
  await svc?.destroy();
  await receiver?.close();
});

let n = 0;
async function signedInToApp() {
  const browser = new AuthClient(svc.url);
  expect((await browser.signUp(`ssrf${++n}`)).status).toBe(201);
  const { client, clientSecret } = await makeClient(svc.service, {
    backchannel_logout_uri: receiver.url,
    post_logout_redirect_uris: [POST_LOGOUT_URI],
  });
  const config = await rpConfig(issuer, client.client_id, clientSecret);
  const { tokens } = await signInToApp(config, browser);
  return { browser, config, clientId: client.client_id, tokens };
}

/** The client's link row once its logout delivery was attempted (polls: the worker runs in the background). */
async function attemptedLink(clientId: string) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const link = await svc.service.store.db.oidcLink.findFirstOrThrow({ where: { clientId } });
    if (link.logoutError !== null || Date.now() > deadline) return link;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function expectServiceHealthy() {
  expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  const other = await signedInToApp();
  expect(other.tokens.claims()?.sub).toBeTruthy();
}

describe('back-channel logout to a loopback address, not allowed', () => {
  it('on sign-out: sends nothing, records the failure on the link for a retry, and the service carries on', async () => {
    const { browser, config, clientId, tokens } = await signedInToApp();
    expect((await browser.call('POST', browser.t('/auth/sign-out'), {})).status).toBe(204);

    const link = await attemptedLink(clientId);
    expect(link.logoutError).toMatch(/special-use IP address/);
    expect(link.logoutAttempts).toBeGreaterThanOrEqual(1);
    expect(link.logoutPending).toBe(true);
    expect(link.revokedAt).not.toBeNull();
    expect(receiver.tokens).toEqual([]);

    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expectServiceHealthy();
  });

  it('on RP-initiated logout: returns to the app, sends nothing, and records the failure on the link for a retry', async () => {
    const { browser, config, clientId, tokens } = await signedInToApp();
    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: POST_LOGOUT_URI,
    });
    const page = (await browse(browser, end.href, POST_LOGOUT_URI)).at(-1)!;
    expect(page.status).toBe(200);
    const form = formOf(page.body, 'op.logoutForm');
    const done = await submitForm(browser, new URL(form.action, page.url).href, {
      ...form.fields,
      logout: 'yes',
    });
    expect(done.status).toBe(303);
    expect(done.location).toBe(POST_LOGOUT_URI);
    expect((await browser.session()).status).toBe(401);

    const link = await attemptedLink(clientId);
    expect(link.logoutError).toMatch(/special-use IP address/);
    expect(link.logoutPending).toBe(true);
    expect(link.revokedAt).not.toBeNull();
    expect(receiver.tokens).toEqual([]);

    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expectServiceHealthy();
  });
});
