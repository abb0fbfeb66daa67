/**
 * The shell every hosted page shares: document head, stylesheet, one module script, header with the
 * tenant's name and navigation, and the live regions the browser scripts write their messages into.
 *
 * Pages are built with the `html` tag below, which escapes every interpolated value unless it is
 * already `SafeHtml`. The strict CSP (`script-src 'self'`, `style-src 'self'`) is why there is no
 * inline script, style attribute or event handler anywhere: values the scripts need travel as
 * `data-*` attributes on `<body>`.
 */
import type { WebEntry } from './app-build.ts';

/** Markup that is already escaped (built by `html`), inserted as is. */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * Tagged template for markup: interpolated strings and numbers are escaped, `SafeHtml` and arrays of
 * it are inserted as they are, `undefined`/`null`/`false` render nothing.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** The tenant a page belongs to. */
export interface PageTenant {
  slug: string;
  displayName: string;
}

/** Where the navigation's links go; `current` marks the page the person is on. */
export type NavItem = 'account' | 'sign-in' | 'sign-up' | 'recover' | 'admin';

/** What a page puts in the shell. */
export interface PageShell {
  tenant: PageTenant;
  /** The `<title>` and `<h1>`. */
  title: string;
  /** File name under `/assets/` of the page's module script (e.g. `sign-in.js`); none for static pages. */
  script?: string;
  /** A built app (portal, console) rendered into `#app` after the body, instead of `script`. */
  app?: WebEntry;
  /** The page's content after its `<h1>`. */
  body: SafeHtml;
  /** The navigation entry of this page, if it has one. */
  current?: NavItem;
  /** Extra `data-*` attributes on `<body>` (name without the prefix, lower-case, dashes) for the script. */
  data?: Record<string, string>;
}

/** Path of a page of `tenant` (`page` without a leading slash). */
export const pagePath = (tenant: string, page: string) => `/t/${tenant}/${page}`;

const NAV: Array<{ item: NavItem; label: string }> = [
  { item: 'account', label: 'Account' },
  { item: 'sign-in', label: 'Sign in' },
  { item: 'sign-up', label: 'Create account' },
  { item: 'recover', label: 'Recover access' },
];

/** The portal and console are for people who are signed in: no sign-in or sign-up links there. */
const APP_NAV: Array<{ item: NavItem; label: string }> = [
  { item: 'account', label: 'Your account' },
  { item: 'admin', label: 'Admin console' },
];

/** Renders a complete HTML document around `shell.body`. */
export function renderPage(shell: PageShell): string {
  const { tenant } = shell;
  const data = Object.entries({ tenant: tenant.slug, ...shell.data }).map(([name, value]) => {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`invalid data attribute name: ${name}`);
    return html` data-${new SafeHtml(name)}="${value}"`;
  });
  // The console link only where it is: the portal shows it to admins itself (it knows their roles).
  const items = shell.app ? APP_NAV.filter(({ item }) => item !== 'admin' || shell.current === 'admin') : NAV;
  const nav = items.map(({ item, label }) =>
    item === shell.current
      ? html`<li><a href="${pagePath(tenant.slug, item)}" aria-current="page">${label}</a></li>`
      : html`<li><a href="${pagePath(tenant.slug, item)}">${label}</a></li>`,
  );
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shell.title} · ${tenant.displayName} · Trustgate</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
${shell.app?.styles.map(
  (href) => html`<link rel="stylesheet" href="${href}">
`,
)}${shell.app?.preloads.map(
  (href) => html`<link rel="modulepreload" href="${href}">
`,
)}${
  shell.script
    ? html`<script type="module" src="/assets/${shell.script}"></script>
`
    : ''
}${
  shell.app
    ? html`<script type="module" src="${shell.app.script}"></script>
`
    : ''
}</head>
<body${data}>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
<p class="brand"><span class="brand-name">Trustgate</span> <span class="tenant-name">${tenant.displayName}</span></p>
<nav aria-label="Main"><ul>${nav}</ul></nav>
</header>
<main id="main" tabindex="-1">
<h1>${shell.title}</h1>
<div class="messages">
<p id="status" class="status" role="status" aria-live="polite" aria-atomic="true"></p>
<p id="error" class="error" role="alert" aria-live="polite" aria-atomic="true"></p>
</div>
${
  shell.script || shell.app
    ? html`<noscript><p class="error">This page needs JavaScript: passkeys and the account API are used from the browser.</p></noscript>
`
    : ''
}${shell.body}${
  shell.app
    ? html`<div id="app"></div>
`
    : ''
}
</main>
</body>
</html>
`;
  return page.value;
}
