/**
 * did:ethr documents built by ethr-did-resolver's own builder, from registry logs decoded into the
 * event shape it uses, so our documents are the stock resolver's byte for byte.
 *
 * `EthrDidResolver.wrapDidDocument` is public but the class is not exported from the package entry
 * (only `getResolver`, which hides the instance behind a bound function), so it is loaded from the
 * package's CommonJS build by path. The version is pinned; test/identity/resolver.test.ts compares our
 * documents with the stock resolver's and catches any drift after an upgrade.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DIDDocument } from 'did-resolver';
import { getAddress, Interface } from 'ethers';
import { bytes32toString } from 'ethr-did-resolver';

/** A registry event as ethr-did-resolver's history holds it, plus the log's position. */
export interface RegistryEvent {
  _eventName: 'DIDOwnerChanged' | 'DIDDelegateChanged' | 'DIDAttributeChanged';
  identity: string;
  previousChange: bigint;
  validTo?: bigint;
  blockNumber: number;
  /** Position inside the block; (blockNumber, logIndex) orders and de-duplicates events. */
  logIndex: number;
  [field: string]: unknown;
}

/** A raw log as `eth_getLogs` returns it. */
export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  logIndex: string;
}

interface WrappedDocument {
  didDocument: DIDDocument;
  deactivated: boolean;
  versionId: number;
  nextVersionId: number;
}

interface StockBuilder {
  wrapDidDocument(
    did: string,
    address: string,
    controllerKey: string | undefined,
    history: RegistryEvent[],
    chainId: bigint,
    blockHeight: string | number,
    now: bigint,
  ): WrappedDocument;
}

/** The canonical ERC-1056 events (identical to contracts/EthereumDIDRegistry.sol). */
export const registryEvents = new Interface([
  'event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange)',
  'event DIDDelegateChanged(address indexed identity, bytes32 delegateType, address delegate, uint256 validTo, uint256 previousChange)',
  'event DIDAttributeChanged(address indexed identity, bytes32 name, bytes value, uint256 validTo, uint256 previousChange)',
]);

let builder: StockBuilder | undefined;

function stockBuilder(): StockBuilder {
  if (!builder) {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('ethr-did-resolver');
    const { EthrDidResolver } = require(join(dirname(entry), 'resolver.js')) as {
      EthrDidResolver?: new (options: unknown) => StockBuilder;
    };
    if (typeof EthrDidResolver?.prototype?.wrapDidDocument !== 'function') {
      throw new Error('ethr-did-resolver no longer ships EthrDidResolver.wrapDidDocument in lib/resolver.js');
    }
    // The builder never touches the network; the provider is a placeholder the constructor requires.
    builder = new EthrDidResolver({ networks: [{ name: 'builder', chainId: 1, provider: {} }] });
  }
  return builder;
}

const EVENT_NAMES = new Map<string, RegistryEvent['_eventName']>(
  ['DIDOwnerChanged', 'DIDDelegateChanged', 'DIDAttributeChanged'].map((name) => [
    registryEvents.getEvent(name)!.topicHash,
    name as RegistryEvent['_eventName'],
  ]),
);

/**
 * Decodes registry logs into ethr-did-resolver's event shape (the values its logParser produces:
 * checksummed addresses, bigint integers, bytes32 as trimmed UTF-8, bytes as lower-case hex).
 * Decoded by hand because ethers' `Interface.parseLog` costs about 1 ms a log (it re-hashes every
 * event signature per call), which would make a long history slow to load. Logs that do not decode
 * as the canonical events are skipped.
 */
export function decodeLogs(logs: readonly RawLog[]): RegistryEvent[] {
  const events: RegistryEvent[] = [];
  const checksummed = new Map<string, string>();
  const address = (word: string) => {
    const raw = `0x${word.slice(24)}`;
    let hit = checksummed.get(raw);
    if (!hit) {
      hit = getAddress(raw);
      checksummed.set(raw, hit);
    }
    return hit;
  };
  for (const log of logs) {
    const name = log.topics[0] ? EVENT_NAMES.get(log.topics[0].toLowerCase()) : undefined;
    const identityTopic = log.topics[1];
    if (!name || !identityTopic || identityTopic.length !== 66) continue;
    const data = log.data.slice(2);
    const word = (i: number) => data.slice(64 * i, 64 * (i + 1));
    const uint = (i: number) => BigInt(`0x${word(i)}`);
    const base = { _eventName: name, identity: address(identityTopic.slice(2)) };
    let fields: Record<string, unknown>;
    try {
      if (name === 'DIDOwnerChanged') {
        if (data.length !== 128) continue;
        fields = { owner: address(word(0)), previousChange: uint(1) };
      } else if (name === 'DIDDelegateChanged') {
        if (data.length !== 256) continue;
        fields = {
          delegateType: bytes32toString(`0x${word(0)}`),
          delegate: address(word(1)),
          validTo: uint(2),
          previousChange: uint(3),
        };
      } else {
        const offset = Number(uint(1)) / 32;
        const length = Number(uint(offset));
        const start = 64 * (offset + 1);
        if (!Number.isInteger(offset) || data.length < start + length * 2) continue;
        fields = {
          name: bytes32toString(`0x${word(0)}`),
          value: `0x${data.slice(start, start + length * 2).toLowerCase()}`,
          validTo: uint(2),
          previousChange: uint(3),
        };
      }
    } catch {
      continue;
    }
    events.push({
      identity: base.identity,
      ...fields,
      _eventName: name,
      blockNumber: Number(log.blockNumber),
      logIndex: Number(log.logIndex),
    } as RegistryEvent);
  }
  return events;
}

/** Orders events as the chain did. */
export function compareEvents(a: RegistryEvent, b: RegistryEvent): number {
  return a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;
}

/** ISO date of a block timestamp exactly as ethr-did-resolver formats it. */
export function blockIsoDate(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().replace('.000', '');
}

/** Builds the document with ethr-did-resolver's builder (`blockHeight` 'latest' or a block number). */
export function buildDocument(
  did: string,
  address: string,
  controllerKey: string | undefined,
  history: RegistryEvent[],
  chainId: number,
  blockHeight: 'latest' | number,
  nowSeconds: number,
): WrappedDocument {
  return stockBuilder().wrapDidDocument(
    did,
    address,
    controllerKey,
    history,
    BigInt(chainId),
    blockHeight,
    BigInt(nowSeconds),
  );
}

/**
 * The first second at which a document built at `nowSeconds` may change without a new event: the
 * builder keeps a delegate or attribute while `validTo >= now`, so the earliest such `validTo` + 1.
 */
export function documentExpiry(history: readonly RegistryEvent[], nowSeconds: number): number {
  let expiry = Number.POSITIVE_INFINITY;
  const now = BigInt(nowSeconds);
  for (const event of history) {
    const validTo = event.validTo;
    if (validTo !== undefined && validTo >= now) {
      const at = validTo >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(validTo) + 1;
      if (at < expiry) expiry = at;
    }
  }
  return expiry;
}

/** Freezes a document so a caller cannot change the cached copy others will be served. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
