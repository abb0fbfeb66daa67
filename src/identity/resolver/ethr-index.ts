/**
 * did:ethr resolution from an in-memory index of ERC-1056 registry events, kept fresh by a block watcher.
 *
 * Stock ethr-did-resolver walks an identity's `previousChange` chain: one `eth_getLogs` per changed
 * block, so its cost grows with the DID's history. Here:
 * - Uncached: ONE `eth_getLogs` for the identity's topic over the whole range, plus one block header
 *   for `updated` (none when the DID never changed). Two round trips whatever the history.
 * - Cached: the identity's events stay in memory; a watcher polls the head and fetches every registry
 *   log since its last block in one `eth_getLogs`, appending to the identities it tracks. A cached read
 *   is pure CPU; the document is rebuilt only after a new event or when a `validTo` lapses.
 * - Freshness: reads trust the cache only while the watcher's last successful poll is recent
 *   (`maxStalenessMs`); otherwise they sync first, and fail (503) rather than serve a stale document.
 * Reorgs are not handled: use a chain whose head is final (the embedded chain) or accept their risk.
 */
import type { DIDResolutionResult } from 'did-resolver';
import { getAddress, toQuantity, zeroPadValue } from 'ethers';
import { interpretIdentifier } from 'ethr-did-resolver';
import { ServiceUnavailableError } from '../../errors.ts';
import { DidNotFoundError, InvalidDidError } from './errors.ts';
import {
  blockIsoDate,
  buildDocument,
  compareEvents,
  decodeLogs,
  deepFreeze,
  documentExpiry,
  type RawLog,
  type RegistryEvent,
} from './ethr-document.ts';

/** The JSON-RPC surface the index needs (an ethers `JsonRpcApiProvider` fits). */
export interface RpcClient {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/** One did:ethr network. */
export interface EthrNetworkConfig {
  /** Names used in DIDs (`did:ethr:<name>:0x…`); the hex chain id (`0x7a69`) is always accepted. */
  names?: readonly string[];
  chainId: number;
  /** The ERC-1056 registry on this chain. */
  registryAddress: string;
  rpc: RpcClient;
  /** First block to scan for events, e.g. the registry's deployment block (default 0). */
  startBlock?: number;
}

export interface EthrIndexOptions {
  /** Watcher poll interval (default 250 ms). */
  pollIntervalMs?: number;
  /** Cached reads are trusted only this long after the last successful poll (default 2000 ms). */
  maxStalenessMs?: number;
  /** Identities kept in memory, least recently used evicted first (default 10,000). */
  maxIdentities?: number;
  /** Called when a poll fails (the watcher retries on the next tick). */
  onError?: (err: unknown) => void;
}

/** What a resolution needs besides the network. */
export interface EthrResolveRequest {
  did: string;
  /** The method-specific identifier after the network: `0x…` address or compressed public key. */
  identifier: string;
  accept?: 'application/did+json' | 'application/did+ld+json';
  /** Resolve the document as of this block (`?versionId=`). */
  versionId?: number;
}

interface IdentityEntry {
  address: string;
  events: RegistryEvent[];
  /** Timestamp of the block of the latest event. */
  lastEventTime?: number;
  loaded: boolean;
  ready: Promise<void>;
  /** Events the watcher saw while the initial load was in flight. */
  pending: RegistryEvent[];
  docs: Map<string, CachedDocument>;
}

interface CachedDocument {
  didDocument: DIDResolutionResult['didDocument'];
  didDocumentMetadata: DIDResolutionResult['didDocumentMetadata'];
  /** Unix second from which the document must be rebuilt (a validTo lapses). */
  expiresAt: number;
}

/** The JSON-LD contexts ethr-did-resolver adds for `application/did+ld+json`. */
const LD_CONTEXT = deepFreeze([
  'https://www.w3.org/ns/did/v1',
  'https://w3id.org/security/suites/secp256k1recovery-2020/v2',
  'https://w3id.org/security/v3-unstable',
]);

const MAX_BLOCK_TIMES = 4096;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The event index of one did:ethr network. */
export class EthrNetworkIndex {
  readonly chainId: number;
  readonly registryAddress: string;
  private readonly rpc: RpcClient;
  private readonly startBlock: number;
  private readonly pollIntervalMs: number;
  private readonly maxStalenessMs: number;
  private readonly maxIdentities: number;
  private readonly onError: (err: unknown) => void;
  private readonly identities = new Map<string, IdentityEntry>();
  private readonly identifiers = new Map<string, { key: string; address: string; controllerKey?: string }>();
  private readonly blockTimes = new Map<number, number>();
  /** Last block whose registry logs the watcher has applied (-1: not yet known). */
  private cursor = -1;
  private lastSyncAt = Number.NEGATIVE_INFINITY;
  private syncing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(config: EthrNetworkConfig, options: EthrIndexOptions = {}) {
    this.chainId = config.chainId;
    this.registryAddress = getAddress(config.registryAddress);
    this.rpc = config.rpc;
    this.startBlock = config.startBlock ?? 0;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.maxStalenessMs = options.maxStalenessMs ?? 2000;
    this.maxIdentities = options.maxIdentities ?? 10_000;
    this.onError = options.onError ?? (() => {});
  }

  /** Starts the block watcher (first poll awaited, so a started index is fresh). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.sync();
    this.schedule();
  }

  /** Stops the watcher; an in-flight poll finishes on its own. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.syncing?.catch(() => {});
  }

  /** Applies every registry event up to the current head now (e.g. after our own transaction). */
  sync(): Promise<void> {
    this.syncing ??= this.poll().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /** Number of identities held in memory. */
  get size(): number {
    return this.identities.size;
  }

  /** Drops every cached identity and block time (the next resolution of each is uncached). */
  clear(): void {
    this.identities.clear();
    this.blockTimes.clear();
  }

  /** Resolves a did:ethr on this network as ethr-did-resolver would at the current head. */
  async resolve(request: EthrResolveRequest): Promise<DIDResolutionResult> {
    if (Date.now() - this.lastSyncAt > this.maxStalenessMs) {
      try {
        await this.sync();
      } catch (err) {
        throw new ServiceUnavailableError('The chain did not answer.', { cause: err });
      }
    }
    const id = this.identify(request.identifier);
    let entry = this.identities.get(id.key);
    if (entry) {
      // Map order is the LRU order: re-insert on use.
      this.identities.delete(id.key);
      this.identities.set(id.key, entry);
    } else {
      entry = this.track(id.key, id.address);
    }
    if (!entry.loaded) {
      try {
        await entry.ready;
      } catch (err) {
        throw new ServiceUnavailableError('The chain did not answer.', { cause: err });
      }
    }
    const accept = request.accept;
    const didResolutionMetadata = { contentType: accept ?? 'application/did+ld+json' };
    const document =
      request.versionId === undefined
        ? this.latestDocument(entry, request.did, id.controllerKey)
        : await this.versionedDocument(entry, request.did, id.controllerKey, request.versionId);
    return {
      didDocumentMetadata: document.didDocumentMetadata,
      didResolutionMetadata,
      didDocument:
        accept === 'application/did+json'
          ? document.didDocument
          : { ...document.didDocument!, '@context': LD_CONTEXT },
    } as DIDResolutionResult;
  }

  private identify(identifier: string) {
    let id = this.identifiers.get(identifier);
    if (!id) {
      let interpreted: { address: string; publicKey?: string };
      try {
        interpreted = interpretIdentifier(identifier);
      } catch {
        throw new InvalidDidError('The did:ethr identifier is not a valid address or public key.');
      }
      id = {
        key: interpreted.address.toLowerCase(),
        address: interpreted.address,
        controllerKey: interpreted.publicKey,
      };
      if (this.identifiers.size >= this.maxIdentities) this.identifiers.clear();
      this.identifiers.set(identifier, id);
    }
    return id;
  }

  private latestDocument(entry: IdentityEntry, did: string, controllerKey: string | undefined) {
    const now = nowSeconds();
    const cached = entry.docs.get(did);
    if (cached && now < cached.expiresAt) return cached;
    const built = buildDocument(did, entry.address, controllerKey, entry.events, this.chainId, 'latest', now);
    const metadata: Record<string, unknown> = built.deactivated ? { deactivated: true } : {};
    if (built.versionId !== 0) {
      metadata.versionId = String(built.versionId);
      metadata.updated = blockIsoDate(entry.lastEventTime!);
    }
    const doc: CachedDocument = deepFreeze({
      didDocument: built.didDocument,
      didDocumentMetadata: metadata,
      expiresAt: documentExpiry(entry.events, now),
    });
    entry.docs.set(did, doc);
    return doc;
  }

  private async versionedDocument(
    entry: IdentityEntry,
    did: string,
    controllerKey: string | undefined,
    versionId: number,
  ): Promise<CachedDocument> {
    const at = await this.blockTime(versionId);
    const built = buildDocument(did, entry.address, controllerKey, entry.events, this.chainId, versionId, at);
    const metadata: Record<string, unknown> = built.deactivated ? { deactivated: true } : {};
    if (built.versionId !== 0) {
      metadata.versionId = String(built.versionId);
      metadata.updated = blockIsoDate(await this.blockTime(built.versionId));
    }
    if (built.nextVersionId !== Number.POSITIVE_INFINITY) {
      metadata.nextVersionId = String(built.nextVersionId);
      metadata.nextUpdate = blockIsoDate(await this.blockTime(built.nextVersionId));
    }
    return { didDocument: built.didDocument, didDocumentMetadata: metadata, expiresAt: 0 };
  }

  /** Starts tracking an identity: registers it (so the watcher buffers its events), then loads it. */
  private track(key: string, address: string): IdentityEntry {
    if (this.identities.size >= this.maxIdentities) {
      for (const [oldKey, old] of this.identities) {
        if (old.loaded) {
          this.identities.delete(oldKey);
          break;
        }
      }
    }
    const entry: IdentityEntry = {
      address,
      events: [],
      loaded: false,
      ready: Promise.resolve(),
      pending: [],
      docs: new Map(),
    };
    this.identities.set(key, entry);
    entry.ready = this.load(entry).catch((err) => {
      if (this.identities.get(key) === entry) this.identities.delete(key);
      throw err;
    });
    // A failed load is reported to whoever awaits it; keep it from becoming an unhandled rejection.
    entry.ready.catch(() => {});
    return entry;
  }

  /**
   * The initial load: every event of the identity up to the node's latest block, in one call. The
   * watcher's batches since the entry was registered cover everything after the cursor, which is at
   * most that latest block, so loaded ∪ pending is the full history; duplicates are dropped by position.
   */
  private async load(entry: IdentityEntry): Promise<void> {
    const logs = (await this.rpc.send('eth_getLogs', [
      {
        address: this.registryAddress,
        topics: [null, zeroPadValue(entry.address, 32)],
        fromBlock: toQuantity(this.startBlock),
        toBlock: 'latest',
      },
    ])) as RawLog[];
    entry.events = decodeLogs(logs).sort(compareEvents);
    for (;;) {
      for (const event of entry.pending.splice(0)) append(entry, event);
      const last = entry.events.at(-1);
      if (!last) break;
      const time = this.blockTimes.get(last.blockNumber);
      if (time !== undefined) {
        entry.lastEventTime = time;
        if (entry.pending.length === 0) break;
      } else {
        await this.blockTime(last.blockNumber);
      }
    }
    entry.loaded = true;
  }

  /** Timestamp of block `n` (cached). */
  private async blockTime(n: number): Promise<number> {
    const hit = this.blockTimes.get(n);
    if (hit !== undefined) return hit;
    const block = (await this.rpc.send('eth_getBlockByNumber', [toQuantity(n), false])) as {
      timestamp: string;
    } | null;
    if (!block) throw new DidNotFoundError(`Block ${n} does not exist yet.`);
    const time = Number(block.timestamp);
    if (this.blockTimes.size >= MAX_BLOCK_TIMES) {
      const oldest = this.blockTimes.keys().next().value;
      if (oldest !== undefined) this.blockTimes.delete(oldest);
    }
    this.blockTimes.set(n, time);
    return time;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.sync()
        .catch((err) => this.onError(err))
        .finally(() => this.schedule());
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  /** One watcher step: every registry log after the cursor up to the head, applied atomically. */
  private async poll(): Promise<void> {
    const startedAt = Date.now();
    const head = Number(await this.rpc.send('eth_blockNumber', []));
    if (this.cursor < 0) {
      // Nothing is tracked before the first poll (reads sync first), so history before it is not needed.
      this.cursor = head;
    } else if (head > this.cursor) {
      const logs = (await this.rpc.send('eth_getLogs', [
        { address: this.registryAddress, fromBlock: toQuantity(this.cursor + 1), toBlock: toQuantity(head) },
      ])) as RawLog[];
      const byIdentity = new Map<string, RawLog[]>();
      for (const log of logs) {
        const topic = log.topics[1];
        if (!topic) continue;
        const key = `0x${topic.slice(26)}`.toLowerCase();
        if (!this.identities.has(key)) continue;
        const list = byIdentity.get(key);
        if (list) list.push(log);
        else byIdentity.set(key, [log]);
      }
      const updates = [...byIdentity].map(([key, list]) => ({
        key,
        events: decodeLogs(list).sort(compareEvents),
      }));
      // Fetch what the documents need before touching any entry, so reads never see half an update.
      await Promise.all(updates.map((u) => this.blockTime(u.events.at(-1)!.blockNumber)));
      for (const { key, events } of updates) {
        const entry = this.identities.get(key);
        if (!entry) continue;
        if (!entry.loaded) {
          entry.pending.push(...events);
          continue;
        }
        for (const event of events) append(entry, event);
        entry.lastEventTime = this.blockTimes.get(entry.events.at(-1)!.blockNumber);
        entry.docs.clear();
      }
      this.cursor = head;
    }
    this.lastSyncAt = startedAt;
  }
}

/** Appends `event` unless the entry already has it (or anything after it). */
function append(entry: IdentityEntry, event: RegistryEvent): void {
  const last = entry.events.at(-1);
  if (!last || compareEvents(event, last) > 0) entry.events.push(event);
}
