/**
 * Errors of DID resolution, each with its stable Trustgate code and the DID Resolution error name
 * (`didResolutionMetadata.error`) that in-process callers and the did-resolver adapter use.
 */
import { TrustgateError } from '../../errors.ts';

/** A resolution error that also names its DID Resolution `error` value. */
export class DidResolutionError extends TrustgateError {
  constructor(
    code: string,
    status: number,
    title: string,
    /** `didResolutionMetadata.error` (W3C DID Resolution / did-resolver names). */
    readonly didError: string,
    detail: string,
  ) {
    super(code, status, title, detail, { extensions: { didResolutionMetadata: { error: didError } } });
  }
}

/** 400 `invalid_did`: not a DID by the DID Core syntax, or not a valid DID of its method. */
export class InvalidDidError extends DidResolutionError {
  constructor(detail = 'The DID is malformed.') {
    super('invalid_did', 400, 'Invalid DID', 'invalidDid', detail);
  }
}

/** 400 `method_not_supported`: a well-formed DID of a method this resolver does not handle. */
export class MethodNotSupportedError extends DidResolutionError {
  constructor(method: string, supported: readonly string[]) {
    super(
      'method_not_supported',
      400,
      'DID method not supported',
      'methodNotSupported',
      `did:${method} is not supported; supported methods: ${supported.map((m) => `did:${m}`).join(', ')}.`,
    );
  }
}

/** 400 `unknown_network`: a did:ethr on a network this resolver is not configured for. */
export class UnknownNetworkError extends DidResolutionError {
  constructor(network: string) {
    super(
      'unknown_network',
      400,
      'Unknown did:ethr network',
      'unknownNetwork',
      `No did:ethr network "${network}" is configured.`,
    );
  }
}

/** 404 `not_found`: the DID (or the requested version) does not exist. */
export class DidNotFoundError extends DidResolutionError {
  constructor(detail = 'The DID could not be found.') {
    super('not_found', 404, 'Not found', 'notFound', detail);
  }
}

/** 502 `invalid_did_document`: the DID's host served something that is not its DID document. */
export class InvalidDidDocumentError extends DidResolutionError {
  constructor(detail = 'The DID document is invalid.') {
    super('invalid_did_document', 502, 'Invalid DID document', 'invalidDidDocument', detail);
  }
}
