/**
 * The audit hash chain: every security event of a tenant is one record in a per-tenant chain, appended
 * inside the transaction of the change it records.
 *
 *   seq       the tenant's `AuditHead.seq` + 1 (1 for the first record)
 *   prevHash  the previous record's hash (64 zeros for the first)
 *   hash      hex SHA-256 of the RFC 8785 canonical JSON of
 *             {tenantId, seq, prevHash, type, accountId, actor, detail, ip, createdAt}
 *
 * `AuditHead` is the serialization point: the upsert that advances it takes the row's lock on
 * PostgreSQL (INSERT … ON CONFLICT DO UPDATE) until the caller's transaction ends, so two transactions
 * of one tenant get consecutive sequence numbers in commit order, and a rolled-back change leaves
 * neither a record nor a gap. On SQLite the store runs one transaction at a time.
 */
import { createHash } from 'node:crypto';
import type { Tx } from '../store/index.ts';
import { canonicalJson } from './canonical-json.ts';

/** `prevHash` of a tenant's first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** Who did it, when not the account itself (an admin, an app, the service). */
export interface AuditActor {
  kind: 'person' | 'admin' | 'client' | 'system';
  id?: string;
}

/** What a caller records. */
export interface AuditRecordInput {
  tenantId: string;
  accountId?: string | null;
  /** Dotted type, e.g. `signin.succeeded`. */
  type: string;
  detail?: Record<string, unknown>;
  ip?: string | null;
  actor?: AuditActor | null;
}

/** Exactly the fields the hash covers, in their hashed form. */
export interface HashedFields {
  tenantId: string;
  seq: number;
  prevHash: string;
  type: string;
  accountId: string | null;
  actor: unknown;
  detail: unknown;
  ip: string | null;
  /** ISO 8601 with milliseconds (what both databases keep). */
  createdAt: string;
}

/** A stored record, as read back from `SecurityEvent`. */
export interface StoredRecord {
  tenantId: string;
  seq: number | null;
  prevHash: string | null;
  hash: string | null;
  type: string;
  accountId: string | null;
  actor: string | null;
  detail: string;
  ip: string | null;
  createdAt: Date;
}

/** 500 `audit_secret_refused`: a detail key that names a secret; a programming error, never input. */
export class AuditSecretError extends Error {
  constructor(readonly key: string) {
    super(`audit detail key "${key}" looks like a secret (tokens, codes, passwords never go into a record)`);
    this.name = 'AuditSecretError';
  }
}

/**
 * Keys that name secrets, compared without case and without separators: anything ending in token,
 * secret, password, passphrase, passcode, assertion, private key or otp, and `code`/`codes` alone or as
 * an OTP / recovery / authorization code. A reason or error code goes under another name (`error`,
 * `reasons`).
 */
const SECRET_KEY =
  /(token|secret|password|passphrase|passcode|assertion|privatekey|otp|mnemonic|seed)s?$|^(code|codes|(otp|totp|recovery|authorization|auth|verification|backup|one?time)codes?)$/;

/** Throws AuditSecretError when any key of `detail` (at any depth) names a secret. */
export function assertNoSecrets(detail: unknown, depth = 0): void {
  if (depth > 8 || detail === null || typeof detail !== 'object') return;
  if (Array.isArray(detail)) {
    for (const item of detail) assertNoSecrets(item, depth + 1);
    return;
  }
  for (const [key, value] of Object.entries(detail)) {
    if (SECRET_KEY.test(key.toLowerCase().replace(/[^a-z0-9]/g, ''))) throw new AuditSecretError(key);
    assertNoSecrets(value, depth + 1);
  }
}

/** Hex SHA-256 of the canonical JSON of `fields`. */
export function recordHash(fields: HashedFields): string {
  return createHash('sha256').update(canonicalJson(fields), 'utf8').digest('hex');
}

/** The fields of a stored record as hashed (detail and actor parsed back from their JSON text). */
export function hashedFieldsOf(row: StoredRecord): HashedFields {
  return {
    tenantId: row.tenantId,
    seq: row.seq ?? 0,
    prevHash: row.prevHash ?? '',
    type: row.type,
    accountId: row.accountId,
    actor: row.actor === null ? null : (JSON.parse(row.actor) as unknown),
    detail: JSON.parse(row.detail) as unknown,
    ip: row.ip,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The hash a stored record should carry, recomputed from its fields. */
export function recomputeHash(row: StoredRecord): string {
  return recordHash(hashedFieldsOf(row));
}

/** JSON round trip: drops what JSON drops (undefined members), turns Dates into strings. */
function jsonValue(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? {})) as unknown;
}

/**
 * Appends one record to its tenant's chain within `tx`. The caller's transaction holds the tenant's head
 * until it ends: keep the append near the end of long transactions.
 */
export async function appendRecord(tx: Tx, input: AuditRecordInput): Promise<{ seq: number; hash: string }> {
  assertNoSecrets(input.detail);
  const detail = jsonValue(input.detail ?? {});
  const actor = input.actor ? jsonValue(input.actor) : null;
  // One statement reads and advances the head: on PostgreSQL it is INSERT … ON CONFLICT DO UPDATE, whose
  // row lock serializes the tenant's appends until this transaction commits or rolls back. The row it
  // returns still carries the previous hash (only seq changed), or GENESIS for a tenant's first record.
  const head = await tx.auditHead.upsert({
    where: { tenantId: input.tenantId },
    create: { tenantId: input.tenantId, seq: 1, hash: GENESIS_HASH },
    update: { seq: { increment: 1 } },
  });
  const createdAt = new Date();
  const fields: HashedFields = {
    tenantId: input.tenantId,
    seq: head.seq,
    prevHash: head.hash,
    type: input.type,
    accountId: input.accountId ?? null,
    actor,
    detail,
    ip: input.ip ?? null,
    createdAt: createdAt.toISOString(),
  };
  const hash = recordHash(fields);
  await tx.securityEvent.create({
    data: {
      tenantId: fields.tenantId,
      accountId: fields.accountId,
      type: fields.type,
      detail: canonicalJson(detail),
      ip: fields.ip,
      createdAt,
      seq: fields.seq,
      prevHash: fields.prevHash,
      hash,
      actor: actor === null ? null : canonicalJson(actor),
    },
  });
  await tx.auditHead.update({ where: { tenantId: input.tenantId }, data: { hash } });
  return { seq: fields.seq, hash };
}
