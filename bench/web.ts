/**
 * The portal and console front end: what a browser downloads for each (the entry, its imports and
 * stylesheets, raw and gzip-compressed, as the server names them in the page), and how long a cold
 * Vite build takes (what `npm install` and a first start after a change spend on it).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fromRoot } from '../src/paths.ts';
import { ensureWebBuild, WebAppManifest, webDistDir } from '../src/web/app-build.ts';
import type { Row } from './lib.ts';

function weight(files: string[]): { raw: number; gzip: number } {
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = readFileSync(join(webDistDir, file.slice('/app/'.length)));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 6 }).length;
  }
  return { raw, gzip };
}

export async function webBench(): Promise<Row[]> {
  await ensureWebBuild();
  const manifest = new WebAppManifest();
  const rows: Row[] = [];
  for (const name of ['portal', 'console'] as const) {
    const entry = manifest.entry(name);
    const js = weight([entry.script, ...entry.preloads]);
    const css = weight(entry.styles);
    rows.push(
      {
        name: `${name}: JavaScript, gzip`,
        value: js.gzip / 1024,
        unit: 'KiB',
        note: `${(js.raw / 1024).toFixed(0)} KiB raw`,
      },
      {
        name: `${name}: CSS, gzip`,
        value: css.gzip / 1024,
        unit: 'KiB',
        note: `${(css.raw / 1024).toFixed(0)} KiB raw`,
      },
    );
  }

  const { build } = await import('vite');
  const outDir = mkdtempSync(join(tmpdir(), 'trustgate-bench-web-'));
  try {
    const started = performance.now();
    await build({ configFile: fromRoot('web', 'vite.config.ts'), logLevel: 'silent', build: { outDir } });
    rows.push({ name: 'cold build of both apps (vite)', value: performance.now() - started, unit: 'ms' });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return rows;
}
