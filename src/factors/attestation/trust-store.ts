/**
 * Decides whether a registration's attestation is trusted, after SimpleWebAuthn has verified the
 * attestation statement's signature.
 *
 * SimpleWebAuthn is deliberately given no roots (so a tenant that accepts any authenticator can still
 * register an unattested one at a lower assurance level), which means it skips chain validation. This
 * store is where chains are validated; nothing else may mark an attestation trusted.
 *
 * Rules, in order:
 * 1. The FIDO metadata lists the model (by AAGUID, or for fido-u2f by the leaf's key identifier) with a
 *    refused status → `AttestationRefusedError`, whatever the attestation (even fmt `none`).
 * 2. fmt `none`, or no certificate chain (self attestation) → not trusted.
 * 3. The metadata has a statement for the model → the chain must verify against the statement's roots,
 *    and only those: a vendor's chain never borrows another vendor's root.
 * 4. Otherwise → the chain must verify against the store's roots for that fmt.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, TrustgateError } from '../../errors.ts';
import { parseCertificate, pemToDerCertificates, verifyCertificateChain } from './chain.ts';
import { MdsBlob, normalizeAaguid } from './mds.ts';

/** Attestation formats a root can be restricted to (also the subdirectory names `load` understands). */
export const ATTESTATION_FORMATS = [
  'packed',
  'tpm',
  'android-key',
  'android-safetynet',
  'apple',
  'fido-u2f',
] as const;

/** 403 `attestation_refused`: the FIDO metadata lists this authenticator model as revoked or compromised. */
export class AttestationRefusedError extends TrustgateError {
  constructor(
    /** The refused MDS status, e.g. `REVOKED`. */
    readonly authenticatorStatus: string,
    model?: string,
  ) {
    super(
      'attestation_refused',
      403,
      'Attestation refused',
      `${model ? `This authenticator (${model})` : 'This authenticator model'} is listed as ` +
        `${authenticatorStatus} in the FIDO metadata and cannot be registered.`,
      { extensions: { authenticatorStatus } },
    );
  }
}

/** A trust root in PEM (may hold several certificates), optionally restricted to some formats. */
export interface TrustRoot {
  pem: string;
  /** Formats the root applies to (default: all). */
  formats?: string[];
}

/** What a registration's attestation offers, from SimpleWebAuthn's verified result. */
export interface AttestationEvidence {
  /** Attestation statement format (`packed`, `tpm`, `none`, …). */
  fmt: string;
  /** AAGUID from authenticatorData. */
  aaguid: string;
  /**
   * `attStmt.x5c` (DER, leaf first); empty for self attestation and `none`. For android-safetynet, the
   * `x5c` of the response JWS header.
   */
  x5c: Uint8Array[];
}

/** The store's verdict; `reason` is for logs and audit, never for the client. */
export interface TrustDecision {
  trusted: boolean;
  /**
   * Trusted and the key is kept in hardware: per the metadata's `keyProtection`, or because an
   * operator-configured root vouches for it.
   */
  hardware?: boolean;
  /** Model name from the metadata statement, only when trusted through it. */
  modelName?: string;
  reason: string;
}

/** Options of `AttestationTrustStore.load`. */
export interface TrustStoreLoadOptions {
  /**
   * Directory of PEM roots: every `*.pem` at its top applies to all formats; those inside a subdirectory
   * named after a format (`tpm/`, `apple/`, …) apply to that format only.
   */
  rootsDir?: string;
  /** MDS3 BLOB: a file path or an https URL. */
  mdsBlob?: string;
  /** PEM files of the roots the BLOB's signing chain must end at (default: GlobalSign Root CA - R3). */
  mdsRoots?: string[];
  /** Roots that ship with the service (vendor roots for android-key and apple), before `rootsDir`'s. */
  builtInRoots?: TrustRoot[];
  /** PEM roots for the BLOB when `mdsRoots` is not given (the FIDO roots that ship with the service). */
  builtInMdsRootPems?: string[];
  /** Hosts exempt from safe-fetch's address rules when fetching the BLOB (tests, development). */
  allowHosts?: readonly string[];
  /** Clock for BLOB verification (default now). */
  now?: Date;
}

const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';

/** Trust roots per attestation format, plus the FIDO metadata. */
export class AttestationTrustStore {
  /** The metadata BLOB in use, if any (check `mds.stale`). */
  readonly mds: MdsBlob | undefined;
  private readonly anyFormat: Uint8Array[] = [];
  private readonly byFormat = new Map<string, Uint8Array[]>();

  constructor(options: { roots: TrustRoot[]; mds?: MdsBlob }) {
    this.mds = options.mds;
    for (const [index, root] of options.roots.entries()) {
      const certs = pemToDerCertificates(root.pem);
      if (certs.length === 0) throw new ConfigError(`Attestation root ${index} holds no PEM certificate.`);
      if (certs.some((der) => !parseCertificate(der))) {
        throw new ConfigError(`Attestation root ${index} holds a certificate that cannot be parsed.`);
      }
      if (!root.formats) {
        this.anyFormat.push(...certs);
        continue;
      }
      for (const format of root.formats) {
        if (!(ATTESTATION_FORMATS as readonly string[]).includes(format)) {
          throw new ConfigError(
            `Attestation root ${index} names format "${format}"; known: ${ATTESTATION_FORMATS.join(', ')}.`,
          );
        }
        const list = this.byFormat.get(format) ?? [];
        list.push(...certs);
        this.byFormat.set(format, list);
      }
    }
  }

  /** Builds a store from a roots directory and a metadata BLOB (file or URL). */
  static async load(options: TrustStoreLoadOptions = {}): Promise<AttestationTrustStore> {
    const roots = [
      ...(options.builtInRoots ?? []),
      ...(options.rootsDir ? await readRootsDir(options.rootsDir) : []),
    ];
    const mds = options.mdsBlob
      ? await MdsBlob.load(options.mdsBlob, {
          ...(options.mdsRoots ? { rootPaths: options.mdsRoots } : {}),
          ...(!options.mdsRoots && options.builtInMdsRootPems
            ? { rootPems: options.builtInMdsRootPems }
            : {}),
          ...(options.allowHosts ? { allowHosts: options.allowHosts } : {}),
          ...(options.now ? { now: options.now } : {}),
        })
      : undefined;
    return new AttestationTrustStore({ roots, ...(mds ? { mds } : {}) });
  }

  /**
   * Refuses a model the metadata now lists as revoked or compromised (checked at every sign-in, not
   * only at registration).
   */
  assertNotRefused(aaguid: string): void {
    const statement = this.mds?.statementFor({ aaguid: normalizeAaguid(aaguid) ?? ZERO_AAGUID });
    if (statement?.refusedStatus)
      throw new AttestationRefusedError(statement.refusedStatus, statement.description);
  }

  /** Every root in the store (DER), with the format it is restricted to, or `any` (read-only view). */
  roots(): Array<{ fmt: string; der: Uint8Array }> {
    return [
      ...this.anyFormat.map((der) => ({ fmt: 'any', der })),
      ...[...this.byFormat].flatMap(([fmt, list]) => list.map((der) => ({ fmt, der }))),
    ];
  }

  /** Roots that apply to `fmt` (DER). */
  rootsFor(fmt: string): Uint8Array[] {
    return [...this.anyFormat, ...(this.byFormat.get(fmt) ?? [])];
  }

  /**
   * Applies the rules at the top of this file. Call it only with evidence from a registration that
   * SimpleWebAuthn verified: this checks the chain, not the attestation signature.
   */
  evaluate(evidence: AttestationEvidence, now: Date = new Date()): TrustDecision {
    const { fmt, x5c } = evidence;
    const aaguid = normalizeAaguid(evidence.aaguid) ?? ZERO_AAGUID;
    const statement = this.mds?.statementFor({ aaguid, ...(x5c[0] ? { leafCert: x5c[0] } : {}) });
    if (statement?.refusedStatus)
      throw new AttestationRefusedError(statement.refusedStatus, statement.description);
    const model = statement?.description ? ` (metadata claims "${statement.description}")` : '';

    if (fmt === 'none')
      return { trusted: false, reason: `no attestation (fmt none) for AAGUID ${aaguid}${model}` };
    if (x5c.length === 0) {
      return { trusted: false, reason: `self attestation (fmt ${fmt}, no x5c) for AAGUID ${aaguid}${model}` };
    }

    if (statement?.hasMetadataStatement) {
      const path = verifyCertificateChain(x5c, statement.roots, now);
      if (!path.ok) {
        return {
          trusted: false,
          reason: `fmt ${fmt} chain does not verify against the metadata roots for AAGUID ${aaguid}${model}: ${path.reason}`,
        };
      }
      return {
        trusted: true,
        hardware: isHardwareProtected(statement.keyProtection),
        ...(statement.description ? { modelName: statement.description } : {}),
        reason: `fmt ${fmt} chain verifies to metadata root "${oneLine(path.root.subject)}" for AAGUID ${aaguid}${model}`,
      };
    }

    const roots = this.rootsFor(fmt);
    if (roots.length === 0) {
      return {
        trusted: false,
        reason: `no metadata statement for AAGUID ${aaguid} and no trust roots for fmt ${fmt}`,
      };
    }
    const path = verifyCertificateChain(x5c, roots, now);
    if (!path.ok) {
      return {
        trusted: false,
        reason: `fmt ${fmt} chain does not verify against the store's roots: ${path.reason}`,
      };
    }
    // The operator put this root in the store: they vouch that its authenticators keep keys in hardware.
    return {
      trusted: true,
      hardware: true,
      reason: `fmt ${fmt} chain verifies to store root "${oneLine(path.root.subject)}"`,
    };
  }
}

/**
 * Metadata's word on where the key lives: hardware only when every protection listed is a hardware
 * one (`hardware`, `tee`, `secure_element`); absent or `software` is not.
 */
function isHardwareProtected(keyProtection: string[] | undefined): boolean {
  const hardware = new Set(['hardware', 'tee', 'secure_element']);
  return (keyProtection?.length ?? 0) > 0 && keyProtection!.every((k) => hardware.has(k));
}

function oneLine(subject: string): string {
  return subject.replace(/\n/g, ', ');
}

/** `*.pem` at the top of `dir` for every format; `<format>/*.pem` for that format only. */
async function readRootsDir(dir: string): Promise<TrustRoot[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new ConfigError(`The attestation roots directory ${dir} cannot be read.`, { cause: err });
  }
  const roots: TrustRoot[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isFile() && isPem(entry.name)) {
      roots.push(await readRoot(join(dir, entry.name)));
    } else if (entry.isDirectory()) {
      // A typo such as `tmp/` would otherwise silently apply to nothing.
      if (!(ATTESTATION_FORMATS as readonly string[]).includes(entry.name)) {
        throw new ConfigError(
          `${join(dir, entry.name)} is not named after an attestation format (${ATTESTATION_FORMATS.join(', ')}).`,
        );
      }
      const files = (await readdir(join(dir, entry.name), { withFileTypes: true }))
        .filter((f) => f.isFile() && isPem(f.name))
        .sort((a, b) => a.name.localeCompare(b.name));
      for (const file of files) {
        roots.push(await readRoot(join(dir, entry.name, file.name), [entry.name]));
      }
    }
  }
  return roots;
}

function isPem(name: string): boolean {
  return name.toLowerCase().endsWith('.pem');
}

async function readRoot(path: string, formats?: string[]): Promise<TrustRoot> {
  const pem = await readFile(path, 'utf8');
  if (pemToDerCertificates(pem).length === 0) throw new ConfigError(`${path} holds no PEM certificate.`);
  return { pem, ...(formats ? { formats } : {}) };
}
