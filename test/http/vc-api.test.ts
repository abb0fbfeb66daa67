/** The public VC API on a real service: credentials and presentations verified, status lists honoured. */
import { ES256KSigner } from 'did-jwt';
import { createVerifiablePresentationJwt } from 'did-jwt-vc';
import { getBytes, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueVcJwt, managedKeySigner, VC_V2_CONTEXT } from '../../src/credentials/vc-jose.ts';
import { issueJwtVc } from '../../src/credentials/vc-jwt.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let t: TestService;
let tenantId: string;

beforeAll(async () => {
  t = await startTestService();
  tenantId = (await t.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
});
afterAll(async () => {
  await t?.destroy();
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      verified: boolean;
      checks: string[];
      errors: Array<{ code: string }>;
    } & Record<string, unknown>,
  };
};

async function revocableVcJwt(subject: string) {
  const { issuers, statusLists, statusPublisher } = t.service.credentials;
  const issuer = await issuers.get(tenantId);
  const allocation = await statusLists.allocate(tenantId, 'revocation');
  const jws = await issueVcJwt({
    credential: {
      '@context': [VC_V2_CONTEXT],
      type: ['VerifiableCredential', 'IdentityAssuranceCredential'],
      issuer: issuer.did,
      validFrom: new Date(Date.now() - 5_000).toISOString(),
      credentialSubject: { id: subject, aal: 'http://idmanagement.gov/ns/assurance/aal/2' },
      credentialStatus: statusPublisher.entryFor(allocation),
    },
    issuerDid: issuer.did,
    kid: issuer.verificationMethod,
    sign: managedKeySigner(t.service.agent, issuer.kid),
  });
  return { jws, allocation };
}

describe('POST /credentials/verify', () => {
  it('verifies a VC 2.0 vc+jwt with its status, and reports it revoked once the bit is set', async () => {
    const { jws, allocation } = await revocableVcJwt('did:example:alice');
    const ok = await post('/credentials/verify', { verifiableCredential: jws });
    expect(ok.status).toBe(200);
    expect(ok.body.verified).toBe(true);
    expect(ok.body.checks).toEqual(expect.arrayContaining(['proof', 'status']));

    await t.service.credentials.statusLists.setStatus(allocation.listId, allocation.index, true);
    const revoked = await post('/credentials/verify', { verifiableCredential: jws });
    expect(revoked.body.verified).toBe(false);
    expect(revoked.body.errors[0]?.code).toBe('credential_revoked');
  });

  it('verifies a VC 1.1 jwt_vc', async () => {
    const issuer = await t.service.credentials.issuers.get(tenantId);
    const jwt = await issueJwtVc({
      agent: t.service.agent,
      issuer,
      credential: { credentialSubject: { id: 'did:example:bob', name: 'Bob' } },
    });
    const res = await post('/credentials/verify', { verifiableCredential: jwt });
    expect(res.body).toMatchObject({ verified: true, errors: [] });
  });

  it('answers an unverifiable credential with verified: false and a code, and a malformed request with 400', async () => {
    const garbage = await post('/credentials/verify', { verifiableCredential: 'not.a.jwt.at.all' });
    expect(garbage.status).toBe(200);
    expect(garbage.body.verified).toBe(false);
    expect(garbage.body.errors[0]?.code).toBe('malformed_jwt');
    const { jws } = await revocableVcJwt('did:example:carol');
    const [h, p, s] = jws.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, type: ['VerifiableCredential', 'Admin'] })).toString('base64url')}.${s}`;
    expect((await post('/credentials/verify', { verifiableCredential: tampered })).body.errors[0]?.code).toBe(
      'invalid_signature',
    );
    const bad = await post('/credentials/verify', { verifiableCredential: 42 });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_request');
  });
});

describe('POST /presentations/verify', () => {
  it('verifies a holder’s presentation for a one-time challenge, and refuses its replay', async () => {
    const holder = Wallet.createRandom();
    const holderDid = `did:ethr:0x7a69:${holder.address.toLowerCase()}`;
    const issuer = await t.service.credentials.issuers.get(tenantId);
    const credential = await issueJwtVc({
      agent: t.service.agent,
      issuer,
      credential: { credentialSubject: { id: holderDid, aal: 2 } },
    });
    const domain = 'https://rp.example';
    const { body: challenge } = await post('/presentations/challenges', { domain });
    const vp = await createVerifiablePresentationJwt(
      {
        vp: {
          '@context': ['https://www.w3.org/2018/credentials/v1'],
          type: ['VerifiablePresentation'],
          verifiableCredential: [credential],
        },
      },
      { did: holderDid, signer: ES256KSigner(getBytes(holder.privateKey)), alg: 'ES256K' },
      { challenge: challenge.challenge as string, domain },
    );
    const options = { challenge: challenge.challenge, domain };
    const ok = await post('/presentations/verify', { verifiablePresentation: vp, options });
    expect(ok.body).toMatchObject({ verified: true, errors: [] });
    const replay = await post('/presentations/verify', { verifiablePresentation: vp, options });
    expect(replay.body.verified).toBe(false);
    expect(replay.body.errors[0]?.code).toBe('invalid_challenge');
  });
});
