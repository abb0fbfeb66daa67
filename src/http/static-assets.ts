/**
 * Browser assets at `/assets/`: the hosted pages' scripts and stylesheet from `web/assets/`,
 * SimpleWebAuthn's browser ESM build at `/assets/vendor/simplewebauthn/` and ThumbmarkJS's
 * self-contained ESM build at `/assets/vendor/thumbmarkjs/thumbmark.esm.js` (straight from
 * node_modules, so there is no build step and no CDN).
 *
 * Read-only and conservative: GET and HEAD only, no directory listing or index files, no dotfiles,
 * `send`'s root confinement against `..` traversal, and only `.js` (`.mjs`) files from the vendor
 * folders. Anything not found falls through to the app's normal problem+json 404.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type RequestHandler, type Response } from 'express';
import { fromRoot } from '../paths.ts';
import { webDistDir } from '../web/app-build.ts';

/** How long browsers may reuse an asset without asking (seconds). */
export const ASSET_MAX_AGE_S = 300;

/** The folder of the hosted pages' scripts and stylesheet. */
export const webAssetsDir = fromRoot('web', 'assets');

/** The folder of `@simplewebauthn/browser`'s ESM build (`index.js` with relative imports). */
export function simpleWebAuthnDir(): string {
  // The package's `require` entry is `script/index.js`; the ESM build sits next to it.
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const dir = join(dirname(entry), '..', 'esm');
  if (!existsSync(join(dir, 'index.js')))
    throw new Error(`@simplewebauthn/browser ESM build not found at ${dir}`);
  return dir;
}

/** The file of ThumbmarkJS's browser ESM build inside `thumbmarkJsDir()`. */
export const THUMBMARKJS_ESM_FILE = 'thumbmark.esm.js';

/** The folder of `@thumbmarkjs/thumbmarkjs`'s builds (`dist/`, its ESM build imports nothing). */
export function thumbmarkJsDir(): string {
  // The package's `require` entry is `dist/thumbmark.cjs`; its `import` build sits next to it.
  const dir = dirname(createRequire(import.meta.url).resolve('@thumbmarkjs/thumbmarkjs'));
  if (!existsSync(join(dir, THUMBMARKJS_ESM_FILE)))
    throw new Error(`@thumbmarkjs/thumbmarkjs ESM build not found at ${dir}`);
  return dir;
}

const staticOptions = {
  dotfiles: 'deny',
  index: false,
  redirect: false,
  fallthrough: true,
  cacheControl: false,
  setHeaders: (res: Response) => {
    res.setHeader('Cache-Control', `public, max-age=${ASSET_MAX_AGE_S}`);
  },
} as const;

/** Serves only JavaScript modules (not type declarations, source maps or package.json). */
const onlyModules: RequestHandler = (req, _res, next) => {
  if (/^\/[A-Za-z0-9/_-]+\.js$/.test(req.path) && !req.path.endsWith('.d.js')) return next();
  next('router');
};

/** ThumbmarkJS's `dist/` is flat and its names carry dots (`thumbmark.esm.js`): no `/`, no empty segment. */
const onlyFlatModules: RequestHandler = (req, _res, next) => {
  if (/^\/[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.m?js$/.test(req.path)) return next();
  next('router');
};

/** The `/assets/` router; mount it with `app.use(staticAssets())` before the declared routes. */
export function staticAssets(): express.Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  const simpleWebAuthn = express.Router({ caseSensitive: true, strict: true });
  simpleWebAuthn.use(onlyModules, express.static(simpleWebAuthnDir(), staticOptions));
  router.use('/assets/vendor/simplewebauthn', simpleWebAuthn);
  const thumbmarkJs = express.Router({ caseSensitive: true, strict: true });
  thumbmarkJs.use(onlyFlatModules, express.static(thumbmarkJsDir(), staticOptions));
  router.use('/assets/vendor/thumbmarkjs', thumbmarkJs);
  router.use('/assets', express.static(webAssetsDir, staticOptions));
  // The built portal and console: content-hashed names, so they never change once served.
  router.use(
    '/app/assets',
    express.static(join(webDistDir, 'assets'), {
      ...staticOptions,
      setHeaders: (res: Response) => res.setHeader('Cache-Control', 'public, max-age=31536000, immutable'),
    }),
  );
  return router;
}
