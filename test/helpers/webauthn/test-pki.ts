/**
 * A throwaway PKI for attestation and metadata tests: roots, intermediates and leaves generated with
 * @peculiar/x509 on node's WebCrypto. Nothing is cached between calls, so every test that needs its own
 * root gets one (a P-256 key and certificate take about a millisecond).
 */
// @peculiar/x509 resolves services through tsyringe, which needs the Reflect metadata polyfill loaded
// first (installed with @simplewebauthn/server, which loads it the same way).
import 'reflect-metadata';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** keyUsage bits for `IssueOptions.keyUsages` (re-exported so the polyfill above loads first). */
export { KeyUsageFlags } from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

/** Key type of a test certificate: ES256 (P-256, the default) or RS256 (RSA 2048, slow: ~100 ms). */
export type TestKeyAlgorithm = 'ES256' | 'RS256';

/** A certificate with its key pair, in every shape tests need. */
export interface TestCertificate {
  /** Distinguished name, e.g. `CN=Test Root`. */
  subject: string;
  cert: x509.X509Certificate;
  der: Uint8Array;
  pem: string;
  keys: webcrypto.CryptoKeyPair;
  /** The private key as a node:crypto `KeyObject` (for `crypto.sign`). */
  privateKey: KeyObject;
  keyAlgorithm: TestKeyAlgorithm;
}

/** Options shared by roots and issued certificates. */
export interface TestCertificateOptions {
  notBefore?: Date;
  notAfter?: Date;
  keyAlgorithm?: TestKeyAlgorithm;
}

/** What `issueCert` puts into a certificate. */
export interface IssueOptions extends TestCertificateOptions {
  /** Distinguished name, e.g. `C=US, O=Example, OU=Authenticator Attestation, CN=Key 1`. */
  subject: string;
  /** basicConstraints CA (default false). Ignored when `basicConstraints` is false. */
  ca?: boolean;
  /** Include the basicConstraints extension at all (default true). */
  basicConstraints?: boolean;
  /** keyUsage flags (default keyCertSign | cRLSign for a CA, digitalSignature otherwise). */
  keyUsages?: x509.KeyUsageFlags;
  /** Include authorityKeyIdentifier (default true; without it only names link a certificate to its issuer). */
  authorityKeyIdentifier?: boolean;
  /** An AAGUID (hyphenated or not) for the id-fido-gen-ce-aaguid extension. */
  aaguid?: string;
  /** Further extensions, appended as given. */
  extensions?: x509.Extension[];
}

/** A packed attestation chain: the leaf's key signs attestation statements. */
export interface AttestationChain {
  aaguid: string;
  /** Private key of the attestation leaf. */
  leafKey: KeyObject;
  /** DER certificates as `attStmt.x5c` carries them: leaf first, root excluded. */
  chain: Uint8Array[];
  leaf: TestCertificate;
  intermediate?: TestCertificate;
  root: TestCertificate;
  rootDer: Uint8Array;
  rootPem: string;
}

/** OID of the FIDO extension that binds an attestation certificate to an AAGUID. */
export const ID_FIDO_GEN_CE_AAGUID = '1.3.6.1.4.1.45724.1.1.4';

const DAY_MS = 86_400_000;

function keyParams(alg: TestKeyAlgorithm): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return alg === 'ES256'
    ? { name: 'ECDSA', namedCurve: 'P-256' }
    : {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
}

function signingAlgorithm(alg: TestKeyAlgorithm): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
}

async function generateKeys(alg: TestKeyAlgorithm): Promise<webcrypto.CryptoKeyPair> {
  const usages: webcrypto.KeyUsage[] = ['sign', 'verify'];
  return (await webcrypto.subtle.generateKey(keyParams(alg), true, usages)) as webcrypto.CryptoKeyPair;
}

function serialNumber(): string {
  // Positive, 16 bytes: what RFC 5280 allows at most (20) with room to spare.
  return `01${randomBytes(15).toString('hex')}`;
}

function wrap(
  cert: x509.X509Certificate,
  keys: webcrypto.CryptoKeyPair,
  keyAlgorithm: TestKeyAlgorithm,
): TestCertificate {
  return {
    subject: cert.subject,
    cert,
    der: new Uint8Array(cert.rawData),
    pem: cert.toString('pem'),
    keys,
    privateKey: KeyObject.from(keys.privateKey),
    keyAlgorithm,
  };
}

function validity(options: TestCertificateOptions): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return {
    notBefore: options.notBefore ?? new Date(now - DAY_MS),
    notAfter: options.notAfter ?? new Date(now + 365 * DAY_MS),
  };
}

/** AAGUID text (hyphenated or not) to its 16 bytes. */
export function aaguidBytes(aaguid: string): Uint8Array {
  const hex = aaguid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`Not an AAGUID: ${aaguid}`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * The id-fido-gen-ce-aaguid extension (WebAuthn §8.2.1): non-critical, its extnValue an OCTET STRING
 * holding the 16 AAGUID bytes (x509 wraps that in the extnValue OCTET STRING itself).
 */
export function aaguidExtension(aaguid: string): x509.Extension {
  const inner = new Uint8Array([0x04, 0x10, ...aaguidBytes(aaguid)]);
  return new x509.Extension(ID_FIDO_GEN_CE_AAGUID, false, inner);
}

/** A self-signed root CA named `CN=<name>`. */
export async function createTestCa(
  name: string,
  options: TestCertificateOptions = {},
): Promise<TestCertificate> {
  const keyAlgorithm = options.keyAlgorithm ?? 'ES256';
  const keys = await generateKeys(keyAlgorithm);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${name}, O=Trustgate Test PKI, C=US`,
    ...validity(options),
    keys,
    signingAlgorithm: signingAlgorithm(keyAlgorithm),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return wrap(cert, keys, keyAlgorithm);
}

/** A certificate for a fresh key, signed by `issuer` (which need not be a CA: tests forge bad chains). */
export async function issueCert(issuer: TestCertificate, options: IssueOptions): Promise<TestCertificate> {
  const keyAlgorithm = options.keyAlgorithm ?? 'ES256';
  const keys = await generateKeys(keyAlgorithm);
  const ca = options.ca ?? false;
  const extensions: x509.Extension[] = [];
  if (options.basicConstraints !== false)
    extensions.push(new x509.BasicConstraintsExtension(ca, undefined, true));
  extensions.push(
    new x509.KeyUsagesExtension(
      options.keyUsages ??
        (ca
          ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
          : x509.KeyUsageFlags.digitalSignature),
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  );
  if (options.authorityKeyIdentifier !== false) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.cert));
  }
  if (options.aaguid) extensions.push(aaguidExtension(options.aaguid));
  extensions.push(...(options.extensions ?? []));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: options.subject,
    issuer: issuer.cert.subject,
    ...validity(options),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.keyAlgorithm),
    extensions,
  });
  return wrap(cert, keys, keyAlgorithm);
}

/** Subject of a packed attestation leaf as WebAuthn §8.2.1 requires it (C, O, OU, CN). */
export function attestationSubject(cn = 'Trustgate Soft Authenticator'): string {
  return `C=US, O=Trustgate Test Authenticators, OU=Authenticator Attestation, CN=${cn}`;
}

/** Options of `createAttestationChain`. */
export interface AttestationChainOptions {
  aaguid: string;
  /** Root to issue under (default: a fresh one). */
  root?: TestCertificate;
  /** Put a CA intermediate between root and leaf (default false). */
  withIntermediate?: boolean;
  /** Put the id-fido-gen-ce-aaguid extension in the leaf (default true). */
  aaguidExtension?: boolean;
  /** Leaf validity (default: yesterday to a year from now). */
  leafNotBefore?: Date;
  leafNotAfter?: Date;
  /** Leaf subject (default: a §8.2.1 compliant one). */
  leafSubject?: string;
}

/** A root, an optional intermediate and a packed attestation leaf for `aaguid`. */
export async function createAttestationChain(options: AttestationChainOptions): Promise<AttestationChain> {
  const root = options.root ?? (await createTestCa('Trustgate Test Attestation Root'));
  const intermediate = options.withIntermediate
    ? await issueCert(root, {
        subject: 'C=US, O=Trustgate Test Authenticators, CN=Trustgate Test Attestation CA',
        ca: true,
      })
    : undefined;
  const leaf = await issueCert(intermediate ?? root, {
    subject: options.leafSubject ?? attestationSubject(),
    ...(options.aaguidExtension === false ? {} : { aaguid: options.aaguid }),
    ...(options.leafNotBefore ? { notBefore: options.leafNotBefore } : {}),
    ...(options.leafNotAfter ? { notAfter: options.leafNotAfter } : {}),
  });
  return {
    aaguid: options.aaguid,
    leafKey: leaf.privateKey,
    chain: intermediate ? [leaf.der, intermediate.der] : [leaf.der],
    leaf,
    ...(intermediate ? { intermediate } : {}),
    root,
    rootDer: root.der,
    rootPem: root.pem,
  };
}

/** Standard base64 of DER, as MDS `attestationRootCertificates` and JOSE `x5c` carry certificates. */
export function derToBase64(der: Uint8Array): string {
  return Buffer.from(der).toString('base64');
}
