/** Runs `npm start`'s entry point (src/main.ts) as a child process, for lifecycle tests and benchmarks. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fromRoot } from '../../src/paths.ts';

/** A free TCP port on loopback (released before returning; fine for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface MainProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code. */
  exit: Promise<number | null>;
  /** Resolves once `text` has appeared in the output; rejects on timeout or if the process exits first. */
  waitForOutput(text: string, timeoutMs: number): Promise<void>;
}

/** Spawns `tsx src/main.ts` with `env` (on top of PATH and HOME only, unless `inherit`). */
export function spawnMain(env: Record<string, string>, options: { inherit?: boolean } = {}): MainProcess {
  const base = options.inherit ? process.env : { PATH: process.env.PATH, HOME: process.env.HOME };
  // node itself with tsx's loader, not the tsx launcher: signals (SIGKILL too) must reach the service.
  // BENCH_NODE_ARGS: extra node flags for the service (e.g. `--cpu-prof` when profiling a benchmark).
  const extra = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', fromRoot('src', 'main.ts')], {
    cwd: fromRoot(),
    env: { ...base, NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exited = false;
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const waitForOutput = async (text: string, timeoutMs: number) => {
    const end = Date.now() + timeoutMs;
    while (!out.includes(text)) {
      if (exited) throw new Error(`process exited before printing "${text}":\n${out}`);
      if (Date.now() > end) throw new Error(`timed out waiting for "${text}":\n${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { child, output: () => out, exit, waitForOutput };
}
