/**
 * Pairwise subject identifiers (OpenID Connect Core §8.1), with openid-client v6 as the app: a pairwise
 * client never sees the account id; its `sub` is stable across sign-ins and the same in the ID token,
 * userinfo and introspection; apps of different sectors (redirect hosts) get unlinkable subs, apps of one
 * sector the same one, as the spec computes it from the sector identifier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import { makeClient, oidc, REDIRECT_URI, rpConfig, signInToApp } from '../helpers/oidc.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

/** Another sector: a different redirect host. */
const OTHER_SECTOR_REDIRECT = 'http://localhost:9/callback';

let svc: TestService;
let issuer: string;

beforeAll(async () => {
  svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000', RISK_ENABLED: 'false' });
  issuer = `${svc.url}/t/default`;
});
afterAll(async () => {
  await svc?.destroy();
});

async function app(subjectType: 'public' | 'pairwise', redirectUri = REDIRECT_URI) {
  const { client, clientSecret } = await makeClient(svc.service, {
    subject_type: subjectType,
    redirect_uris: [redirectUri],
  });
  return rpConfig(issuer, client.client_id, clientSecret);
}

describe('pairwise subject', () => {
  it('gives a pairwise app a sub that is not the account id, stable across sign-ins, and the same at userinfo and introspection', async () => {
    const browser = new AuthClient(svc.url);
    const r = await browser.signUp('pairwise-1');
    expect(r.status).toBe(201);
    const accountId = (r.body.account as { id: string }).id;
    const config = await app('pairwise');

    const first = await signInToApp(config, browser);
    const sub = first.tokens.claims()!.sub;
    expect(sub).not.toBe(accountId);
    expect(sub).not.toContain(accountId);
    expect(sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const info = await oidc.fetchUserInfo(config, first.tokens.access_token, sub);
    expect(info.sub).toBe(sub);
    const introspection = await oidc.tokenIntrospection(config, first.tokens.access_token);
    expect(introspection).toMatchObject({ active: true, sub });

    // A new Trustgate session (another browser) and a new grant: the same pairwise sub.
    const other = browser.fork();
    expect((await other.signIn()).status).toBe(200);
    const second = await signInToApp(config, other);
    expect(second.tokens.claims()!.sub).toBe(sub);
  });

  it('gives apps of different sectors different subs for the same person, and a public app the account id', async () => {
    const browser = new AuthClient(svc.url);
    const r = await browser.signUp('pairwise-2');
    const accountId = (r.body.account as { id: string }).id;
    const here = await app('pairwise');
    const elsewhere = await app('pairwise', OTHER_SECTOR_REDIRECT);
    const open = await app('public');

    const subHere = (await signInToApp(here, browser)).tokens.claims()!.sub;
    const subElsewhere = (
      await signInToApp(elsewhere, browser, { redirect_uri: OTHER_SECTOR_REDIRECT })
    ).tokens.claims()!.sub;
    const subOpen = (await signInToApp(open, browser)).tokens.claims()!.sub;

    expect(subElsewhere).not.toBe(subHere);
    expect(subElsewhere).not.toBe(accountId);
    expect(subOpen).toBe(accountId);
  });

  it('gives two pairwise apps of one sector the same sub (the sector identifier is the redirect host)', async () => {
    const browser = new AuthClient(svc.url);
    await browser.signUp('pairwise-3');
    const a = await app('pairwise');
    const b = await app('pairwise');
    const subA = (await signInToApp(a, browser)).tokens.claims()!.sub;
    const subB = (await signInToApp(b, browser)).tokens.claims()!.sub;
    expect(subB).toBe(subA);
  });

  it('gives two people different pairwise subs at the same app', async () => {
    const config = await app('pairwise');
    const alice = new AuthClient(svc.url);
    await alice.signUp('pairwise-4a');
    const bob = new AuthClient(svc.url);
    await bob.signUp('pairwise-4b');
    const subAlice = (await signInToApp(config, alice)).tokens.claims()!.sub;
    const subBob = (await signInToApp(config, bob)).tokens.claims()!.sub;
    expect(subAlice).not.toBe(subBob);
  });
});
