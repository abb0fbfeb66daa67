import { X509Certificate as X509 } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateRegistrationOptions, verifyRegistrationResponse } from '@simplewebauthn/server';
import { decodeAttestationObject } from '@simplewebauthn/server/helpers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { verifyCertificateChain } from '../../src/factors/attestation/chain.ts';
import { keyIdentifier, MdsBlob } from '../../src/factors/attestation/mds.ts';
import {
  type AttestationEvidence,
  AttestationRefusedError,
  AttestationTrustStore,
} from '../../src/factors/attestation/trust-store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { buildMdsBlob, createMdsSigner, type MdsEntryInput } from '../helpers/webauthn/mds-blob.ts';
import { type SoftAttestation, SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';
import {
  type AttestationChain,
  attestationSubject,
  createAttestationChain,
  createTestCa,
  derToBase64,
  issueCert,
  KeyUsageFlags,
  type TestCertificate,
} from '../helpers/webauthn/test-pki.ts';

const rpID = 'login.trustgate.test';
const origin = `https://${rpID}`;
const aaguid = '2fc0579f-8113-47ea-b116-bb5a8db9202a';
const DAY = 86_400_000;

/** Registers with SimpleWebAuthn (which verifies the statement) and returns what the store evaluates. */
async function registeredEvidence(
  attestation: SoftAttestation,
  model = aaguid,
): Promise<AttestationEvidence> {
  const authenticator = new SoftAuthenticator({ aaguid: model, attestation });
  const options = await generateRegistrationOptions({
    rpName: 'Trustgate',
    rpID,
    userName: 'alice',
    attestationType: 'direct',
  });
  const verification = await verifyRegistrationResponse({
    response: authenticator.createCredential(options, { origin }),
    expectedChallenge: options.challenge,
    expectedOrigin: origin,
    expectedRPID: rpID,
    requireUserVerification: true,
  });
  if (!verification.verified) throw new Error('SimpleWebAuthn refused the registration');
  const { fmt, aaguid: reported, attestationObject } = verification.registrationInfo;
  const x5c = decodeAttestationObject(attestationObject).get('attStmt').get('x5c') ?? [];
  return { fmt, aaguid: reported, x5c };
}

function evidence(chain: Uint8Array[], fmt = 'packed', model = aaguid): AttestationEvidence {
  return { fmt, aaguid: model, x5c: chain };
}

describe('verifyCertificateChain', () => {
  let root: TestCertificate;
  let attested: AttestationChain;

  beforeAll(async () => {
    root = await createTestCa('Chain Test Root');
    attested = await createAttestationChain({ aaguid, root, withIntermediate: true });
  });

  it('should accept a leaf and intermediate issued under a configured root', () => {
    const result = verifyCertificateChain(attested.chain, [root.der]);
    expect(result).toMatchObject({ ok: true });
    expect(result.ok && result.root.fingerprint256).toBe(new X509(root.der).fingerprint256);
  });

  it('should accept a chain that includes the root itself', () => {
    expect(verifyCertificateChain([...attested.chain, root.der], [root.der]).ok).toBe(true);
  });

  it('should accept a leaf that is itself pinned as a root', () => {
    expect(verifyCertificateChain([attested.leaf.der], [attested.leaf.der]).ok).toBe(true);
  });

  it('should not accept a chain ending at an unknown root', async () => {
    const other = await createTestCa('Chain Test Root');
    const result = verifyCertificateChain(attested.chain, [other.der]);
    expect(result).toEqual({ ok: false, reason: 'the chain does not end at a trusted root' });
  });

  it('should not accept a root that only shares the issuer name (signature is checked, not just names)', async () => {
    const impostor = await createTestCa('Chain Test Root');
    // Without authorityKeyIdentifier, names are all that link the leaf to either root.
    const leaf = await issueCert(root, { subject: attestationSubject(), authorityKeyIdentifier: false });
    expect(new X509(leaf.der).checkIssued(new X509(impostor.der))).toBe(true);
    expect(verifyCertificateChain([leaf.der], [root.der]).ok).toBe(true);
    expect(verifyCertificateChain([leaf.der], [impostor.der]).ok).toBe(false);
  });

  it('should not accept a chain missing its intermediate', () => {
    expect(verifyCertificateChain([attested.leaf.der], [root.der]).ok).toBe(false);
  });

  it('should not accept a chain in the wrong order', () => {
    const result = verifyCertificateChain([...attested.chain].reverse(), [root.der]);
    expect(result.ok).toBe(false);
  });

  it('should not accept an intermediate that is not a CA', async () => {
    // keyCertSign without cA: OpenSSL's checkIssued accepts it, only the basicConstraints check does not.
    const notCa = await issueCert(root, {
      subject: 'CN=Not A CA',
      ca: false,
      keyUsages: KeyUsageFlags.keyCertSign,
    });
    const leaf = await issueCert(notCa, { subject: attestationSubject() });
    const result = verifyCertificateChain([leaf.der, notCa.der], [root.der]);
    expect(result).toEqual({ ok: false, reason: 'certificate 1 is not a CA' });
  });

  it('should not accept an intermediate without basicConstraints', async () => {
    const bare = await issueCert(root, {
      subject: 'CN=No Basic Constraints',
      basicConstraints: false,
      keyUsages: KeyUsageFlags.keyCertSign,
    });
    const leaf = await issueCert(bare, { subject: attestationSubject() });
    expect(verifyCertificateChain([leaf.der, bare.der], [root.der]).ok).toBe(false);
  });

  it('should not accept an expired leaf', async () => {
    const expired = await createAttestationChain({
      aaguid,
      root,
      leafNotBefore: new Date(Date.now() - 30 * DAY),
      leafNotAfter: new Date(Date.now() - DAY),
    });
    const result = verifyCertificateChain(expired.chain, [root.der]);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/has expired/);
  });

  it('should not accept a leaf that is not yet valid', async () => {
    const future = await createAttestationChain({
      aaguid,
      root,
      leafNotBefore: new Date(Date.now() + DAY),
      leafNotAfter: new Date(Date.now() + 30 * DAY),
    });
    const result = verifyCertificateChain(future.chain, [root.der]);
    expect(!result.ok && result.reason).toMatch(/not yet valid/);
  });

  it('should not accept a chain issued by an expired root', async () => {
    const oldRoot = await createTestCa('Old Root', {
      notBefore: new Date(Date.now() - 400 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    const leaf = await issueCert(oldRoot, { subject: attestationSubject() });
    const result = verifyCertificateChain([leaf.der], [oldRoot.der]);
    expect(result).toEqual({ ok: false, reason: 'the issuing root is outside its validity period' });
  });

  it('should judge validity at the given time', () => {
    const later = new Date(Date.now() + 400 * DAY);
    expect(verifyCertificateChain(attested.chain, [root.der], later).ok).toBe(false);
  });

  it('should not accept an empty chain, no roots, garbage or a repeated certificate', () => {
    expect(verifyCertificateChain([], [root.der]).ok).toBe(false);
    expect(verifyCertificateChain(attested.chain, []).ok).toBe(false);
    expect(verifyCertificateChain([new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])], [root.der]).ok).toBe(
      false,
    );
    expect(verifyCertificateChain([attested.leaf.der, attested.leaf.der], [attested.leaf.der]).ok).toBe(
      false,
    );
  });
});

describe('AttestationTrustStore.evaluate', () => {
  let storeRoot: TestCertificate;
  let store: AttestationTrustStore;

  beforeAll(async () => {
    storeRoot = await createTestCa('Store Root');
    store = new AttestationTrustStore({ roots: [{ pem: storeRoot.pem }] });
  });

  it('should trust a packed full attestation chained to a store root (after SimpleWebAuthn verified it)', async () => {
    const chain = await createAttestationChain({ aaguid, root: storeRoot, withIntermediate: true });
    const decision = store.evaluate(await registeredEvidence({ chain }));
    expect(decision.trusted).toBe(true);
    expect(decision.modelName).toBeUndefined();
    expect(decision.reason).toMatch(/store root "CN=Store Root/);
  });

  it('should not trust self attestation', async () => {
    const decision = store.evaluate(await registeredEvidence('self'));
    expect(decision).toMatchObject({ trusted: false });
    expect(decision.reason).toMatch(/self attestation/);
  });

  it('should not trust fmt none', async () => {
    const decision = store.evaluate(await registeredEvidence('none'));
    expect(decision).toMatchObject({ trusted: false });
    expect(decision.reason).toMatch(/fmt none/);
  });

  it('should not trust fmt none even if certificates are passed along', async () => {
    const chain = await createAttestationChain({ aaguid, root: storeRoot });
    expect(store.evaluate(evidence(chain.chain, 'none')).trusted).toBe(false);
  });

  it('should not trust a chain to an unknown root (SimpleWebAuthn alone accepts it)', async () => {
    const chain = await createAttestationChain({ aaguid });
    const decision = store.evaluate(await registeredEvidence({ chain }));
    expect(decision.trusted).toBe(false);
    expect(decision.reason).toMatch(/does not end at a trusted root/);
  });

  it('should not trust an expired leaf', async () => {
    const chain = await createAttestationChain({
      aaguid,
      root: storeRoot,
      leafNotBefore: new Date(Date.now() - 30 * DAY),
      leafNotAfter: new Date(Date.now() - DAY),
    });
    expect(store.evaluate(evidence(chain.chain)).trusted).toBe(false);
  });

  it('should not trust a chain with a non-CA intermediate', async () => {
    const notCa = await issueCert(storeRoot, {
      subject: 'CN=Rogue Reseller',
      ca: false,
      keyUsages: KeyUsageFlags.keyCertSign,
    });
    const leaf = await issueCert(notCa, { subject: attestationSubject(), aaguid });
    const decision = store.evaluate(evidence([leaf.der, notCa.der]));
    expect(decision).toMatchObject({ trusted: false });
    expect(decision.reason).toMatch(/not a CA/);
  });

  it('should not trust a chain in the wrong order', async () => {
    const chain = await createAttestationChain({ aaguid, root: storeRoot, withIntermediate: true });
    expect(store.evaluate(evidence([...chain.chain].reverse())).trusted).toBe(false);
  });

  it('should not trust any attestation when the store has no roots and no metadata', async () => {
    const empty = new AttestationTrustStore({ roots: [] });
    const chain = await createAttestationChain({ aaguid, root: storeRoot });
    const decision = empty.evaluate(evidence(chain.chain));
    expect(decision).toMatchObject({ trusted: false });
    expect(decision.reason).toMatch(/no trust roots for fmt packed/);
  });

  it('should apply a root restricted to a format only to that format', async () => {
    const tpmRoot = await createTestCa('TPM Root');
    const scoped = new AttestationTrustStore({ roots: [{ pem: tpmRoot.pem, formats: ['tpm'] }] });
    const chain = await createAttestationChain({ aaguid, root: tpmRoot });
    expect(scoped.evaluate(evidence(chain.chain, 'tpm')).trusted).toBe(true);
    expect(scoped.evaluate(evidence(chain.chain, 'packed')).trusted).toBe(false);
  });

  it('should refuse to build with an unknown format or a PEM without certificates', () => {
    expect(() => new AttestationTrustStore({ roots: [{ pem: storeRoot.pem, formats: ['tmp'] }] })).toThrow(
      ConfigError,
    );
    expect(() => new AttestationTrustStore({ roots: [{ pem: 'not a certificate' }] })).toThrow(ConfigError);
  });
});

describe('AttestationTrustStore with FIDO metadata', () => {
  const revokedAaguid = '11111111-2222-4333-8444-555555555555';
  const compromisedAaguid = '66666666-7777-4888-9999-aaaaaaaaaaaa';
  let vendorRoot: TestCertificate;
  let storeRoot: TestCertificate;
  let u2f: AttestationChain;
  let store: AttestationTrustStore;

  beforeAll(async () => {
    vendorRoot = await createTestCa('Vendor Attestation Root');
    storeRoot = await createTestCa('Store Root');
    u2f = await createAttestationChain({ aaguid: '00000000-0000-0000-0000-000000000000', root: vendorRoot });
    const statement = (description: string) => ({
      description,
      attestationRootCertificates: [derToBase64(vendorRoot.der)],
    });
    const entries: MdsEntryInput[] = [
      {
        aaguid,
        metadataStatement: statement('Test Key 5'),
        statusReports: [{ status: 'FIDO_CERTIFIED_L1', effectiveDate: '2023-01-01' }],
      },
      {
        aaguid: revokedAaguid,
        metadataStatement: statement('Recalled Key'),
        statusReports: [
          { status: 'FIDO_CERTIFIED', effectiveDate: '2021-01-01' },
          { status: 'REVOKED', effectiveDate: '2024-06-01' },
        ],
      },
      {
        aaguid: compromisedAaguid,
        metadataStatement: statement('Leaky Key'),
        statusReports: [{ status: 'ATTESTATION_KEY_COMPROMISE', effectiveDate: '2024-03-01' }],
      },
      {
        attestationCertificateKeyIdentifiers: [keyIdentifier(new X509(u2f.leaf.der))!],
        metadataStatement: statement('Test U2F Key'),
        statusReports: [{ status: 'FIDO_CERTIFIED', effectiveDate: '2020-01-01' }],
      },
    ];
    const signer = await createMdsSigner();
    const mds = await MdsBlob.verify(await buildMdsBlob({ signer, entries }), { roots: [signer.root.der] });
    store = new AttestationTrustStore({ roots: [{ pem: storeRoot.pem }], mds });
  });

  it("should trust a chain to the statement's root and name the model", async () => {
    const chain = await createAttestationChain({ aaguid, root: vendorRoot, withIntermediate: true });
    const decision = store.evaluate(await registeredEvidence({ chain }));
    expect(decision).toMatchObject({ trusted: true, modelName: 'Test Key 5' });
    expect(decision.reason).toMatch(/metadata root/);
  });

  it("should not trust a chain to a store root when the model's statement lists other roots", async () => {
    const chain = await createAttestationChain({ aaguid, root: storeRoot });
    const decision = store.evaluate(evidence(chain.chain));
    expect(decision.trusted).toBe(false);
    expect(decision.modelName).toBeUndefined();
  });

  it('should not name the model of an untrusted attestation (its AAGUID is only a claim)', async () => {
    const decision = store.evaluate(await registeredEvidence('none'));
    expect(decision).toMatchObject({ trusted: false });
    expect(decision.modelName).toBeUndefined();
    expect(decision.reason).toMatch(/metadata claims "Test Key 5"/);
  });

  it('should refuse a REVOKED model with a valid chain', async () => {
    const chain = await createAttestationChain({ aaguid: revokedAaguid, root: vendorRoot });
    const attempt = () => store.evaluate(evidence(chain.chain, 'packed', revokedAaguid));
    expect(attempt).toThrow(AttestationRefusedError);
    try {
      attempt();
    } catch (err) {
      expect(err).toMatchObject({
        code: 'attestation_refused',
        status: 403,
        authenticatorStatus: 'REVOKED',
        extensions: { authenticatorStatus: 'REVOKED' },
      });
    }
  });

  it('should refuse a REVOKED model even with fmt none', async () => {
    const registered = await registeredEvidence('none', revokedAaguid);
    expect(() => store.evaluate(registered)).toThrow(/REVOKED/);
  });

  it('should refuse an ATTESTATION_KEY_COMPROMISE model, even with self attestation', async () => {
    const registered = await registeredEvidence('self', compromisedAaguid);
    expect(() => store.evaluate(registered)).toThrow(AttestationRefusedError);
    expect(() => store.evaluate(registered)).toThrow(/ATTESTATION_KEY_COMPROMISE/);
  });

  it('should find a fido-u2f model by the attestation key identifier and trust its chain', () => {
    const decision = store.evaluate(evidence(u2f.chain, 'fido-u2f', '00000000-0000-0000-0000-000000000000'));
    expect(decision).toMatchObject({ trusted: true, modelName: 'Test U2F Key' });
  });
});

describe('AttestationTrustStore.load (PEM directory)', () => {
  const dirs: Array<{ remove: () => void }> = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) dir.remove();
  });

  it('should apply top-level PEM files to every format and a format subdirectory only to its format', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const general = await createTestCa('General Root');
    const second = await createTestCa('Second Root In Same File');
    const tpmOnly = await createTestCa('TPM Only Root');
    writeFileSync(join(dir.path, 'vendors.pem'), `${general.pem}\n${second.pem}\n`);
    writeFileSync(join(dir.path, 'README.txt'), 'ignored');
    mkdirSync(join(dir.path, 'tpm'));
    writeFileSync(join(dir.path, 'tpm', 'tpm-root.pem'), tpmOnly.pem);

    const store = await AttestationTrustStore.load({ rootsDir: dir.path });
    const underGeneral = await createAttestationChain({ aaguid, root: general });
    const underSecond = await createAttestationChain({ aaguid, root: second });
    const underTpm = await createAttestationChain({ aaguid, root: tpmOnly });

    expect(store.evaluate(evidence(underGeneral.chain, 'packed')).trusted).toBe(true);
    expect(store.evaluate(evidence(underSecond.chain, 'packed')).trusted).toBe(true);
    expect(store.evaluate(evidence(underGeneral.chain, 'tpm')).trusted).toBe(true);
    expect(store.evaluate(evidence(underTpm.chain, 'tpm')).trusted).toBe(true);
    expect(store.evaluate(evidence(underTpm.chain, 'packed')).trusted).toBe(false);
    expect(store.evaluate(evidence(underTpm.chain, 'apple')).trusted).toBe(false);
  });

  it('should refuse a subdirectory that is not named after an attestation format', async () => {
    const dir = tempDir();
    dirs.push(dir);
    mkdirSync(join(dir.path, 'tmp'));
    await expect(AttestationTrustStore.load({ rootsDir: dir.path })).rejects.toThrow(ConfigError);
  });

  it('should refuse a PEM file without certificates and a missing directory', async () => {
    const dir = tempDir();
    dirs.push(dir);
    writeFileSync(
      join(dir.path, 'empty.pem'),
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
    );
    await expect(AttestationTrustStore.load({ rootsDir: dir.path })).rejects.toThrow(ConfigError);
    await expect(AttestationTrustStore.load({ rootsDir: join(dir.path, 'missing') })).rejects.toThrow(
      ConfigError,
    );
  });
});
