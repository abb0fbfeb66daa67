/**
 * Revocation reaches apps, one session at a time, with openid-client v6 as the app: ending one of a
 * person's sessions from another device, or a factor change (which ends the other sessions), revokes
 * the grants made in the ended sessions (refresh fails, introspection is inactive, userinfo refuses,
 * no silent sign-in) and only those: a grant made in a session that lives on keeps working. A step-up
 * rotates the session but is not an end: its grants survive it, and die with the rotated session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthClient } from '../helpers/auth-client.ts';
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
import { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';

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

/** One person on two devices (a laptop and a phone sharing the passkey), each with its own session. */
async function personOnTwoDevices() {
  const { browser: laptop, account } = await signedUpPerson(svc.url, `two-devices${++n}`);
  const phone = laptop.fork();
  expect((await phone.signIn()).status).toBe(200);
  return { laptop, phone, accountId: account.id };
}

async function app() {
  const { client, clientSecret } = await makeClient(svc.service, { scope: 'openid offline_access' });
  return rpConfig(issuer, client.client_id, clientSecret);
}

/** Signs in to the app with a refresh token, so "keeps working" can be checked by refreshing. */
async function grantFrom(config: oidc.Configuration, browser: AuthClient) {
  const { tokens } = await signInToApp(config, browser, {
    scope: 'openid offline_access',
    prompt: 'consent',
  });
  expect(tokens.refresh_token).toBeTruthy();
  return tokens;
}

async function expectRevoked(config: oidc.Configuration, tokens: oidc.TokenEndpointResponse, sub: string) {
  expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  await expect(oidc.fetchUserInfo(config, tokens.access_token, sub)).rejects.toMatchObject({
    status: 401,
  });
}

/** Checks the grant works (userinfo, introspection, refresh); returns the refreshed tokens (rotation). */
async function expectAlive(config: oidc.Configuration, tokens: oidc.TokenEndpointResponse, sub: string) {
  expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
  expect((await oidc.fetchUserInfo(config, tokens.access_token, sub)).sub).toBe(sub);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(true);
  return refreshed;
}

/** What the app gets from a silent (`prompt=none`) request in this browser. */
async function silentSignIn(config: oidc.Configuration, browser: AuthClient) {
  const request = await authorizationRequest(config, { prompt: 'none' });
  return callbackOf(await browse(browser, request.url.href));
}

describe('ending one session from another device', () => {
  it('revokes the grants made in the ended session, and only those', async () => {
    const { laptop, phone, accountId } = await personOnTwoDevices();
    const config = await app();
    const onLaptop = await grantFrom(config, laptop);
    const onPhone = await grantFrom(config, phone);

    // From the phone, the person ends the laptop's session.
    const listed = await phone.call<{ sessions: Array<{ id: string; current: boolean }> }>(
      'GET',
      phone.t('/api/me/sessions'),
    );
    expect(listed.status).toBe(200);
    expect(listed.body.sessions).toHaveLength(2);
    const laptopSession = listed.body.sessions.find((s) => !s.current)!;
    const ended = await phone.call('DELETE', phone.t(`/api/me/sessions/${laptopSession.id}`));
    expect(ended.status).toBe(204);

    await expectRevoked(config, onLaptop, accountId);
    expect((await laptop.session()).status).toBe(401);
    expect((await silentSignIn(config, laptop)).searchParams.get('error')).toBe('login_required');

    await expectAlive(config, onPhone, accountId);
    expect((await silentSignIn(config, phone)).searchParams.get('code')).toBeTruthy();
  });

  it('revokes every app’s grant made in the ended session', async () => {
    const { laptop, phone, accountId } = await personOnTwoDevices();
    const mail = await app();
    const calendar = await app();
    const mailOnLaptop = await grantFrom(mail, laptop);
    const calendarOnLaptop = await grantFrom(calendar, laptop);
    const calendarOnPhone = await grantFrom(calendar, phone);

    const listed = await phone.call<{ sessions: Array<{ id: string; current: boolean }> }>(
      'GET',
      phone.t('/api/me/sessions'),
    );
    const laptopSession = listed.body.sessions.find((s) => !s.current)!;
    expect((await phone.call('DELETE', phone.t(`/api/me/sessions/${laptopSession.id}`))).status).toBe(204);

    await expectRevoked(mail, mailOnLaptop, accountId);
    await expectRevoked(calendar, calendarOnLaptop, accountId);
    await expectAlive(calendar, calendarOnPhone, accountId);
  });
});

describe('a factor change', () => {
  it('revokes the grants of the sessions it ends, and keeps the grant made in the session that made the change', async () => {
    const { laptop, phone, accountId } = await personOnTwoDevices();
    const config = await app();
    const onLaptop = await grantFrom(config, laptop);
    const onPhone = await grantFrom(config, phone);

    // On the laptop the person adds a security key: every other session (the phone's) ends.
    const added = await laptop.addPasskey('Security key', {}, new SoftAuthenticator());
    expect(added.status).toBe(201);
    expect((await phone.session()).status).toBe(401);

    await expectRevoked(config, onPhone, accountId);
    await expectAlive(config, onLaptop, accountId);
  });
});

describe('session rotation', () => {
  it('keeps the grants through a step-up, and revokes them when the rotated session ends', async () => {
    const { laptop, accountId } = await personOnTwoDevices();
    const config = await app();
    const before = await grantFrom(config, laptop);

    const stepped = await laptop.stepUpWithPasskey();
    expect(stepped.status).toBe(200);
    // The refreshed tokens belong to the same grant: it ends with the session's lineage.
    const current = await expectAlive(config, before, accountId);

    expect((await laptop.call('POST', laptop.t('/auth/sign-out'), {})).status).toBe(204);
    await expectRevoked(config, current, accountId);
  });
});
