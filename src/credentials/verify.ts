/**
 * One entry point for verifying a credential in any format Trustgate speaks, answering the way the W3C
 * VC API's `POST /credentials/verify` does (`{ verified, checks, warnings, errors }`) instead of throwing:
 * an invalid credential is a normal answer, not an error. Only failures that say nothing about the
 * credential (a resolver outage, a bug: 5xx) are thrown.
 *
 * Formats, told apart by the JWT header and payload:
 * - `typ: vc+jwt` (or an `EnvelopedVerifiableCredential` `data:application/vc+jwt,…`): VC 2.0 secured with
 *   JOSE → ./vc-jose.ts;
 * - any other JWT with a `vc` claim (or a `JwtProof2020` credential carrying it in `proof.jwt`): VC 1.1
 *   JWT → ./vc-jwt.ts.
 */
import type { W3CCredential } from 'did-jwt-vc';
import { TrustgateError } from '../errors.ts';
import { type IssuerResolver, VC_JWT_TYP, type VerifiableCredentialV2, verifyVcJwt } from './vc-jose.ts';
import { verifyJwtVc } from './vc-jwt.ts';

/** The credential formats recognised. */
export type CredentialFormat = 'vc+jwt' | 'jwt_vc';

export interface VerifyCredentialDeps {
  /** Resolves issuer DIDs; the service's cached `DidResolverService`. */
  resolver: IssuerResolver;
  /** Time to check validity against; default now. */
  now?: Date;
  /** Allowed clock skew in seconds; default 60, at most 300. */
  skewSeconds?: number;
  /** Status check run once signature and validity hold; throw a 4xx `TrustgateError` to refuse. */
  checkStatus?: (
    credential: VerifiableCredentialV2 | W3CCredential,
    format: CredentialFormat,
  ) => Promise<void>;
}

/** One reason a credential was refused. */
export interface VerificationProblem {
  /** Stable code (see `VcJwtErrorCode`, or the status check's own code). */
  code: string;
  message: string;
}

/** A W3C VC API verification result. */
export interface CredentialVerificationResult {
  verified: boolean;
  /** Checks that were run and passed: `proof`, `validity`, and `status` when a status check is set. */
  checks: string[];
  warnings: VerificationProblem[];
  errors: VerificationProblem[];
  /** The recognised format, when one was. */
  format?: CredentialFormat;
  /** The verified credential (W3C JSON form), when verified. */
  credential?: VerifiableCredentialV2 | W3CCredential;
}

const ENVELOPE_PREFIX = `data:application/${VC_JWT_TYP},`;

/**
 * Verifies `input`: a compact JWT, an `EnvelopedVerifiableCredential` or a `JwtProof2020` credential.
 * Never throws for an invalid credential; throws only 5xx failures.
 */
export async function verifyCredential(
  input: unknown,
  deps: VerifyCredentialDeps,
): Promise<CredentialVerificationResult> {
  let format: CredentialFormat | undefined;
  try {
    const detected = detect(input);
    format = detected.format;
    const common = {
      resolver: deps.resolver,
      ...(deps.now !== undefined ? { now: deps.now } : {}),
      ...(deps.skewSeconds !== undefined ? { skewSeconds: deps.skewSeconds } : {}),
    };
    const check = deps.checkStatus;
    const result =
      detected.format === 'vc+jwt'
        ? await verifyVcJwt(detected.jwt, {
            ...common,
            ...(check ? { checkStatus: (c: VerifiableCredentialV2) => check(c, 'vc+jwt') } : {}),
          })
        : await verifyJwtVc(detected.jwt, {
            ...common,
            ...(check ? { checkStatus: (c: W3CCredential) => check(c, 'jwt_vc') } : {}),
          });
    return {
      verified: true,
      checks: check ? ['proof', 'validity', 'status'] : ['proof', 'validity'],
      warnings: [],
      errors: [],
      format: detected.format,
      credential: result.credential,
    };
  } catch (err) {
    if (!(err instanceof TrustgateError) || err.status >= 500) throw err;
    return {
      verified: false,
      checks: [],
      warnings: [],
      errors: [{ code: err.code, message: err.message }],
      ...(format ? { format } : {}),
    };
  }
}

class UnrecognisedCredentialError extends TrustgateError {
  constructor(detail: string) {
    super('malformed_jwt', 400, 'Malformed credential JWT', detail);
  }
}

function detect(input: unknown): { format: CredentialFormat; jwt: string } {
  let jwt: unknown = input;
  if (input !== null && typeof input === 'object') {
    const record = input as Record<string, unknown>;
    const proof = record.proof as Record<string, unknown> | undefined;
    if (typeof record.id === 'string' && record.id.startsWith(ENVELOPE_PREFIX)) {
      jwt = record.id.slice(ENVELOPE_PREFIX.length);
    } else if (proof && typeof proof === 'object' && typeof proof.jwt === 'string') {
      jwt = proof.jwt;
    } else {
      throw new UnrecognisedCredentialError('Only JWT-secured credentials (vc+jwt, jwt_vc) are supported.');
    }
  }
  if (typeof jwt !== 'string') throw new UnrecognisedCredentialError('A credential JWT is a string.');
  const header = decodeSegment(jwt.split('.')[0] ?? '');
  if (header?.typ === VC_JWT_TYP || header?.typ === `application/${VC_JWT_TYP}`)
    return { format: 'vc+jwt', jwt };
  const payload = decodeSegment(jwt.split('.')[1] ?? '');
  if (payload && typeof payload.vc === 'object' && payload.vc !== null) return { format: 'jwt_vc', jwt };
  // Neither: let the VC 2.0 verifier explain what is wrong (a header, a typ, a payload).
  return { format: 'vc+jwt', jwt };
}

function decodeSegment(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The DID a verified credential is about (its first subject's `id`), if any. */
export function subjectOf(credential: CredentialVerificationResult['credential']): string | undefined {
  const subject = (credential as { credentialSubject?: unknown } | undefined)?.credentialSubject;
  const first = Array.isArray(subject) ? subject[0] : subject;
  const id = (first as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}
