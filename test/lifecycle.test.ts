import { describe, expect, it } from 'vitest';
import { freePort, spawnMain } from './helpers/process.ts';
import { tempDir } from './helpers/tmp.ts';

describe('process lifecycle', () => {
  it('starts, prints where to open it, serves, and stops gracefully on SIGTERM', async () => {
    const dir = tempDir();
    const [port, chainPort] = [await freePort(), await freePort()];
    const run = spawnMain({ DATA_DIR: dir.path, PORT: String(port), CHAIN_PORT: String(chainPort) });
    try {
      // The banner follows the ready log line; wait for the banner itself (it may arrive in a later chunk).
      await run.waitForOutput(`open http://localhost:${port}`, 30_000);
      expect(run.output()).toContain(`Sign up http://localhost:${port}/t/default/sign-up`);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      expect(run.output()).toContain('"msg":"stopped"');
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      run.child.kill('SIGKILL');
      dir.remove();
    }
  });

  it('exits non-zero with a clear message when the database is unreachable', async () => {
    const dir = tempDir();
    const run = spawnMain({
      DATA_DIR: dir.path,
      PORT: String(await freePort()),
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none',
    });
    try {
      expect(await run.exit).toBe(1);
      expect(run.output()).toMatch(/Trustgate cannot start: The database is unavailable/);
      expect(run.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      dir.remove();
    }
  });

  it('exits non-zero when the configuration is invalid, naming the option', async () => {
    const run = spawnMain({ PORT: 'eighty' });
    expect(await run.exit).toBe(1);
    expect(run.output()).toMatch(/Trustgate cannot start: Invalid configuration:[\s\S]*PORT/);
  });
});
