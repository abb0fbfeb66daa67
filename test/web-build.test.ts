/**
 * The portal and console build: `ensureWebBuild` rebuilds only when the sources change, a rebuild
 * keeps the files an earlier manifest named (a running server's pages keep working), and the
 * manifest resolves each entry to its script, stylesheet and imports.
 */
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromRoot } from '../src/paths.ts';
import {
  ensureWebBuild,
  sourceStamp,
  WebAppManifest,
  webBuildIsCurrent,
  webDistDir,
} from '../src/web/app-build.ts';
import { tempDir } from './helpers/tmp.ts';

describe('the web build', () => {
  it('builds once, then leaves a current build alone', async () => {
    await ensureWebBuild();
    expect(webBuildIsCurrent()).toBe(true);
    expect(await ensureWebBuild()).toBe(false);
  });

  it('resolves both entries to built files with the shared chunk and stylesheet', () => {
    const manifest = new WebAppManifest();
    for (const name of ['portal', 'console'] as const) {
      const entry = manifest.entry(name);
      expect(entry.script).toMatch(new RegExp(`^/app/assets/${name}-[A-Za-z0-9_-]+\\.js$`));
      expect(entry.styles.length).toBeGreaterThan(0);
      for (const file of [entry.script, ...entry.styles, ...entry.preloads]) {
        expect(existsSync(join(webDistDir, file.slice('/app/'.length))), file).toBe(true);
      }
    }
  });

  it('sees any change to a source file or the config in the stamp', () => {
    const dir = tempDir();
    try {
      const src = join(dir.path, 'app');
      cpSync(fromRoot('web', 'app'), src, { recursive: true });
      const config = join(dir.path, 'vite.config.ts');
      writeFileSync(config, 'export default {};\n');
      const before = sourceStamp(src, config);
      expect(sourceStamp(src, config)).toBe(before);
      writeFileSync(join(src, 'lib', 'router.ts'), '// changed\n', { flag: 'a' });
      const afterSource = sourceStamp(src, config);
      expect(afterSource).not.toBe(before);
      writeFileSync(config, 'export default { base: "/x/" };\n');
      expect(sourceStamp(src, config)).not.toBe(afterSource);
      writeFileSync(join(src, 'portal', 'new-view.tsx'), 'export {};\n');
      expect(sourceStamp(src, config)).not.toBe(afterSource);
    } finally {
      dir.remove();
    }
  });
});
