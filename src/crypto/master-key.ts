/**
 * Where the master key comes from. Production: `MASTER_KEY` from the environment, never a generated
 * one. Development: generated once into `DATA_DIR/master.key` (mode 0600) with a loud warning.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { KeyRing, type MasterKey, masterKeyFrom } from './envelope.ts';

/** Generated development keys carry this prefix, so production can recognise and refuse them. */
export const DEV_KEY_PREFIX = 'tgdev_';

/** Decodes a MASTER_KEY value: 32 bytes as base64url/base64 (optionally `tgdev_`-prefixed) or 64 hex digits. */
export function parseMasterKey(text: string): Buffer {
  const value = text.trim().replace(new RegExp(`^${DEV_KEY_PREFIX}`), '');
  const bytes = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64url');
  if (bytes.length !== 32) {
    throw new ConfigError(
      'MASTER_KEY must be 32 bytes, as base64url or 64 hex digits (try: openssl rand -base64 32)',
    );
  }
  return bytes;
}

/** Loads (or, in development, generates) the master key. */
export function loadMasterKey(config: Config, log: Logger): MasterKey {
  const devKeyPath = join(config.DATA_DIR, 'master.key');
  const production = config.NODE_ENV === 'production';
  if (config.MASTER_KEY) {
    const key = parseMasterKey(config.MASTER_KEY);
    if (production) {
      const devKey = existsSync(devKeyPath) ? parseMasterKey(readFileSync(devKeyPath, 'utf8')) : undefined;
      if (config.MASTER_KEY.trim().startsWith(DEV_KEY_PREFIX) || devKey?.equals(key)) {
        throw new ConfigError(
          'MASTER_KEY is a generated development key; production needs a key of its own (openssl rand -base64 32)',
        );
      }
    }
    return masterKeyFrom(key);
  }
  if (production) {
    throw new ConfigError(
      'MASTER_KEY is required when NODE_ENV=production (generate one: openssl rand -base64 32)',
    );
  }
  if (!existsSync(devKeyPath)) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    try {
      writeFileSync(devKeyPath, `${DEV_KEY_PREFIX}${randomBytes(32).toString('base64url')}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
    } catch (err) {
      // Another process generated it first (two first starts at once): use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    log.warn(
      { path: devKeyPath },
      '!!! Generated a DEVELOPMENT master key. Every stored secret is wrapped with it. Never use it in production: set MASTER_KEY. !!!',
    );
  } else {
    log.warn(
      { path: devKeyPath },
      'Using the generated development master key (set MASTER_KEY in production)',
    );
  }
  return masterKeyFrom(parseMasterKey(readFileSync(devKeyPath, 'utf8')));
}

/**
 * Builds the service's key ring: seals under the current master key (`loadMasterKey`), opens envelopes
 * under it or under any key in `MASTER_KEY_PREVIOUS` (comma-separated), which is how instances keep
 * reading during `npm run keys:rotate-master`.
 */
export function loadKeyRing(config: Config, log: Logger): KeyRing {
  const current = loadMasterKey(config, log);
  const previous: MasterKey[] = [];
  const entries = (config.MASTER_KEY_PREVIOUS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const [index, entry] of entries.entries()) {
    let key: MasterKey;
    try {
      key = masterKeyFrom(parseMasterKey(entry));
    } catch {
      // Never echo the value: it is a secret.
      throw new ConfigError(
        `MASTER_KEY_PREVIOUS entry ${index + 1} is not a 32-byte key (base64url or 64 hex digits)`,
      );
    }
    if (key.id !== current.id && !previous.some((k) => k.id === key.id)) previous.push(key);
  }
  if (previous.length > 0) {
    log.info(
      { current: current.id, previous: previous.map((k) => k.id) },
      'master key ring: sealing under the current key, also opening envelopes under previous keys',
    );
  }
  return new KeyRing(current, previous);
}
