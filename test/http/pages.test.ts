import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { pageRoutes } from '../../src/http/routes/pages.ts';
import { openApiDocument } from '../../src/http/routes.ts';
import { staticAssets, webAssetsDir } from '../../src/http/static-assets.ts';
import { createLogger } from '../../src/log.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { applyMigrations } from '../../src/store/migrate.ts';
import { ensureDefaultTenant } from '../../src/tenants.ts';
import { ensureWebBuild } from '../../src/web/app-build.ts';
import { escapeHtml, html } from '../../src/web/layout.ts';
import { safeReturnPath } from '../../src/web/pages.ts';
import { tempDir } from '../helpers/tmp.ts';

// The pages and assets through the real app pipeline (helmet's CSP, problem+json errors) on a fresh
// SQLite store; the chain and the JSON API are not needed to render them.
const PAGES = ['sign-up', 'sign-in', 'step-up', 'account', 'admin', 'totp', 'recovery-codes', 'recover'];
/** The built apps (portal, console): their module comes from the Vite build under `/app/assets/`. */
const APPS = ['account', 'admin'];
const scriptSrc = (name: string) =>
  APPS.includes(name) ? /src="\/app\/assets\/[A-Za-z0-9_-]+\.js"/ : /src="\/assets\/[a-z-]+\.js"/;

let store: Store;
let base: string;
let close: () => Promise<void>;
const dir = tempDir();

beforeAll(async () => {
  await ensureWebBuild();
  const url = `file:${join(dir.path, 'store.db')}`;
  await applyMigrations({ url });
  store = await openStore({ url });
  await ensureDefaultTenant(store);
  await store.db.tenant.create({
    data: { slug: 'evil-co', displayName: '<script>alert("x")</script> & Co' },
  });
  const app = createApp({
    log: createLogger({ level: 'silent' }),
    routes: pageRoutes({ store, publicUrl: 'http://localhost:3000' }),
    bodyLimit: '100kb',
    trustProxy: 'false',
    production: false,
  });
  // Mounted in front, as app.ts does; the inner app answers everything the assets do not.
  const outer = express();
  outer.use(staticAssets());
  outer.use(app);
  const server = outer.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await close?.();
  await store?.close();
  dir.remove();
});

/** GET with the path sent exactly as written (fetch would normalize `..` and `%2e`). */
function rawGet(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function page(path: string) {
  const res = await fetch(`${base}${path}`);
  expect(res.status, path).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
  return { res, body: await res.text() };
}

/** The value of `<body data-return>`, unescaped. */
function dataReturn(body: string): string | undefined {
  const match = /<body[^>]*\sdata-return="([^"]*)"/.exec(body);
  return match?.[1]
    ?.replace(/&amp;/g, '&')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"');
}

describe('hosted pages are plain, accessible HTML that works under the strict CSP', () => {
  it.each(PAGES)('serves /t/default/%s as an HTML document, uncached, under the CSP', async (name) => {
    const { res, body } = await page(`/t/default/${name}`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(body).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(body.match(/<main[\s>]/g)).toHaveLength(1);
    expect(body.match(/<h1>/g)).toHaveLength(1);
    expect(body).toContain('<title>');
    expect(body).toMatch(/id="status"[^>]*role="status"[^>]*aria-live="polite"/);
    expect(body).toMatch(/id="error"[^>]*role="alert"/);
  });

  it.each(PAGES)('has no inline script, style or event handler on /t/default/%s', async (name) => {
    const { body } = await page(`/t/default/${name}`);
    const scripts = [...body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toMatch(/type="module"/);
      expect(attributes).toMatch(scriptSrc(name));
      expect(content).toBe('');
    }
    expect(body).not.toMatch(/<style[\s>]/i);
    expect(body).not.toMatch(/\sstyle\s*=/i);
    expect(body).not.toMatch(/\son[a-z]+\s*=/i);
    expect(body).not.toMatch(/="\s*javascript:/i);
  });

  it.each(PAGES)('labels every input and uses real buttons on /t/default/%s', async (name) => {
    const { body } = await page(`/t/default/${name}`);
    const inputs = [...body.matchAll(/<input\b([^>]*)>/g)].map((m) => m[1] ?? '');
    for (const attributes of inputs) {
      const id = /\sid="([^"]+)"/.exec(attributes)?.[1];
      expect(id, `input without id: ${attributes}`).toBeDefined();
      expect(body, `no label for #${id}`).toContain(`<label for="${id}"`);
    }
    const ids = [...body.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size, 'ids are unique').toBe(ids.length);
    expect(body).not.toMatch(/role="button"/);
    for (const [, attributes] of body.matchAll(/<button\b([^>]*)>/g)) expect(attributes).toMatch(/type="/);
  });

  it.each(PAGES)('loads a module script that exists for /t/default/%s', async (name) => {
    const { body } = await page(`/t/default/${name}`);
    const src = /<script type="module" src="([^"]+)">/.exec(body)?.[1];
    const res = await fetch(`${base}${src}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
  });

  it('gives sign-in the autofill field and TOTP inputs a numeric one-time-code field', async () => {
    expect((await page('/t/default/sign-in')).body).toMatch(/autocomplete="username webauthn"/);
    for (const name of ['totp', 'step-up']) {
      const { body } = await page(`/t/default/${name}`);
      expect(body).toMatch(/inputmode="numeric" autocomplete="one-time-code"/);
    }
    expect((await page('/t/default/totp')).body).toContain('id="totp-secret"');
  });

  it('escapes the tenant display name', async () => {
    const { body } = await page('/t/evil-co/sign-in');
    expect(body).not.toContain('<script>alert');
    expect(body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co');
  });

  it('answers an unknown tenant with the normal problem+json 404', async () => {
    for (const name of PAGES) {
      const res = await fetch(`${base}/t/no-such-tenant/${name}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code).toBe('not_found');
    }
  });

  it('documents the pages in OpenAPI as HTML with an optional return parameter', () => {
    const doc = openApiDocument(pageRoutes({ store, publicUrl: 'http://localhost:3000' }), {
      title: 'Trustgate',
      version: 'test',
      serverUrl: 'http://localhost:3000',
    }) as unknown as {
      paths: Record<string, { get: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    };
    for (const name of PAGES) {
      const get = doc.paths[`/t/{tenant}/${name}`]?.get;
      expect(get?.responses[200]?.content, name).toHaveProperty(['text/html']);
    }
    const stepUp = doc.paths['/t/{tenant}/step-up']?.get as unknown as {
      parameters: Array<{ name: string; in: string; required: boolean }>;
    };
    expect(stepUp.parameters).toContainEqual(
      expect.objectContaining({ name: 'return', in: 'query', required: false }),
    );
  });

  it('refuses a tenant slug that is not one', async () => {
    const res = await fetch(`${base}/t/Not_A_Slug/sign-in`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

describe('return paths cannot send people to another origin', () => {
  const evil = [
    '//evil.example',
    '//evil.example/t/default/account',
    'https://evil.example',
    'http:evil.example',
    'javascript:alert(1)',
    '/\\evil.example',
    '\\\\evil.example',
    '/\t/evil.example',
    '/ /evil.example',
    '/.//evil.example',
    'evil.example',
    '',
    `/${'a'.repeat(2100)}`,
  ];

  it.each(evil)('ignores return=%j on the step-up and sign-in pages', async (value) => {
    for (const name of ['step-up', 'sign-in']) {
      const { body } = await page(`/t/default/${name}?return=${encodeURIComponent(value)}`);
      expect(dataReturn(body), `${name} ${JSON.stringify(value)}`).toBe('/t/default/account');
      expect(body).not.toContain('evil.example');
    }
  });

  it('ignores a repeated return parameter', async () => {
    const { body } = await page('/t/default/step-up?return=/t/default/totp&return=//evil.example');
    expect(dataReturn(body)).toBe('/t/default/account');
  });

  it('keeps a same-origin path with its query, escaped in the markup', async () => {
    const target = '/t/default/account?tab=passkeys&x="1"#top';
    const { body } = await page(`/t/default/step-up?return=${encodeURIComponent(target)}`);
    expect(dataReturn(body)).toBe(target);
    expect(body).toContain('href="/t/default/account?tab=passkeys&amp;x=&quot;1&quot;#top"');
  });

  it('applies the same rules in safeReturnPath', () => {
    for (const value of evil) expect(safeReturnPath(value), JSON.stringify(value)).toBeUndefined();
    for (const value of [undefined, null, 42, ['/a'], { a: 1 }])
      expect(safeReturnPath(value)).toBeUndefined();
    for (const value of ['/', '/t/default/account', '/t/default/totp?x=1', '/a/../b', '/%0a/x'])
      expect(safeReturnPath(value)).toBe(value);
  });

  it('uses the same rules in the browser script', () => {
    const source = readFileSync(join(webAssetsDir, 'common.js'), 'utf8');
    // The two copies must not drift apart: the refusal patterns are spelled the same.
    expect(source).toContain('/[\\u0000-\\u0020\\u007f-\\u009f\\\\]/');
    expect(source).toContain("url.origin !== BASE || url.pathname.startsWith('//')");
  });
});

describe('the html tag escapes every interpolated value', () => {
  it('escapes text and attribute values but not SafeHtml', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"x\' & <y>'}">${inner}${['<a>', inner]}${undefined}${false}${0}</p>`.value).toBe(
      '<p title="&quot;x&#39; &amp; &lt;y&gt;"><b>&lt;i&gt;</b>&lt;a&gt;<b>&lt;i&gt;</b>0</p>',
    );
    expect(escapeHtml('&<>"\'')).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});

describe('static assets are read-only files with the right types and a short cache', () => {
  it('serves the stylesheet and scripts with content types and Cache-Control', async () => {
    for (const [path, type] of [
      ['/assets/app.css', /^text\/css/],
      ['/assets/common.js', /^(text|application)\/javascript/],
      ['/assets/vendor/simplewebauthn/index.js', /^(text|application)\/javascript/],
      ['/assets/vendor/simplewebauthn/methods/startRegistration.js', /^(text|application)\/javascript/],
    ] as const) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(type);
      expect(res.headers.get('cache-control'), path).toBe('public, max-age=300');
    }
  });

  it('serves every module the vendor entry imports', async () => {
    const index = await (await fetch(`${base}/assets/vendor/simplewebauthn/index.js`)).text();
    const imports = [...index.matchAll(/from '\.\/([^']+)'/g)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(5);
    for (const file of imports) {
      expect((await fetch(`${base}/assets/vendor/simplewebauthn/${file}`)).status, file).toBe(200);
    }
  });

  it('lists no directories and serves nothing outside the asset folders', async () => {
    for (const path of [
      '/assets/',
      '/assets',
      '/assets/vendor/',
      '/assets/vendor/simplewebauthn/',
      '/assets/vendor/simplewebauthn/helpers',
      '/assets/../package.json',
      '/assets/%2e%2e/package.json',
      '/assets/%2e%2e%2fpackage.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/vendor/simplewebauthn/../../../../package.json',
      '/assets/vendor/simplewebauthn/%2e%2e/package.json',
      '/assets/vendor/simplewebauthn/package.json',
      '/assets/vendor/simplewebauthn/index.d.ts',
      '/assets/vendor/simplewebauthn/index.d.ts.map',
      '/assets/.env',
      '/assets/%2eenv',
      '/assets/no-such-file.js',
    ]) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(404);
      expect(String(res.headers['content-type']), path).toMatch(/^application\/problem\+json/);
      expect(res.body, path).not.toContain('"version"');
    }
  });

  it('does not accept writes', async () => {
    const res = await fetch(`${base}/assets/app.css`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    const css = await fetch(`${base}/assets/app.css`);
    expect(css.status).toBe(200);
  });
});

describe('the portal and the console are built apps served under the same CSP', () => {
  it('serves each app for its views, up to two segments deep, as the same shell', async () => {
    for (const path of [
      '/t/default/admin/people',
      '/t/default/admin/people/4f5872f1',
      '/t/default/account/devices',
    ]) {
      const { body } = await page(path);
      expect(body, path).toContain('<div id="app"></div>');
      expect(body, path).toMatch(
        /<script type="module" src="\/app\/assets\/(console|portal)-[A-Za-z0-9_-]+\.js"><\/script>/,
      );
    }
  });

  it('refuses a view name that is not one, and deeper paths, with problem+json', async () => {
    for (const [path, status] of [
      ['/t/default/admin/People', 400],
      ['/t/default/admin/a%3Cb', 400],
      ['/t/default/admin/people/1/2', 404],
      ['/t/nope/admin', 404],
    ] as const) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
    }
  });

  it('names only files the build produced, cached for good, with their stylesheet and imports', async () => {
    const { body } = await page('/t/default/admin');
    const files = [
      ...body.matchAll(
        /<(?:script type="module" src|link rel="(?:stylesheet|modulepreload)" href)="(\/app\/[^"]+)"/g,
      ),
    ].map((m) => m[1]!);
    expect(files.some((f) => f.endsWith('.css'))).toBe(true);
    expect(files.some((f) => /\/console-[^/]+\.js$/.test(f))).toBe(true);
    for (const file of files) {
      const res = await fetch(`${base}${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('cache-control'), file).toBe('public, max-age=31536000, immutable');
    }
  });

  it('loads no code, style or data from another origin', async () => {
    const { body } = await page('/t/default/admin');
    for (const [, src] of body.matchAll(/src="(\/app\/[^"]+\.js)"/g)) {
      const code = await (await fetch(`${base}${src}`)).text();
      // No module, script, stylesheet or font from another origin (placeholder URLs in forms are fine).
      expect(code).not.toMatch(/(?:from|import\(?)\s*["'](?:https?:)?\/\//);
      expect(code).not.toMatch(/["'](?:https?:)?\/\/[^"']+\.(?:m?js|css|woff2?|ttf|json)["']/);
    }
  });

  it('serves neither the build manifest nor anything outside the build', async () => {
    for (const path of [
      '/app/.vite/manifest.json',
      '/app/assets/',
      '/app/assets/../.stamp',
      '/app/assets/%2e%2e/.vite/manifest.json',
      '/app/assets/no-such-file.js',
      '/app/.stamp',
    ]) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(404);
    }
  });
});
