/** Tenants: the foundation seeds `default`; later issues add administration. */
import { isUniqueViolation, type Store } from './store/index.ts';

/** The tenant embedded mode serves at `{PUBLIC_URL}/t/default`. */
export const DEFAULT_TENANT = 'default';

/**
 * Creates the `default` tenant if it does not exist. Idempotent, and safe when several instances
 * start at once: Prisma's upsert is a read then a write, so a concurrent creation can win the race;
 * the unique slug turns that into a violation we can ignore.
 */
export async function ensureDefaultTenant(store: Store): Promise<void> {
  try {
    await store.db.tenant.upsert({
      where: { slug: DEFAULT_TENANT },
      create: { slug: DEFAULT_TENANT, displayName: 'Default' },
      update: {},
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
}
