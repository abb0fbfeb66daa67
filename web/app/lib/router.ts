/**
 * Path routing for the portal and the console: each is served for its base path and everything under
 * it (`/t/{tenant}/admin/…`), so a step-up or a reload comes back to the same view. Links with
 * `data-route` (or any same-origin link under the base) navigate without reloading.
 */
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

/** Goes to `path` (absolute, same origin) without reloading, and scrolls to the top. */
export function navigate(path: string, { replace = false } = {}): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  for (const listener of listeners) listener();
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => {
  for (const listener of listeners) listener();
});

/** The current path, re-rendering the component when it changes. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return path;
}

/**
 * Intercepts clicks on links under `base` (plain left clicks without modifier keys) and routes them in
 * the page. Install once per app.
 */
export function interceptLinks(base: string): void {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element | null)?.closest?.('a');
    if (!link || link.target || link.hasAttribute('download')) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin) return;
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
