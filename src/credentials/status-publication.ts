/**
 * Publishing a tenant's Bitstring Status Lists as signed `BitstringStatusListCredential`s
 * (VC 2.0 secured as `application/vc+jwt`, signed by the list's tenant issuer), and the
 * `credentialStatus` entries that point into them.
 *
 * Signing windows: a list is signed with `validFrom` at the start of the current window (default 5 min)
 * and `validUntil` one validity period (default 1 h) after it. Within one window an unchanged list is
 * therefore the same credential on every instance (ES256K signing through the KMS is deterministic,
 * RFC 6979), so the ETag `"<listId>.<version>.<window>"` holds across a load balancer, and repeated
 * GETs reuse the cached signature instead of signing again. A bit change bumps the version: a new
 * credential is signed on the next read.
 */

import type { IdentityAgent } from '../identity/agent.ts';
import type { Store } from '../store/index.ts';
import type { TenantIssuers } from './issuers.ts';
import {
  type StatusAllocation,
  StatusListNotFoundError,
  type StatusLists,
  type StatusPurpose,
} from './status-lists.ts';
import { issueVcJwt, managedKeySigner, VC_V2_CONTEXT } from './vc-jose.ts';

/** The spec's `credentialStatus` entry of a credential. */
export interface BitstringStatusListEntry {
  id: string;
  type: 'BitstringStatusListEntry';
  statusPurpose: StatusPurpose;
  /** The index as a decimal string (the spec's type). */
  statusListIndex: string;
  /** URL of the `BitstringStatusListCredential`. */
  statusListCredential: string;
}

/** The unsigned `BitstringStatusListCredential` (the vc+jwt's payload). */
export interface BitstringStatusListCredential {
  '@context': string[];
  id: string;
  type: ['VerifiableCredential', 'BitstringStatusListCredential'];
  issuer: string;
  validFrom: string;
  validUntil: string;
  credentialSubject: {
    id: string;
    type: 'BitstringStatusList';
    statusPurpose: StatusPurpose;
    encodedList: string;
  };
}

/** A signed status list, ready to serve. */
export interface PublishedStatusList {
  listId: string;
  tenantId: string;
  /** The list's version (bumped on every bit change). */
  version: number;
  /** The compact JWS (`application/vc+jwt`). */
  jws: string;
  /** The credential inside `jws`. */
  credential: BitstringStatusListCredential;
  /** Strong ETag: list id, version and signing window. */
  etag: string;
  validFrom: Date;
  validUntil: Date;
  /** When the next signing window starts: a cache should come back by then. */
  refreshAt: Date;
}

export interface StatusListPublisherDeps {
  /** Reads a list's version without its bits, so a cached signature is reused without decoding. */
  store: Store;
  statusLists: StatusLists;
  issuers: TenantIssuers;
  agent: IdentityAgent;
  /** The service's public base URL (no trailing slash needed); lists live at `<publicUrl>/status/<id>`. */
  publicUrl: string;
  /** How long a signed list stays valid (default 3600 s). */
  validitySeconds?: number;
  /** Signing window: an unchanged list is re-signed at most once per window (default 300 s). */
  windowSeconds?: number;
  /** Clock (tests). */
  now?: () => Date;
}

/** Signed lists kept in memory; beyond this the oldest is dropped (it is simply signed again). */
const MAX_CACHED_LISTS = 1000;

/** Publishes status lists as signed credentials; see the module comment. */
export class StatusListPublisher {
  readonly publicUrl: string;
  readonly #deps: StatusListPublisherDeps;
  readonly #validityMs: number;
  readonly #windowMs: number;
  readonly #now: () => Date;
  readonly #cache = new Map<string, { key: string; published: Promise<PublishedStatusList> }>();

  constructor(deps: StatusListPublisherDeps) {
    this.#deps = deps;
    this.publicUrl = deps.publicUrl.replace(/\/+$/, '');
    this.#validityMs = (deps.validitySeconds ?? 3600) * 1000;
    this.#windowMs = (deps.windowSeconds ?? 300) * 1000;
    if (!(this.#windowMs > 0 && this.#windowMs < this.#validityMs)) {
      throw new RangeError('windowSeconds must be positive and shorter than validitySeconds.');
    }
    this.#now = deps.now ?? (() => new Date());
  }

  /** The URL of a list's status list credential. */
  listUrl(listId: string): string {
    return `${this.publicUrl}/status/${encodeURIComponent(listId)}`;
  }

  /** The list id of `url` when it names one of this service's status lists, else undefined. */
  listIdOf(url: string): string | undefined {
    const prefix = `${this.publicUrl}/status/`;
    if (!url.startsWith(prefix)) return undefined;
    const rest = url.slice(prefix.length);
    if (rest === '' || rest.includes('/') || rest.includes('?') || rest.includes('#')) return undefined;
    try {
      return decodeURIComponent(rest);
    } catch {
      return undefined;
    }
  }

  /** The `credentialStatus` entry for an allocated index. */
  entryFor(allocation: StatusAllocation): BitstringStatusListEntry {
    const listUrl = this.listUrl(allocation.listId);
    return {
      id: `${listUrl}#${allocation.index}`,
      type: 'BitstringStatusListEntry',
      statusPurpose: allocation.purpose,
      statusListIndex: String(allocation.index),
      statusListCredential: listUrl,
    };
  }

  /**
   * The signed `BitstringStatusListCredential` of `listId`, signed at most once per list version and
   * signing window. Throws `status_list_not_found` (404) for an unknown list.
   */
  async credential(listId: string): Promise<PublishedStatusList> {
    const row = await this.#deps.store.db.statusList.findUnique({
      where: { id: listId },
      select: { version: true },
    });
    if (!row) throw new StatusListNotFoundError(listId);
    const windowStart = Math.floor(this.#now().getTime() / this.#windowMs) * this.#windowMs;
    const key = `${row.version}.${windowStart}`;
    const cached = this.#cache.get(listId);
    if (cached && cached.key === key) return cached.published;

    const published = this.#sign(listId, windowStart);
    this.#cache.delete(listId);
    this.#cache.set(listId, { key, published });
    // A failed signing must not stick.
    published.catch(() => {
      if (this.#cache.get(listId)?.published === published) this.#cache.delete(listId);
    });
    if (this.#cache.size > MAX_CACHED_LISTS) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    const result = await published;
    // The list may have changed between the version read and the bits read: cache under what was signed.
    if (result.version !== row.version && this.#cache.get(listId)?.published === published) {
      this.#cache.set(listId, { key: `${result.version}.${windowStart}`, published });
    }
    return result;
  }

  async #sign(listId: string, windowStart: number): Promise<PublishedStatusList> {
    const list = await this.#deps.statusLists.encodedList(listId);
    const issuer = await this.#deps.issuers.get(list.tenantId);
    const id = this.listUrl(listId);
    const validFrom = new Date(windowStart);
    const validUntil = new Date(windowStart + this.#validityMs);
    const credential: BitstringStatusListCredential = {
      '@context': [VC_V2_CONTEXT],
      id,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: issuer.did,
      validFrom: validFrom.toISOString(),
      validUntil: validUntil.toISOString(),
      credentialSubject: {
        id: `${id}#list`,
        type: 'BitstringStatusList',
        statusPurpose: list.purpose,
        encodedList: list.encodedList,
      },
    };
    const jws = await issueVcJwt({
      credential,
      issuerDid: issuer.did,
      kid: issuer.verificationMethod,
      sign: managedKeySigner(this.#deps.agent, issuer.kid),
    });
    return {
      listId,
      tenantId: list.tenantId,
      version: list.version,
      jws,
      credential,
      etag: `"${listId}.${list.version}.${windowStart / 1000}"`,
      validFrom,
      validUntil,
      refreshAt: new Date(windowStart + this.#windowMs),
    };
  }
}
