/**
 * The example app (examples/rp) without a browser:
 *   - it gets its client without any CLI: a client id and secret made by an admin, or dynamic
 *     registration with an initial access token (refused without a valid one);
 *   - its own defences: strict CSP whose form-action names only itself and Trustgate, anti-forgery
 *     tokens on its forms, and a callback that only accepts answers to requests this browser made;
 *   - its own check of the `assurance_credential` claim (examples/rp/assurance-credential.ts): stock
 *     did-jwt-vc + ethr-did-resolver pointed at the chain facts of `GET /api/chain`, against
 *     IdentityAssuranceCredentials signed by the tenant's real issuer on the embedded chain. A credential
 *     for another app, about another person, altered, expired or from an issuer the app does not pin is
 *     refused.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRpApp } from '../../examples/rp/app.ts';
import {
  AssuranceVerifier,
  type ChainFacts,
  chainResolver,
  checkAssuranceCredential,
  fetchChainFacts,
} from '../../examples/rp/assurance-credential.ts';
import { NoClientError } from '../../examples/rp/client-registration.ts';
import type { TenantIssuer } from '../../src/credentials/issuers.ts';
import { issueJwtVc } from '../../src/credentials/vc-jwt.ts';
import { createClient } from '../../src/oidc/clients.ts';
import { freePort } from '../helpers/process.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const CLIENT_ID = 'tg_example_app';
const PERSON = 'did:ethr:0x7a69:0x1111111111111111111111111111111111111111';

let svc: TestService;
let issuer: TenantIssuer;
let chain: ChainFacts;

beforeAll(async () => {
  svc = await startTestService({ RISK_ENABLED: 'false' });
  const { tenant } = await svc.service.oidc.get('default');
  issuer = await svc.service.credentials.issuers.get(tenant.id);
  chain = await fetchChainFacts(svc.url);
}, 120_000);
afterAll(async () => {
  await svc?.destroy();
});

function issue(
  options: { audience?: string; subject?: string; type?: string; expires?: Date } = {},
): Promise<string> {
  return issueJwtVc({
    agent: svc.service.agent,
    issuer,
    audience: options.audience ?? CLIENT_ID,
    credential: {
      type: ['VerifiableCredential', options.type ?? 'IdentityAssuranceCredential'],
      credentialSubject: {
        id: options.subject ?? PERSON,
        aal: 2,
        acr: 'phr',
        amr: ['user', 'swk'],
        phishingResistant: true,
        authTime: new Date().toISOString(),
      },
      expirationDate: (options.expires ?? new Date(Date.now() + 3600_000)).toISOString(),
    },
  });
}

const expectations = () => ({ resolver: chainResolver(chain), audience: CLIENT_ID, subjectDid: PERSON });

describe('the example app verifies the assurance credential on its own', () => {
  it('reads the chain facts Trustgate publishes for verifiers', () => {
    expect(chain.chainId).toBe(31337);
    expect(chain.registry).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(chain.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
  });

  it('verifies a credential issued to this app about this person, signed on the chain', async () => {
    const result = await checkAssuranceCredential(await issue(), expectations());
    expect(result).toMatchObject({
      status: 'verified',
      issuer: issuer.did,
      subject: PERSON,
      claims: { aal: 2, acr: 'phr', amr: ['user', 'swk'], phishingResistant: true },
    });
  });

  it('reports an absent claim as absent (no credential), not as a failure', async () => {
    expect(await checkAssuranceCredential(undefined, expectations())).toEqual({ status: 'absent' });
    expect(
      await new AssuranceVerifier({ trustgateUrl: svc.url, audience: CLIENT_ID }).check(undefined, PERSON),
    ).toEqual({ status: 'absent' });
  });

  it('refuses a credential made for another app (audience)', async () => {
    const result = await checkAssuranceCredential(await issue({ audience: 'tg_other_app' }), expectations());
    expect(result.status).toBe('invalid');
    expect(result.status === 'invalid' && result.reason).toMatch(/audience/i);
  });

  it('refuses a credential about someone else', async () => {
    const other = 'did:ethr:0x7a69:0x2222222222222222222222222222222222222222';
    const result = await checkAssuranceCredential(await issue({ subject: other }), expectations());
    expect(result).toMatchObject({ status: 'invalid', reason: 'The credential is about someone else.' });
  });

  it('refuses an altered credential (signature no longer matches)', async () => {
    const [header, payload, signature] = (await issue()).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    claims.vc.credentialSubject.aal = 3;
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    const result = await checkAssuranceCredential(forged, expectations());
    expect(result.status).toBe('invalid');
    expect(result.status === 'invalid' && result.reason).toMatch(/signature/i);
  });

  it('refuses an expired credential', async () => {
    const result = await checkAssuranceCredential(
      await issue({ expires: new Date(Date.now() - 3600_000) }),
      expectations(),
    );
    expect(result.status).toBe('invalid');
    expect(result.status === 'invalid' && result.reason).toMatch(/expired/i);
  });

  it('refuses another type of credential, and an issuer the app does not pin', async () => {
    const device = await checkAssuranceCredential(
      await issue({ type: 'DeviceBindingCredential' }),
      expectations(),
    );
    expect(device).toMatchObject({ status: 'invalid', reason: 'Not an IdentityAssuranceCredential.' });
    const pinned = await checkAssuranceCredential(await issue(), {
      ...expectations(),
      trustedIssuers: ['did:ethr:0x7a69:0x3333333333333333333333333333333333333333'],
    });
    expect(pinned).toMatchObject({ status: 'invalid', reason: 'The issuer is not one this app trusts.' });
  });

  it('says "not checked" when the chain facts cannot be had, rather than valid or invalid', async () => {
    const verifier = new AssuranceVerifier({ trustgateUrl: 'http://127.0.0.1:9', audience: CLIENT_ID });
    const result = await verifier.check(await issue(), PERSON);
    expect(result.status).toBe('unchecked');
  });
});

describe('the example app gets its client without a CLI', () => {
  it('registers itself dynamically with an initial access token, as a third-party client', async () => {
    const { provider } = await svc.service.oidc.get('default');
    const token = await new provider.InitialAccessToken({ expiresIn: 600 }).save();
    const rp = await createRpApp({
      trustgateUrl: svc.url,
      tenant: 'default',
      baseUrl: 'http://localhost:4999',
      initialAccessToken: token,
    });
    expect(rp.registered?.clientId).toBe(rp.clientId);
    expect(rp.registered?.clientSecret).toMatch(/^\S{20,}$/);
    const client = await provider.Client.find(rp.clientId);
    expect(client?.redirectUris).toEqual(['http://localhost:4999/callback']);
    expect(client?.postLogoutRedirectUris).toEqual(['http://localhost:4999/']);
    expect(client?.tokenEndpointAuthMethod).toBe('client_secret_basic');
    expect((client as unknown as Record<string, unknown>).trustgate_first_party).not.toBe(true);
  });

  it('refuses to start without a client or a valid initial access token', async () => {
    const options = { trustgateUrl: svc.url, tenant: 'default', baseUrl: 'http://localhost:4999' };
    await expect(createRpApp(options)).rejects.toBeInstanceOf(NoClientError);
    await expect(createRpApp({ ...options, initialAccessToken: 'not-a-token' })).rejects.toMatchObject({
      status: 401,
      cause: [{ parameters: { error: 'invalid_token' } }],
    });
  });
});

describe('the example app’s own defences', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const { provider, tenant } = await svc.service.oidc.get('default');
    const { client, clientSecret } = await createClient(provider, svc.service.store, tenant.id, {
      client_name: 'Example app',
      redirect_uris: [`${base}/callback`],
      first_party: true,
    });
    const rp = await createRpApp({
      trustgateUrl: svc.url,
      tenant: 'default',
      baseUrl: base,
      client: { clientId: client.client_id, clientSecret: clientSecret! },
    });
    server = await new Promise<Server>((resolve) => {
      const s = rp.app.listen(port, '127.0.0.1', () => resolve(s));
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  /** The home page's session cookie and form token. */
  async function visit() {
    const res = await fetch(`${base}/`);
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await res.text())![1]!;
    return { res, cookie, csrf };
  }

  const post = (path: string, cookie: string, body: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });

  it('serves pages under a strict CSP whose forms may go only to itself and Trustgate', async () => {
    const { res } = await visit();
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`form-action 'self' ${new URL(svc.url).origin};`);
    expect(res.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Lax/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('sends a sign-in to Trustgate with PKCE, state, nonce and the assurance scope', async () => {
    const { cookie, csrf } = await visit();
    const res = await post('/login', cookie, `csrf=${encodeURIComponent(csrf)}`);
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin + to.pathname).toBe(`${new URL(svc.url).origin}/t/default/authorize`);
    expect(to.searchParams.get('scope')).toBe('openid did profile assurance');
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('state')).toMatch(/^\S{20,}$/);
    expect(to.searchParams.get('nonce')).toMatch(/^\S{20,}$/);
    expect(to.searchParams.get('redirect_uri')).toBe(`${base}/callback`);
  });

  it('refuses a form without its anti-forgery token', async () => {
    const { cookie } = await visit();
    expect((await post('/login', cookie, 'csrf=forged')).status).toBe(403);
    expect((await post('/login', cookie, '')).status).toBe(403);
  });

  it('refuses a callback that answers no request of this browser', async () => {
    const { cookie } = await visit();
    const res = await fetch(`${base}/callback?code=abc&state=not-mine`, { headers: { cookie } });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('does not match a request made from this browser');
  });

  it('sends a visitor without a session from the profile to the start page', async () => {
    const res = await fetch(`${base}/profile`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
  });
});
