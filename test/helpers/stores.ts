/**
 * The store wirings every store-backed suite runs against (STYLE.md 6): SQLite always, PostgreSQL when
 * TEST_POSTGRES_URL is set (otherwise a visibly skipped test says so).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.ts';
import { applyMigrations } from '../../src/store/migrate.ts';
import { freshPostgresUrl, TEST_POSTGRES_URL } from './service.ts';
import { tempDir } from './tmp.ts';

export interface StoreWiring {
  name: 'SQLite' | 'PostgreSQL';
  /** A fresh, empty database and how to remove it. */
  create(): Promise<{ url: string; cleanup: () => Promise<void> }>;
}

/** The wirings to run `suite` against; registers the skip notice when PostgreSQL is not configured. */
export function storeWirings(suite: string): StoreWiring[] {
  const wirings: StoreWiring[] = [
    {
      name: 'SQLite',
      create: async () => {
        const dir = tempDir();
        return { url: `file:${join(dir.path, 'store.db')}`, cleanup: async () => dir.remove() };
      },
    },
  ];
  if (TEST_POSTGRES_URL) {
    wirings.push({
      name: 'PostgreSQL',
      create: async () => {
        const db = freshPostgresUrl();
        return { url: db.url, cleanup: db.drop };
      },
    });
  } else {
    it.skip(`PostgreSQL ${suite} skipped: TEST_POSTGRES_URL not set`, () => {});
  }
  return wirings;
}

/** A migrated store on a fresh database of `wiring`, opened before the suite and removed after it. */
export function useMigratedStore(wiring: StoreWiring): { readonly store: Store; readonly url: string } {
  const handle = {} as { store: Store; url: string };
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const db = await wiring.create();
    cleanup = db.cleanup;
    await applyMigrations({ url: db.url });
    handle.url = db.url;
    handle.store = await openStore({ url: db.url });
  });
  afterAll(async () => {
    await handle.store?.close();
    await cleanup?.();
  });
  return handle;
}
