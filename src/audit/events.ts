/**
 * Security events (sign-in attempts, factor changes, suspected clones, recoveries). Each is written in
 * the same transaction as the change it records, when there is one. Details never carry secrets,
 * codes or tokens. (The audit issue turns this table into a per-tenant hash chain.)
 */
import type { Db, Tx } from '../store/index.ts';

export interface SecurityEventInput {
  tenantId: string;
  accountId?: string | null;
  /** Dotted type, e.g. `signin.succeeded`, `passkey.counter_regression`. */
  type: string;
  detail?: Record<string, unknown>;
  ip?: string | null;
}

/** Appends one event. */
export async function recordEvent(db: Db | Tx, event: SecurityEventInput): Promise<void> {
  await db.securityEvent.create({
    data: {
      tenantId: event.tenantId,
      accountId: event.accountId ?? null,
      type: event.type,
      detail: JSON.stringify(event.detail ?? {}),
      ip: event.ip ?? null,
    },
  });
}
