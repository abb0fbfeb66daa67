/**
 * Security events (sign-in attempts, factor changes, suspected clones, recoveries, admin actions, chain
 * job results). Each is a record of its tenant's audit hash chain (src/audit/chain.ts), written in the
 * same transaction as the change it records when there is one. Details never carry secrets, codes or
 * tokens: a detail key that names one is refused.
 */
import { type Db, type Store, storeOf, type Tx } from '../store/index.ts';
import { type AuditRecordInput, appendRecord, assertNoSecrets } from './chain.ts';

/** One security event. */
export type SecurityEventInput = AuditRecordInput;

function isStore(target: Db | Tx | Store): target is Store {
  return typeof (target as Store).tx === 'function' && 'dialect' in target;
}

/**
 * Appends one event to its tenant's audit chain. With a transaction, inside it (a rolled-back change
 * leaves no record); with the store or its plain client, in a short transaction of its own.
 */
export async function recordEvent(
  target: Db | Tx | Store,
  event: SecurityEventInput,
): Promise<{ seq: number; hash: string }> {
  assertNoSecrets(event.detail);
  if (isStore(target)) return target.tx((tx) => appendRecord(tx, event));
  // A plain client has `$transaction`; a transaction's client does not.
  if (typeof (target as Db).$transaction === 'function') {
    const store = storeOf(target);
    if (store) return store.tx((tx) => appendRecord(tx, event));
    return (target as Db).$transaction((tx) => appendRecord(tx as Tx, event));
  }
  return appendRecord(target as Tx, event);
}
