import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fromRoot } from '../src/paths.ts';
import { tempDir } from './helpers/tmp.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function startMain(env: Record<string, string>): Run {
  const child = spawn(fromRoot('node_modules', '.bin', 'tsx'), [fromRoot('src', 'main.ts')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('process lifecycle', () => {
  it('starts, prints where to open it, serves, and stops gracefully on SIGTERM', async () => {
    const dir = tempDir();
    const [port, chainPort] = [await freePort(), await freePort()];
    const run = startMain({ DATA_DIR: dir.path, PORT: String(port), CHAIN_PORT: String(chainPort) });
    try {
      await waitFor(() => run.output().includes('Trustgate is ready'), 30_000);
      expect(run.output()).toContain(`open http://localhost:${port}`);
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
    const run = startMain({
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
    const run = startMain({ PORT: 'eighty' });
    expect(await run.exit).toBe(1);
    expect(run.output()).toMatch(/Trustgate cannot start: Invalid configuration:[\s\S]*PORT/);
  });
});
