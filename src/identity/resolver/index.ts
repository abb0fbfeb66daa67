/**
 * DID resolution for Trustgate: did:ethr (our chain and any configured others, from a cached event
 * index), did:key (Veramo's resolver, pure computation) and did:web (through safe-fetch).
 *
 * `resolve()` answers a W3C DID resolution result or throws a typed error (./errors.ts, ../../net/errors.ts);
 * `resolvable()` wraps it in the did-resolver `Resolvable` shape did-jwt and Veramo expect, where errors
 * become `didResolutionMetadata.error`. Documents are frozen: they are shared with the cache.
 */
import { getDidKeyResolver } from '@veramo/did-provider-key';
import {
  type DIDResolutionOptions,
  type DIDResolutionResult,
  type ParsedDID,
  parse,
  type Resolvable,
} from 'did-resolver';
import type { ChainConnection } from '../../chain/index.ts';
import { TrustgateError } from '../../errors.ts';
import { createSafeFetch, type SafeFetchOptions } from '../../net/safe-fetch.ts';
import {
  DidResolutionError,
  InvalidDidError,
  MethodNotSupportedError,
  UnknownNetworkError,
} from './errors.ts';
import { type EthrIndexOptions, type EthrNetworkConfig, EthrNetworkIndex } from './ethr-index.ts';
import { resolveDidWeb } from './web.ts';

export { DidResolutionError } from './errors.ts';
export type { EthrNetworkConfig } from './ethr-index.ts';

/** Representations a caller can ask for; `application/did+json` omits `@context`. */
export type DidAccept = 'application/did+json' | 'application/did+ld+json';

export interface ResolveOptions {
  accept?: DidAccept;
  /** did:ethr only: the document as of this block. */
  versionId?: number;
}

export interface DidResolverOptions {
  /** did:ethr networks; the first is usually ours (see `ethrNetworkOf`). */
  ethr: EthrNetworkConfig[];
  /** Watcher and cache settings of every did:ethr network. */
  ethrIndex?: EthrIndexOptions;
  /** did:web fetch settings; `allowHosts` entries are also fetched over http (development only). */
  web?: SafeFetchOptions;
}

/** The DID methods resolved here. */
export const SUPPORTED_METHODS = ['ethr', 'key', 'web'] as const;

/**
 * A DID as W3C DID Core §3.1 defines it (no path, query or fragment): `did:` method-name `:`
 * method-specific-id, where the id is idchars (ALPHA, DIGIT, `.`, `-`, `_`, pct-encoded) and colons,
 * not ending in a colon.
 */
const DID_SYNTAX =
  /^did:[a-z0-9]+:(?:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+$/;
const MAX_DID_LENGTH = 2048;

/** True when `did` is a syntactically valid DID. */
export function isDid(did: string): boolean {
  return did.length <= MAX_DID_LENGTH && DID_SYNTAX.test(did);
}

/** The did:ethr network entry for our chain: `did:ethr:0x<chainId>:…`, plus `hardhat` on 31337. */
export function ethrNetworkOf(chain: ChainConnection, names: readonly string[] = []): EthrNetworkConfig {
  return {
    names: [...(chain.chainId === 31337 ? ['hardhat'] : []), ...names],
    chainId: chain.chainId,
    registryAddress: chain.registryAddress,
    rpc: chain.provider,
  };
}

/** Resolves DIDs of every supported method. Start it before use (did:ethr watchers), stop it at shutdown. */
export class DidResolverService {
  private readonly networks = new Map<string, EthrNetworkIndex>();
  private readonly indexes: EthrNetworkIndex[] = [];
  private readonly keyResolver = getDidKeyResolver().key;
  private readonly webFetch: ReturnType<typeof createSafeFetch>;
  private readonly httpHosts: readonly string[];

  constructor(options: DidResolverOptions) {
    for (const network of options.ethr) {
      const index = new EthrNetworkIndex(network, options.ethrIndex);
      this.indexes.push(index);
      for (const name of [`0x${network.chainId.toString(16)}`, ...(network.names ?? [])]) {
        if (!this.networks.has(name)) this.networks.set(name, index);
      }
    }
    this.webFetch = createSafeFetch({
      ...options.web,
      headers: { accept: 'application/did+ld+json, application/did+json, application/json' },
    });
    this.httpHosts = options.web?.allowHosts ?? [];
  }

  /** Starts the did:ethr block watchers. */
  async start(): Promise<void> {
    await Promise.all(this.indexes.map((i) => i.start()));
  }

  /** Stops the watchers. */
  async stop(): Promise<void> {
    await Promise.all(this.indexes.map((i) => i.stop()));
  }

  /** Brings every did:ethr cache up to the current head now (e.g. right after our own transaction). */
  async sync(): Promise<void> {
    await Promise.all(this.indexes.map((i) => i.sync()));
  }

  /** The did:ethr index serving `network` (a name or hex chain id), for tests and diagnostics. */
  ethrIndex(network: string): EthrNetworkIndex | undefined {
    return this.networks.get(network);
  }

  /** Resolves a DID (not a DID URL). */
  async resolve(did: string, options: ResolveOptions = {}): Promise<DIDResolutionResult> {
    if (!isDid(did)) throw new InvalidDidError();
    const method = did.slice(4, did.indexOf(':', 4));
    switch (method) {
      case 'ethr':
        return this.resolveEthr(did, options);
      case 'key':
        return this.resolveKey(did, options);
      case 'web':
        return resolveDidWeb(did, (url) => this.webFetch(url), {
          httpHosts: this.httpHosts,
          accept: options.accept,
        });
      default:
        throw new MethodNotSupportedError(method, SUPPORTED_METHODS);
    }
  }

  /** A did-resolver `Resolvable` (for did-jwt, Veramo): DID URLs accepted, errors in the metadata. */
  resolvable(): Resolvable {
    return {
      resolve: async (didUrl: string, options: DIDResolutionOptions = {}) => {
        const parsed = parse(didUrl);
        if (!parsed) return failure('invalidDid', 'Not a DID.');
        const versionId = versionOf(parsed);
        try {
          const accept = options.accept === 'application/did+json' ? 'application/did+json' : undefined;
          return await this.resolve(parsed.did, {
            accept,
            ...(versionId === undefined ? {} : { versionId }),
          });
        } catch (err) {
          if (err instanceof DidResolutionError) return failure(err.didError, err.message);
          if (err instanceof TrustgateError) return failure(err.code, err.expose ? err.message : err.title);
          return failure('internalError', 'Resolution failed.');
        }
      },
    };
  }

  private resolveEthr(did: string, options: ResolveOptions): Promise<DIDResolutionResult> {
    const msid = did.slice('did:ethr:'.length);
    const split = msid.lastIndexOf(':');
    const network = split < 0 ? 'mainnet' : msid.slice(0, split);
    const identifier = split < 0 ? msid : msid.slice(split + 1);
    if (!/^0x(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{66})$/.test(identifier)) {
      throw new InvalidDidError('A did:ethr identifier is a 0x address or a compressed public key.');
    }
    const index = this.networks.get(network);
    if (!index) throw new UnknownNetworkError(network);
    return index.resolve({ did, identifier, accept: options.accept, versionId: options.versionId });
  }

  private async resolveKey(did: string, options: ResolveOptions): Promise<DIDResolutionResult> {
    const result = await this.keyResolver(
      did,
      { did, method: 'key', id: did.slice(8), didUrl: did },
      this.resolvable(),
      {
        accept: options.accept,
      },
    );
    if (result.didResolutionMetadata.error || !result.didDocument) {
      throw new InvalidDidError('The did:key does not encode a supported public key.');
    }
    // Veramo puts contentType in the document metadata; it belongs in the resolution metadata.
    return {
      didDocument: result.didDocument,
      didDocumentMetadata: {},
      didResolutionMetadata: { contentType: options.accept ?? 'application/did+ld+json' },
    };
  }
}

function versionOf(parsed: ParsedDID): number | undefined {
  if (!parsed.query) return undefined;
  const value = new URLSearchParams(parsed.query).get('versionId');
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

function failure(error: string, message: string): DIDResolutionResult {
  return { didResolutionMetadata: { error, message }, didDocument: null, didDocumentMetadata: {} };
}
