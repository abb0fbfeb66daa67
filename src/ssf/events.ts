/**
 * OpenID Shared Signals: the CAEP events Trustgate emits and the Security Event Tokens that carry them.
 *
 *   SET          RFC 8417: a JWT with `typ: secevent+jwt`, `iss`, `iat`, `jti`, `aud`, one event under
 *                `events` (SSF 1.0 allows exactly one per SET), the subject as a top-level `sub_id`
 *                (SSF 1.0 §4 / RFC 9493 subject identifiers) and `txn` naming the change behind it.
 *   signed       with the tenant's current OpenID Connect signing key (ES256), so receivers verify it
 *                against the same JWKS as the tenant's ID tokens.
 *   subjects     `iss_sub` (the person as the receiving app knows them: issuer and that app's `sub`),
 *                `opaque` (a session identifier), and SSF's `complex` for "this session of this person".
 */
import { createHash } from 'node:crypto';
import { importJWK, type JWK, type KeyLike, SignJWT } from 'jose';

/** CAEP 1.0 event types. */
export const CAEP_SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
export const CAEP_CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';

/** The event types a stream may ask for. */
export const SSF_EVENT_TYPES = [CAEP_SESSION_REVOKED, CAEP_CREDENTIAL_CHANGE] as const;
export type SsfEventType = (typeof SSF_EVENT_TYPES)[number];

/** Media type of a pushed SET (RFC 8935 §2). */
export const SET_MEDIA_TYPE = 'application/secevent+jwt';

/** Subject identifiers (RFC 9493, SSF 1.0 complex subjects). */
export type SimpleSubject =
  | { format: 'iss_sub'; iss: string; sub: string }
  | { format: 'opaque'; id: string };
export type SubjectId = SimpleSubject | { format: 'complex'; user: SimpleSubject; session: SimpleSubject };

/** Who started the change (CAEP `initiating_entity`). */
export type InitiatingEntity = 'admin' | 'user' | 'policy' | 'system';

/** One event, before it is wrapped in a SET. */
export interface SecurityEvent {
  type: SsfEventType;
  subject: SubjectId;
  /** The event's own members (CAEP): `event_timestamp`, `initiating_entity`, `reason_admin`, … */
  body: Record<string, unknown>;
}

/** The key a tenant's SETs are signed with (a private JWK from the tenant's OIDC key set). */
export interface SetSigningKey {
  kid: string;
  alg: string;
  key: KeyLike | Uint8Array;
}

/** Imports a private JWK (as `OidcKeys.load` returns them) for signing SETs. */
export async function setSigningKey(jwk: Record<string, unknown>): Promise<SetSigningKey> {
  const alg = String(jwk.alg ?? 'ES256');
  return { kid: String(jwk.kid), alg, key: await importJWK(jwk as unknown as JWK, alg) };
}

/**
 * A deterministic `jti` (UUID form) for `parts`: re-running a revocation derives the same ids, so the
 * unique `SsfDelivery.jti` keeps each SET queued once.
 */
export function deterministicJti(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Signs one event as a SET for `audience`. */
export async function signSet(
  key: SetSigningKey,
  input: { issuer: string; audience: string; jti: string; txn?: string; event: SecurityEvent; iatS?: number },
): Promise<string> {
  return new SignJWT({
    sub_id: input.event.subject,
    events: { [input.event.type]: input.event.body },
    ...(input.txn ? { txn: input.txn } : {}),
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'secevent+jwt' })
    .setIssuer(input.issuer)
    .setAudience(input.audience)
    .setJti(input.jti)
    .setIssuedAt(input.iatS ?? Math.floor(Date.now() / 1000))
    .sign(key.key);
}
