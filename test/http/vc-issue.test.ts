/**
 * The W3C VC API issuer on a real service (SQLite, embedded chain): `POST /credentials/issue` and
 * `POST /credentials/status`, global and per tenant. Role matrix: nobody, unknown token, token without
 * `vc:issue`, another tenant's token, a person without an admin role, a stale admin, a cross-site admin
 * request, a token and an admin that may. Interop with no Trustgate code on the verifying side: stock
 * did-jwt-vc over stock ethr-did-resolver verifies what the API issued, and after revocation the published
 * list, checked with ethers and node:zlib, has the credential's bit set. Bad input is a 400 with a stable
 * code and writes nothing.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { verifyCredential as stockVerifyCredential } from 'did-jwt-vc';
import { JsonRpcProvider, recoverAddress } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BearerAuthorizer, BearerGrant } from '../../src/http/routes/vc-issue.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';

/**
 * A stand-in for the OpenID Connect provider's access tokens, for this test only: token → grant. It
 * ignores the tenant it is asked about on purpose, so the route's own tenant check is what is tested.
 */
class TokenTable implements BearerAuthorizer {
  readonly grants = new Map<string, BearerGrant>();
  issue(grant: BearerGrant): string {
    const token = randomBytes(24).toString('base64url');
    this.grants.set(token, grant);
    return token;
  }
  async authorize(token: string): Promise<BearerGrant | null> {
    return this.grants.get(token) ?? null;
  }
}

const V1 = 'https://www.w3.org/2018/credentials/v1';
const V2 = 'https://www.w3.org/ns/credentials/v2';
const SUBJECT = 'did:ethr:0x7a69:0x2222222222222222222222222222222222222222';

const tokens = new TokenTable();
let svc: TestService;
let provider: JsonRpcProvider;
let defaultId: string;
let acmeId: string;
let clientToken: string;
let acmeToken: string;
let readOnlyToken: string;

let hw: HardwareAttestation;

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000' }, { vcBearer: tokens });
  const db = svc.service.store.db;
  defaultId = (await db.tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
  acmeId = (await db.tenant.create({ data: { slug: 'acme', displayName: 'Acme' } })).id;
  clientToken = tokens.issue({ tenantId: defaultId, clientId: 'hr-system', scopes: ['openid', 'vc:issue'] });
  acmeToken = tokens.issue({ tenantId: acmeId, clientId: 'acme-hr', scopes: ['vc:issue'] });
  readOnlyToken = tokens.issue({ tenantId: defaultId, clientId: 'reader', scopes: ['openid', 'profile'] });
  provider = new JsonRpcProvider(svc.service.chain.rpcUrl, svc.service.chain.chainId, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
});
afterAll(async () => {
  provider?.destroy();
  await svc?.destroy();
  hw?.remove();
});

/** The members of VC API answers (and problem bodies) these tests read. */
interface ApiBody {
  code?: string;
  status?: number;
  problems?: string[];
  verifiableCredential?: {
    '@context'?: string;
    id?: string;
    type?: string;
    proof?: { type: string; jwt: string };
  };
  credentialId?: string;
  credentialStatus?: Array<StatusEntry & { status: boolean }>;
  verified?: boolean;
}

interface Answer {
  status: number;
  headers: Headers;
  body: ApiBody;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${svc.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A BitstringStatusListEntry as a credential carries it. */
interface StatusEntry {
  id: string;
  type: string;
  statusPurpose: string;
  statusListIndex: string;
  statusListCredential: string;
}

function v1Credential(extra: Record<string, unknown> = {}) {
  return {
    '@context': [V1],
    type: ['VerifiableCredential', 'EmployeeCredential'],
    issuanceDate: new Date(Date.now() - 5_000).toISOString(),
    expirationDate: new Date(Date.now() + 86_400_000).toISOString(),
    credentialSubject: { id: SUBJECT, role: 'engineer' },
    ...extra,
  };
}

function v2Credential(extra: Record<string, unknown> = {}) {
  return {
    '@context': [V2],
    type: ['VerifiableCredential', 'MembershipCredential'],
    validFrom: new Date(Date.now() - 5_000).toISOString(),
    credentialSubject: { id: SUBJECT, member: true },
    ...extra,
  };
}

/** The claims these tests read from a credential JWT: VC 1.1 JWT claims, or a VC 2.0 payload. */
interface Claims {
  iss?: string;
  jti?: string;
  id?: string;
  issuer?: string;
  credentialSubject?: Record<string, unknown>;
  credentialStatus?: StatusEntry[];
  vc?: { type: string[]; credentialSubject: Record<string, unknown>; credentialStatus: StatusEntry[] };
}

const payloadOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Claims;
const headerOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** The JWT of a VC API answer: `proof.jwt` of a jwt_vc, or the envelope's data of a vc+jwt. */
function jwtOf(body: ApiBody): string {
  const vc = body.verifiableCredential;
  const jwt = vc?.proof?.jwt ?? vc?.id?.replace(/^data:application\/vc\+jwt,/, '');
  if (!jwt) throw new Error('the answer carries no credential');
  return jwt;
}

/**
 * Rows that issuing writes: a refused request must not change them. (`StatusList.allocated` is left out:
 * it counts capacity leased in blocks, which a refused request may leave with its instance.)
 */
async function writes() {
  const db = svc.service.store.db;
  return { credentials: await db.issuedCredential.count(), entries: await db.statusEntry.count() };
}

/**
 * A person with `roles`, signed up just now with a security key (a fresh AAL3 / `phrh` proof, what
 * admin changes need), or with `hardware: false` a synced passkey (AAL2).
 */
async function personWithRoles(
  username: string,
  roles: string[],
  options: { hardware?: boolean } = {},
): Promise<AuthClient> {
  return adminClient(svc, hw, roles, { username, ...options });
}

/**
 * What a verifier with no Trustgate code does with a BitstringStatusListEntry: fetch the list, check that
 * the issuer's key signed it (ES256K public-key recovery with ethers: the did:ethr document carries only
 * the address), check issuer and purpose, gunzip `encodedList` and read the bit (index 0 = MSB of byte 0).
 */
async function stockStatusBit(
  entry: { statusListCredential: string; statusListIndex: string; statusPurpose: string },
  issuerDid: string,
): Promise<boolean> {
  const res = await fetch(entry.statusListCredential);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/vc+jwt');
  const jws = await res.text();
  const [h, p, s] = jws.split('.') as [string, string, string];
  const digest = createHash('sha256').update(`${h}.${p}`).digest();
  const sig = Buffer.from(s, 'base64url');
  const signers = [27, 28].map((v) => {
    try {
      const r = `0x${sig.subarray(0, 32).toString('hex')}`;
      return recoverAddress(digest, { r, s: `0x${sig.subarray(32).toString('hex')}`, v }).toLowerCase();
    } catch {
      return '';
    }
  });
  expect(signers).toContain(issuerDid.split(':').at(-1));
  const list = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  expect(list.type).toContain('BitstringStatusListCredential');
  expect(list.issuer).toBe(issuerDid);
  expect(list.credentialSubject.statusPurpose).toBe(entry.statusPurpose);
  const bits = gunzipSync(Buffer.from(String(list.credentialSubject.encodedList).slice(1), 'base64url'));
  expect(bits.length * 8).toBeGreaterThanOrEqual(131_072);
  const index = Number(entry.statusListIndex);
  return ((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
}

describe('POST /credentials/issue', () => {
  it('issues a VC 1.1 jwt_vc for a client token with vc:issue that stock did-jwt-vc and ethr-did-resolver verify', async () => {
    const r = await post('/credentials/issue', { credential: v1Credential() }, bearer(clientToken));
    expect(r.status).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body.verifiableCredential?.proof).toMatchObject({ type: 'JwtProof2020' });
    const jwt = jwtOf(r.body);
    expect(headerOf(jwt)).toMatchObject({ alg: 'ES256K', typ: 'JWT' });

    const issuer = await svc.service.credentials.issuers.get(defaultId);
    const stock = await stockVerifyCredential(
      jwt,
      stockEthrResolver(provider, svc.service.chain.registryAddress),
    );
    expect(stock.verified).toBe(true);
    expect(stock.issuer).toBe(issuer.did);
    expect(stock.verifiableCredential.credentialSubject).toMatchObject({ id: SUBJECT, role: 'engineer' });
    expect(stock.verifiableCredential.type).toEqual(['VerifiableCredential', 'EmployeeCredential']);

    const statuses = payloadOf(jwt).vc!.credentialStatus;
    expect(statuses.map((e) => e.statusPurpose).sort()).toEqual(['revocation', 'suspension']);
    for (const entry of statuses) {
      expect(entry).toMatchObject({ type: 'BitstringStatusListEntry' });
      expect(entry.statusListCredential).toMatch(new RegExp(`^${svc.url}/status/[^/]+$`));
      expect(entry.id).toBe(`${entry.statusListCredential}#${entry.statusListIndex}`);
    }
    const id = payloadOf(jwt).jti!;
    expect(id).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const record = await svc.service.store.db.issuedCredential.findUniqueOrThrow({ where: { id } });
    expect(record).toMatchObject({
      tenantId: defaultId,
      type: 'EmployeeCredential',
      format: 'jwt_vc',
      subjectDid: SUBJECT,
      accountId: null,
      jwt,
    });
    expect(record.expiresAt?.getTime()).toBeGreaterThan(Date.now());
    expect(await svc.service.store.db.statusEntry.count({ where: { credentialId: id } })).toBe(2);
    const event = await svc.service.store.db.securityEvent.findFirst({
      where: { tenantId: defaultId, type: 'credential.issued' },
      orderBy: { createdAt: 'desc' },
    });
    expect(JSON.parse(event!.detail)).toMatchObject({
      credentialId: id,
      by: 'client',
      clientId: 'hr-system',
    });
  });

  it('issues a VC 2.0 credential as an EnvelopedVerifiableCredential (vc+jwt) for a tenant admin, filed under the subject person', async () => {
    const admin = await personWithRoles('vcadmin', ['tenant-admin']);
    const holder = new AuthClient(svc.url);
    const signedUp = await holder.signUp('vcholder');
    const holderDid = (signedUp.body.account as { did: string }).did;
    const r = await admin.call<ApiBody>('POST', '/t/default/credentials/issue', {
      credential: v2Credential({ credentialSubject: { id: holderDid, member: true } }),
    });
    expect(r.status).toBe(201);
    const vc = r.body.verifiableCredential!;
    expect(vc).toMatchObject({ '@context': V2, type: 'EnvelopedVerifiableCredential' });
    expect(vc.id).toMatch(/^data:application\/vc\+jwt,/);
    const jws = jwtOf(r.body);
    const issuer = await svc.service.credentials.issuers.get(defaultId);
    expect(headerOf(jws)).toMatchObject({ alg: 'ES256K', typ: 'vc+jwt', kid: `${issuer.did}#controller` });
    const payload = payloadOf(jws);
    expect(payload).toMatchObject({ issuer: issuer.did, credentialSubject: { id: holderDid, member: true } });
    expect(payload.credentialStatus).toHaveLength(2);

    const verified = await post('/credentials/verify', { verifiableCredential: vc });
    expect(verified.body).toMatchObject({ verified: true, checks: ['proof', 'validity', 'status'] });
    const record = await svc.service.store.db.issuedCredential.findUniqueOrThrow({
      where: { id: payload.id! },
    });
    const account = await svc.service.store.db.account.findFirstOrThrow({ where: { did: holderDid } });
    expect(record).toMatchObject({ format: 'vc+jwt', type: 'MembershipCredential', accountId: account.id });
    const mine = await holder.call<{ credentials: Array<{ id: string }> }>(
      'GET',
      holder.t('/api/me/credentials'),
    );
    expect(mine.body.credentials.map((c) => c.id)).toContain(payload.id);
  });

  it('issues for the default tenant when an admin session calls the global path, and for the token’s tenant otherwise', async () => {
    const admin = await personWithRoles('globaladmin', ['tenant-admin']);
    const byAdmin = await admin.call<ApiBody>('POST', '/credentials/issue', {
      credential: v1Credential(),
    });
    expect(byAdmin.status).toBe(201);
    const defaultIssuer = await svc.service.credentials.issuers.get(defaultId);
    expect(payloadOf(jwtOf(byAdmin.body)).iss).toBe(defaultIssuer.did);

    const byAcme = await post('/credentials/issue', { credential: v1Credential() }, bearer(acmeToken));
    expect(byAcme.status).toBe(201);
    const acmeIssuer = await svc.service.credentials.issuers.get(acmeId);
    expect(acmeIssuer.did).not.toBe(defaultIssuer.did);
    const jwt = jwtOf(byAcme.body);
    expect(payloadOf(jwt).iss).toBe(acmeIssuer.did);
    const record = await svc.service.store.db.issuedCredential.findUniqueOrThrow({
      where: { id: payloadOf(jwt).jti! },
    });
    expect(record.tenantId).toBe(acmeId);
    const tenantScoped = await post(
      '/t/acme/credentials/issue',
      { credential: v2Credential() },
      bearer(acmeToken),
    );
    expect(tenantScoped.status).toBe(201);
  });

  it('keeps a caller-chosen id, and refuses it a second time with 409 credential_exists, writing nothing', async () => {
    const id = `https://hr.example/credentials/${randomBytes(6).toString('hex')}`;
    const first = await post('/credentials/issue', { credential: v2Credential({ id }) }, bearer(clientToken));
    expect(first.status).toBe(201);
    const before = await writes();
    const again = await post('/credentials/issue', { credential: v2Credential({ id }) }, bearer(clientToken));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'credential_exists' });
    expect(await writes()).toEqual(before);
    // options.credentialId names a credential that carries no id of its own.
    const named = `urn:example:${randomBytes(6).toString('hex')}`;
    const byOption = await post(
      '/credentials/issue',
      { credential: v1Credential(), options: { credentialId: named } },
      bearer(clientToken),
    );
    expect(byOption.status).toBe(201);
    expect(payloadOf(jwtOf(byOption.body)).jti).toBeUndefined();
    expect(await svc.service.store.db.issuedCredential.count({ where: { id: named } })).toBe(1);
  });
});

describe('who may issue', () => {
  it('answers nobody 401 problem+json with a Bearer challenge and writes nothing', async () => {
    const before = await writes();
    for (const path of ['/credentials/issue', '/t/default/credentials/issue']) {
      const r = await post(path, { credential: v1Credential() });
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ code: 'unauthorized', status: 401 });
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="trustgate"/);
      expect(r.headers.get('www-authenticate')).not.toContain('error=');
    }
    expect(await writes()).toEqual(before);
  });

  it('refuses an unknown or malformed token with 401 invalid_token', async () => {
    for (const authorization of ['Bearer not-a-known-token', 'Basic dXNlcjpwYXNz', 'Bearer ']) {
      const r = await post('/credentials/issue', { credential: v1Credential() }, { authorization });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ code: 'invalid_token' });
      expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('refuses a token without vc:issue with 403 insufficient_scope', async () => {
    const before = await writes();
    const r = await post('/credentials/issue', { credential: v1Credential() }, bearer(readOnlyToken));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'insufficient_scope' });
    expect(r.headers.get('www-authenticate')).toBe(
      'Bearer realm="trustgate", error="insufficient_scope", scope="vc:issue"',
    );
    expect(await writes()).toEqual(before);
  });

  it('never lets a token of one tenant issue for another', async () => {
    const before = await writes();
    const intoAcme = await post(
      '/t/acme/credentials/issue',
      { credential: v1Credential() },
      bearer(clientToken),
    );
    expect(intoAcme.status).toBe(401);
    expect(intoAcme.body).toMatchObject({ code: 'invalid_token' });
    const intoDefault = await post(
      '/t/default/credentials/issue',
      { credential: v2Credential() },
      bearer(acmeToken),
    );
    expect(intoDefault.status).toBe(401);
    expect(await writes()).toEqual(before);
  });

  it('refuses a person without an admin role (403), a stale or AAL2-only admin (RFC 9470 phrh) and a cross-site admin request', async () => {
    const nobody = await personWithRoles('notadmin', []);
    const r = await nobody.call('POST', '/t/default/credentials/issue', { credential: v1Credential() });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'forbidden' });
    const auditor = await personWithRoles('vcauditor', ['auditor']);
    expect((await auditor.call('POST', '/credentials/issue', { credential: v1Credential() })).status).toBe(
      403,
    );

    const stale = await personWithRoles('staleissuer', ['tenant-admin']);
    await svc.service.store.db.session.updateMany({
      where: { endedAt: null, account: { username: 'staleissuer' } },
      data: { authTime: new Date(Date.now() - 3_600_000) },
    });
    const old = await stale.call('POST', '/t/default/credentials/issue', { credential: v1Credential() });
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ code: 'insufficient_user_authentication' });

    const synced = await personWithRoles('aal2issuer', ['tenant-admin'], { hardware: false });
    const before = await writes();
    const aal2 = await synced.call('POST', '/t/default/credentials/issue', { credential: v1Credential() });
    expect(aal2.status).toBe(401);
    expect(aal2.headers.get('www-authenticate')).toMatch(
      /error="insufficient_user_authentication".*acr_values="phrh", max_age=300/,
    );
    expect(await writes()).toEqual(before);

    const admin = await personWithRoles('csrfadmin', ['tenant-admin']);
    const crossSite = await admin.call(
      'POST',
      '/t/default/credentials/issue',
      { credential: v1Credential() },
      { origin: 'https://evil.example' },
    );
    expect(crossSite.status).toBe(403);
    expect(crossSite.body).toMatchObject({ code: 'cross_site_request' });
  });
});

describe('bad input to /credentials/issue', () => {
  it('answers each malformed credential with 400 and a stable code, never a 500, and writes nothing', async () => {
    const foreignIssuer = 'did:ethr:0x7a69:0x3333333333333333333333333333333333333333';
    const cases: Array<[string, unknown, string]> = [
      [
        'no @context',
        { credential: { type: ['VerifiableCredential'], credentialSubject: { id: SUBJECT } } },
        'invalid_credential',
      ],
      [
        'unknown @context',
        { credential: v1Credential({ '@context': ['https://example.com/ctx'] }) },
        'invalid_credential',
      ],
      [
        'status chosen by the caller',
        { credential: v2Credential({ credentialStatus: { id: 'x', type: 'BitstringStatusListEntry' } }) },
        'invalid_credential',
      ],
      [
        'already secured',
        { credential: v2Credential({ proof: { type: 'DataIntegrityProof' } }) },
        'invalid_credential',
      ],
      ['another issuer', { credential: v1Credential({ issuer: foreignIssuer }) }, 'invalid_credential'],
      [
        'another issuer (object)',
        { credential: v2Credential({ issuer: { id: foreignIssuer } }) },
        'invalid_credential',
      ],
      ['bad date', { credential: v1Credential({ expirationDate: 'tomorrow' }) }, 'invalid_credential'],
      [
        'validUntil before validFrom',
        { credential: v2Credential({ validUntil: '2000-01-01T00:00:00Z' }) },
        'invalid_credential',
      ],
      [
        'subject not an object',
        { credential: v1Credential({ credentialSubject: 'alice' }) },
        'invalid_credential',
      ],
      [
        'no VerifiableCredential type',
        { credential: v2Credential({ type: ['Other'] }) },
        'invalid_credential',
      ],
      ['id not a URI', { credential: v2Credential({ id: 'not a uri' }) }, 'invalid_credential'],
      [
        'format against @context',
        { credential: v1Credential(), options: { format: 'vc+jwt' } },
        'invalid_credential',
      ],
      [
        'unknown option',
        { credential: v1Credential(), options: { mandatoryPointers: ['/issuer'] } },
        'invalid_request',
      ],
      ['no credential', { options: {} }, 'invalid_request'],
      ['credential not an object', { credential: 'eyJ...' }, 'invalid_request'],
    ];
    const before = await writes();
    for (const [name, body, code] of cases) {
      const r = await post('/credentials/issue', body, bearer(clientToken));
      expect({ name, status: r.status, code: r.body.code }).toEqual({ name, status: 400, code });
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const listed = await post(
      '/credentials/issue',
      { credential: { '@context': [V2], type: 'X' } },
      bearer(clientToken),
    );
    expect(listed.body.problems).toEqual(
      expect.arrayContaining([expect.stringContaining('type'), expect.stringContaining('credentialSubject')]),
    );
    const notJson = await fetch(`${svc.url}/credentials/issue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(clientToken) },
      body: '{"credential":',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ code: 'malformed_json' });
    expect(await writes()).toEqual(before);
  });
});

describe('POST /credentials/status', () => {
  async function issued(token = clientToken, credential: Record<string, unknown> = v1Credential()) {
    const r = await post('/credentials/issue', { credential }, bearer(token));
    expect(r.status).toBe(201);
    const vc = r.body.verifiableCredential!;
    const jwt = jwtOf(r.body);
    const payload = payloadOf(jwt);
    const id = (payload.jti ?? payload.id)!;
    const statuses = (payload.vc?.credentialStatus ?? payload.credentialStatus)!;
    const entry = (purpose: string) => statuses.find((e) => e.statusPurpose === purpose)!;
    return { vc, jwt, id, entry };
  }

  it('revokes for good: the published list, decoded with stock tools, has the bit set; reinstating is 409 revocation_is_final', async () => {
    const { jwt, id, entry } = await issued();
    const issuer = await svc.service.credentials.issuers.get(defaultId);
    const revocation = entry('revocation');
    expect(await stockStatusBit(revocation, issuer.did)).toBe(false);

    const r = await post(
      '/credentials/status',
      {
        credentialId: id,
        credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
        status: true,
      },
      bearer(clientToken),
    );
    expect(r.status).toBe(200);
    expect(r.body.credentialId).toBe(id);
    expect(r.body.credentialStatus).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          statusPurpose: 'revocation',
          status: true,
          statusListIndex: revocation.statusListIndex,
        }),
        expect.objectContaining({ statusPurpose: 'suspension', status: false }),
      ]),
    );
    expect(await stockStatusBit(revocation, issuer.did)).toBe(true);
    expect(await stockStatusBit(entry('suspension'), issuer.did)).toBe(false);
    const verified = await post('/credentials/verify', { verifiableCredential: jwt });
    expect(verified.body).toMatchObject({ verified: false, errors: [{ code: 'credential_revoked' }] });

    const reinstate = await post(
      '/credentials/status',
      {
        credentialId: id,
        credentialStatus: { type: 'BitstringStatusList', statusPurpose: 'revocation' },
        status: false,
      },
      bearer(clientToken),
    );
    expect(reinstate.status).toBe(409);
    expect(reinstate.body).toMatchObject({ code: 'revocation_is_final' });
    expect(await stockStatusBit(revocation, issuer.did)).toBe(true);
    // Revoking again changes nothing and is not an error.
    const again = await post(
      '/credentials/status',
      {
        credentialId: id,
        credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
        status: true,
      },
      bearer(clientToken),
    );
    expect(again.status).toBe(200);
  });

  it('suspends and reinstates a vc+jwt credential for a tenant admin on the tenant path', async () => {
    const admin = await personWithRoles('suspender', ['tenant-admin']);
    const { vc, id, entry } = await issued(clientToken, v2Credential());
    const change = (status: boolean) =>
      admin.call<ApiBody>('POST', '/t/default/credentials/status', {
        credentialId: id,
        credentialStatus: {
          type: 'BitstringStatusListEntry',
          statusPurpose: 'suspension',
          statusListCredential: entry('suspension').statusListCredential,
          statusListIndex: entry('suspension').statusListIndex,
        },
        status,
      });
    expect((await change(true)).status).toBe(200);
    const suspended = await post('/credentials/verify', { verifiableCredential: vc });
    expect(suspended.body).toMatchObject({ verified: false, errors: [{ code: 'credential_suspended' }] });
    const back = await change(false);
    expect(back.status).toBe(200);
    expect(back.body.credentialStatus).toEqual(
      expect.arrayContaining([expect.objectContaining({ statusPurpose: 'suspension', status: false })]),
    );
    expect((await post('/credentials/verify', { verifiableCredential: vc })).body).toMatchObject({
      verified: true,
    });
    const events = await svc.service.store.db.securityEvent.findMany({
      where: { tenantId: defaultId, type: 'credential.status_changed' },
    });
    expect(
      events.some((e) => JSON.parse(e.detail).credentialId === id && JSON.parse(e.detail).by === 'admin'),
    ).toBe(true);
  });

  it('answers 404 for an unknown credential and for another tenant’s, whose bit stays clear', async () => {
    const body = (credentialId: string) => ({
      credentialId,
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
      status: true,
    });
    const unknown = await post(
      '/credentials/status',
      body('urn:uuid:00000000-0000-4000-8000-000000000000'),
      bearer(clientToken),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'credential_not_found' });

    const { id, entry } = await issued(clientToken);
    for (const [path, token] of [
      ['/credentials/status', acmeToken],
      ['/t/acme/credentials/status', acmeToken],
    ] as const) {
      const r = await post(path, body(id), bearer(token));
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ code: 'credential_not_found' });
    }
    const crossPath = await post('/t/default/credentials/status', body(id), bearer(acmeToken));
    expect(crossPath.status).toBe(401);
    const issuer = await svc.service.credentials.issuers.get(defaultId);
    expect(await stockStatusBit(entry('revocation'), issuer.did)).toBe(false);
  });

  it('refuses bad status requests with 400 and a stable code, and unauthenticated ones with 401', async () => {
    const { id, entry } = await issued();
    const cases: Array<[unknown, string]> = [
      [
        {
          credentialId: id,
          credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'refresh' },
          status: true,
        },
        'unsupported_status_purpose',
      ],
      [
        {
          credentialId: id,
          credentialStatus: {
            type: 'BitstringStatusListEntry',
            statusPurpose: 'revocation',
            statusListIndex: String((Number(entry('revocation').statusListIndex) + 1) % 131072),
          },
          status: true,
        },
        'status_entry_mismatch',
      ],
      [
        {
          credentialId: id,
          credentialStatus: { type: 'StatusList2021Entry', statusPurpose: 'revocation' },
          status: true,
        },
        'invalid_request',
      ],
      [
        {
          credentialId: id,
          credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
        },
        'invalid_request',
      ],
      [
        {
          credentialId: id,
          credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
          status: 'revoked',
        },
        'invalid_request',
      ],
    ];
    for (const [body, code] of cases) {
      const r = await post('/credentials/status', body, bearer(clientToken));
      expect({ status: r.status, code: r.body.code }).toEqual({ status: 400, code });
    }
    const issuer = await svc.service.credentials.issuers.get(defaultId);
    expect(await stockStatusBit(entry('revocation'), issuer.did)).toBe(false);
    const anonymous = await post('/credentials/status', {
      credentialId: id,
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
      status: true,
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const noScope = await post(
      '/credentials/status',
      {
        credentialId: id,
        credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
        status: true,
      },
      bearer(readOnlyToken),
    );
    expect(noScope.status).toBe(403);
    expect(noScope.body).toMatchObject({ code: 'insufficient_scope' });
  });
});

describe('issuing under concurrency', () => {
  it('lets only one of two concurrent issues with the same id succeed, and issues all the others', async () => {
    const id = `urn:uuid:${randomUUID()}`;
    const bodies = Array.from({ length: 24 }, (_, i) => ({
      credential: v2Credential(i === 5 || i === 17 ? { id } : {}),
    }));
    const before = await writes();
    const answers = await Promise.all(bodies.map((b) => post('/credentials/issue', b, bearer(clientToken))));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(23);
    expect([statuses[5], statuses[17]].sort()).toEqual([201, 409]);
    expect(answers.find((a) => a.status === 409)?.body).toMatchObject({ code: 'credential_exists' });
    expect(await writes()).toEqual({ credentials: before.credentials + 23, entries: before.entries + 46 });
    expect(await svc.service.store.db.statusEntry.count({ where: { credentialId: id } })).toBe(2);
  });

  it('gives 40 parallel issues 80 distinct status entries, all tied to their credentials, within counted capacity', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        post('/credentials/issue', { credential: v2Credential() }, bearer(clientToken)),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(new Array(40).fill(201));
    const ids = answers.map((a) => payloadOf(jwtOf(a.body)).id!);
    const entries = await svc.service.store.db.statusEntry.findMany({ where: { credentialId: { in: ids } } });
    expect(entries).toHaveLength(80);
    expect(new Set(entries.map((e) => `${e.listId}#${e.index}`)).size).toBe(80);
    // Every entry is counted against its list (capacity is leased in blocks), never past the capacity.
    const lists = await svc.service.store.db.statusList.findMany({ where: { tenantId: defaultId } });
    expect(new Set(entries.map((e) => e.listId)).size).toBe(2);
    for (const list of lists) {
      const written = await svc.service.store.db.statusEntry.count({ where: { listId: list.id } });
      expect(written).toBeLessThanOrEqual(list.allocated);
      expect(list.allocated).toBeLessThanOrEqual(list.size / 2);
    }
  });
});
