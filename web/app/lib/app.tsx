/**
 * The frame of the portal and the console: a navigation of views under a base path and the view that
 * matches the current path. The server renders the shell around it (header, live regions, CSP), so
 * everything here goes into `#app`.
 */

import { tenantPath } from '@hosted/common';
import type { ComponentChildren, FunctionComponent } from 'preact';
import { render } from 'preact';
import { interceptLinks, usePath } from './router.ts';
import './app.css';

/** A view: its path under the base (`''`, `/people`, `/people/:id`), nav label and component. */
export interface View {
  path: string;
  /** In the navigation when set. */
  label?: string;
  component: FunctionComponent<{ params: Record<string, string> }>;
}

function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(g);
    else if (w !== g) return undefined;
  }
  return params;
}

function Frame({ base, views, label }: { base: string; views: View[]; label: string }) {
  const path = usePath();
  const rest = path.startsWith(base) ? path.slice(base.length) : '';
  let content: ComponentChildren = (
    <p class="error" role="alert">
      There is no such page here. <a href={base}>Go to the start</a>.
    </p>
  );
  for (const view of views) {
    const params = match(view.path, rest);
    if (params) {
      const Component = view.component;
      content = <Component key={view.path} params={params} />;
      break;
    }
  }
  const current = (view: View) =>
    view.path === '' ? rest === '' || rest === '/' : rest === view.path || rest.startsWith(`${view.path}/`);
  return (
    <div class="app-frame">
      <nav class="app-nav" aria-label={label}>
        <ul>
          {views
            .filter((view) => view.label)
            .map((view) => (
              <li key={view.path}>
                <a href={base + view.path} aria-current={current(view) ? 'page' : undefined}>
                  {view.label}
                </a>
              </li>
            ))}
        </ul>
      </nav>
      <div class="app-view">{content}</div>
    </div>
  );
}

/** What may stand in front of the frame: it renders its children only when the app may be used. */
export type Gate = FunctionComponent<{ children: ComponentChildren }>;

const Open: Gate = ({ children }) => <>{children}</>;

/** Mounts the app for `/t/{tenant}{section}` into `#app`, behind `gate` when given. */
export function mountApp(section: string, views: View[], label: string, gate: Gate = Open): void {
  const base = tenantPath(section);
  interceptLinks(base);
  const root = document.getElementById('app');
  const Guard = gate;
  if (root) {
    render(
      <Guard>
        <Frame base={base} views={views} label={label} />
      </Guard>,
      root,
    );
  }
}

/** Path of a view of the app under `/t/{tenant}{section}`. */
export const viewPath = (section: string, rest = '') => tenantPath(section) + rest;
