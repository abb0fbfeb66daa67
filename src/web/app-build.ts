/**
 * The built portal and console (`web/app/` → `dist/web/`, see `web/vite.config.ts`).
 *
 * `ensureWebBuild` builds when the sources changed since the last build (a stamp over their content),
 * so `npm install` (postinstall) and `npm start` (first start, or after a change) leave an up-to-date
 * build without another command. Builds go to a scratch folder and are copied in with the manifest
 * written last: file names carry content hashes, so a running server keeps serving the files its
 * pages name while a new build lands, and two builders (parallel test files) never see half a build.
 *
 * `WebAppManifest` reads the manifest to write a page's script and stylesheet tags.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fromRoot } from '../paths.ts';

/** Where the build lands, served at `/app/`. */
export const webDistDir = fromRoot('dist', 'web');
const sourceDir = fromRoot('web', 'app');
const configFile = fromRoot('web', 'vite.config.ts');
const stampFile = join(webDistDir, '.stamp');
const manifestFile = join(webDistDir, '.vite', 'manifest.json');

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** SHA-256 over the files under `dir`, `config` and the front-end packages' versions. */
export function sourceStamp(dir: string, config: string): string {
  const hash = createHash('sha256');
  const files = [config, ...listFiles(dir)].sort();
  for (const file of files) {
    hash.update(relative(dir, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  for (const pkg of ['preact', 'vite', 'd3-geo', 'topojson-client', 'world-atlas']) {
    const { version } = JSON.parse(readFileSync(fromRoot('node_modules', pkg, 'package.json'), 'utf8'));
    hash.update(`${pkg}@${version}\0`);
  }
  return hash.digest('hex');
}

/** The stamp of the portal and console sources and build config. */
export const webSourceStamp = (): string => sourceStamp(sourceDir, configFile);

/** Whether `dist/web` holds a build of the current sources. */
export function webBuildIsCurrent(stamp = webSourceStamp()): boolean {
  return existsSync(manifestFile) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
}

const LOCK_STALE_MS = 120_000;

async function withLock<T>(action: () => Promise<T>): Promise<T> {
  const lock = fromRoot('dist', '.web-build.lock');
  mkdirSync(fromRoot('dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS)
          rmSync(lock, { recursive: true, force: true });
      } catch {}
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await action();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Builds the portal and console unless `dist/web` already holds a build of the current sources.
 * Returns whether it built.
 */
export async function ensureWebBuild(log: (line: string) => void = () => {}): Promise<boolean> {
  const stamp = webSourceStamp();
  if (webBuildIsCurrent(stamp)) return false;
  return withLock(async () => {
    if (webBuildIsCurrent(stamp)) return false;
    const started = Date.now();
    const { build } = await import('vite');
    const scratch = fromRoot('dist', `.web-build-${process.pid}-${Date.now()}`);
    try {
      await build({ configFile, logLevel: 'warn', build: { outDir: scratch, emptyOutDir: true } });
      mkdirSync(join(webDistDir, '.vite'), { recursive: true });
      cpSync(join(scratch, 'assets'), join(webDistDir, 'assets'), { recursive: true });
      renameSync(join(scratch, '.vite', 'manifest.json'), `${manifestFile}.new`);
      renameSync(`${manifestFile}.new`, manifestFile);
      writeFileSync(stampFile, stamp);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    log(`built the portal and console in ${Date.now() - started} ms`);
    return true;
  });
}

/** The tags a page needs for one entry of the build. */
export interface WebEntry {
  script: string;
  styles: string[];
  preloads: string[];
}

interface ManifestChunk {
  file: string;
  css?: string[];
  imports?: string[];
}

/** Reads the build's manifest (again when the file changes) and resolves entries to their files. */
export class WebAppManifest {
  private cached?: { mtimeMs: number; chunks: Record<string, ManifestChunk> };

  private chunks(): Record<string, ManifestChunk> {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(manifestFile).mtimeMs;
    } catch {
      throw new Error(
        'The portal and console are not built: run `npm install` or `npm start` (it builds them).',
      );
    }
    if (!this.cached || this.cached.mtimeMs !== mtimeMs) {
      this.cached = { mtimeMs, chunks: JSON.parse(readFileSync(manifestFile, 'utf8')) };
    }
    return this.cached.chunks;
  }

  /** The script, stylesheets and module preloads of entry `name` (`portal`, `console`). */
  entry(name: 'portal' | 'console'): WebEntry {
    const chunks = this.chunks();
    const key = `${name}/main.tsx`;
    const chunk = chunks[key];
    if (!chunk) throw new Error(`entry ${key} missing from the web build manifest`);
    const styles = new Set<string>();
    const preloads = new Set<string>();
    const visit = (c: ManifestChunk, seen: Set<ManifestChunk>) => {
      if (seen.has(c)) return;
      seen.add(c);
      for (const css of c.css ?? []) styles.add(`/app/${css}`);
      for (const imported of c.imports ?? []) {
        const dep = chunks[imported];
        if (!dep) continue;
        preloads.add(`/app/${dep.file}`);
        visit(dep, seen);
      }
    };
    visit(chunk, new Set());
    return { script: `/app/${chunk.file}`, styles: [...styles], preloads: [...preloads] };
  }
}
