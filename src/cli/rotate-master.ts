/**
 * `npm run keys:rotate-master`: re-seals every stored private key and service secret under `MASTER_KEY`,
 * opening them with `MASTER_KEY_PREVIOUS`. Prints counts; exits 1 while any row is left under another key.
 *
 * Rotation without downtime:
 *   1. Deploy every instance with MASTER_KEY=<old>, MASTER_KEY_PREVIOUS=<new>: all can already open the
 *      new key's envelopes before anyone seals with it.
 *   2. Deploy with MASTER_KEY=<new>, MASTER_KEY_PREVIOUS=<old>: new envelopes are sealed under the new key.
 *   3. Run this command (with the same two variables); rerun it freely, it only does what is left.
 *   4. When it reports 0 remaining, deploy with MASTER_KEY=<new> alone and retire the old key.
 * (Step 1 can be skipped when every instance restarts at once.)
 */
import { loadConfig } from '../config.ts';
import { loadKeyRing } from '../crypto/master-key.ts';
import { ConfigError } from '../errors.ts';
import { rotateMasterKey } from '../identity/keys-rotation.ts';
import { createLogger } from '../log.ts';
import { openStore } from '../store/index.ts';

try {
  const config = loadConfig();
  if (!config.MASTER_KEY) {
    throw new ConfigError(
      'Set MASTER_KEY to the new master key and MASTER_KEY_PREVIOUS to the old one(s) (comma-separated).',
    );
  }
  const log = createLogger({ level: 'warn', name: 'keys:rotate-master' }, process.stderr);
  const keys = loadKeyRing(config, log);
  const store = await openStore({ url: config.DATABASE_URL });
  try {
    const result = await rotateMasterKey(store, keys);
    const line = (name: string, c: typeof result.privateKeys) =>
      `${name.padEnd(12)} resealed ${c.resealed}, already current ${c.current}, retried after a concurrent change ${c.retried}, unreadable ${c.unreadable}\n`;
    process.stdout.write(`master key ${result.masterKeyId}\n`);
    process.stdout.write(line('private keys', result.privateKeys));
    process.stdout.write(line('secrets', result.secrets));
    process.stdout.write(line('TOTP secrets', result.totpSecrets));
    process.stdout.write(line('OpenID Connect keys', result.oidcKeys));
    process.stdout.write(line('Shared Signals receiver headers', result.ssfStreams));
    if (result.remaining > 0) {
      process.stdout.write(
        `${result.remaining} row(s) are still under another master key: add that key to MASTER_KEY_PREVIOUS and run again.\n`,
      );
      process.exitCode = 1;
    } else {
      process.stdout.write(
        'every envelope is under the current master key: MASTER_KEY_PREVIOUS can be dropped.\n',
      );
    }
  } finally {
    await store.close();
  }
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
