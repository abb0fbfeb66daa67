/**
 * VC 1.1 credentials as JWTs (`jwt_vc`, ES256K), issued by a tenant's issuer DID on a real service and
 * checked twice: by our verifier through the service's cached resolver and, with no Trustgate code on the
 * verifying side, by stock did-jwt-vc over stock ethr-did-resolver on the chain's JSON-RPC. Then every
 * way a credential JWT can be wrong, each refused with its own 4xx code, and the format-detecting
 * `verifyCredential` answering the VC API way.
 */
import { createHmac } from 'node:crypto';
import { verifyCredential as stockVerifyCredential } from 'did-jwt-vc';
import { JsonRpcProvider } from 'ethers';
import { base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JwsSigner, managedKeySigner } from '../../src/credentials/es256k.ts';
import { type TenantIssuer, TenantIssuers } from '../../src/credentials/issuers.ts';
import { issueVcJwt, VC_V2_CONTEXT } from '../../src/credentials/vc-jose.ts';
import { issueJwtVc, VC_V1_CONTEXT, VcJwtError, verifyJwtVc } from '../../src/credentials/vc-jwt.ts';
import { verifyCredential } from '../../src/credentials/verify.ts';
import { createManagedDid, type ManagedDid } from '../../src/identity/agent.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';

let t: TestService;
let issuer: TenantIssuer;
let sign: JwsSigner;
let other: ManagedDid;
let provider: JsonRpcProvider;

beforeAll(async () => {
  t = await startTestService();
  const tenant = await t.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } });
  issuer = await new TenantIssuers(t.service.agent).get(tenant.id);
  sign = managedKeySigner(t.service.agent, issuer.kid);
  other = await createManagedDid(t.service.agent);
  provider = new JsonRpcProvider(t.service.chain.rpcUrl, t.service.chain.chainId, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
}, 60_000);

afterAll(async () => {
  provider?.destroy();
  await t?.destroy();
});

const SUBJECT = 'did:ethr:0x7a69:0x1111111111111111111111111111111111111111';

function credential(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@context': [VC_V1_CONTEXT],
    id: 'urn:uuid:7d0c3e1e-4f3a-4b43-9a43-2c1c9a7b5e01',
    type: ['VerifiableCredential', 'DeviceCredential'],
    issuanceDate: new Date(Date.now() - 60_000).toISOString(),
    expirationDate: new Date(Date.now() + 3_600_000).toISOString(),
    credentialSubject: { id: SUBJECT, assurance: 'aal2' },
    ...extra,
  };
}

const b64json = (value: unknown) => base64url.encode(new TextEncoder().encode(JSON.stringify(value)));
const decodePart = (jwt: string, i: number) =>
  JSON.parse(Buffer.from(jwt.split('.')[i] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** A compact JWT with any header and payload, signed by `signer` (or with the given signature part). */
async function compact(header: Record<string, unknown>, payload: unknown, signer: JwsSigner | string) {
  const input = `${b64json(header)}.${b64json(payload)}`;
  const sig =
    typeof signer === 'string' ? signer : base64url.encode(await signer(new TextEncoder().encode(input)));
  return `${input}.${sig}`;
}

function jwtPayload(iss: string, extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss,
    sub: SUBJECT,
    nbf: now - 60,
    exp: now + 3600,
    vc: {
      '@context': [VC_V1_CONTEXT],
      type: ['VerifiableCredential'],
      credentialSubject: { assurance: 'aal2' },
    },
    ...extra,
  };
}

const verify = (jwt: string, options: Partial<Parameters<typeof verifyJwtVc>[1]> = {}) =>
  verifyJwtVc(jwt, { resolver: t.service.resolver, ...options });

async function expectCode(promise: Promise<unknown>, code: string): Promise<VcJwtError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected ${code}, but it verified`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VcJwtError);
  expect(err).toMatchObject({ code, status: 400 });
  return err as VcJwtError;
}

describe('issuing a VC 1.1 credential as a JWT VC', () => {
  it('should encode the credential in the vc claim with iss, sub, jti, nbf, exp and an ES256K kid header', async () => {
    const jwt = await issueJwtVc({ agent: t.service.agent, issuer, credential: credential() });
    expect(decodePart(jwt, 0)).toEqual({ alg: 'ES256K', typ: 'JWT', kid: `${issuer.did}#controller` });
    const payload = decodePart(jwt, 1);
    expect(payload).toMatchObject({
      iss: issuer.did,
      sub: SUBJECT,
      jti: 'urn:uuid:7d0c3e1e-4f3a-4b43-9a43-2c1c9a7b5e01',
      vc: {
        '@context': [VC_V1_CONTEXT],
        type: ['VerifiableCredential', 'DeviceCredential'],
        credentialSubject: { assurance: 'aal2' },
      },
    });
    expect(typeof payload.nbf).toBe('number');
    expect(typeof payload.exp).toBe('number');
    expect(Buffer.from(jwt.split('.')[2] ?? '', 'base64url')).toHaveLength(64);
  });

  it('should verify with our verifier through the cached service resolver', async () => {
    const jwt = await issueJwtVc({ agent: t.service.agent, issuer, credential: credential() });
    const result = await verify(jwt);
    expect(result.issuer).toBe(issuer.did);
    expect(result.verificationMethod.id).toBe(`${issuer.did}#controller`);
    expect(result.credential).toMatchObject({
      issuer: { id: issuer.did },
      credentialSubject: { id: SUBJECT, assurance: 'aal2' },
      proof: { type: 'JwtProof2020', jwt },
    });
  });

  it('should verify with stock did-jwt-vc and stock ethr-did-resolver over JSON-RPC (interop)', async () => {
    const jwt = await issueJwtVc({ agent: t.service.agent, issuer, credential: credential() });
    const stock = stockEthrResolver(provider, t.service.chain.registryAddress);
    const result = await stockVerifyCredential(jwt, stock);
    expect(result.verified).toBe(true);
    expect(result.issuer).toBe(issuer.did);
    expect(result.verifiableCredential.credentialSubject.id).toBe(SUBJECT);
  });

  it('should default @context, type and issuanceDate, and keep credentialStatus', async () => {
    const status = { id: 'https://example.test/status/1#7', type: 'StatusList2021Entry' };
    const jwt = await issueJwtVc({
      agent: t.service.agent,
      issuer,
      credential: { credentialSubject: { id: SUBJECT }, credentialStatus: status },
    });
    const seen: unknown[] = [];
    const result = await verify(jwt, { checkStatus: async (c) => void seen.push(c.credentialStatus) });
    expect(result.credential['@context']).toEqual([VC_V1_CONTEXT]);
    expect(result.credential.type).toEqual(['VerifiableCredential']);
    expect(seen).toEqual([status]);
  });

  it('should refuse a malformed credential with invalid_credential listing the problems', async () => {
    const err = await expectCode(
      issueJwtVc({
        agent: t.service.agent,
        issuer,
        credential: {
          '@context': [VC_V2_CONTEXT],
          type: ['Other'],
          expirationDate: 'tomorrow',
          credentialSubject: 'x',
        },
      }),
      'invalid_credential',
    );
    expect(err.extensions.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('@context'),
        expect.stringContaining('type'),
        expect.stringContaining('expirationDate'),
        expect.stringContaining('credentialSubject'),
      ]),
    );
  });

  it('should refuse to issue for another issuer', async () => {
    await expectCode(
      issueJwtVc({ agent: t.service.agent, issuer, credential: credential({ issuer: other.did }) }),
      'invalid_credential',
    );
  });
});

describe('verifying a JWT VC refuses', () => {
  it('should refuse a malformed JWT with malformed_jwt', async () => {
    await expectCode(verify('not-a-jwt'), 'malformed_jwt');
    await expectCode(verify('a.b'), 'malformed_jwt');
    await expectCode(verify(`${b64json({ alg: 'ES256K' })}.!!!.abc`), 'malformed_jwt');
    await expectCode(
      verify(`${b64json({ alg: 'ES256K' })}.${base64url.encode('not json')}.abc`),
      'malformed_jwt',
    );
  });

  it('should refuse alg none with unsupported_alg', async () => {
    const jwt = await compact({ alg: 'none', typ: 'JWT' }, jwtPayload(issuer.did), '');
    await expectCode(verify(jwt), 'unsupported_alg');
  });

  it("should refuse HS256 keyed with the issuer's public key (algorithm confusion) with unsupported_alg", async () => {
    const key = await t.service.agent.keyManagerGet({ kid: issuer.kid });
    const input = `${b64json({ alg: 'HS256', typ: 'JWT' })}.${b64json(jwtPayload(issuer.did))}`;
    for (const secret of [key.publicKeyHex, Buffer.from(key.publicKeyHex, 'hex')]) {
      const mac = createHmac('sha256', secret).update(input).digest('base64url');
      await expectCode(verify(`${input}.${mac}`), 'unsupported_alg');
    }
  });

  it('should refuse an issuer DID that does not resolve with issuer_not_resolved', async () => {
    const unknownNetwork = other.did.replace(':0x7a69:', ':0x539:');
    const jwt = await compact(
      { alg: 'ES256K', typ: 'JWT' },
      jwtPayload(unknownNetwork),
      managedKeySigner(t.service.agent, other.kid),
    );
    await expectCode(verify(jwt), 'issuer_not_resolved');
  });

  it('should refuse an expired credential with expired', async () => {
    const jwt = await issueJwtVc({
      agent: t.service.agent,
      issuer,
      credential: credential({
        issuanceDate: new Date(Date.now() - 7_200_000).toISOString(),
        expirationDate: new Date(Date.now() - 3_600_000).toISOString(),
      }),
    });
    await expectCode(verify(jwt), 'expired');
    // Skew is bounded: 5 minutes at most, however much is asked for.
    await expectCode(verify(jwt, { skewSeconds: 7200 }), 'expired');
  });

  it('should refuse a credential not yet valid with not_yet_valid', async () => {
    const jwt = await issueJwtVc({
      agent: t.service.agent,
      issuer,
      credential: credential({
        issuanceDate: new Date(Date.now() + 3_600_000).toISOString(),
        expirationDate: new Date(Date.now() + 7_200_000).toISOString(),
      }),
    });
    await expectCode(verify(jwt), 'not_yet_valid');
    await expect(verify(jwt, { now: new Date(Date.now() + 3_700_000) })).resolves.toMatchObject({
      verified: true,
    });
  });

  it('should refuse a tampered payload with invalid_signature', async () => {
    const jwt = await issueJwtVc({ agent: t.service.agent, issuer, credential: credential() });
    const [h, , s] = jwt.split('.');
    const payload = decodePart(jwt, 1) as { vc: { credentialSubject: Record<string, unknown> } };
    payload.vc.credentialSubject.assurance = 'aal3';
    await expectCode(verify(`${h}.${b64json(payload)}.${s}`), 'invalid_signature');
  });

  it('should refuse a signature by another key with invalid_signature', async () => {
    const jwt = await compact(
      { alg: 'ES256K', typ: 'JWT', kid: `${issuer.did}#controller` },
      jwtPayload(issuer.did),
      managedKeySigner(t.service.agent, other.kid),
    );
    await expectCode(verify(jwt), 'invalid_signature');
  });

  it('should still refuse another key once the issuer key is learned, and verify with the learned key', async () => {
    // A first good verification teaches the verifier the address-only method's key…
    const good = await issueJwtVc({ agent: t.service.agent, issuer, credential: credential() });
    await expect(verify(good)).resolves.toMatchObject({ verified: true });
    // …after which another key naming the issuer is still refused, and the issuer's next credential verifies.
    const forged = await compact(
      { alg: 'ES256K', typ: 'JWT', kid: `${issuer.did}#controller` },
      jwtPayload(issuer.did),
      managedKeySigner(t.service.agent, other.kid),
    );
    await expectCode(verify(forged), 'invalid_signature');
    const next = await issueJwtVc({ agent: t.service.agent, issuer, credential: credential() });
    const result = await verify(next);
    expect(result.verificationMethod.id).toBe(`${issuer.did}#controller`);
    expect(result.verificationMethod.type).toBe('EcdsaSecp256k1VerificationKey2019');
  });

  it("should refuse a kid that is not one of the issuer's assertion methods with unknown_kid", async () => {
    for (const kid of [`${other.did}#controller`, `${issuer.did}#nope`]) {
      const jwt = await compact({ alg: 'ES256K', typ: 'JWT', kid }, jwtPayload(issuer.did), sign);
      await expectCode(verify(jwt), 'unknown_kid');
    }
  });

  it('should refuse a payload without a vc claim or with two issuers with invalid_credential', async () => {
    const { vc: _vc, ...noVc } = jwtPayload(issuer.did);
    await expectCode(verify(await compact({ alg: 'ES256K', typ: 'JWT' }, noVc, sign)), 'invalid_credential');
    const twoIssuers = jwtPayload(issuer.did, {
      vc: { ...jwtPayload(issuer.did).vc, issuer: other.did },
    });
    await expectCode(
      verify(await compact({ alg: 'ES256K', typ: 'JWT' }, twoIssuers, sign)),
      'invalid_credential',
    );
  });

  it('should run the status check after signature and validity, and refuse what it refuses', async () => {
    const jwt = await issueJwtVc({ agent: t.service.agent, issuer, credential: credential() });
    const revoked = new VcJwtError('invalid_credential', 'revoked');
    await expect(verify(jwt, { checkStatus: async () => Promise.reject(revoked) })).rejects.toBe(revoked);
    let called = false;
    const [h, , s] = jwt.split('.');
    const tampered = `${h}.${b64json({ ...decodePart(jwt, 1), sub: 'did:example:x' })}.${s}`;
    await expectCode(
      verify(tampered, {
        checkStatus: async () => {
          called = true;
        },
      }),
      'invalid_signature',
    );
    expect(called).toBe(false);
  });
});

describe('verifyCredential (VC API result, any format)', () => {
  it('should verify a jwt_vc and a vc+jwt credential, routing each to its verifier', async () => {
    const v1 = await issueJwtVc({ agent: t.service.agent, issuer, credential: credential() });
    const v2 = await issueVcJwt({
      issuerDid: issuer.did,
      sign,
      credential: {
        '@context': [VC_V2_CONTEXT],
        type: ['VerifiableCredential'],
        issuer: issuer.did,
        credentialSubject: { id: SUBJECT },
      },
    });
    const deps = { resolver: t.service.resolver };
    await expect(verifyCredential(v1, deps)).resolves.toMatchObject({
      verified: true,
      format: 'jwt_vc',
      checks: ['proof', 'validity'],
      warnings: [],
      errors: [],
    });
    await expect(verifyCredential(v2, deps)).resolves.toMatchObject({ verified: true, format: 'vc+jwt' });
    await expect(
      verifyCredential({ id: `data:application/vc+jwt,${v2}`, type: 'EnvelopedVerifiableCredential' }, deps),
    ).resolves.toMatchObject({ verified: true, format: 'vc+jwt' });
    await expect(verifyCredential({ proof: { type: 'JwtProof2020', jwt: v1 } }, deps)).resolves.toMatchObject(
      { verified: true, format: 'jwt_vc' },
    );
  });

  it('should answer verified:false with one coded error instead of throwing', async () => {
    const deps = { resolver: t.service.resolver };
    const none = await compact({ alg: 'none', typ: 'JWT' }, jwtPayload(issuer.did), '');
    const cases: Array<[unknown, string]> = [
      ['garbage', 'malformed_jwt'],
      [{ some: 'object' }, 'malformed_jwt'],
      [none, 'unsupported_alg'],
      [
        await compact(
          { alg: 'ES256K', typ: 'JWT' },
          jwtPayload(issuer.did),
          managedKeySigner(t.service.agent, other.kid),
        ),
        'invalid_signature',
      ],
    ];
    for (const [input, code] of cases) {
      const result = await verifyCredential(input, deps);
      expect(result).toMatchObject({ verified: false, checks: [], warnings: [], errors: [{ code }] });
      expect(result.errors).toHaveLength(1);
    }
    // A vc+jwt credential with a bad signature goes to vc-jose and says so in its own terms.
    const v2 = await issueVcJwt({
      issuerDid: issuer.did,
      sign: managedKeySigner(t.service.agent, other.kid),
      credential: {
        '@context': [VC_V2_CONTEXT],
        type: ['VerifiableCredential'],
        issuer: issuer.did,
        credentialSubject: { id: SUBJECT },
      },
    });
    await expect(verifyCredential(v2, deps)).resolves.toMatchObject({
      verified: false,
      format: 'vc+jwt',
      errors: [{ code: 'invalid_signature' }],
    });
  });
});
