/**
 * The FIDO Metadata Service v3 BLOB: which authenticator models exist, which roots their attestation
 * chains end at, and whether a model is revoked or compromised.
 *
 * A BLOB is accepted only when, in this order:
 * 1. it is a JWS compact whose protected header names ES256, RS256 or PS256 (never `none` or an HMAC:
 *    anyone could "sign" those) and carries an `x5c` chain;
 * 2. that chain verifies (chain.ts) against the configured MDS roots, by default the FIDO Alliance's
 *    (GlobalSign Root CA - R3 from the system store);
 * 3. the JWS signature verifies with the chain's leaf key;
 * 4. the payload has the shape of MDS3 for every field Trustgate reads.
 * A `nextUpdate` in the past is reported (`stale`), not refused: an old list of compromised models is
 * better than none, and the operator gets a warning to refresh it.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { compactVerify, decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose';
import { z } from 'zod';
import { safeReason } from '../../errors.ts';
import { createSafeFetch } from '../../net/safe-fetch.ts';
import { parseCertificate, pemToDerCertificates, verifyCertificateChain } from './chain.ts';

/** Where Debian keeps GlobalSign Root CA - R3, the root the FIDO Alliance MDS signing chain ends at. */
export const DEFAULT_MDS_ROOT_PATH = '/etc/ssl/certs/GlobalSign_Root_CA_-_R3.pem';

/** JWS algorithms a BLOB may be signed with. */
export const MDS_ALGORITHMS = ['ES256', 'RS256', 'PS256'] as const;

/** Largest BLOB fetched (the real one is about 5 MB and grows). */
export const MDS_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Statuses that make Trustgate refuse a model outright: its user verification can be bypassed, its
 * attestation or user keys are known to be extractable, or the FIDO Alliance revoked it.
 */
export const REFUSED_STATUSES = [
  'REVOKED',
  'USER_VERIFICATION_BYPASS',
  'ATTESTATION_KEY_COMPROMISE',
  'USER_KEY_REMOTE_COMPROMISE',
  'USER_KEY_PHYSICAL_COMPROMISE',
] as const;

/** One of `REFUSED_STATUSES`. */
export type RefusedStatus = (typeof REFUSED_STATUSES)[number];

/** Why a BLOB was not accepted. */
export type MdsBlobFailure = 'source' | 'roots' | 'format' | 'alg' | 'chain' | 'signature' | 'payload';

/** A BLOB could not be loaded or was not trustworthy; `reason` says which step refused it. */
export class MdsBlobError extends Error {
  override name = 'MdsBlobError';
  constructor(
    readonly reason: MdsBlobFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the BLOB says about one authenticator model. */
export interface MdsStatement {
  /** The statement's `description` (the model's name); undefined when the entry has no statement. */
  description?: string;
  /** DER `attestationRootCertificates` of the statement (empty when the entry has no statement). */
  roots: Uint8Array[];
  /** The entry has a metadata statement, so its roots, not the store's, decide trust. */
  hasMetadataStatement: boolean;
  /** The statement's `keyProtection` (`hardware`, `tee`, `secure_element`, `software`, …). */
  keyProtection?: string[];
  /** Status of the latest status report (by `effectiveDate`). */
  status?: string;
  /** `effectiveDate` of that report. */
  statusDate?: string;
  /** Set when `status` is one of `REFUSED_STATUSES`. */
  refusedStatus?: RefusedStatus;
}

/** Where the MDS roots come from and how URLs are fetched. */
export interface MdsLoadOptions {
  /** PEM files holding the MDS root(s) (default `[DEFAULT_MDS_ROOT_PATH]` when `rootPems` is unset). */
  rootPaths?: string[];
  /** PEM text of the MDS root(s), instead of or in addition to `rootPaths`. */
  rootPems?: string[];
  /** Hosts exempt from safe-fetch's address rules (tests and development only). */
  allowHosts?: readonly string[];
  /** Deadline for fetching a URL (default 30 s). */
  timeoutMs?: number;
  /** Clock for certificate validity and staleness (default now). */
  now?: Date;
}

const dateString = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
const base64Re = /^[A-Za-z0-9+/]+={0,2}$/;
const base64 = z.string().regex(base64Re, 'expected base64');

const payloadSchema = z.looseObject({
  no: z.number().int().nonnegative(),
  nextUpdate: dateString,
  entries: z.array(
    z.looseObject({
      aaguid: z
        .string()
        .regex(/^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/)
        .optional(),
      attestationCertificateKeyIdentifiers: z.array(z.string().regex(/^[0-9a-fA-F]+$/)).optional(),
      metadataStatement: z
        .looseObject({
          description: z.string(),
          attestationRootCertificates: z.array(base64),
          keyProtection: z.array(z.string()).optional(),
        })
        .optional(),
      statusReports: z.array(
        z.looseObject({ status: z.string().min(1), effectiveDate: dateString.optional() }),
      ),
    }),
  ),
});

type MdsEntry = z.infer<typeof payloadSchema>['entries'][number];

/** A verified MDS3 BLOB, indexed by AAGUID and by attestation certificate key identifier. */
export class MdsBlob {
  /** The BLOB's serial number (`no`). */
  readonly no: number;
  /** `nextUpdate`, midnight UTC. */
  readonly nextUpdate: Date;
  /** `nextUpdate` had passed when the BLOB was verified: fetch a new one. */
  readonly stale: boolean;
  /** Number of entries. */
  readonly size: number;
  private readonly byAaguid = new Map<string, MdsStatement>();
  private readonly byKeyIdentifier = new Map<string, MdsStatement>();

  private constructor(payload: z.infer<typeof payloadSchema>, now: Date) {
    this.no = payload.no;
    this.nextUpdate = new Date(`${payload.nextUpdate}T00:00:00Z`);
    this.stale = !(now < this.nextUpdate);
    this.size = payload.entries.length;
    for (const entry of payload.entries) {
      const statement = toStatement(entry);
      const aaguid = entry.aaguid ? normalizeAaguid(entry.aaguid) : undefined;
      if (aaguid) this.byAaguid.set(aaguid, statement);
      for (const keyId of entry.attestationCertificateKeyIdentifiers ?? []) {
        this.byKeyIdentifier.set(keyId.toLowerCase(), statement);
      }
    }
  }

  /**
   * Verifies a BLOB (JWS compact) under the rules at the top of this file against `roots` (DER).
   * Throws `MdsBlobError` naming the step that refused it.
   */
  static async verify(jws: string, options: { roots: Uint8Array[]; now?: Date }): Promise<MdsBlob> {
    const now = options.now ?? new Date();
    const token = jws.trim();
    if (token.split('.').length !== 3) throw new MdsBlobError('format', 'The BLOB is not a JWS compact.');

    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch (err) {
      throw new MdsBlobError('format', `The BLOB header is unreadable: ${safeReason(err)}`, { cause: err });
    }
    const alg = header.alg;
    if (!isAllowedAlgorithm(alg)) {
      throw new MdsBlobError(
        'alg',
        `The BLOB is signed with "${String(alg)}"; only ${MDS_ALGORITHMS} are accepted.`,
      );
    }
    const x5c = header.x5c;
    if (
      !Array.isArray(x5c) ||
      x5c.length === 0 ||
      !x5c.every((c) => typeof c === 'string' && base64Re.test(c))
    ) {
      throw new MdsBlobError('format', 'The BLOB header has no x5c certificate chain.');
    }
    const chain = x5c.map((c) => new Uint8Array(Buffer.from(c, 'base64')));

    const path = verifyCertificateChain(chain, options.roots, now);
    if (!path.ok) throw new MdsBlobError('chain', `The BLOB signing chain is not trusted: ${path.reason}.`);
    const leaf = parseCertificate(chain[0]!)!;

    let payloadBytes: Uint8Array;
    try {
      ({ payload: payloadBytes } = await compactVerify(token, leaf.publicKey, { algorithms: [alg] }));
    } catch (err) {
      throw new MdsBlobError('signature', `The BLOB signature does not verify: ${safeReason(err)}`, {
        cause: err,
      });
    }

    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(payloadBytes));
    } catch (err) {
      throw new MdsBlobError('payload', 'The BLOB payload is not JSON.', { cause: err });
    }
    const parsed = payloadSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new MdsBlobError(
        'payload',
        `The BLOB payload is malformed at ${issue.path.join('.')}: ${issue.message}`,
      );
    }
    return new MdsBlob(parsed.data, now);
  }

  /**
   * Loads a BLOB from a file path or an https URL (fetched through safe-fetch) and verifies it against
   * the MDS roots of `options`.
   */
  static async load(source: string, options: MdsLoadOptions = {}): Promise<MdsBlob> {
    const roots = await loadMdsRoots(options);
    const jws = /^https?:\/\//i.test(source) ? await fetchBlob(source, options) : await readBlobFile(source);
    return MdsBlob.verify(jws, { roots, ...(options.now ? { now: options.now } : {}) });
  }

  /**
   * The statement for an authenticator: by AAGUID, or, when the AAGUID is absent or all zeros (fido-u2f),
   * by the key identifier of the attestation leaf certificate (DER).
   */
  statementFor(query: { aaguid?: string; leafCert?: Uint8Array }): MdsStatement | undefined {
    const aaguid = query.aaguid ? normalizeAaguid(query.aaguid) : undefined;
    if (aaguid && aaguid !== ZERO_AAGUID) return this.byAaguid.get(aaguid);
    if (!query.leafCert) return undefined;
    const cert = parseCertificate(query.leafCert);
    const keyId = cert ? keyIdentifier(cert) : undefined;
    return keyId ? this.byKeyIdentifier.get(keyId) : undefined;
  }
}

const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';

function isAllowedAlgorithm(alg: unknown): alg is (typeof MDS_ALGORITHMS)[number] {
  return typeof alg === 'string' && (MDS_ALGORITHMS as readonly string[]).includes(alg);
}

/** Lower-case hyphenated AAGUID, or undefined when `value` is not 16 bytes of hex. */
export function normalizeAaguid(value: string): string | undefined {
  const hex = value.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The key identifier MDS lists for fido-u2f attestation certificates: lower-case hex SHA-1 of the
 * subjectPublicKey BIT STRING's bits (RFC 5280 §4.2.1.2 method 1). Computed rather than read from the
 * certificate's extension, which U2F attestation certificates often lack.
 */
export function keyIdentifier(cert: X509Certificate): string | undefined {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  const outer = readTlv(spki, 0);
  if (outer?.tag !== 0x30) return undefined;
  const algorithm = readTlv(spki, outer.start);
  const bits = algorithm ? readTlv(spki, algorithm.end) : undefined;
  if (bits?.tag !== 0x03 || bits.end - bits.start < 2) return undefined;
  return createHash('sha1')
    .update(spki.subarray(bits.start + 1, bits.end))
    .digest('hex');
}

/** One DER TLV at `offset`: its tag and the bounds of its content. */
function readTlv(der: Uint8Array, offset: number): { tag: number; start: number; end: number } | undefined {
  if (offset + 2 > der.length) return undefined;
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > der.length) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  const end = start + length;
  return end > der.length ? undefined : { tag, start, end };
}

function toStatement(entry: MdsEntry): MdsStatement {
  // Latest report wins; reports without a date count as oldest, ties keep the BLOB's order.
  const reports = entry.statusReports
    .map((report, index) => ({ report, index }))
    .sort(
      (a, b) =>
        (a.report.effectiveDate ?? '').localeCompare(b.report.effectiveDate ?? '') || a.index - b.index,
    );
  const latest = reports.at(-1)?.report;
  const status = latest?.status;
  const refused = (REFUSED_STATUSES as readonly string[]).includes(status ?? '')
    ? (status as RefusedStatus)
    : undefined;
  const statement = entry.metadataStatement;
  return {
    ...(statement ? { description: statement.description } : {}),
    roots: (statement?.attestationRootCertificates ?? []).map(
      (b64) => new Uint8Array(Buffer.from(b64, 'base64')),
    ),
    hasMetadataStatement: statement !== undefined,
    ...(statement?.keyProtection ? { keyProtection: statement.keyProtection } : {}),
    ...(status ? { status } : {}),
    ...(latest?.effectiveDate ? { statusDate: latest.effectiveDate } : {}),
    ...(refused ? { refusedStatus: refused } : {}),
  };
}

/** The MDS roots of `options` as DER; throws `MdsBlobError('roots')` when there are none. */
export async function loadMdsRoots(
  options: Pick<MdsLoadOptions, 'rootPaths' | 'rootPems'>,
): Promise<Uint8Array[]> {
  const paths = options.rootPaths ?? (options.rootPems ? [] : [DEFAULT_MDS_ROOT_PATH]);
  const pems = [...(options.rootPems ?? [])];
  for (const path of paths) {
    try {
      pems.push(await readFile(path, 'utf8'));
    } catch (err) {
      throw new MdsBlobError('roots', `The MDS root file ${path} cannot be read: ${safeReason(err)}`, {
        cause: err,
      });
    }
  }
  const roots = pems.flatMap(pemToDerCertificates);
  if (roots.length === 0 || roots.some((der) => !parseCertificate(der))) {
    throw new MdsBlobError('roots', 'No readable MDS root certificate is configured.');
  }
  return roots;
}

async function fetchBlob(url: string, options: MdsLoadOptions): Promise<string> {
  const fetch = createSafeFetch({
    maxBytes: MDS_MAX_BYTES,
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.allowHosts ? { allowHosts: options.allowHosts } : {}),
  });
  let response: Awaited<ReturnType<typeof fetch>>;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new MdsBlobError('source', `The BLOB could not be fetched from ${url}: ${safeReason(err)}`, {
      cause: err,
    });
  }
  if (response.status !== 200) {
    throw new MdsBlobError('source', `The BLOB URL ${url} answered HTTP ${response.status}.`);
  }
  return response.text();
}

async function readBlobFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new MdsBlobError('source', `The BLOB file ${path} cannot be read: ${safeReason(err)}`, {
      cause: err,
    });
  }
}
