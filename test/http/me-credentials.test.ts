/**
 * Credentials in the flows and the holder API, on a real service: every registered passkey gets a
 * DeviceBindingCredential (revoked when the passkey is removed), sign-in and step-up answer an
 * IdentityAssuranceCredential when asked, and a person lists, reads, downloads and scans (QR) their own
 * credentials and nobody else's.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyCredential as stockVerifyCredential } from 'did-jwt-vc';
import { JsonRpcProvider } from 'ethers';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision, DecisionPoint } from '../../src/policy/decision.ts';
import { Sessions } from '../../src/sessions/sessions.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService, tempDir } from '../helpers/service.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';
import { SOFT_AUTHENTICATOR_AAGUID, SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';
import { type AttestationChain, createAttestationChain } from '../helpers/webauthn/test-pki.ts';

const HARDWARE_AAGUID = '1a2b3c4d-0000-4000-8000-00000000c0de';

/** Allows at the computed level, except for the usernames told to step up at sign-in. */
const stepUpFor = new Set<string>();
const decisions: DecisionPoint = {
  decide: async (attempt): Promise<Decision> =>
    attempt.action === 'sign_in' && attempt.username && stepUpFor.has(attempt.username)
      ? { outcome: 'step_up', required: { aal: 3 }, reasons: ['test'] }
      : { outcome: 'allow', reasons: [] },
};

const dir = tempDir();
let svc: TestService;
let hardware: AttestationChain;
let provider: JsonRpcProvider;
let tenantId: string;

beforeAll(async () => {
  hardware = await createAttestationChain({ aaguid: HARDWARE_AAGUID });
  mkdirSync(join(dir.path, 'roots', 'packed'), { recursive: true });
  writeFileSync(join(dir.path, 'roots', 'packed', 'vendor.pem'), hardware.rootPem);
  svc = await startTestService(
    { AUTH_RATE_LIMIT_PER_MINUTE: '100000', ATTESTATION_ROOTS_DIR: join(dir.path, 'roots') },
    { decisions },
  );
  tenantId = (await svc.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
  provider = new JsonRpcProvider(svc.service.chain.rpcUrl, svc.service.chain.chainId, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
});
afterAll(async () => {
  provider?.destroy();
  await svc?.destroy();
  dir.remove();
});

interface Held {
  id: string;
  type: string;
  format: string;
  issuedAt: string;
  expiresAt: string | null;
  issuer: string | null;
  status: { revoked: boolean; suspended: boolean };
}

/** A credential subject as these tests read it. */
interface Subject {
  id?: string;
  amr?: string[];
  device?: Record<string, unknown>;
  authenticator?: Record<string, unknown>;
  [claim: string]: unknown;
}

/** The claims these tests read from a credential JWT: VC 1.1 JWT claims, or a VC 2.0 payload. */
interface Claims {
  iss?: string;
  sub?: string;
  jti?: string;
  id?: string;
  aud?: string;
  exp?: number;
  validUntil?: string;
  credentialSubject?: Subject;
  vc?: { type: string[]; credentialSubject: Subject };
}

/** A sign-in or step-up answer with the credential asked for. */
interface SignedInAnswer {
  next?: string;
  credential?: { id: string; format: string; jwt: string };
  credentialError?: string;
}

/** `GET /api/me/credentials/{id}`. */
interface HeldDetail extends Held {
  jwt: string;
  credential: { credentialSubject: Subject; proof?: { type: string; jwt: string } };
}

const payloadOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Claims;

const list = async (client: AuthClient) => {
  const r = await client.call<{ credentials: Held[] }>('GET', client.t('/api/me/credentials'));
  expect(r.status).toBe(200);
  return r.body.credentials;
};

const verify = async (jwt: string) => {
  const res = await fetch(`${svc.url}/credentials/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ verifiableCredential: jwt }),
  });
  return (await res.json()) as { verified: boolean; errors: Array<{ code: string }> };
};

let n = 0;
async function signedUp(authenticator = new SoftAuthenticator()) {
  const client = new AuthClient(svc.url, authenticator);
  const username = `holder${++n}`;
  const r = await client.signUp(username);
  expect(r.status).toBe(201);
  const account = r.body.account as { id: string; did: string };
  return { client, username, account };
}

describe('DeviceBindingCredential', () => {
  it('is issued at sign-up: the passkey as a DID URL on the owner’s DID, with its attestation summary', async () => {
    const { client, account } = await signedUp();
    const held = await list(client);
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({
      type: 'DeviceBindingCredential',
      format: 'jwt_vc',
      expiresAt: null,
      status: { revoked: false, suspended: false },
    });
    const passkey = await svc.service.store.db.passkey.findFirstOrThrow({ where: { accountId: account.id } });
    const detail = await client.call<HeldDetail>(
      'GET',
      client.t(`/api/me/credentials/${encodeURIComponent(held[0]!.id)}`),
    );
    expect(detail.status).toBe(200);
    expect(detail.body.credential.credentialSubject).toEqual({
      id: account.did,
      device: {
        id: `${account.did}#passkey-${passkey.id}`,
        type: 'WebAuthnAuthenticator',
        attestationFormat: 'none',
        aaguid: SOFT_AUTHENTICATOR_AAGUID,
        attestationTrusted: false,
        hardwareBound: false,
        synced: false,
        registeredAt: passkey.createdAt.toISOString(),
      },
    });
    expect(payloadOf(detail.body.jwt).sub).toBe(account.did);
    // The list names the issuer: the tenant's issuer DID, the JWT's `iss`.
    expect(held[0]!.issuer).toBe(payloadOf(detail.body.jwt).iss);
    expect(held[0]!.issuer).toMatch(/^did:ethr:/);
    expect(held[0]!.issuer).not.toBe(account.did);
    const record = await svc.service.store.db.issuedCredential.findUniqueOrThrow({
      where: { id: held[0]!.id },
    });
    expect(record).toMatchObject({ passkeyId: passkey.id, accountId: account.id, subjectDid: account.did });
    const stock = await stockVerifyCredential(
      detail.body.jwt,
      stockEthrResolver(provider, svc.service.chain.registryAddress),
    );
    expect(stock.verified).toBe(true);
    expect(await verify(detail.body.jwt)).toMatchObject({ verified: true });
  });

  it('says hardware-bound for a passkey whose attestation chains to a trusted root', async () => {
    const { client } = await signedUp(
      new SoftAuthenticator({ aaguid: HARDWARE_AAGUID, attestation: { chain: hardware } }),
    );
    const [held] = await list(client);
    const detail = await client.call<HeldDetail>(
      'GET',
      client.t(`/api/me/credentials/${encodeURIComponent(held!.id)}`),
    );
    expect(detail.body.credential.credentialSubject.device).toMatchObject({
      attestationFormat: 'packed',
      aaguid: HARDWARE_AAGUID,
      attestationTrusted: true,
      hardwareBound: true,
      synced: false,
    });
  });

  it('is issued for every passkey added, and removing the passkey revokes its credential only', async () => {
    const { client, account } = await signedUp();
    const added = await client.addPasskey('Laptop', {}, new SoftAuthenticator({ backupEligible: true }));
    expect(added.status).toBe(201);
    const addedId = (added.body as { id: string }).id;
    const held = await list(client);
    expect(held.filter((c) => c.type === 'DeviceBindingCredential')).toHaveLength(2);
    const records = await svc.service.store.db.issuedCredential.findMany({
      where: { accountId: account.id },
    });
    const ofAdded = records.find((r) => r.passkeyId === addedId)!;
    const ofFirst = records.find((r) => r.passkeyId !== addedId)!;
    expect(payloadOf(ofAdded.jwt).vc?.credentialSubject.device).toMatchObject({
      synced: true,
      hardwareBound: false,
    });

    const removed = await client.call('DELETE', client.t(`/api/me/passkeys/${addedId}`));
    expect(removed.status).toBe(204);
    const after = await list(client);
    expect(after.find((c) => c.id === ofAdded.id)?.status).toEqual({ revoked: true, suspended: false });
    expect(after.find((c) => c.id === ofFirst.id)?.status).toEqual({ revoked: false, suspended: false });
    expect(await verify(ofAdded.jwt)).toMatchObject({
      verified: false,
      errors: [{ code: 'credential_revoked' }],
    });
    expect(await verify(ofFirst.jwt)).toMatchObject({ verified: true });
    const event = await svc.service.store.db.securityEvent.findFirstOrThrow({
      where: { accountId: account.id, type: 'factor.removed' },
    });
    expect(JSON.parse(event.detail)).toMatchObject({ passkeyId: addedId, revokedCredentials: 1 });
  });

  it('revokeForPasskey revokes through the status list for the device-revocation flow, once and idempotently', async () => {
    const { client, account } = await signedUp();
    const passkey = await svc.service.store.db.passkey.findFirstOrThrow({ where: { accountId: account.id } });
    const { issuance } = svc.service.credentials;
    expect(await issuance.revokeForPasskey(tenantId, passkey.id)).toBe(1);
    expect(await issuance.revokeForPasskey(tenantId, passkey.id)).toBe(1);
    expect(await issuance.revokeForPasskey('another-tenant', passkey.id)).toBe(0);
    const [held] = await list(client);
    expect(held?.status.revoked).toBe(true);
  });
});

describe('IdentityAssuranceCredential at sign-in and step-up', () => {
  it('answers a passkey sign-in that asks with a jwt_vc stating aal, acr, amr and the authenticator', async () => {
    const { client, account } = await signedUp();
    const fresh = client.fork();
    const options = await fresh.signInOptions();
    const r = await fresh.call<SignedInAnswer>('POST', fresh.t('/auth/passkey/verify'), {
      response: fresh.assert(options.body.options),
      credential: true,
    });
    expect(r.status).toBe(200);
    expect(r.body.credential).toMatchObject({ format: 'jwt_vc' });
    expect(r.body.credentialError).toBeUndefined();
    const payload = payloadOf(r.body.credential!.jwt);
    expect(payload).toMatchObject({ sub: account.did, jti: r.body.credential!.id });
    expect(payload.vc?.type).toEqual(['VerifiableCredential', 'IdentityAssuranceCredential']);
    expect(payload.vc?.credentialSubject).toMatchObject({
      aal: 2,
      acr: 'phr',
      amr: ['mfa', 'swk', 'user'],
      phishingResistant: true,
      authenticator: {
        attestationFormat: 'none',
        aaguid: SOFT_AUTHENTICATOR_AAGUID,
        hardwareBound: false,
        synced: false,
      },
    });
    const session = await svc.service.store.db.session.findFirstOrThrow({
      where: { accountId: account.id, endedAt: null },
      orderBy: { createdAt: 'desc' },
    });
    expect(payload.exp).toBe(Math.floor(session.absoluteExpiresAt.getTime() / 1000));
    expect(payload.aud).toBeUndefined();
    const stock = await stockVerifyCredential(
      r.body.credential!.jwt,
      stockEthrResolver(provider, svc.service.chain.registryAddress),
    );
    expect(stock.verified).toBe(true);
    const held = await list(fresh);
    expect(held.find((c) => c.id === r.body.credential!.id)).toMatchObject({
      type: 'IdentityAssuranceCredential',
    });
  });

  it('answers in VC 2.0 (vc+jwt) when asked, AAL3 and phrh for a hardware-bound passkey', async () => {
    const { client } = await signedUp(
      new SoftAuthenticator({ aaguid: HARDWARE_AAGUID, attestation: { chain: hardware } }),
    );
    const fresh = client.fork();
    const options = await fresh.signInOptions();
    const r = await fresh.call<SignedInAnswer>('POST', fresh.t('/auth/passkey/verify'), {
      response: fresh.assert(options.body.options),
      credentialFormat: 'vc+jwt',
    });
    expect(r.status).toBe(200);
    expect(r.body.credential!.format).toBe('vc+jwt');
    const [h] = (r.body.credential!.jwt as string).split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toMatchObject({ typ: 'vc+jwt' });
    const payload = payloadOf(r.body.credential!.jwt);
    expect(payload.credentialSubject).toMatchObject({
      aal: 3,
      acr: 'phrh',
      authenticator: { hardwareBound: true, attestationTrusted: true, aaguid: HARDWARE_AAGUID },
    });
    expect(payload.validUntil).toEqual(expect.any(String));
    expect(await verify(r.body.credential!.jwt)).toMatchObject({ verified: true });
  });

  it('issues nothing unless asked, and nothing while the session still owes a step-up', async () => {
    const { client, username } = await signedUp();
    const plain = await client.fork().signIn();
    expect(plain.status).toBe(200);
    expect(plain.body.credential).toBeUndefined();

    stepUpFor.add(username);
    try {
      const fresh = client.fork();
      const options = await fresh.signInOptions();
      const before = await svc.service.store.db.issuedCredential.count();
      const r = await fresh.call<SignedInAnswer>('POST', fresh.t('/auth/passkey/verify'), {
        response: fresh.assert(options.body.options),
        credential: true,
      });
      expect(r.status).toBe(200);
      expect(r.body.next).toBe('step_up');
      expect(r.body.credential).toBeUndefined();
      expect(r.body.credentialError).toBe('step_up_required');
      expect(await svc.service.store.db.issuedCredential.count()).toBe(before);
    } finally {
      stepUpFor.delete(username);
    }
  });

  it('answers a TOTP step-up that asks with the combined assurance and the sign-in passkey', async () => {
    const { client, account } = await signedUp();
    const start = await client.call<{ secret: string }>('POST', client.t('/api/me/totp'), {});
    expect(start.status).toBe(200);
    const confirmed = await client.call('POST', client.t('/api/me/totp/confirm'), {
      code: await generate({ secret: start.body.secret }),
    });
    expect(confirmed.status).toBe(200);
    const code = await generate({ secret: start.body.secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const r = await client.call<SignedInAnswer>('POST', client.t('/auth/step-up/totp'), {
      code,
      credential: true,
    });
    expect(r.status).toBe(200);
    const payload = payloadOf(r.body.credential!.jwt);
    expect(payload.sub).toBe(account.did);
    const subject = payload.vc!.credentialSubject;
    expect(subject).toMatchObject({ aal: 2, acr: 'phr' });
    expect(subject.amr).toEqual(expect.arrayContaining(['otp', 'mfa', 'user']));
    expect(subject.authenticator).toMatchObject({ aaguid: SOFT_AUTHENTICATOR_AAGUID });
  });

  it('issueAssurance puts an OIDC client id into the JWT aud, in both formats', async () => {
    const { client, account } = await signedUp();
    const tenant = await svc.service.store.db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    const session = await new Sessions(svc.service.store).find(client.cookies.get('tg_session'), tenant);
    expect(session?.row.accountId).toBe(account.id);
    const { issuance } = svc.service.credentials;
    const v1 = await issuance.issueAssurance({
      tenantId,
      account,
      session: session!,
      audience: 'client-123',
    });
    expect(payloadOf(v1.jwt)).toMatchObject({ aud: 'client-123', jti: v1.id, sub: account.did });
    const v2 = await issuance.issueAssurance({
      tenantId,
      account,
      session: session!,
      audience: 'client-123',
      format: 'vc+jwt',
    });
    expect(payloadOf(v2.jwt)).toMatchObject({ aud: 'client-123', id: v2.id });
    const record = await svc.service.store.db.issuedCredential.findUniqueOrThrow({ where: { id: v2.id } });
    expect(record).toMatchObject({
      audience: 'client-123',
      format: 'vc+jwt',
      type: 'IdentityAssuranceCredential',
    });
    // An audience-bound JWT credential is for that audience: stock did-jwt-vc checks it.
    const resolver = stockEthrResolver(provider, svc.service.chain.registryAddress);
    await expect(stockVerifyCredential(v1.jwt, resolver, { audience: 'client-123' })).resolves.toMatchObject({
      verified: true,
    });
    await expect(stockVerifyCredential(v1.jwt, resolver, { audience: 'someone-else' })).rejects.toThrow();
  });
});

describe('holder API', () => {
  it('serves the JSON, a download with Content-Disposition, and a QR code (SVG) of the JWT', async () => {
    const { client } = await signedUp();
    const [held] = await list(client);
    const path = client.t(`/api/me/credentials/${encodeURIComponent(held!.id)}`);
    const detail = await client.call<HeldDetail>('GET', path);
    expect(detail.headers.get('cache-control')).toBe('no-store');
    expect(detail.headers.get('content-disposition')).toBeNull();
    expect(detail.body).toMatchObject({ id: held!.id, type: 'DeviceBindingCredential', format: 'jwt_vc' });
    expect(detail.body.credential).toMatchObject({ proof: { type: 'JwtProof2020', jwt: detail.body.jwt } });

    const download = await client.call<HeldDetail>('GET', `${path}?download=1`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(
      /^attachment; filename="DeviceBindingCredential-[0-9a-f-]{36}\.json"$/,
    );
    expect(download.body.jwt).toBe(detail.body.jwt);

    const qr = await fetch(`${svc.url}${path}/qr`, { headers: { cookie: client.cookieHeader() } });
    expect(qr.status).toBe(200);
    expect(qr.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await qr.text();
    expect(svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.length).toBeGreaterThan(1000);
  });

  it('refuses a credential too long for a QR code with 422 credential_too_large_for_qr', async () => {
    const { client, account } = await signedUp();
    const big = await svc.service.credentials.issuance.issueRequested({
      tenantId,
      credential: {
        '@context': ['https://www.w3.org/ns/credentials/v2'],
        type: ['VerifiableCredential', 'TranscriptCredential'],
        credentialSubject: { id: account.did, transcript: 'A'.repeat(3000) },
      },
      actor: { kind: 'client', clientId: 'registrar' },
    });
    const r = await client.call('GET', client.t(`/api/me/credentials/${encodeURIComponent(big.id)}/qr`));
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ code: 'credential_too_large_for_qr', status: 422 });
    const listed = await list(client);
    expect(listed.map((c) => c.type)).toContain('TranscriptCredential');
  });

  it('answers 404 for someone else’s credential and an unknown id, and 401 without a session', async () => {
    const alice = await signedUp();
    const bob = await signedUp();
    const [ofAlice] = await list(alice.client);
    const path = `/api/me/credentials/${encodeURIComponent(ofAlice!.id)}`;
    for (const suffix of ['', '?download=1', '/qr']) {
      const r = await bob.client.call('GET', bob.client.t(`${path}${suffix}`));
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ code: 'not_found' });
    }
    expect((await list(bob.client)).map((c) => c.id)).not.toContain(ofAlice!.id);
    const unknown = await alice.client.call('GET', alice.client.t('/api/me/credentials/urn:uuid:0000'));
    expect(unknown.status).toBe(404);
    const anonymous = new AuthClient(svc.url);
    expect((await anonymous.call('GET', anonymous.t('/api/me/credentials'))).status).toBe(401);
    expect((await anonymous.call('GET', anonymous.t(path))).status).toBe(401);
  });

  it('lists newest first with the suspension status an issuer set', async () => {
    const { client, account } = await signedUp();
    const issued = await svc.service.credentials.issuance.issueRequested({
      tenantId,
      credential: {
        '@context': ['https://www.w3.org/2018/credentials/v1'],
        type: ['VerifiableCredential', 'LibraryCard'],
        credentialSubject: { id: account.did },
      },
      actor: { kind: 'client', clientId: 'library' },
    });
    await svc.service.credentials.issuance.changeStatus({
      tenantId,
      credentialId: issued.id,
      changes: [{ purpose: 'suspension', value: true }],
    });
    const held = await list(client);
    expect(held[0]).toMatchObject({
      id: issued.id,
      type: 'LibraryCard',
      status: { revoked: false, suspended: true },
    });
    expect(held[1]).toMatchObject({
      type: 'DeviceBindingCredential',
      status: { revoked: false, suspended: false },
    });
    expect(Date.parse(held[0]!.issuedAt)).toBeGreaterThanOrEqual(Date.parse(held[1]!.issuedAt));
  });
});
