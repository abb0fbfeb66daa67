/** `npm run config`: prints the effective configuration, secrets masked. */
import { describeConfig, loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';

try {
  const rows = describeConfig(loadConfig());
  const width = Math.max(...rows.map((r) => r.key.length));
  for (const row of rows) {
    process.stdout.write(
      `${row.key.padEnd(width)}  ${row.value}\n${' '.repeat(width + 2)}# ${row.description}\n`,
    );
  }
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
