/**
 * Builds the portal and the admin console (`web/app/`, Preact + TypeScript) into `dist/web/`, served
 * at `/app/`. Entries are named in the manifest, which the server reads to write the page's script and
 * stylesheet tags (`src/web/app-build.ts`); file names carry a content hash so they can be cached for
 * good. `@hosted/…` imports (the hosted pages' shared helpers and the vendored SimpleWebAuthn) stay
 * external, loaded from `/assets/`: the built code loads the very modules the other pages use.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const HOSTED: Record<string, string> = {
  '@hosted/common': '/assets/common.js',
  '@hosted/simplewebauthn': '/assets/vendor/simplewebauthn/index.js',
};

const root = fileURLToPath(new URL('./app/', import.meta.url));

export default defineConfig({
  root,
  base: '/app/',
  logLevel: 'warn',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web/', import.meta.url)),
    emptyOutDir: true,
    manifest: true,
    // No inline polyfill: the CSP allows scripts from this origin only.
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: { portal: `${root}portal/main.tsx`, console: `${root}console/main.tsx` },
      // Import names for the hosted pages' modules (typed in lib/hosted.d.ts), loaded from /assets/.
      external: Object.keys(HOSTED),
      output: { paths: HOSTED },
    },
  },
});
