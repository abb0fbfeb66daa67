/** Tenants: the foundation seeds `default`; later issues add administration. */
import type { Store } from './store/index.ts';

/** The tenant embedded mode serves at `{PUBLIC_URL}/t/default`. */
export const DEFAULT_TENANT = 'default';

/** Creates the `default` tenant if it does not exist (idempotent, safe under concurrent starts). */
export async function ensureDefaultTenant(store: Store): Promise<void> {
  await store.db.tenant.upsert({
    where: { slug: DEFAULT_TENANT },
    create: { slug: DEFAULT_TENANT, displayName: 'Default' },
    update: {},
  });
}
