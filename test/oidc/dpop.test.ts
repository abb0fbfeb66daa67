/**
 * DPoP (RFC 9449), with openid-client v6 as the app: an access token bound to the app's key is refused
 * as a plain Bearer token, refused with a proof from another key or a replayed proof, and accepted with
 * a fresh proof of the bound key; a client registered with `dpop_bound_access_tokens` must use DPoP.
 */
import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
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
async function person() {
  const { browser, account } = await signedUpPerson(svc.url, `dpop${++n}`);
  return { browser, accountId: account.id };
}

async function app(dpopBound: boolean) {
  const { client, clientSecret } = await makeClient(svc.service, {
    scope: 'openid offline_access',
    ...(dpopBound ? { dpop_bound_access_tokens: true } : {}),
  });
  return rpConfig(issuer, client.client_id, clientSecret);
}

/** Signs in through the app with DPoP at the token endpoint. */
async function signInWithDPoP(config: oidc.Configuration, browser: AuthClient, DPoP: oidc.DPoPHandle) {
  const request = await authorizationRequest(config, { scope: 'openid offline_access', prompt: 'consent' });
  const callback = callbackOf(await browse(browser, request.url.href));
  return oidc.authorizationCodeGrant(
    config,
    callback,
    { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce },
    undefined,
    { DPoP },
  );
}

/** A DPoP proof for a GET of `url` with `accessToken`, signed by `key` (RFC 9449 §4.2). */
async function proofFor(key: oidc.CryptoKeyPair, url: string, accessToken: string) {
  return new SignJWT({
    htm: 'GET',
    htu: url,
    jti: randomUUID(),
    ath: createHash('sha256').update(accessToken).digest('base64url'),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })
    .setIssuedAt()
    .sign(key.privateKey);
}

const userinfoUrl = (config: oidc.Configuration) => config.serverMetadata().userinfo_endpoint!;

describe('DPoP-bound access tokens', () => {
  it('issues a DPoP token to a dpop_bound_access_tokens client, bound to the key it proved', async () => {
    const { browser } = await person();
    const config = await app(true);
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    const tokens = await signInWithDPoP(config, browser, oidc.getDPoPHandle(config, keyPair));
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const introspection = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(introspection).toMatchObject({ active: true, token_type: 'DPoP' });
    const thumbprint = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
    expect((introspection.cnf as { jkt?: string }).jkt).toBe(thumbprint);
  });

  it('refuses the token as a plain Bearer token at userinfo (401 invalid_token), accepts it with a DPoP proof', async () => {
    const { browser, accountId } = await person();
    const config = await app(true);
    const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const tokens = await signInWithDPoP(config, browser, DPoP);

    const bearer = await fetch(userinfoUrl(config), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(bearer.status).toBe(401);
    expect(bearer.headers.get('www-authenticate')).toMatch(/invalid_token/);

    // The DPoP scheme without a proof is refused too (a malformed request, RFC 6750 §3.1).
    const noProof = await fetch(userinfoUrl(config), {
      headers: { authorization: `DPoP ${tokens.access_token}` },
    });
    expect(noProof.status).toBe(400);
    expect(await noProof.json()).toMatchObject({ error: 'invalid_request' });

    const info = await oidc.fetchUserInfo(config, tokens.access_token, accountId, { DPoP });
    expect(info.sub).toBe(accountId);
  });

  it('refuses a proof signed by another key, and a replayed proof', async () => {
    const { browser } = await person();
    const config = await app(true);
    const bound = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(config, bound);
    const tokens = await signInWithDPoP(config, browser, DPoP);
    const url = userinfoUrl(config);

    const stranger = await oidc.randomDPoPKeyPair('ES256');
    const stolen = await fetch(url, {
      headers: {
        authorization: `DPoP ${tokens.access_token}`,
        dpop: await proofFor(stranger, url, tokens.access_token),
      },
    });
    expect(stolen.status).toBe(401);

    const proof = await proofFor(bound, url, tokens.access_token);
    const headers = { authorization: `DPoP ${tokens.access_token}`, dpop: proof };
    expect((await fetch(url, { headers })).status).toBe(200);
    // The same proof again is a replay (each DPoP proof is accepted once).
    const replay = await fetch(url, { headers });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('www-authenticate')).toMatch(/invalid_token/);
    // The token itself is still good: a fresh proof works.
    const fresh = await fetch(url, {
      headers: {
        authorization: `DPoP ${tokens.access_token}`,
        dpop: await proofFor(bound, url, tokens.access_token),
      },
    });
    expect(fresh.status).toBe(200);
  });

  it('accepts one of several concurrent uses of the same proof', async () => {
    const { browser } = await person();
    const config = await app(true);
    const bound = await oidc.randomDPoPKeyPair('ES256');
    const tokens = await signInWithDPoP(config, browser, oidc.getDPoPHandle(config, bound));
    const url = userinfoUrl(config);
    const headers = {
      authorization: `DPoP ${tokens.access_token}`,
      dpop: await proofFor(bound, url, tokens.access_token),
    };
    const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(url, { headers })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || (s >= 400 && s < 500))).toBe(true);
  });

  it('refuses a dpop_bound_access_tokens client that does not send a proof to the token endpoint', async () => {
    const { browser } = await person();
    const config = await app(true);
    await expect(signInToApp(config, browser)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('keeps refreshed access tokens bound to the same key', async () => {
    const { browser, accountId } = await person();
    const config = await app(true);
    const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const tokens = await signInWithDPoP(config, browser, DPoP);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
    expect(refreshed.token_type.toLowerCase()).toBe('dpop');
    const bearer = await fetch(userinfoUrl(config), {
      headers: { authorization: `Bearer ${refreshed.access_token}` },
    });
    expect(bearer.status).toBe(401);
    expect((await oidc.fetchUserInfo(config, refreshed.access_token, accountId, { DPoP })).sub).toBe(
      accountId,
    );
  });
});

describe('DPoP chosen by the app', () => {
  it('binds the token when an ordinary client uses DPoP, and then refuses it as Bearer', async () => {
    const { browser, accountId } = await person();
    const config = await app(false);
    const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const tokens = await signInWithDPoP(config, browser, DPoP);
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const bearer = await fetch(userinfoUrl(config), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(bearer.status).toBe(401);
    expect(bearer.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect((await oidc.fetchUserInfo(config, tokens.access_token, accountId, { DPoP })).sub).toBe(accountId);
  });

  it('still issues Bearer tokens to an ordinary client without DPoP', async () => {
    const { browser, accountId } = await person();
    const config = await app(false);
    const { tokens } = await signInToApp(config, browser);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect((await oidc.fetchUserInfo(config, tokens.access_token, accountId)).sub).toBe(accountId);
  });
});
