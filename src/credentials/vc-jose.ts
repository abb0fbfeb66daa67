/**
 * W3C Verifiable Credentials Data Model 2.0 secured with JOSE (VC-JOSE-COSE, media type
 * `application/vc+jwt`): the JWS payload IS the credential, there is no `vc` claim and no JWT claim
 * mapping. Veramo 7 only speaks VC 1.1 JWTs (veramo#1371), hence this module.
 *
 * Issuing signs through an injected `JwsSigner` (see `managedKeySigner`), so the issuer's key stays in
 * the KMS. Verifying resolves the issuer's DID, takes the key named by `kid` from the issuer's
 * `assertionMethod`, and checks the signature with `jose` (or, for an address-only did:ethr key, by
 * public-key recovery), then the validity period, then the status hook.
 *
 * Verification rules, each failing with its own code:
 * - three base64url parts, a JSON header and a JSON object payload (`malformed_jwt`);
 * - `typ` is `vc+jwt`, no `crit`, unencoded payloads refused (`malformed_jwt`);
 * - `alg` on the allow-list; `none` and every HMAC alg refused before any key is touched, because a
 *   public key used as an HMAC secret would otherwise "verify" (`unsupported_alg`);
 * - the payload is a VC 2.0 credential (`invalid_credential`);
 * - `kid` is a verification method of the issuer DID listed in `assertionMethod` (`unknown_kid`);
 * - the issuer DID resolves (`issuer_not_resolved`);
 * - the signature verifies with that method's key (`invalid_signature`);
 * - `validFrom` / `validUntil` hold, give or take a bounded clock skew (`not_yet_valid`, `expired`).
 */
import type { DIDDocument, DIDResolutionResult, VerificationMethod } from 'did-resolver';
import { base64url, compactVerify, importJWK, type JWK, errors as joseErrors } from 'jose';
import { z } from 'zod';
import { TrustgateError } from '../errors.ts';
import { es256kSignedByAddress, type JwsSigner, secp256k1JwkFromHex } from './es256k.ts';

export { type JwsSigner, managedKeySigner } from './es256k.ts';

/** The base context every VC 2.0 credential starts with. */
export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
/** JWS `typ` of a VC-JOSE-COSE credential. */
export const VC_JWT_TYP = 'vc+jwt';
/** Signature algorithms accepted on verification. Never `none`, never HMAC. */
export const ALLOWED_ALGS = ['ES256K', 'ES256', 'EdDSA'] as const;
type AllowedAlg = (typeof ALLOWED_ALGS)[number];

// ---------------------------------------------------------------------------------------------------------
// Errors

/** A credential verification or issuance failure; always 4xx: the caller's credential is at fault. */
export class VcJwtError extends TrustgateError {
  constructor(code: VcJwtErrorCode, detail: string, extras?: { cause?: unknown; problems?: string[] }) {
    super(code, 400, TITLES[code], detail, {
      cause: extras?.cause,
      ...(extras?.problems ? { extensions: { problems: extras.problems } } : {}),
    });
  }
}

/** Stable codes of `VcJwtError`. */
export type VcJwtErrorCode =
  | 'invalid_credential'
  | 'malformed_jwt'
  | 'unsupported_alg'
  | 'unexpected_issuer'
  | 'unknown_kid'
  | 'issuer_not_resolved'
  | 'invalid_signature'
  | 'not_yet_valid'
  | 'expired';

const TITLES: Record<VcJwtErrorCode, string> = {
  invalid_credential: 'Invalid credential',
  malformed_jwt: 'Malformed credential JWT',
  unsupported_alg: 'Unsupported signature algorithm',
  unexpected_issuer: 'Unexpected issuer',
  unknown_kid: 'Unknown verification method',
  issuer_not_resolved: 'Issuer DID not resolved',
  invalid_signature: 'Invalid signature',
  not_yet_valid: 'Credential not yet valid',
  expired: 'Credential expired',
};

// ---------------------------------------------------------------------------------------------------------
// Credential shape (VC Data Model 2.0)

const dateTimeStamp = z.iso.datetime({ offset: true });
const idObject = z.looseObject({ id: z.string().min(1) });

const statusEntry = z
  .looseObject({ id: z.string().optional(), type: z.string().min(1) })
  .superRefine((entry, ctx) => {
    if (entry.type !== 'BitstringStatusListEntry') return;
    const e = entry as Record<string, unknown>;
    if (typeof e.statusPurpose !== 'string' || e.statusPurpose === '')
      ctx.addIssue({ code: 'custom', message: 'statusPurpose is required', path: ['statusPurpose'] });
    if (typeof e.statusListIndex !== 'string' || !/^\d+$/.test(e.statusListIndex))
      ctx.addIssue({
        code: 'custom',
        message: 'statusListIndex is a decimal string',
        path: ['statusListIndex'],
      });
    if (typeof e.statusListCredential !== 'string' || e.statusListCredential === '')
      ctx.addIssue({
        code: 'custom',
        message: 'statusListCredential is required',
        path: ['statusListCredential'],
      });
  });

const credentialSchema = z
  .looseObject({
    '@context': z
      .array(z.union([z.string(), z.record(z.string(), z.unknown())]))
      .min(1)
      .refine((ctx) => ctx[0] === VC_V2_CONTEXT, {
        message: `the first @context entry must be ${VC_V2_CONTEXT}`,
      }),
    id: z.string().min(1).optional(),
    type: z
      .union([z.string(), z.array(z.string())])
      .refine((t) => (Array.isArray(t) ? t : [t]).includes('VerifiableCredential'), {
        message: 'type must include VerifiableCredential',
      }),
    issuer: z.union([z.string().min(1), idObject]),
    validFrom: dateTimeStamp.optional(),
    validUntil: dateTimeStamp.optional(),
    credentialSubject: z.union([
      z.record(z.string(), z.unknown()),
      z.array(z.record(z.string(), z.unknown())).min(1),
    ]),
    credentialStatus: z.union([statusEntry, z.array(statusEntry).min(1)]).optional(),
  })
  .refine((c) => !c.validFrom || !c.validUntil || Date.parse(c.validFrom) <= Date.parse(c.validUntil), {
    message: 'validUntil is before validFrom',
    path: ['validUntil'],
  });

/** A VC 2.0 credential (unknown members are kept). */
export type VerifiableCredentialV2 = z.infer<typeof credentialSchema>;

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
}

/** Validates `value` as a VC 2.0 credential or throws `invalid_credential` listing every problem. */
export function parseCredential(value: unknown): VerifiableCredentialV2 {
  const parsed = credentialSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = problemsOf(parsed.error);
  throw new VcJwtError('invalid_credential', `The credential is invalid: ${problems.join('; ')}.`, {
    problems,
  });
}

/** The issuer DID (or URL) of a credential: `issuer` or `issuer.id`. */
export function issuerIdOf(credential: VerifiableCredentialV2): string {
  return typeof credential.issuer === 'string' ? credential.issuer : credential.issuer.id;
}

// ---------------------------------------------------------------------------------------------------------
// Issue

export interface IssueVcJwtOptions {
  /** The unsigned VC 2.0 credential; becomes the JWS payload as is. */
  credential: unknown;
  /** The issuer's DID; must equal the credential's `issuer` (or `issuer.id`). */
  issuerDid: string;
  /** Verification method id (absolute DID URL) of the signing key; default `<issuerDid>#controller`. */
  kid?: string;
  /** Produces the 64-byte ES256K signature r||s of the signing input (e.g. `managedKeySigner`). */
  sign: JwsSigner;
}

/**
 * Issues a VC 2.0 credential as a compact JWS (`application/vc+jwt`, alg ES256K). The JWS is assembled
 * by hand because jose's `CompactSign` wants the private key, which never leaves the KMS here.
 * Throws `invalid_credential` (400) listing every problem when the credential is malformed.
 */
export async function issueVcJwt(options: IssueVcJwtOptions): Promise<string> {
  const credential = parseCredential(options.credential);
  const problems: string[] = [];
  if (issuerIdOf(credential) !== options.issuerDid) problems.push('issuer: does not match the issuing DID');
  const statuses = credential.credentialStatus === undefined ? [] : [credential.credentialStatus].flat();
  for (const status of statuses) {
    if (status.type !== 'BitstringStatusListEntry')
      problems.push('credentialStatus.type: must be BitstringStatusListEntry');
  }
  const kid = options.kid ?? `${options.issuerDid}#controller`;
  if (!kid.startsWith(`${options.issuerDid}#`))
    problems.push('kid: must be a verification method of the issuer');
  if (problems.length) {
    throw new VcJwtError('invalid_credential', `The credential is invalid: ${problems.join('; ')}.`, {
      problems,
    });
  }

  const header = { alg: 'ES256K', typ: VC_JWT_TYP, cty: 'vc', kid };
  const signingInput = `${encodeJson(header)}.${encodeJson(credential)}`;
  const signature = await options.sign(new TextEncoder().encode(signingInput));
  if (signature.length !== 64) throw new Error('invalid_setup: an ES256K signature is 64 bytes (r||s)');
  return `${signingInput}.${base64url.encode(signature)}`;
}

function encodeJson(value: unknown): string {
  return base64url.encode(new TextEncoder().encode(JSON.stringify(value)));
}

// ---------------------------------------------------------------------------------------------------------
// Verify

/** What the verifier needs from a DID resolver: `DidResolverService` and did-resolver's `Resolver` both fit. */
export interface IssuerResolver {
  resolve(did: string): Promise<DIDResolutionResult>;
}

export interface VerifyVcJwtOptions {
  resolver: IssuerResolver;
  /** Time to check validity against; default now. */
  now?: Date;
  /** Allowed clock skew for `validFrom` / `validUntil`, in seconds; default 60, at most 300. */
  skewSeconds?: number;
  /** When set, the credential's issuer must be this DID (`unexpected_issuer` otherwise). */
  expectedIssuer?: string;
  /** Status check (e.g. Bitstring Status List), run once the signature holds; throws to refuse. */
  checkStatus?: (credential: VerifiableCredentialV2) => Promise<void>;
}

export interface VerifiedVcJwt {
  verified: true;
  credential: VerifiableCredentialV2;
  /** Issuer DID. */
  issuer: string;
  /** The verification method that signed, as found in the issuer's DID document. */
  verificationMethod: VerificationMethod;
}

const MAX_SKEW_SECONDS = 300;

/**
 * Verifies a VC-JOSE-COSE credential (`application/vc+jwt`). Returns the credential when every rule in
 * this module's header holds; otherwise throws a `VcJwtError` with the failed rule's code. Resolver
 * outages (5xx) are rethrown as they are: they say nothing about the credential.
 */
export async function verifyVcJwt(jws: string, options: VerifyVcJwtOptions): Promise<VerifiedVcJwt> {
  const { header, payload, signingInput, signature } = parseCompact(jws);
  const alg = checkHeader(header);
  const credential = parseCredential(payload);
  const issuer = issuerIdOf(credential);
  if (options.expectedIssuer !== undefined && issuer !== options.expectedIssuer) {
    throw new VcJwtError('unexpected_issuer', 'The credential is not from the expected issuer.');
  }
  const kid = absoluteKid(header.kid, issuer);

  const document = await resolveIssuer(options.resolver, issuer);
  const method = assertionMethodOf(document, issuer, kid);
  await verifySignature(jws, alg, method, signingInput, signature);

  checkValidity(credential, options.now ?? new Date(), options.skewSeconds ?? 60);
  await options.checkStatus?.(credential);
  return { verified: true, credential, issuer, verificationMethod: method };
}

/** A compact JWS split into its parts, with the header and payload decoded. */
export interface ParsedCompact {
  header: Record<string, unknown>;
  payload: unknown;
  signingInput: Uint8Array;
  signature: Uint8Array;
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const B64URL_OR_EMPTY = /^[A-Za-z0-9_-]*$/;

/**
 * Splits and decodes a compact JWS/JWT; `malformed_jwt` unless it is three base64url parts with a JSON
 * object header and JSON payload. Shared by the VC 2.0 (`vc+jwt`) and VC 1.1 (`jwt_vc`) verifiers.
 */
export function parseCompact(jws: unknown): ParsedCompact {
  if (typeof jws !== 'string') throw new VcJwtError('malformed_jwt', 'A credential JWT is a string.');
  const parts = jws.split('.');
  // An empty signature part is let through here so that `alg: none` fails as `unsupported_alg`.
  if (
    parts.length !== 3 ||
    !B64URL.test(parts[0] ?? '') ||
    !B64URL.test(parts[1] ?? '') ||
    !B64URL_OR_EMPTY.test(parts[2] ?? '')
  ) {
    throw new VcJwtError('malformed_jwt', 'A compact JWS is three base64url parts.');
  }
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h, 'header');
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new VcJwtError('malformed_jwt', 'The JWS header is not a JSON object.');
  }
  return {
    header: header as Record<string, unknown>,
    payload: decodeJson(p, 'payload'),
    signingInput: new TextEncoder().encode(`${h}.${p}`),
    signature: base64url.decode(s),
  };
}

function decodeJson(part: string, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(part)));
  } catch (cause) {
    throw new VcJwtError('malformed_jwt', `The JWS ${what} is not base64url-encoded JSON.`, { cause });
  }
}

/**
 * The header rules every credential JWT obeys, checked before any key is touched: an allow-listed
 * asymmetric `alg` (an HMAC "verified" with a public key as its secret is the classic algorithm-confusion
 * forgery, and `none` is no signature), and no `crit` or `b64` (extensions we do not implement must not
 * be silently ignored, RFC 7515 §4.1.11, and RFC 7797's unencoded payload would change what was signed).
 */
export function checkJwsHeader(header: Record<string, unknown>): AllowedAlg {
  const { alg } = header;
  if (typeof alg !== 'string' || !(ALLOWED_ALGS as readonly string[]).includes(alg)) {
    throw new VcJwtError(
      'unsupported_alg',
      `Algorithm ${JSON.stringify(alg)} is not accepted; accepted: ${ALLOWED_ALGS.join(', ')}.`,
    );
  }
  if (header.crit !== undefined || header.b64 !== undefined) {
    throw new VcJwtError('malformed_jwt', 'JWS header parameters crit and b64 are not supported.');
  }
  return alg as AllowedAlg;
}

/** `checkJwsHeader` plus the VC-JOSE-COSE rules: typ `vc+jwt` and a kid. */
function checkHeader(header: Record<string, unknown>): AllowedAlg {
  const alg = checkJwsHeader(header);
  const { typ } = header;
  if (typ !== VC_JWT_TYP && typ !== `application/${VC_JWT_TYP}`) {
    throw new VcJwtError('malformed_jwt', `The JWS typ must be ${VC_JWT_TYP}.`);
  }
  if (typeof header.kid !== 'string' || header.kid === '') {
    throw new VcJwtError('unknown_kid', 'The JWS header names no kid.');
  }
  return alg;
}

function absoluteKid(kid: unknown, issuer: string): string {
  const value = String(kid);
  const absolute = value.startsWith('#') ? `${issuer}${value}` : value;
  if (!absolute.startsWith(`${issuer}#`)) {
    throw new VcJwtError('unknown_kid', 'The kid is not a verification method of the issuer.');
  }
  return absolute;
}

async function resolveIssuer(resolver: IssuerResolver, issuer: string): Promise<DIDDocument> {
  if (!issuer.startsWith('did:')) {
    throw new VcJwtError('issuer_not_resolved', 'The issuer is not a DID.');
  }
  let result: DIDResolutionResult;
  try {
    result = await resolver.resolve(issuer);
  } catch (err) {
    if (err instanceof TrustgateError && err.status >= 500) throw err;
    throw new VcJwtError('issuer_not_resolved', 'The issuer DID could not be resolved.', { cause: err });
  }
  const error = result.didResolutionMetadata?.error;
  if (error || !result.didDocument) {
    throw new VcJwtError(
      'issuer_not_resolved',
      `The issuer DID could not be resolved (${error ?? 'no document'}).`,
    );
  }
  if (result.didDocumentMetadata?.deactivated) {
    throw new VcJwtError('issuer_not_resolved', 'The issuer DID is deactivated.');
  }
  return result.didDocument;
}

function assertionMethodOf(document: DIDDocument, issuer: string, kid: string): VerificationMethod {
  const absolute = (id: string) => (id.startsWith('#') ? `${issuer}${id}` : id);
  let embedded: VerificationMethod | undefined;
  let referenced = false;
  for (const entry of document.assertionMethod ?? []) {
    if (typeof entry === 'string') referenced ||= absolute(entry) === kid;
    else if (absolute(entry.id) === kid) embedded = entry;
  }
  const method =
    embedded ?? (referenced ? document.verificationMethod?.find((vm) => absolute(vm.id) === kid) : undefined);
  if (!method) {
    throw new VcJwtError('unknown_kid', 'The kid is not an assertion method of the issuer.');
  }
  // A method listed under the issuer but controlled by someone else must not sign for the issuer.
  if (method.controller !== undefined && method.controller !== issuer && method.controller !== document.id) {
    throw new VcJwtError('unknown_kid', 'The verification method is not controlled by the issuer.');
  }
  return method;
}

async function verifySignature(
  jws: string,
  alg: AllowedAlg,
  method: VerificationMethod,
  signingInput: Uint8Array,
  signature: Uint8Array,
): Promise<void> {
  const jwk = publicJwkOf(method);
  if (!jwk) {
    const address = addressOf(method);
    if (!address)
      throw new VcJwtError('unknown_kid', `Verification method type ${method.type} has no usable key.`);
    if (alg !== 'ES256K') throw new VcJwtError('unsupported_alg', `${alg} does not fit a secp256k1 key.`);
    if (!es256kSignedByAddress(signingInput, signature, address)) {
      throw new VcJwtError('invalid_signature', 'The signature does not verify.');
    }
    return;
  }
  // Binding alg to the key's own type (not only to the allow-list) keeps a header from choosing how a
  // key is used.
  if (!KEY_OF_ALG[alg](jwk)) {
    throw new VcJwtError('unsupported_alg', `${alg} does not fit the verification method's key.`);
  }
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(jwk, alg);
  } catch (cause) {
    throw new VcJwtError('unsupported_alg', `${alg} does not fit the verification method's key.`, { cause });
  }
  try {
    await compactVerify(jws, key, { algorithms: [alg] });
  } catch (cause) {
    if (cause instanceof joseErrors.JOSEAlgNotAllowed || cause instanceof joseErrors.JOSENotSupported) {
      throw new VcJwtError('unsupported_alg', `${alg} does not fit the verification method's key.`, {
        cause,
      });
    }
    // JWSSignatureVerificationFailed, and TypeErrors for a key of the wrong curve.
    throw new VcJwtError('invalid_signature', 'The signature does not verify.', { cause });
  }
}

const KEY_OF_ALG: Record<AllowedAlg, (jwk: JWK) => boolean> = {
  ES256K: (jwk) => jwk.kty === 'EC' && jwk.crv === 'secp256k1',
  ES256: (jwk) => jwk.kty === 'EC' && jwk.crv === 'P-256',
  EdDSA: (jwk) => jwk.kty === 'OKP' && jwk.crv === 'Ed25519',
};

function publicJwkOf(method: VerificationMethod): JWK | undefined {
  if (method.publicKeyJwk) {
    const { d: _private, ...jwk } = method.publicKeyJwk as JWK;
    return jwk;
  }
  if (method.publicKeyHex && /Secp256k1/.test(method.type)) {
    try {
      return secp256k1JwkFromHex(method.publicKeyHex);
    } catch (cause) {
      throw new VcJwtError('unknown_kid', 'The verification method holds an invalid secp256k1 key.', {
        cause,
      });
    }
  }
  return undefined;
}

function addressOf(method: VerificationMethod): string | undefined {
  if (!/^EcdsaSecp256k1Recovery/.test(method.type)) return undefined;
  const account = method.blockchainAccountId ?? method.ethereumAddress;
  const address = account?.split(':').at(-1);
  return address && /^0x[0-9a-fA-F]{40}$/.test(address) ? address : undefined;
}

function checkValidity(credential: VerifiableCredentialV2, now: Date, skewSeconds: number): void {
  const skew = Math.min(Math.max(0, skewSeconds), MAX_SKEW_SECONDS) * 1000;
  const at = now.getTime();
  if (credential.validFrom !== undefined && Date.parse(credential.validFrom) > at + skew) {
    throw new VcJwtError('not_yet_valid', `The credential is valid from ${credential.validFrom}.`);
  }
  if (credential.validUntil !== undefined && Date.parse(credential.validUntil) < at - skew) {
    throw new VcJwtError('expired', `The credential expired at ${credential.validUntil}.`);
  }
}
