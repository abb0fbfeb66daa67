/**
 * Service secrets (the relayer key, later signing keys) stored envelope-encrypted in the `Secret`
 * table, one per purpose. The envelope's context binds it to its purpose.
 */
import { isUniqueViolation, type Store } from '../store/index.ts';
import type { KeyRing } from './envelope.ts';

/** The envelope context binding a secret to its purpose. */
export const secretContext = (purpose: string) => `secret:${purpose}`;

/** Reads the secret for `purpose`, or null. */
export async function readSecret(store: Store, keys: KeyRing, purpose: string): Promise<Buffer | null> {
  const row = await store.db.secret.findUnique({ where: { purpose } });
  return row ? keys.open(row.envelope, secretContext(purpose)) : null;
}

/**
 * Returns the secret for `purpose`, creating it with `generate` when absent. Safe under concurrent
 * callers: the unique purpose makes one creation win and the others read the winner.
 */
export async function getOrCreateSecret(
  store: Store,
  keys: KeyRing,
  purpose: string,
  generate: () => Buffer,
): Promise<Buffer> {
  const existing = await readSecret(store, keys, purpose);
  if (existing) return existing;
  const value = generate();
  const envelope = keys.seal(value, secretContext(purpose));
  try {
    await store.db.secret.create({
      data: { purpose, masterKeyId: keys.current.id, envelope: new Uint8Array(envelope) },
    });
    return value;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const winner = await readSecret(store, keys, purpose);
    if (winner) return winner;
    throw err;
  }
}
