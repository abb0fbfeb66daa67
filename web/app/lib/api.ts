/**
 * Data loading for the portal and console on top of the hosted pages' `api` (problem+json errors,
 * same-origin credentials): a hook that loads, reloads and reports, and an action runner that disables
 * its button, sends the person to step up or sign in when the API asks, and shows the outcome in the
 * page's live regions.
 */

import {
  ApiError,
  api,
  clearMessages,
  describeError,
  isAborted,
  redirectIfUnauthenticated,
  showError,
  showStatus,
  tenantPath,
} from '@hosted/common';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export { ApiError, api, tenantPath };

/** What `useApi` holds: the data once loaded, the error if the last load failed, and a reload. */
export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => Promise<void>;
}

/**
 * Loads `path` (under the tenant when it starts with `/api/` or `/auth/`) and again whenever `path`
 * changes or `reload` is called; every `pollMs` milliseconds too when given. A 401 sends the person to
 * sign in (or step up) and comes back here.
 */
export function useApi<T>(path: string | undefined, { pollMs }: { pollMs?: number } = {}): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [loading, setLoading] = useState(path !== undefined);
  const latest = useRef(path);
  latest.current = path;

  const reload = useCallback(async () => {
    if (path === undefined) return;
    setLoading(true);
    try {
      const result = await api<T>(resolve(path));
      if (latest.current !== path) return;
      setData(result);
      setError(undefined);
    } catch (err) {
      if (latest.current !== path) return;
      if (redirectIfUnauthenticated(err)) return;
      setError(err as Error);
    } finally {
      if (latest.current === path) setLoading(false);
    }
  }, [path]);

  useEffect(() => {
    void reload();
    if (!pollMs) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void reload();
    }, pollMs);
    return () => clearInterval(timer);
  }, [reload, pollMs]);

  return { data, error, loading, reload };
}

/** Paths that are not under a tenant. */
const GLOBAL_PREFIXES = ['/t/', '/api/admin/tenants', '/api/chain', '/1.0/', '/status/', '/credentials/'];

/** `path` under this page's tenant (`/api/me/…` → `/t/{tenant}/api/me/…`) unless it is global. */
export function resolve(path: string): string {
  return GLOBAL_PREFIXES.some((prefix) => path.startsWith(prefix)) ? path : tenantPath(path);
}

/** Calls the API with a JSON body; `path` as in `useApi`. */
export function call<T = unknown>(path: string, method: string, body?: unknown): Promise<T> {
  return api<T>(resolve(path), { method, body });
}

/**
 * Runs `action` for a button: busy while it runs (a double click sends one request), then `done` in
 * the status region. Errors are shown in the alert region; a 401 sends the person to step up or sign
 * in and back to this page. Returns whether the action succeeded.
 */
export function useAction(): [
  busy: boolean,
  run: (action: () => Promise<unknown>, done?: string) => Promise<boolean>,
] {
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (action: () => Promise<unknown>, done?: string) => {
    setBusy(true);
    clearMessages();
    try {
      await action();
      if (done) showStatus(done);
      return true;
    } catch (err) {
      if (!isAborted(err) && !redirectIfUnauthenticated(err)) showError(describeError(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return [busy, run];
}
