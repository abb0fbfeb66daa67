/**
 * did:web (https://w3c-ccg.github.io/did-method-web/): `did:web:example.com` is served at
 * `https://example.com/.well-known/did.json`, `did:web:example.com:user:alice` at
 * `https://example.com/user/alice/did.json`, a port as `%3A`. Fetched only through safe-fetch (never
 * web-did-resolver, whose fetch has no SSRF guard); allow-listed development hosts are fetched over http.
 */
import type { DIDResolutionResult } from 'did-resolver';
import { FetchFailedError } from '../../net/errors.ts';
import type { SafeResponse } from '../../net/safe-fetch.ts';
import { DidNotFoundError, InvalidDidDocumentError, InvalidDidError } from './errors.ts';

/** A host (`name`, `name:port`, `[v6]` or `[v6]:port`) after percent-decoding. */
const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;
const PATH_SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** The URL of a did:web's document; throws `invalid_did` for identifiers that are not a host and path. */
export function didWebUrl(did: string, options: { httpHosts?: readonly string[] } = {}): URL {
  const segments = did.slice('did:web:'.length).split(':');
  let host: string;
  let path: string[];
  try {
    host = decodeURIComponent(segments[0] ?? '');
    path = segments.slice(1).map((s) => decodeURIComponent(s));
  } catch {
    throw new InvalidDidError('The did:web identifier is not valid percent-encoding.');
  }
  if (!HOST.test(host)) throw new InvalidDidError('The did:web identifier does not start with a host name.');
  if (path.some((s) => !PATH_SEGMENT.test(s) || s === '.' || s === '..')) {
    throw new InvalidDidError('The did:web path is not a sequence of plain segments.');
  }
  const http = options.httpHosts?.some((h) => h.toLowerCase() === host.toLowerCase()) ?? false;
  const url = new URL(`${http ? 'http' : 'https'}://${host}`);
  url.pathname = path.length > 0 ? `/${path.join('/')}/did.json` : '/.well-known/did.json';
  return url;
}

/** Resolves a did:web with `fetch` (a configured safe-fetch). */
export async function resolveDidWeb(
  did: string,
  fetch: (url: URL) => Promise<SafeResponse>,
  options: { httpHosts?: readonly string[]; accept?: string } = {},
): Promise<DIDResolutionResult> {
  const url = didWebUrl(did, options);
  let response: SafeResponse;
  try {
    response = await fetch(url);
  } catch (err) {
    if (err instanceof FetchFailedError && err.reason === 'dns') {
      throw new DidNotFoundError('The did:web host does not exist.');
    }
    throw err;
  }
  if (response.status === 404 || response.status === 410) {
    throw new DidNotFoundError('The did:web host has no DID document at this path.');
  }
  if (response.status !== 200) throw new FetchFailedError('protocol', `upstream answered ${response.status}`);
  let document: unknown;
  try {
    document = JSON.parse(response.text());
  } catch {
    throw new InvalidDidDocumentError('The did:web document is not JSON.');
  }
  if (!document || typeof document !== 'object' || Array.isArray(document)) {
    throw new InvalidDidDocumentError('The did:web document is not a JSON object.');
  }
  if ((document as { id?: unknown }).id !== did) {
    throw new InvalidDidDocumentError('The did:web document is for another DID.');
  }
  return {
    didDocument: document as DIDResolutionResult['didDocument'],
    didDocumentMetadata: {},
    didResolutionMetadata: { contentType: options.accept ?? 'application/did+ld+json' },
  };
}
