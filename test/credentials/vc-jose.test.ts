/**
 * VC 2.0 credentials secured with VC-JOSE-COSE (`application/vc+jwt`), issued with a managed did:ethr key
 * on a real service and checked twice: by our verifier and, independently, by plain `jose` with the key
 * from the KMS and the DID document from stock ethr-did-resolver. Then every way a credential JWT can be
 * wrong, each refused with its own 4xx code.
 */
import { createHmac } from 'node:crypto';
import type { DIDDocument } from 'did-resolver';
import { computeAddress, getBytes, SigningKey } from 'ethers';
import {
  base64url,
  CompactSign,
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issueVcJwt,
  type JwsSigner,
  managedKeySigner,
  VC_V2_CONTEXT,
  VcJwtError,
  verifyVcJwt,
} from '../../src/credentials/vc-jose.ts';
import { createManagedDid, type ManagedDid } from '../../src/identity/agent.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';

let t: TestService;
let issuer: ManagedDid;
let sign: JwsSigner;

beforeAll(async () => {
  t = await startTestService();
  issuer = await createManagedDid(t.service.agent);
  sign = managedKeySigner(t.service.agent, issuer.kid);
}, 60_000);

afterAll(async () => {
  await t?.destroy();
});

function credentialFor(did: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@context': [VC_V2_CONTEXT, 'https://www.w3.org/ns/credentials/examples/v2'],
    id: 'urn:uuid:2f1b7c52-6f0c-4b7e-9d1c-3f6f3e0c1a01',
    type: ['VerifiableCredential', 'DeviceCredential'],
    issuer: did,
    validFrom: new Date(Date.now() - 60_000).toISOString(),
    validUntil: new Date(Date.now() + 3_600_000).toISOString(),
    credentialSubject: { id: 'did:example:holder', assurance: 'aal2' },
    ...extra,
  };
}

const b64json = (value: unknown) => base64url.encode(new TextEncoder().encode(JSON.stringify(value)));

/** A compact JWS with any header, signed by `signer` (or with the given raw signature part). */
async function compact(header: Record<string, unknown>, payload: unknown, signer: JwsSigner | string) {
  const input = `${b64json(header)}.${b64json(payload)}`;
  const sig =
    typeof signer === 'string' ? signer : base64url.encode(await signer(new TextEncoder().encode(input)));
  return `${input}.${sig}`;
}

function verify(jws: string, options: Partial<Parameters<typeof verifyVcJwt>[1]> = {}) {
  return verifyVcJwt(jws, { resolver: t.service.resolver, ...options });
}

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

/** The managed key's public key as a JWK, computed here rather than through the module under test. */
async function managedKeyJwk(kid: string): Promise<{ jwk: JWK; publicKeyHex: string }> {
  const key = await t.service.agent.keyManagerGet({ kid });
  const point = getBytes(SigningKey.computePublicKey(`0x${key.publicKeyHex}`, false));
  return {
    publicKeyHex: key.publicKeyHex,
    jwk: {
      kty: 'EC',
      crv: 'secp256k1',
      x: Buffer.from(point.subarray(1, 33)).toString('base64url'),
      y: Buffer.from(point.subarray(33, 65)).toString('base64url'),
    },
  };
}

describe('issuing a VC 2.0 credential as application/vc+jwt', () => {
  it('should put the credential itself in the payload under a vc+jwt ES256K header', async () => {
    const credential = credentialFor(issuer.did);
    const jws = await issueVcJwt({ credential, issuerDid: issuer.did, sign });
    expect(decodeProtectedHeader(jws)).toEqual({
      alg: 'ES256K',
      typ: 'vc+jwt',
      cty: 'vc',
      kid: `${issuer.did}#controller`,
    });
    const payload = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8'));
    expect(payload).toEqual(credential);
    expect(Buffer.from(jws.split('.')[2]!, 'base64url')).toHaveLength(64);
  });

  it('should verify with our verifier through the service resolver', async () => {
    const credential = credentialFor(issuer.did);
    const jws = await issueVcJwt({ credential, issuerDid: issuer.did, sign });
    const result = await verify(jws, { expectedIssuer: issuer.did });
    expect(result.verified).toBe(true);
    expect(result.issuer).toBe(issuer.did);
    expect(result.credential).toEqual(credential);
    expect(result.verificationMethod.id).toBe(`${issuer.did}#controller`);
  });

  it('should verify independently with plain jose and stock ethr-did-resolver', async () => {
    const credential = credentialFor(issuer.did);
    const jws = await issueVcJwt({ credential, issuerDid: issuer.did, sign });

    const stock = stockEthrResolver(t.service.chain.provider, t.service.chain.registryAddress);
    const { didDocument } = await stock.resolve(issuer.did);
    const method = didDocument?.verificationMethod?.find((vm) => vm.id === `${issuer.did}#controller`);
    expect(method?.type).toBe('EcdsaSecp256k1RecoveryMethod2020');
    expect(didDocument?.assertionMethod).toContain(`${issuer.did}#controller`);

    // The document names only an address: tie the KMS key to it, then check the signature bytes with jose.
    const { jwk, publicKeyHex } = await managedKeyJwk(issuer.kid);
    const address = method?.blockchainAccountId?.split(':').at(-1);
    expect(address?.toLowerCase()).toBe(computeAddress(`0x${publicKeyHex}`).toLowerCase());
    const { payload, protectedHeader } = await compactVerify(jws, await importJWK(jwk, 'ES256K'), {
      algorithms: ['ES256K'],
    });
    expect(protectedHeader.typ).toBe('vc+jwt');
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(credential);

    // And our verifier agrees when given the stock resolver instead of ours.
    await expect(verifyVcJwt(jws, { resolver: stock })).resolves.toMatchObject({ verified: true });
  });

  it('should produce low-S signatures', async () => {
    const halfN = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
    for (let i = 0; i < 8; i++) {
      const raw = await sign(new TextEncoder().encode(`input ${i}`));
      expect(BigInt(`0x${Buffer.from(raw.subarray(32)).toString('hex')}`) <= halfN).toBe(true);
    }
  });

  it('should refuse a malformed credential with invalid_credential listing every problem', async () => {
    const err = await expectCode(
      issueVcJwt({
        credential: {
          '@context': ['https://www.w3.org/2018/credentials/v1'],
          type: ['DeviceCredential'],
          issuer: issuer.did,
          validFrom: 'yesterday',
          credentialSubject: { id: 'did:example:holder' },
        },
        issuerDid: issuer.did,
        sign,
      }),
      'invalid_credential',
    );
    const problems = err.extensions.problems as string[];
    expect(problems.join('\n')).toMatch(/@context/);
    expect(problems.join('\n')).toMatch(/VerifiableCredential/);
    expect(problems.join('\n')).toMatch(/validFrom/);
  });

  it('should refuse a credential whose issuer is not the signing DID', async () => {
    await expectCode(
      issueVcJwt({ credential: credentialFor('did:example:other'), issuerDid: issuer.did, sign }),
      'invalid_credential',
    );
  });

  it('should carry a BitstringStatusListEntry and call the status hook after the signature check', async () => {
    const status = {
      id: 'https://trustgate.example/status/1#94567',
      type: 'BitstringStatusListEntry',
      statusPurpose: 'revocation',
      statusListIndex: '94567',
      statusListCredential: 'https://trustgate.example/status/1',
    };
    const jws = await issueVcJwt({
      credential: credentialFor(issuer.did, { credentialStatus: status }),
      issuerDid: issuer.did,
      sign,
    });
    const seen: unknown[] = [];
    await verify(jws, { checkStatus: async (c) => void seen.push(c.credentialStatus) });
    expect(seen).toEqual([status]);

    const revoked = new Error('revoked');
    await expect(verify(jws, { checkStatus: async () => Promise.reject(revoked) })).rejects.toBe(revoked);
    // A forged credential never reaches the status check.
    const [h, , s] = jws.split('.');
    const forged = `${h}.${b64json(credentialFor(issuer.did, { credentialStatus: status, extra: 1 }))}.${s}`;
    let called = false;
    await expectCode(
      verify(forged, {
        checkStatus: async () => {
          called = true;
        },
      }),
      'invalid_signature',
    );
    expect(called).toBe(false);
  });
});

describe('verifying a vc+jwt refuses', () => {
  const header = () => ({ alg: 'ES256K', typ: 'vc+jwt', cty: 'vc', kid: `${issuer.did}#controller` });

  it('should fail with malformed_jwt for input that is not a compact JWS', async () => {
    await expectCode(verify('not-a-jwt'), 'malformed_jwt');
    await expectCode(verify('a.b'), 'malformed_jwt');
    await expectCode(verify('a.b.c.d'), 'malformed_jwt');
    await expectCode(verify(`${b64json(header())}.e30=.AAAA`), 'malformed_jwt');
    await expectCode(verify(`${base64url.encode('{nope')}.${b64json({})}.AAAA`), 'malformed_jwt');
    await expectCode(verify(`${b64json(header())}.${base64url.encode('[')}.AAAA`), 'malformed_jwt');
    await expectCode(verify(42 as unknown as string), 'malformed_jwt');
  });

  it('should fail with unsupported_alg for alg none', async () => {
    const payload = credentialFor(issuer.did);
    await expectCode(verify(await compact({ ...header(), alg: 'none' }, payload, '')), 'unsupported_alg');
    await expectCode(verify(await compact({ ...header(), alg: 'none' }, payload, sign)), 'unsupported_alg');
  });

  it('should fail with unsupported_alg for HS256 keyed with the issuer public key (algorithm confusion)', async () => {
    const { jwk, publicKeyHex } = await managedKeyJwk(issuer.kid);
    const payload = credentialFor(issuer.did);
    for (const secret of [
      Buffer.from(publicKeyHex, 'hex'),
      Buffer.from(JSON.stringify(jwk)),
      Buffer.from(publicKeyHex),
    ]) {
      const hmac: JwsSigner = async (input) =>
        new Uint8Array(createHmac('sha256', secret).update(input).digest());
      await expectCode(
        verify(await compact({ ...header(), alg: 'HS256' }, payload, hmac)),
        'unsupported_alg',
      );
    }
  });

  it('should fail with malformed_jwt for a typ other than vc+jwt', async () => {
    const payload = credentialFor(issuer.did);
    await expectCode(verify(await compact({ ...header(), typ: 'JWT' }, payload, sign)), 'malformed_jwt');
    const { typ: _typ, ...untyped } = header();
    await expectCode(verify(await compact(untyped, payload, sign)), 'malformed_jwt');
  });

  it('should fail with invalid_credential for a payload that is not a VC 2.0 credential', async () => {
    const payload = { vc: credentialFor(issuer.did), iss: issuer.did };
    await expectCode(verify(await compact(header(), payload, sign)), 'invalid_credential');
  });

  it('should fail with unknown_kid for a kid the issuer does not list', async () => {
    const payload = credentialFor(issuer.did);
    await expectCode(
      verify(await compact({ ...header(), kid: `${issuer.did}#nope` }, payload, sign)),
      'unknown_kid',
    );
    const other = await createManagedDid(t.service.agent);
    await expectCode(
      verify(await compact({ ...header(), kid: `${other.did}#controller` }, payload, sign)),
      'unknown_kid',
    );
    const { kid: _kid, ...noKid } = header();
    await expectCode(verify(await compact(noKid, payload, sign)), 'unknown_kid');
  });

  it('should fail with issuer_not_resolved for a did:ethr on an unknown network', async () => {
    const did = `did:ethr:0x999:${issuer.address}`;
    const jws = await issueVcJwt({ credential: credentialFor(did), issuerDid: did, sign });
    await expectCode(verify(jws), 'issuer_not_resolved');
    const web = await compact(
      { ...header(), kid: 'https://x.example#k' },
      credentialFor('https://x.example'),
      sign,
    );
    await expectCode(verify(web), 'issuer_not_resolved');
  });

  it('should fail with invalid_signature for a tampered payload or another key', async () => {
    const jws = await issueVcJwt({ credential: credentialFor(issuer.did), issuerDid: issuer.did, sign });
    const [h, , s] = jws.split('.');
    const tampered = credentialFor(issuer.did, {
      credentialSubject: { id: 'did:example:mallory', assurance: 'aal3' },
    });
    await expectCode(verify(`${h}.${b64json(tampered)}.${s}`), 'invalid_signature');
    await expectCode(verify(`${jws.slice(0, -4)}AAAA`), 'invalid_signature');

    const other = await createManagedDid(t.service.agent);
    const foreign = await issueVcJwt({
      credential: credentialFor(issuer.did),
      issuerDid: issuer.did,
      sign: managedKeySigner(t.service.agent, other.kid),
    });
    await expectCode(verify(foreign), 'invalid_signature');
  });

  it('should fail with expired or not_yet_valid outside the validity period, allowing bounded skew', async () => {
    const now = Date.now();
    const expired = await issueVcJwt({
      credential: credentialFor(issuer.did, {
        validFrom: new Date(now - 7_200_000).toISOString(),
        validUntil: new Date(now - 120_000).toISOString(),
      }),
      issuerDid: issuer.did,
      sign,
    });
    await expectCode(verify(expired), 'expired');
    await expect(verify(expired, { skewSeconds: 180 })).resolves.toMatchObject({ verified: true });

    const future = await issueVcJwt({
      credential: credentialFor(issuer.did, { validFrom: new Date(now + 3_600_000).toISOString() }),
      issuerDid: issuer.did,
      sign,
    });
    await expectCode(verify(future), 'not_yet_valid');
    await expectCode(verify(future, { skewSeconds: 86_400 }), 'not_yet_valid');
    await expect(verify(future, { now: new Date(now + 3_630_000) })).resolves.toMatchObject({
      verified: true,
    });
  });

  it('should fail with unexpected_issuer when the credential is from someone else', async () => {
    const jws = await issueVcJwt({ credential: credentialFor(issuer.did), issuerDid: issuer.did, sign });
    await expectCode(
      verify(jws, { expectedIssuer: 'did:ethr:0x7a69:0x0000000000000000000000000000000000000001' }),
      'unexpected_issuer',
    );
  });
});

describe('verifying a vc+jwt signed with a publicKeyJwk method', () => {
  const did = 'did:example:jwk-issuer';
  const documentWith = (jwk: JWK, listed = true): DIDDocument => ({
    id: did,
    verificationMethod: [{ id: `${did}#key-1`, type: 'JsonWebKey2020', controller: did, publicKeyJwk: jwk }],
    assertionMethod: listed ? [`${did}#key-1`] : [],
  });
  const resolverOf = (didDocument: DIDDocument) => ({
    resolve: async () => ({ didDocument, didDocumentMetadata: {}, didResolutionMetadata: {} }),
  });

  async function signedWith(alg: 'ES256' | 'EdDSA', headerAlg: string = alg) {
    const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
    const payload = new TextEncoder().encode(JSON.stringify(credentialFor(did)));
    const jws = await new CompactSign(payload)
      .setProtectedHeader({ alg: headerAlg, typ: 'vc+jwt', cty: 'vc', kid: `${did}#key-1` })
      .sign(privateKey);
    return { jws, jwk: await exportJWK(publicKey) };
  }

  it('should verify ES256 and EdDSA credentials with jose', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const { jws, jwk } = await signedWith(alg);
      await expect(verifyVcJwt(jws, { resolver: resolverOf(documentWith(jwk)) })).resolves.toMatchObject({
        verified: true,
        issuer: did,
      });
    }
  });

  it('should fail with unknown_kid when the key is not an assertion method', async () => {
    const { jws, jwk } = await signedWith('ES256');
    await expectCode(verifyVcJwt(jws, { resolver: resolverOf(documentWith(jwk, false)) }), 'unknown_kid');
  });

  it('should fail with unsupported_alg when the alg does not fit the key', async () => {
    const { jws, jwk } = await signedWith('ES256');
    const [, p, sig] = jws.split('.');
    const relabelled = `${b64json({ alg: 'ES256K', typ: 'vc+jwt', kid: `${did}#key-1` })}.${p}.${sig}`;
    await expectCode(verifyVcJwt(relabelled, { resolver: resolverOf(documentWith(jwk)) }), 'unsupported_alg');
  });
});
