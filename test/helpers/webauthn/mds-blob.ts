/**
 * FIDO Metadata Service v3 BLOBs for tests: a JWS compact whose `x5c` header carries the signer chain
 * (leaf first), signed by a test MDS signer chained to a test root, with entries shaped like the real
 * ones (https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html).
 * Also forges the malformed ones (`alg: none`, HMAC, tampered payload) that loaders must refuse.
 */
import { CompactSign } from 'jose';
import { createTestCa, derToBase64, issueCert, type TestCertificate } from './test-pki.ts';

/** Statuses of an authenticator model in a BLOB (MDS3 §3.1.4 AuthenticatorStatus). */
export type MdsStatus =
  | 'NOT_FIDO_CERTIFIED'
  | 'FIDO_CERTIFIED'
  | 'FIDO_CERTIFIED_L1'
  | 'FIDO_CERTIFIED_L2'
  | 'USER_VERIFICATION_BYPASS'
  | 'ATTESTATION_KEY_COMPROMISE'
  | 'USER_KEY_REMOTE_COMPROMISE'
  | 'USER_KEY_PHYSICAL_COMPROMISE'
  | 'UPDATE_AVAILABLE'
  | 'REVOKED'
  | 'SELF_ASSERTION_SUBMITTED';

/** One entry of a BLOB as tests describe it; the statement is completed with plausible defaults. */
export interface MdsEntryInput {
  aaguid?: string;
  /** Lower-case hex subject key identifiers of attestation certificates (fido-u2f). */
  attestationCertificateKeyIdentifiers?: string[];
  metadataStatement?: {
    description: string;
    /** Standard base64 DER (see `derToBase64`). */
    attestationRootCertificates: string[];
    [member: string]: unknown;
  };
  statusReports: Array<{ status: MdsStatus | string; effectiveDate?: string; [member: string]: unknown }>;
}

/** The key and chain that sign BLOBs. */
export interface MdsSigner {
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKeyLike;
  /** DER, leaf first, root excluded (what goes into `x5c`). */
  chain: Uint8Array[];
  leaf: TestCertificate;
  root: TestCertificate;
}

type CryptoKeyLike = TestCertificate['keys']['privateKey'];

/** A MDS signer: a leaf (and optionally an intermediate) under `root` or a fresh "Test MDS Root". */
export async function createMdsSigner(
  options: { root?: TestCertificate; alg?: 'ES256' | 'RS256'; withIntermediate?: boolean } = {},
): Promise<MdsSigner> {
  const alg = options.alg ?? 'ES256';
  const root = options.root ?? (await createTestCa('Trustgate Test MDS Root'));
  const intermediate = options.withIntermediate
    ? await issueCert(root, { subject: 'CN=Test MDS CA, O=Trustgate Test PKI, C=US', ca: true })
    : undefined;
  const leaf = await issueCert(intermediate ?? root, {
    subject: 'CN=mds.test.trustgate, O=Trustgate Test PKI, C=US',
    keyAlgorithm: alg,
  });
  return {
    alg,
    privateKey: leaf.keys.privateKey,
    chain: intermediate ? [leaf.der, intermediate.der] : [leaf.der],
    leaf,
    root,
  };
}

/** Inputs of `buildMdsBlob`. */
export interface MdsBlobInput {
  signer: MdsSigner;
  entries: MdsEntryInput[];
  /** BLOB serial number (default 1). */
  no?: number;
  /** `YYYY-MM-DD` (default a month from now). */
  nextUpdate?: string;
  /** `legalHeader` (default a short test notice; make it long to get a BLOB of real size). */
  legalHeader?: string;
  /** Replace the `x5c` header (e.g. a chain that does not end at the expected root). */
  x5c?: Uint8Array[];
}

/** The BLOB payload for `entries`, statements completed with defaults. */
export function mdsPayload(input: Omit<MdsBlobInput, 'signer' | 'x5c'>): Record<string, unknown> {
  return {
    legalHeader: input.legalHeader ?? 'Test data only. Not the FIDO Alliance Metadata Service.',
    no: input.no ?? 1,
    nextUpdate: input.nextUpdate ?? isoDate(new Date(Date.now() + 30 * 86_400_000)),
    entries: input.entries.map(entryJson),
  };
}

/** A signed MDS3 BLOB (JWS compact). */
export async function buildMdsBlob(input: MdsBlobInput): Promise<string> {
  const payload = new TextEncoder().encode(JSON.stringify(mdsPayload(input)));
  return new CompactSign(payload)
    .setProtectedHeader({
      alg: input.signer.alg,
      typ: 'JWT',
      x5c: (input.x5c ?? input.signer.chain).map(derToBase64),
    })
    .sign(input.signer.privateKey);
}

/** A JWS compact from raw parts (for forgeries: `alg: none`, wrong keys, edited payloads). */
export function encodeJws(header: Record<string, unknown>, payload: unknown, signature = ''): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.${signature}`;
}

/** `blob` with its payload replaced by `mutate(payload)` and the original signature kept. */
export function tamperMdsBlob(blob: string, mutate: (payload: Record<string, unknown>) => void): string {
  const [header, payload, signature] = blob.split('.');
  const parsed = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  mutate(parsed);
  return `${header}.${Buffer.from(JSON.stringify(parsed)).toString('base64url')}.${signature}`;
}

function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function entryJson(entry: MdsEntryInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (entry.aaguid) out.aaguid = entry.aaguid;
  if (entry.attestationCertificateKeyIdentifiers) {
    out.attestationCertificateKeyIdentifiers = entry.attestationCertificateKeyIdentifiers;
  }
  if (entry.metadataStatement) {
    out.metadataStatement = {
      legalHeader: 'Test data only.',
      ...(entry.aaguid ? { aaguid: entry.aaguid } : {}),
      ...(entry.attestationCertificateKeyIdentifiers
        ? { attestationCertificateKeyIdentifiers: entry.attestationCertificateKeyIdentifiers }
        : {}),
      authenticatorVersion: 1,
      protocolFamily: entry.aaguid ? 'fido2' : 'u2f',
      schema: 3,
      upv: [{ major: 1, minor: 0 }],
      authenticationAlgorithms: ['secp256r1_ecdsa_sha256_raw'],
      publicKeyAlgAndEncodings: ['cose'],
      attestationTypes: ['basic_full'],
      userVerificationDetails: [[{ userVerificationMethod: 'presence_internal' }]],
      keyProtection: ['hardware', 'secure_element'],
      matcherProtection: ['on_chip'],
      attachmentHint: ['external', 'wired'],
      tcDisplay: [],
      ...entry.metadataStatement,
    };
  }
  out.statusReports = entry.statusReports;
  const dates = entry.statusReports.map((r) => r.effectiveDate).filter((d): d is string => Boolean(d));
  out.timeOfLastStatusChange = dates.sort().at(-1) ?? '2024-01-01';
  return out;
}
