/**
 * W3C Verifiable Credentials Data Model 1.1 as a JWT (`jwt_vc`, VC 1.1 §6.3.1 "JWT encoding"): the
 * credential sits in the `vc` claim and `iss`, `sub`, `jti`, `nbf`, `exp` carry its issuer, subject, id
 * and validity period. This is the format Veramo, did-jwt-vc and most wallets speak today; VC 2.0
 * (`vc+jwt`, no `vc` claim) lives in ./vc-jose.ts.
 *
 * Issuing goes through did-jwt-vc's `createVerifiableCredentialJwt` with a did-jwt signer around
 * `managedKeySigner`, not through a Veramo `CredentialPlugin`: Veramo's `CredentialProviderJWT` does the
 * same call with a `keyManagerSign` signer, but would need a second agent forwarding to ours, a DID
 * manager lookup per credential and no way to put the `kid` header in (measured through a forwarding agent:
 * about 220 issues/s and no `kid`, against about 800-970/s here). Keys never leave the KMS either way.
 *
 * Verification rules, each failing with its own code (the same codes as ./vc-jose.ts):
 * - three base64url parts, a JSON object header and payload, no `crit`/`b64` (`malformed_jwt`);
 * - `alg` on the allow-list; `none` and every HMAC alg refused before any key is touched (`unsupported_alg`);
 * - the payload is a VC 1.1 JWT credential with a DID `iss` (`invalid_credential`);
 * - the issuer DID resolves (`issuer_not_resolved`);
 * - the signature verifies with one of the issuer's `assertionMethod` keys (`invalid_signature`), and the
 *   `kid`, when present, names that very method (`unknown_kid`);
 * - `nbf` / `iat` / `exp` hold, give or take a bounded clock skew (`not_yet_valid`, `expired`);
 * - then the status hook.
 */

import {
  createVerifiableCredentialJwt,
  verifyCredential as didJwtVerifyCredential,
  type JwtCredentialPayload,
  type W3CCredential,
} from 'did-jwt-vc';
import type { DIDResolutionResult, Resolvable, VerificationMethod } from 'did-resolver';
import { parse as parseDid } from 'did-resolver';
import { base64url } from 'jose';
import { z } from 'zod';
import { TrustgateError } from '../errors.ts';
import type { IdentityAgent } from '../identity/agent.ts';
import { type JwsSigner, managedKeySigner, recoverEs256kPublicKey } from './es256k.ts';
import type { TenantIssuer } from './issuers.ts';
import { checkJwsHeader, type IssuerResolver, parseCompact, VcJwtError } from './vc-jose.ts';

export { VcJwtError, type VcJwtErrorCode } from './vc-jose.ts';

/** The base context every VC 1.1 credential starts with. */
export const VC_V1_CONTEXT = 'https://www.w3.org/2018/credentials/v1';

const MAX_SKEW_SECONDS = 300;

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
}

function invalid(problems: string[]): VcJwtError {
  return new VcJwtError('invalid_credential', `The credential is invalid: ${problems.join('; ')}.`, {
    problems,
  });
}

const contextSchema = z
  .array(z.union([z.string(), z.record(z.string(), z.unknown())]))
  .min(1)
  .refine((ctx) => ctx[0] === VC_V1_CONTEXT, {
    message: `the first @context entry must be ${VC_V1_CONTEXT}`,
  });

const typeSchema = z
  .union([z.string(), z.array(z.string())])
  .refine((t) => (Array.isArray(t) ? t : [t]).includes('VerifiableCredential'), {
    message: 'type must include VerifiableCredential',
  });

const statusEntrySchema = z.looseObject({ id: z.string().min(1), type: z.string().min(1) });
/** One status entry, or several (e.g. a `revocation` and a `suspension` Bitstring Status List entry). */
const statusSchema = z.union([statusEntrySchema, z.array(statusEntrySchema).min(1)]);
const subjectSchema = z.looseObject({ id: z.string().min(1).optional() });
const dateTime = z.iso.datetime({ offset: true });

// ---------------------------------------------------------------------------------------------------------
// Issue

const issueInputSchema = z
  .looseObject({
    '@context': contextSchema.optional(),
    id: z.string().min(1).optional(),
    type: typeSchema.optional(),
    issuer: z.union([z.string().min(1), z.looseObject({ id: z.string().min(1) })]).optional(),
    issuanceDate: dateTime.optional(),
    expirationDate: dateTime.optional(),
    // The JWT encoding has one `sub`: a credential about several subjects is not expressible here.
    credentialSubject: subjectSchema,
    credentialStatus: statusSchema.optional(),
  })
  .refine(
    (c) => !c.issuanceDate || !c.expirationDate || Date.parse(c.issuanceDate) <= Date.parse(c.expirationDate),
    { message: 'expirationDate is before issuanceDate', path: ['expirationDate'] },
  );

export interface IssueJwtVcOptions {
  /** The agent holding the issuer's key. */
  agent: IdentityAgent;
  /** The tenant's issuer (`TenantIssuers.get`). */
  issuer: TenantIssuer;
  /**
   * The unsigned VC 1.1 credential. `@context` defaults to the VC 1.1 context, `type` to
   * `VerifiableCredential`, `issuer` to the issuer's DID (another issuer is refused), `issuanceDate` to now.
   */
  credential: unknown;
  /** Signs the JWS input; default `managedKeySigner(agent, issuer.kid)`. */
  sign?: JwsSigner;
  /** The JWT `aud`: the one party the credential is meant for (e.g. an OIDC client id). */
  audience?: string;
}

/**
 * Issues a VC 1.1 credential as a JWT VC (ES256K) signed by the tenant issuer's managed key, with
 * `kid` = the issuer's `#controller` method. Throws `invalid_credential` (400) listing every problem when
 * the credential is malformed.
 */
export async function issueJwtVc(options: IssueJwtVcOptions): Promise<string> {
  const { issuer } = options;
  const parsed = issueInputSchema.safeParse(options.credential);
  if (!parsed.success) throw invalid(problemsOf(parsed.error));
  const input = parsed.data;
  const given = typeof input.issuer === 'string' ? input.issuer : input.issuer?.id;
  if (given !== undefined && given !== issuer.did) throw invalid(['issuer: does not match the issuing DID']);

  const types = input.type === undefined ? [] : [input.type].flat();
  const {
    '@context': context,
    id,
    type: _type,
    issuer: _issuer,
    issuanceDate,
    expirationDate,
    credentialSubject,
    credentialStatus,
    ...rest
  } = input;
  const { id: subjectId, ...claims } = credentialSubject;
  // The VC 1.1 JWT encoding (§6.3.1), done here rather than by did-jwt-vc's transform: that one empties a
  // subject that has nothing but an id, and then refuses its own output.
  const payload: JwtCredentialPayload = {
    iss: issuer.did,
    nbf: seconds(issuanceDate ?? new Date().toISOString()),
    ...(expirationDate !== undefined ? { exp: seconds(expirationDate) } : {}),
    ...(id !== undefined ? { jti: id } : {}),
    ...(subjectId !== undefined ? { sub: subjectId } : {}),
    ...(options.audience !== undefined ? { aud: options.audience } : {}),
    vc: {
      ...rest,
      // did-jwt-vc types contexts as strings; embedded context objects pass through as JSON all the same.
      '@context': (context ?? [VC_V1_CONTEXT]) as string[],
      type: types.includes('VerifiableCredential') ? types : ['VerifiableCredential', ...types],
      credentialSubject: Object.keys(claims).length > 0 ? claims : credentialSubject,
      // did-jwt-vc types one status entry; an array of entries (VC 2.0 style) is carried as JSON the same.
      ...(credentialStatus !== undefined
        ? { credentialStatus: credentialStatus as JwtCredentialPayload['vc']['credentialStatus'] }
        : {}),
    },
  };
  const sign = options.sign ?? managedKeySigner(options.agent, issuer.kid);
  try {
    return await createVerifiableCredentialJwt(
      payload,
      {
        did: issuer.did,
        alg: 'ES256K',
        // did-jwt takes a string signature as the finished JWS signature part.
        signer: async (data) =>
          base64url.encode(await sign(typeof data === 'string' ? new TextEncoder().encode(data) : data)),
      },
      { removeOriginalFields: false, header: { alg: 'ES256K', typ: 'JWT', kid: issuer.verificationMethod } },
    );
  } catch (err) {
    // did-jwt-vc's own data-model checks (`schema_error: …`, `format_error: …`).
    const message = err instanceof Error ? err.message : '';
    if (/^(schema_error|format_error):/.test(message)) throw invalid([message]);
    throw err;
  }
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

// ---------------------------------------------------------------------------------------------------------
// Verify

export interface VerifyJwtVcOptions {
  /** Resolves the issuer DID: `DidResolverService` (cached) or a did-resolver `Resolver`. */
  resolver: IssuerResolver;
  /** Time to check validity against; default now. */
  now?: Date;
  /** Allowed clock skew for `nbf` / `iat` / `exp`, in seconds; default 60, at most 300. */
  skewSeconds?: number;
  /** Status check (e.g. a status list), run once signature and validity hold; throws to refuse. */
  checkStatus?: (credential: W3CCredential) => Promise<void>;
}

export interface VerifiedJwtVc {
  verified: true;
  /** The credential in its W3C JSON form (`proof.type` `JwtProof2020`, `proof.jwt` the input). */
  credential: W3CCredential;
  /** Issuer DID (`iss`). */
  issuer: string;
  /** The verification method that signed, as found in the issuer's DID document. */
  verificationMethod: VerificationMethod;
  /** The JWT payload as signed. */
  payload: Record<string, unknown>;
}

const jwtPayloadSchema = z.looseObject({
  iss: z.string().startsWith('did:', { message: 'iss must be a DID' }),
  sub: z.string().min(1).optional(),
  jti: z.string().min(1).optional(),
  nbf: z.number().finite().optional(),
  iat: z.number().finite().optional(),
  exp: z.number().finite().optional(),
  vc: z.looseObject({
    '@context': z.union([z.string().transform((s) => [s]), contextSchema]).pipe(contextSchema),
    type: typeSchema,
    credentialSubject: subjectSchema,
    credentialStatus: statusSchema.optional(),
    issuer: z.union([z.string(), z.looseObject({ id: z.string() })]).optional(),
  }),
});

/**
 * Verifies a VC 1.1 JWT credential with did-jwt-vc against `options.resolver`. Returns the credential when
 * every rule in this module's header holds; otherwise throws a `VcJwtError` with the failed rule's code.
 * Resolver outages (5xx) are rethrown as they are: they say nothing about the credential.
 */
export async function verifyJwtVc(jwt: string, options: VerifyJwtVcOptions): Promise<VerifiedJwtVc> {
  const { header, payload: rawPayload } = parseJwt(jwt);
  checkHeader(header);
  const parsed = jwtPayloadSchema.safeParse(rawPayload);
  if (!parsed.success) throw invalid(problemsOf(parsed.error));
  const payload = parsed.data;
  const vcIssuer = typeof payload.vc.issuer === 'string' ? payload.vc.issuer : payload.vc.issuer?.id;
  // did-jwt-vc lets `iss` win over `vc.issuer`; two different issuers in one credential is an ambiguity a
  // verifier must not resolve silently.
  if (vcIssuer !== undefined && vcIssuer !== payload.iss) throw invalid(['vc.issuer: does not match iss']);
  const subjectId = payload.vc.credentialSubject.id;
  if (subjectId !== undefined && payload.sub !== undefined && subjectId !== payload.sub) {
    throw invalid(['vc.credentialSubject.id: does not match sub']);
  }
  const kid = kidOf(header, payload.iss);

  const { resolvable, outage } = guardedResolver(options.resolver);
  let verified: Awaited<ReturnType<typeof didJwtVerifyCredential>>;
  try {
    verified = await didJwtVerifyCredential(jwt, resolvable, {
      proofPurpose: 'assertionMethod',
      // Validity is checked below, after the signature, with our own skew bound and error codes.
      policies: {
        nbf: false,
        iat: false,
        exp: false,
        issuanceDate: false,
        expirationDate: false,
        aud: false,
      },
    });
  } catch (err) {
    if (outage.error) throw outage.error;
    throw mapDidJwtError(err);
  }

  const method = verified.signer;
  learnKey(jwt, method);
  if (kid !== undefined && method.id !== kid && absolute(method.id, payload.iss) !== kid) {
    const document = verified.didResolutionResult.didDocument;
    const listed = (document?.assertionMethod ?? []).some(
      (entry) => absolute(typeof entry === 'string' ? entry : entry.id, payload.iss) === kid,
    );
    throw listed
      ? new VcJwtError('invalid_signature', 'The signature was not made by the key named in kid.')
      : new VcJwtError('unknown_kid', 'The kid is not an assertion method of the issuer.');
  }

  checkValidity(payload, options.now ?? new Date(), options.skewSeconds ?? 60);
  await options.checkStatus?.(verified.verifiableCredential);
  return {
    verified: true,
    credential: verified.verifiableCredential,
    issuer: payload.iss,
    verificationMethod: method,
    payload: verified.payload as Record<string, unknown>,
  };
}

/** The JWT's header and payload; `malformed_jwt` unless the payload is a JSON object. */
function parseJwt(jwt: unknown): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const { header, payload } = parseCompact(jwt);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new VcJwtError('malformed_jwt', 'The JWT payload is not a JSON object.');
  }
  return { header, payload: payload as Record<string, unknown> };
}

/** `checkJwsHeader` plus the VC 1.1 rule: typ `JWT` or none (`vc+jwt` is a VC 2.0 credential). */
function checkHeader(header: Record<string, unknown>): void {
  checkJwsHeader(header);
  const { typ } = header;
  if (typ !== undefined && (typeof typ !== 'string' || typ.toUpperCase() !== 'JWT')) {
    throw new VcJwtError('malformed_jwt', 'A VC 1.1 JWT has typ JWT (vc+jwt is a VC 2.0 credential).');
  }
}

function absolute(id: string, issuer: string): string {
  return id.startsWith('#') ? `${issuer}${id}` : id;
}

function kidOf(header: Record<string, unknown>, issuer: string): string | undefined {
  if (header.kid === undefined) return undefined;
  if (typeof header.kid !== 'string' || header.kid === '') {
    throw new VcJwtError('unknown_kid', 'The JWT header kid is not a DID URL.');
  }
  const kid = absolute(header.kid, issuer);
  if (!kid.startsWith(`${issuer}#`)) {
    throw new VcJwtError('unknown_kid', 'The kid is not a verification method of the issuer.');
  }
  return kid;
}

/**
 * did-jwt turns every resolver exception into a `resolver_error` message; this wrapper keeps a resolver
 * outage (a 5xx `TrustgateError`) aside so that it is rethrown as an outage, not blamed on the credential.
 */
function guardedResolver(resolver: IssuerResolver): {
  resolvable: Resolvable;
  outage: { error?: unknown };
} {
  const outage: { error?: unknown } = {};
  const resolvable: Resolvable = {
    resolve: async (didUrl: string): Promise<DIDResolutionResult> => {
      const did = parseDid(didUrl)?.did;
      if (!did) return failed('invalidDid', 'Not a DID.');
      try {
        const result = await resolver.resolve(did);
        // did-jwt would accept keys of a deactivated DID; vc-jose refuses them, and so do we.
        return result.didDocumentMetadata?.deactivated
          ? failed('deactivated', 'The DID is deactivated.')
          : withLearnedKeys(result);
      } catch (err) {
        if (err instanceof TrustgateError && err.status >= 500) outage.error = err;
        return failed('notFound', err instanceof Error ? err.message : 'Resolution failed.');
      }
    },
  };
  return { resolvable, outage };
}

/**
 * Public keys of address-only verification methods (`EcdsaSecp256k1RecoveryMethod2020`, what a did:ethr
 * without a published key has), learned from signatures that verified: the recovered key hashes to the
 * method's address, so it is that method's key. With it, the next verification is one signature check
 * instead of up to two public-key recoveries. Keyed by `blockchainAccountId`; bounded.
 */
const learnedKeys = new Map<string, string>();
const LEARNED_KEYS_MAX = 10_000;
const RECOVERY_METHOD = 'EcdsaSecp256k1RecoveryMethod2020';

function withLearnedKeys(result: DIDResolutionResult): DIDResolutionResult {
  const document = result.didDocument;
  const methods = document?.verificationMethod;
  if (!document || !methods?.some((vm) => vm.type === RECOVERY_METHOD && vm.blockchainAccountId))
    return result;
  let changed = false;
  const verificationMethod = methods.map((vm) => {
    const publicKeyHex =
      vm.type === RECOVERY_METHOD && vm.blockchainAccountId
        ? learnedKeys.get(vm.blockchainAccountId.toLowerCase())
        : undefined;
    if (!publicKeyHex) return vm;
    changed = true;
    return { id: vm.id, type: 'EcdsaSecp256k1VerificationKey2019', controller: vm.controller, publicKeyHex };
  });
  return changed ? { ...result, didDocument: { ...document, verificationMethod } } : result;
}

/** After a verification by an address-only method: remembers the key that signed (see `learnedKeys`). */
function learnKey(jwt: string, method: VerificationMethod): void {
  const account = method.type === RECOVERY_METHOD ? method.blockchainAccountId?.toLowerCase() : undefined;
  if (!account || learnedKeys.has(account)) return;
  const [header, payload, signature] = jwt.split('.');
  const address = account.split(':').pop();
  if (!header || !payload || !signature || !address) return;
  const publicKey = recoverEs256kPublicKey(
    new TextEncoder().encode(`${header}.${payload}`),
    base64url.decode(signature),
    address,
  );
  if (!publicKey) return;
  if (learnedKeys.size >= LEARNED_KEYS_MAX) learnedKeys.clear();
  learnedKeys.set(account, publicKey.replace(/^0x/, ''));
}

function failed(error: string, message: string): DIDResolutionResult {
  return { didResolutionMetadata: { error, message }, didDocument: null, didDocumentMetadata: {} };
}

/** did-jwt and did-jwt-vc signal failures with a `code:` message prefix. */
function mapDidJwtError(err: unknown): VcJwtError {
  const message = err instanceof Error ? err.message : String(err);
  const prefix = message.split(':', 1)[0] ?? '';
  switch (prefix) {
    case 'resolver_error':
      return new VcJwtError('issuer_not_resolved', 'The issuer DID could not be resolved.', { cause: err });
    case 'invalid_signature':
      return new VcJwtError('invalid_signature', 'The signature does not verify.', { cause: err });
    case 'no_suitable_keys':
    case 'not_supported':
      return new VcJwtError('unsupported_alg', "The algorithm does not fit the issuer's assertion keys.", {
        cause: err,
      });
    default:
      // invalid_jwt, schema_error, format_error: the payload is not a credential did-jwt-vc accepts.
      return new VcJwtError('invalid_credential', 'The credential JWT is not a valid VC 1.1 credential.', {
        cause: err,
      });
  }
}

function checkValidity(
  payload: { nbf?: number | undefined; iat?: number | undefined; exp?: number | undefined },
  now: Date,
  skewSeconds: number,
): void {
  const skew = Math.min(Math.max(0, skewSeconds), MAX_SKEW_SECONDS);
  const at = now.getTime() / 1000;
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
  if (payload.nbf !== undefined && payload.nbf > at + skew) {
    throw new VcJwtError('not_yet_valid', `The credential is valid from ${iso(payload.nbf)}.`);
  }
  if (payload.iat !== undefined && payload.iat > at + skew) {
    throw new VcJwtError('not_yet_valid', 'The credential was issued in the future.');
  }
  if (payload.exp !== undefined && payload.exp <= at - skew) {
    throw new VcJwtError('expired', `The credential expired at ${iso(payload.exp)}.`);
  }
}
