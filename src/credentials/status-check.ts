/**
 * Checking a credential's Bitstring Status List entries (W3C Bitstring Status List v1.0, §3.2).
 *
 * For each `credentialStatus` of type `BitstringStatusListEntry`:
 * 1. A list of this service (`local.publicUrl`) is read in process: no HTTP to ourselves, always fresh.
 *    Any other list is fetched through safe-fetch (DESIGN.md invariant 6: private and loopback
 *    addresses refused unless allow-listed, a deadline, a size cap) and cached until the earliest of its
 *    `validUntil`, the response's `max-age` and `maxCacheSeconds`.
 * 2. The list credential must verify as a vc+jwt (signature, validity period), be issued by the checked
 *    credential's issuer (else anyone could vouch for a credential's status), name itself by the URL it
 *    was fetched from, be a `BitstringStatusListCredential`, and carry the entry's `statusPurpose`.
 * 3. `encodedList` is decoded with the decompression cap (zip bombs), then the bit is read.
 * A set `revocation` bit throws `credential_revoked`, a set `suspension` bit `credential_suspended`;
 * bits of other purposes are reported, not thrown.
 */
import { TrustgateError } from '../errors.ts';
import type { SafeFetchOptions, SafeResponse } from '../net/safe-fetch.ts';
import { decodeBitstring, getBit, MAX_DECODED_BYTES, StatusIndexOutOfRangeError } from './bitstring.ts';
import type { StatusListPublisher } from './status-publication.ts';
import { type IssuerResolver, type VerifiableCredentialV2, verifyVcJwt } from './vc-jose.ts';

export { StatusIndexOutOfRangeError } from './bitstring.ts';

/** A safe fetch, as `createSafeFetch` returns it. */
export type SafeFetch = (url: string | URL, options?: SafeFetchOptions) => Promise<SafeResponse>;

/** 400 `credential_revoked`: the credential's revocation bit is set. */
export class CredentialRevokedError extends TrustgateError {
  constructor() {
    super('credential_revoked', 400, 'Credential revoked', 'The credential has been revoked.');
  }
}

/** 400 `credential_suspended`: the credential's suspension bit is set. */
export class CredentialSuspendedError extends TrustgateError {
  constructor() {
    super('credential_suspended', 400, 'Credential suspended', 'The credential is suspended.');
  }
}

/**
 * `status_list_unavailable`: the list could not be obtained. 400 when the list URL itself is refused
 * (e.g. `ssrf_refused`: the credential points somewhere we never connect) or names no list of ours; 502
 * when the upstream failed (504 on a timeout). `fetchError` carries the underlying code.
 */
export class StatusListUnavailableError extends TrustgateError {
  constructor(detail: string, fetchError: string, status: number, cause?: unknown) {
    super('status_list_unavailable', status, 'Status list unavailable', detail, {
      cause,
      extensions: { fetchError },
    });
  }
}

/** 400 `status_list_invalid`: the list credential does not verify, or does not fit the entry. */
export class StatusListInvalidError extends TrustgateError {
  constructor(detail: string, cause?: unknown) {
    super('status_list_invalid', 400, 'Invalid status list', detail, { cause });
  }
}

/** The outcome for one status entry. */
export interface StatusEntryResult {
  statusPurpose: string;
  statusListCredential: string;
  statusListIndex: number;
  /** True when the bit is set (revoked / suspended / the purpose's meaning). */
  set: boolean;
}

export interface StatusCheckResult {
  entries: StatusEntryResult[];
}

export interface StatusCheckerOptions {
  /** Fetches foreign lists (`createSafeFetch(...)`: allow-lists, timeouts and DNS come from there). */
  fetch: SafeFetch;
  /** Resolves list issuers' DIDs. */
  resolver: IssuerResolver;
  /** This service's lists, read in process. */
  local?: { publicUrl: string; publisher: Pick<StatusListPublisher, 'credential'> };
  /** Longest time a fetched list is trusted without refetching (default 300 s). */
  maxCacheSeconds?: number;
  /** Largest list credential fetched, in bytes (default 1 MiB). */
  maxResponseBytes?: number;
  /** Largest decoded bitstring, in bytes (default 16 MiB). */
  maxDecodedBytes?: number;
  /** Fetched lists kept at most (default 256). */
  maxCachedLists?: number;
  /**
   * Decoded bytes of fetched lists kept at most (default 64 MiB): without it, credentials pointing at
   * many large lists could pin `maxCachedLists` × `maxDecodedBytes` of memory.
   */
  maxCacheBytes?: number;
  /** Clock (tests). */
  now?: () => Date;
}

/** A verified, decoded list. */
interface LoadedList {
  issuer: string;
  purpose: string;
  bits: Uint8Array;
}

interface CacheEntry {
  list: Promise<LoadedList>;
  /** Epoch ms; unknown until the fetch settles. */
  expiresAt: number;
  /** Decoded size; 0 until the fetch settles. */
  bytes: number;
}

const ENTRY_TYPE = 'BitstringStatusListEntry';
const LIST_TYPE = 'BitstringStatusListCredential';

/** Checks credentials against their status lists; see the module comment. */
export class StatusChecker {
  readonly #options: StatusCheckerOptions;
  readonly #now: () => Date;
  readonly #localPrefix: string | undefined;
  readonly #localOrigin: string | undefined;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(options: StatusCheckerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    if (options.local) {
      const base = options.local.publicUrl.replace(/\/+$/, '');
      this.#localPrefix = `${base}/status/`;
      this.#localOrigin = new URL(base).origin;
    }
  }

  /**
   * Checks every `BitstringStatusListEntry` of `credential` (a verified VC 1.1 or 2.0 credential). Throws
   * `credential_revoked`, `credential_suspended`, `status_list_unavailable`, `status_list_invalid` or
   * `status_index_out_of_range`; otherwise returns what each entry's bit says.
   */
  async check(credential: unknown): Promise<StatusCheckResult> {
    // Only `issuer` and `credentialStatus` matter here, so VC 1.1 (jwt_vc) and 2.0 credentials both fit.
    const { issuer: rawIssuer, credentialStatus } = (credential ?? {}) as {
      issuer?: unknown;
      credentialStatus?: unknown;
    };
    const issuer =
      typeof rawIssuer === 'string'
        ? rawIssuer
        : String((rawIssuer as { id?: unknown } | undefined)?.id ?? '');
    const statuses = (credentialStatus === undefined ? [] : [credentialStatus].flat()) as Array<{
      type?: unknown;
    }>;
    const entries: StatusEntryResult[] = [];
    for (const status of statuses) {
      if (status.type !== ENTRY_TYPE) continue;
      const entry = status as Record<string, unknown>;
      const purpose = String(entry.statusPurpose);
      const url = String(entry.statusListCredential);
      const index = Number(entry.statusListIndex);
      if (entry.statusSize !== undefined && Number(entry.statusSize) !== 1) {
        throw new StatusListInvalidError('Only 1-bit status entries (statusSize 1) are supported.');
      }
      const list = await this.#load(url);
      if (list.issuer !== issuer) {
        throw new StatusListInvalidError('The status list is not issued by the credential issuer.');
      }
      if (list.purpose !== purpose) {
        throw new StatusListInvalidError(`The status list's purpose is not ${purpose}.`);
      }
      if (!Number.isSafeInteger(index) || index >= list.bits.length * 8) {
        throw new StatusIndexOutOfRangeError(index, list.bits.length * 8);
      }
      const set = getBit(list.bits, index);
      if (set && purpose === 'revocation') throw new CredentialRevokedError();
      if (set && purpose === 'suspension') throw new CredentialSuspendedError();
      entries.push({ statusPurpose: purpose, statusListCredential: url, statusListIndex: index, set });
    }
    return { entries };
  }

  /** `check` in the shape of `verifyVcJwt`'s `checkStatus` hook. */
  readonly hook = async (credential: VerifiableCredentialV2): Promise<void> => {
    await this.check(credential);
  };

  async #load(url: string): Promise<LoadedList> {
    const local = this.#localListId(url);
    if (local !== undefined) return this.#loadLocal(local);
    const now = this.#now().getTime();
    const cached = this.#cache.get(url);
    if (cached && now < cached.expiresAt) return cached.list;

    // Until the fetch settles, concurrent checks share it.
    const entry = { expiresAt: Number.POSITIVE_INFINITY, bytes: 0 } as CacheEntry;
    entry.list = this.#fetchList(url).then(
      ({ list, expiresAt }) => {
        entry.expiresAt = expiresAt;
        entry.bytes = list.bits.length;
        this.#evict();
        return list;
      },
      (err: unknown) => {
        if (this.#cache.get(url) === entry) this.#cache.delete(url);
        throw err;
      },
    );
    this.#cache.delete(url);
    this.#cache.set(url, entry);
    this.#evict();
    return entry.list;
  }

  /** Drops the oldest fetched lists until both cache bounds hold (the newest one always stays). */
  #evict(): void {
    const maxLists = this.#options.maxCachedLists ?? 256;
    const maxBytes = this.#options.maxCacheBytes ?? 64 * 1024 * 1024;
    let bytes = 0;
    for (const entry of this.#cache.values()) bytes += entry.bytes;
    while (this.#cache.size > 1 && (this.#cache.size > maxLists || bytes > maxBytes)) {
      const [oldest, entry] = this.#cache.entries().next().value ?? [];
      if (oldest === undefined || entry === undefined) break;
      this.#cache.delete(oldest);
      bytes -= entry.bytes;
    }
  }

  /** The list id when `url` is one of ours; throws when it is on our origin but names no list. */
  #localListId(url: string): string | undefined {
    if (!this.#localPrefix || !this.#localOrigin) return undefined;
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      throw new StatusListUnavailableError('The status list URL is not a URL.', 'invalid_url', 400);
    }
    if (origin !== this.#localOrigin) return undefined;
    const rest = url.startsWith(this.#localPrefix) ? url.slice(this.#localPrefix.length) : '';
    if (!/^[^/?#]+$/.test(rest)) {
      throw new StatusListUnavailableError(
        'The status list URL names no status list of this service.',
        'status_list_not_found',
        400,
      );
    }
    try {
      return decodeURIComponent(rest);
    } catch {
      throw new StatusListUnavailableError('The status list URL is malformed.', 'status_list_not_found', 400);
    }
  }

  async #loadLocal(listId: string): Promise<LoadedList> {
    const publisher = this.#options.local?.publisher;
    if (!publisher) throw new Error('invalid_setup: no local publisher');
    let published: Awaited<ReturnType<typeof publisher.credential>>;
    try {
      published = await publisher.credential(listId);
    } catch (err) {
      if (err instanceof TrustgateError && err.status < 500) {
        throw new StatusListUnavailableError('The status list does not exist.', err.code, 400, err);
      }
      throw err;
    }
    // Our own data, just signed: no signature to check, but the same decoding rules.
    const subject = published.credential.credentialSubject;
    return {
      issuer: published.credential.issuer,
      purpose: subject.statusPurpose,
      bits: this.#decode(subject.encodedList),
    };
  }

  async #fetchList(url: string): Promise<{ list: LoadedList; expiresAt: number }> {
    let response: SafeResponse;
    try {
      response = await this.#options.fetch(url, {
        method: 'GET',
        maxBytes: this.#options.maxResponseBytes ?? 1024 * 1024,
        headers: { accept: 'application/vc+jwt, application/jwt;q=0.5' },
      });
    } catch (err) {
      if (err instanceof TrustgateError) {
        throw new StatusListUnavailableError(
          'The status list could not be fetched.',
          err.code,
          err.status < 500 ? 400 : err.status,
          err,
        );
      }
      throw new StatusListUnavailableError('The status list could not be fetched.', 'fetch_failed', 502, err);
    }
    const fetchedAt = this.#now().getTime();
    if (response.status !== 200) {
      throw new StatusListUnavailableError(
        `The status list server answered ${response.status}.`,
        'upstream_status',
        502,
      );
    }
    const jws = response.text().trim();
    let verified: Awaited<ReturnType<typeof verifyVcJwt>>;
    try {
      verified = await verifyVcJwt(jws, { resolver: this.#options.resolver, now: this.#now() });
    } catch (err) {
      if (err instanceof TrustgateError && err.status >= 500) throw err;
      const code = err instanceof TrustgateError ? err.code : 'invalid';
      throw new StatusListInvalidError(`The status list credential does not verify (${code}).`, err);
    }
    const credential = verified.credential;
    const types = [credential.type].flat();
    if (!types.includes(LIST_TYPE)) {
      throw new StatusListInvalidError(`The status list is not a ${LIST_TYPE}.`);
    }
    // A list signed by the right issuer but served for another URL (another list of theirs) must not count.
    if (credential.id !== undefined && credential.id !== url) {
      throw new StatusListInvalidError('The status list credential names another URL.');
    }
    const subject = [credential.credentialSubject].flat()[0] as Record<string, unknown> | undefined;
    if (subject?.type !== 'BitstringStatusList' || typeof subject.statusPurpose !== 'string') {
      throw new StatusListInvalidError('The status list credential has no BitstringStatusList subject.');
    }
    const list: LoadedList = {
      issuer: verified.issuer,
      purpose: subject.statusPurpose,
      bits: this.#decode(subject.encodedList),
    };
    return { list, expiresAt: this.#expiry(fetchedAt, credential.validUntil, response) };
  }

  #decode(encodedList: unknown): Uint8Array {
    try {
      return decodeBitstring(encodedList as string, {
        maxBytes: this.#options.maxDecodedBytes ?? MAX_DECODED_BYTES,
      });
    } catch (err) {
      throw new StatusListInvalidError('The status list has no valid encodedList.', err);
    }
  }

  /** The earliest of `validUntil`, the response's `max-age` and `maxCacheSeconds`. */
  #expiry(fetchedAt: number, validUntil: string | undefined, response: SafeResponse): number {
    let expiresAt = fetchedAt + (this.#options.maxCacheSeconds ?? 300) * 1000;
    if (validUntil !== undefined) expiresAt = Math.min(expiresAt, Date.parse(validUntil));
    const cacheControl = String(response.headers['cache-control'] ?? '');
    if (/\b(no-store|no-cache)\b/i.test(cacheControl)) return fetchedAt;
    const maxAge = /\bmax-age\s*=\s*"?(\d+)"?/i.exec(cacheControl)?.[1];
    if (maxAge !== undefined) expiresAt = Math.min(expiresAt, fetchedAt + Number(maxAge) * 1000);
    return expiresAt;
  }
}
