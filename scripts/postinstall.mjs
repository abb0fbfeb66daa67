// Runs after `npm install` / `npm ci`: generates both Prisma clients, compiles the contracts and builds
// the portal and console (Vite), all
// offline. PRISMA_SCHEMA_ENGINE_BINARY points at an existing file so `prisma generate` does not try to
// download the native schema engine (it does not need it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false',
  // No update checks or telemetry from the Prisma CLI.
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
if (!existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;

function run(label, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0], args.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) {
        process.stdout.write(`trustgate postinstall: ${label} ok\n`);
        resolve();
      } else reject(new Error(`${label} failed (exit ${code}):\n${output}`));
    });
  });
}

const bin = (name) => `node_modules/.bin/${name}`;
try {
  await Promise.all([
    run('prisma generate (postgres)', [
      bin('prisma'),
      'generate',
      '--schema',
      'prisma/postgres/schema.prisma',
    ]),
    run('prisma generate (sqlite)', [bin('prisma'), 'generate', '--schema', 'prisma/sqlite/schema.prisma']),
    run('contracts compile', [bin('hardhat'), 'compile', '--quiet']),
    run('portal and console build', [bin('tsx'), 'src/cli/web-build.ts']),
  ]);
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
