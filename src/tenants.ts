/** Tenants: the foundation seeds `default`; later issues add administration. */
import { NotFoundError } from './errors.ts';
import type { Tenant } from './store/generated/postgres/client.ts';
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

/**
 * How long a tenant row is reused before it is read again. Every request names its tenant, and the
 * row changes rarely (settings, policy): a short cache saves a query per request, and a change reaches
 * every instance within this delay.
 */
export const TENANT_CACHE_MS = 2_000;

const cache = new WeakMap<Store, Map<string, { tenant: Tenant; readAtMs: number }>>();

/** The tenant with `slug`, or 404 (the same answer as for any unknown resource). */
export async function findTenant(store: Store, slug: string): Promise<Tenant> {
  let bySlug = cache.get(store);
  if (!bySlug) {
    bySlug = new Map();
    cache.set(store, bySlug);
  }
  const hit = bySlug.get(slug);
  const nowMs = Date.now();
  if (hit && nowMs - hit.readAtMs < TENANT_CACHE_MS) return hit.tenant;
  const tenant = await store.db.tenant.findUnique({ where: { slug } });
  if (!tenant) {
    bySlug.delete(slug);
    throw new NotFoundError('No such tenant.');
  }
  if (bySlug.size > 10_000) bySlug.clear();
  bySlug.set(slug, { tenant, readAtMs: nowMs });
  return tenant;
}

/** The tenant's issuer URL, `{PUBLIC_URL}/t/{slug}`: the audience of its challenges and tokens. */
export const issuerOf = (publicUrl: string, slug: string) => `${publicUrl}/t/${slug}`;
