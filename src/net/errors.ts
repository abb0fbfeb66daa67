/**
 * Errors of outbound fetches. A refused destination is the caller's mistake (4xx); an upstream that is
 * slow, too large or broken is a gateway failure (502/504), whose body reveals nothing beyond its code.
 */
import { type ProblemExtras, TrustgateError } from '../errors.ts';

/** Why a destination was refused (logged; the client sees only the code and a generic detail). */
export type RefusalReason = 'scheme' | 'credentials' | 'address' | 'dns' | 'redirect';

/** 400 `ssrf_refused`: the URL's scheme, literal address or DNS answers point somewhere we never connect. */
export class SsrfRefusedError extends TrustgateError {
  constructor(
    readonly reason: RefusalReason,
    detail = 'The destination is not allowed: only https to public addresses is fetched.',
    extras?: ProblemExtras,
  ) {
    super('ssrf_refused', 400, 'Destination refused', detail, extras);
  }
}

/** 504 `fetch_timeout`: the upstream did not answer in full within the time limit. */
export class FetchTimeoutError extends TrustgateError {
  constructor(readonly timeoutMs: number) {
    super('fetch_timeout', 504, 'Upstream timeout', `The upstream did not answer within ${timeoutMs} ms.`);
  }
}

/** 502 `response_too_large`: the upstream's body exceeds the size cap. */
export class ResponseTooLargeError extends TrustgateError {
  constructor(readonly maxBytes: number) {
    super('response_too_large', 502, 'Upstream response too large', `The body exceeds ${maxBytes} bytes.`);
  }
}

/** Why a fetch failed below HTTP: the name does not exist, or the connection or TLS failed. */
export type FetchFailure = 'dns' | 'connect' | 'tls' | 'protocol';

/** 502 `fetch_failed`: the upstream could not be reached or spoke broken HTTP. */
export class FetchFailedError extends TrustgateError {
  constructor(
    readonly reason: FetchFailure,
    cause?: unknown,
  ) {
    super('fetch_failed', 502, 'Upstream fetch failed', 'The upstream could not be fetched.', { cause });
  }
}
