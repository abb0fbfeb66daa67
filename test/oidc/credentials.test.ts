/**
 * Where OpenID Connect meets verifiable credentials: with scope `assurance` the ID token carries an
 * IdentityAssuranceCredential about this sign-in, bound to the client, that stock `did-jwt-vc` and
 * `ethr-did-resolver` verify against the chain; and the VC API takes the providers' access tokens
 * (client credentials with scope `vc:issue`), refusing tokens without the scope, of another tenant,
 * bound by DPoP, or revoked.
 */
import { verifyCredential as stockVerifyCredential } from 'did-jwt-vc';
import { JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import { makeClient, oidc, rpConfig, signInToApp } from '../helpers/oidc.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';

let svc: TestService;
let issuer: string;
let chain: JsonRpcProvider;

beforeAll(async () => {
  svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000', RISK_ENABLED: 'false' });
  issuer = `${svc.url}/t/default`;
  chain = new JsonRpcProvider(svc.service.chain.rpcUrl, svc.service.chain.chainId, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
});
afterAll(async () => {
  chain?.destroy();
  await svc?.destroy();
});

const CREDENTIAL = {
  '@context': ['https://www.w3.org/2018/credentials/v1'],
  type: ['VerifiableCredential', 'EmployeeCredential'],
  credentialSubject: { id: 'did:example:employee-1', role: 'engineer' },
};

async function clientCredentialsToken(scope: string, extra: Record<string, unknown> = {}) {
  const { client, clientSecret } = await makeClient(svc.service, {
    grant_types: ['client_credentials'],
    scope,
    ...extra,
  });
  const config = await rpConfig(issuer, client.client_id, clientSecret);
  return { config, tokens: await oidc.clientCredentialsGrant(config, { scope }) };
}

function issueWith(token: string, path = '/credentials/issue', scheme = 'Bearer') {
  return fetch(`${svc.url}${path}`, {
    method: 'POST',
    headers: { authorization: `${scheme} ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ credential: CREDENTIAL }),
  });
}

describe('the assurance credential in the ID token', () => {
  it('is an IdentityAssuranceCredential for this client that stock libraries verify against the chain', async () => {
    const browser = new AuthClient(svc.url);
    const signedUp = await browser.signUp('oidc-vc');
    const account = signedUp.body.account as { id: string; did: string };
    const { client, clientSecret } = await makeClient(svc.service, { scope: 'openid did assurance' });
    const config = await rpConfig(issuer, client.client_id, clientSecret);
    const { tokens } = await signInToApp(config, browser, { scope: 'openid did assurance' });
    const claims = tokens.claims()!;
    expect(typeof claims.assurance_credential).toBe('string');

    const resolver = stockEthrResolver(chain, svc.service.chain.registryAddress);
    const verified = await stockVerifyCredential(String(claims.assurance_credential), resolver, {
      audience: client.client_id,
    });
    expect(verified.verified).toBe(true);
    const tenant = await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } });
    expect(verified.issuer).toBe((await svc.service.credentials.issuers.get(tenant.id)).did);
    expect(verified.verifiableCredential.type).toContain('IdentityAssuranceCredential');
    expect(verified.verifiableCredential.credentialSubject).toMatchObject({ id: account.did, acr: 'phr' });
    // Bound to this client: another audience is refused by the same stock verifier.
    await expect(
      stockVerifyCredential(String(claims.assurance_credential), resolver, { audience: 'another-app' }),
    ).rejects.toThrow();
  });

  it('is not issued without the assurance scope', async () => {
    const browser = new AuthClient(svc.url);
    await browser.signUp('oidc-novc');
    const { client, clientSecret } = await makeClient(svc.service, { scope: 'openid assurance' });
    const config = await rpConfig(issuer, client.client_id, clientSecret);
    const { tokens } = await signInToApp(config, browser, { scope: 'openid' });
    expect(tokens.claims()?.assurance_credential).toBeUndefined();
  });
});

describe('the VC API with the providers’ access tokens', () => {
  it('issues with a client-credentials token that has vc:issue', async () => {
    const { tokens } = await clientCredentialsToken('vc:issue');
    const res = await issueWith(tokens.access_token);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { verifiableCredential: { type: string[] } };
    expect(body.verifiableCredential.type).toContain('EmployeeCredential');
    // Also on the tenant's own path.
    expect((await issueWith(tokens.access_token, '/t/default/credentials/issue')).status).toBe(201);
  });

  it('refuses a token without vc:issue (403 insufficient_scope)', async () => {
    const { tokens } = await clientCredentialsToken('openid');
    const res = await issueWith(tokens.access_token);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('insufficient_scope');
  });

  it('refuses a token of another tenant on a tenant path, and a revoked or made-up token (401)', async () => {
    await svc.service.store.db.tenant.create({ data: { slug: 'vc-other', displayName: 'Other' } });
    const { tokens, config } = await clientCredentialsToken('vc:issue');
    const other = await issueWith(tokens.access_token, '/t/vc-other/credentials/issue');
    expect([401, 403, 404]).toContain(other.status);
    expect(other.status).not.toBe(201);

    await oidc.tokenRevocation(config, tokens.access_token);
    const revoked = await issueWith(tokens.access_token);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect((await issueWith('A'.repeat(43))).status).toBe(401);
  });

  it('refuses a DPoP-bound token presented as a bearer token', async () => {
    const { client, clientSecret } = await makeClient(svc.service, {
      grant_types: ['client_credentials'],
      scope: 'vc:issue',
      dpop_bound_access_tokens: true,
    });
    const config = await rpConfig(issuer, client.client_id, clientSecret);
    const dpop = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'vc:issue' }, { DPoP: dpop });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect((await issueWith(tokens.access_token)).status).toBe(401);
  });
});
