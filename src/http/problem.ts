/**
 * The one serializer of error bodies: RFC 9457 `application/problem+json` with a stable `code`.
 * Client errors carry a safe detail; server errors collapse to a generic body and are logged in full.
 */
import type { Request, Response } from 'express';
import { InternalError, TrustgateError } from '../errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The problem body members Trustgate always sends. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

/** Type URI of a problem code (stable; documented on the API page). */
export const problemType = (code: string) => `urn:trustgate:problem:${code}`;

/** Normalizes anything thrown into a TrustgateError (unknown errors become 500 internal_error). */
export function asTrustgateError(err: unknown): TrustgateError {
  return err instanceof TrustgateError ? err : new InternalError(err);
}

/** Builds the problem body for `err`; 5xx bodies reveal nothing beyond code and request id. */
export function problemBody(err: TrustgateError, requestId?: string): ProblemBody {
  const body: ProblemBody = {
    type: problemType(err.code),
    title: err.title,
    status: err.status,
    code: err.code,
  };
  if (err.expose) {
    body.detail = err.message;
    Object.assign(body, err.extensions);
  } else if (err.status === 503) {
    // Unavailability names the failing part (set deliberately in extensions), never internals.
    body.detail = err.message;
    Object.assign(body, err.extensions);
  }
  if (requestId) body.requestId = requestId;
  return body;
}

/** Sends `err` as problem+json and logs it (5xx at error level with the cause, 4xx at debug). */
export function sendProblem(req: Request, res: Response, thrown: unknown): void {
  const err = asTrustgateError(thrown);
  const requestId = typeof req.id === 'string' ? req.id : undefined;
  if (err.status >= 500 && err.status !== 503) {
    req.log?.error(
      { err: thrown instanceof InternalError ? (thrown.cause ?? thrown) : thrown },
      'request failed',
    );
  } else {
    req.log?.debug({ code: err.code, status: err.status }, 'request refused');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res
    .status(err.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problemBody(err, requestId)));
}
