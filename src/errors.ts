/**
 * Typed errors with stable codes. Every error a client can see is a `TrustgateError`; one serializer
 * (`src/http/problem.ts`) turns it into an RFC 9457 problem+json body. `expose` says whether `message`
 * is safe to show; 5xx errors never expose theirs.
 */

export interface ProblemExtras {
  /** Extra members for the problem body (must be safe to show). */
  extensions?: Record<string, unknown>;
  /** Response headers to set (e.g. `Allow`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
  /** Underlying cause, logged but never shown. */
  cause?: unknown;
}

/** Base class: a stable machine-readable `code`, an HTTP `status`, a human `title`. */
export class TrustgateError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly expose: boolean;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(code: string, status: number, title: string, detail?: string, extras: ProblemExtras = {}) {
    super(detail ?? title, extras.cause === undefined ? undefined : { cause: extras.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.title = title;
    this.expose = status < 500;
    this.extensions = extras.extensions ?? {};
    this.headers = extras.headers ?? {};
  }
}

/** 400 `invalid_request`: the request is well-formed but its content is not acceptable. */
export class InvalidRequestError extends TrustgateError {
  constructor(detail: string, extras?: ProblemExtras) {
    super('invalid_request', 400, 'Invalid request', detail, extras);
  }
}

/** 400 `malformed_json`: the body is not valid JSON. */
export class MalformedJsonError extends TrustgateError {
  constructor(extras?: ProblemExtras) {
    super('malformed_json', 400, 'Malformed JSON', 'The request body is not valid JSON.', extras);
  }
}

/** 404 `not_found`: no such resource (also for resources of another tenant). */
export class NotFoundError extends TrustgateError {
  constructor(detail = 'The requested resource does not exist.', extras?: ProblemExtras) {
    super('not_found', 404, 'Not found', detail, extras);
  }
}

/** 409: the request conflicts with the resource's current state; the code says which conflict. */
export class ConflictError extends TrustgateError {
  constructor(code: string, detail: string, extras?: ProblemExtras) {
    super(code, 409, 'Conflict', detail, extras);
  }
}

/** 405 `method_not_allowed`: the path exists with other methods (listed in `Allow`). */
export class MethodNotAllowedError extends TrustgateError {
  constructor(allowed: string[]) {
    super('method_not_allowed', 405, 'Method not allowed', `Allowed methods: ${allowed.join(', ')}.`, {
      headers: { Allow: allowed.join(', ') },
    });
  }
}

/** 413 `payload_too_large`: the body exceeds the configured limit. */
export class PayloadTooLargeError extends TrustgateError {
  constructor(limit: string) {
    super('payload_too_large', 413, 'Payload too large', `The request body exceeds ${limit}.`);
  }
}

/** 415 `unsupported_media_type`: the body is not in a media type this endpoint accepts. */
export class UnsupportedMediaTypeError extends TrustgateError {
  constructor(accepted: string[]) {
    super(
      'unsupported_media_type',
      415,
      'Unsupported media type',
      `Send the body as ${accepted.join(' or ')}.`,
      { headers: { 'Accept-Post': accepted.join(', ') } },
    );
  }
}

/** 503 `not_ready`: a dependency the request needs is unavailable; names it. */
export class ServiceUnavailableError extends TrustgateError {
  constructor(detail: string, extras?: ProblemExtras) {
    super('service_unavailable', 503, 'Service unavailable', detail, extras);
  }
}

/** 500 `internal_error`: anything unexpected. Its detail is logged, never shown. */
export class InternalError extends TrustgateError {
  constructor(cause?: unknown) {
    super('internal_error', 500, 'Internal server error', 'An unexpected error occurred.', { cause });
  }
}

/** A configuration problem found at start; the process prints it and exits non-zero. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A dependency (database, chain, Redis) that cannot be used at start; printed, then exit non-zero. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/**
 * A short reason from a library's error, safe to show a client: its first line, printable ASCII only,
 * at most 160 characters (verification libraries may echo parts of the input).
 */
export function safeReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message
    .split('\n')[0]!
    .replace(/[^\x20-\x7e]/g, '')
    .slice(0, 160);
}
