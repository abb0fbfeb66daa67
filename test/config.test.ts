import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from '../src/config.ts';
import { KeyRing, masterKeyFrom } from '../src/crypto/envelope.ts';
import { DEV_KEY_PREFIX, loadMasterKey } from '../src/crypto/master-key.ts';
import { ConfigError } from '../src/errors.ts';
import { createLogger } from '../src/log.ts';
import { tempDir } from './helpers/tmp.ts';

const silent = createLogger({ level: 'silent' });
const prodBase = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://id.example.com',
  CHAIN_RPC_URL: 'https://rpc.example.com',
  REGISTRY_ADDRESS: '0xdca7ef03e98e0dc2b855be647c39abe984fcf21b',
  RELAYER_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64url'),
};

describe('configuration', () => {
  it('applies the documented defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.PUBLIC_URL).toBe('http://localhost:3000');
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.CHAIN_PORT).toBe(8545);
    expect(config.DATABASE_URL).toMatch(/^file:\/.*\/data\/trustgate\.db$/);
    expect(config.embeddedChain).toBe(true);
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('reads the names DESIGN.md fixes from the environment', () => {
    const config = loadConfig({
      PORT: '4000',
      PUBLIC_URL: 'https://id.example.com/',
      DATA_DIR: '/tmp/tg-x',
      DATABASE_URL: 'postgresql://u@db/x',
      REDIS_URL: 'redis://r:6379',
      CHAIN_PORT: '9545',
      CHAIN_RPC_URL: 'http://chain:8545',
      REGISTRY_ADDRESS: '0xdca7ef03e98e0dc2b855be647c39abe984fcf21b',
      RELAYER_PRIVATE_KEY: '11'.repeat(32),
      MASTER_KEY: 'k',
    });
    expect(config.PORT).toBe(4000);
    expect(config.PUBLIC_URL).toBe('https://id.example.com');
    expect(config.DATA_DIR).toBe('/tmp/tg-x');
    expect(config.DATABASE_URL).toBe('postgresql://u@db/x');
    expect(config.REDIS_URL).toBe('redis://r:6379');
    expect(config.CHAIN_PORT).toBe(9545);
    expect(config.embeddedChain).toBe(false);
  });

  it('reads CONFIG_FILE and lets the environment win over it', () => {
    const dir = tempDir();
    const file = join(dir.path, 'config.json');
    writeFileSync(file, JSON.stringify({ PORT: 5000, LOG_LEVEL: 'debug' }));
    const config = loadConfig({ CONFIG_FILE: file, LOG_LEVEL: 'warn' });
    expect(config.PORT).toBe(5000);
    expect(config.LOG_LEVEL).toBe('warn');
    dir.remove();
  });

  it('rejects unknown options in CONFIG_FILE and unparsable files', () => {
    const dir = tempDir();
    const file = join(dir.path, 'config.json');
    writeFileSync(file, JSON.stringify({ PROT: 1 }));
    expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(/unknown options: PROT/);
    writeFileSync(file, '{nope');
    expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(/not valid JSON/);
    dir.remove();
  });

  it('lists every invalid value at once', () => {
    expect(() => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(/PORT[\s\S]*LOG_LEVEL/);
  });

  it('refuses production without PUBLIC_URL', () => {
    const { PUBLIC_URL: _omit, ...env } = prodBase;
    expect(() => loadConfig(env)).toThrow(/PUBLIC_URL is required/);
  });

  it('refuses production over plain http and with the embedded chain', () => {
    expect(() => loadConfig({ ...prodBase, PUBLIC_URL: 'http://id.example.com' })).toThrow(
      /https in production/,
    );
    const { CHAIN_RPC_URL: _c, ...env } = prodBase;
    expect(() => loadConfig(env)).toThrow(/CHAIN_RPC_URL is required/);
  });

  it('refuses production with Veramo debug logs on (they print key material)', () => {
    expect(() => loadConfig({ ...prodBase, DEBUG: 'veramo:*' })).toThrow(/DEBUG must not enable veramo/);
    expect(() => loadConfig({ ...prodBase, DEBUG: 'express:*' })).not.toThrow();
  });

  it('requires the registry and relayer key with an external chain', () => {
    expect(() => loadConfig({ CHAIN_RPC_URL: 'http://chain:8545' })).toThrow(
      /REGISTRY_ADDRESS[\s\S]*RELAYER_PRIVATE_KEY/,
    );
    expect(() => loadConfig({ REGISTRY_ADDRESS: '0x1234' })).toThrow(/REGISTRY_ADDRESS/);
  });

  it('masks every secret when printed', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://user:hunter2@db.internal:5432/tg',
      REDIS_URL: 'redis://:s3cret@cache:6379',
      MASTER_KEY: 'super-secret-master',
      CHAIN_RPC_URL: 'https://mainnet.example.com/v3/apikey123',
      REGISTRY_ADDRESS: '0xdca7ef03e98e0dc2b855be647c39abe984fcf21b',
      RELAYER_PRIVATE_KEY: 'ab'.repeat(32),
    });
    const printed = JSON.stringify(describeConfig(config));
    for (const secret of ['hunter2', 's3cret', 'super-secret-master', 'apikey123', 'ab'.repeat(32)]) {
      expect(printed).not.toContain(secret);
    }
    expect(printed).toContain('postgresql://***@db.internal:5432/***');
    const rows = describeConfig(config);
    expect(rows.every((r) => r.description.length > 10)).toBe(true);
  });
});

describe('master key', () => {
  it('generates a development key once, with a loud warning, and reuses it', () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: dir.path });
    const lines: string[] = [];
    const log = createLogger({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const first = loadMasterKey(config, log);
    const second = loadMasterKey(config, silent);
    expect(first.id).toBe(second.id);
    expect(lines.join('')).toMatch(/DEVELOPMENT master key/);
    dir.remove();
  });

  it('refuses to start in production without MASTER_KEY', () => {
    const { MASTER_KEY: _m, ...env } = prodBase;
    expect(() => loadMasterKey(loadConfig(env), silent)).toThrow(ConfigError);
  });

  it('refuses a generated development key in production', () => {
    const dir = tempDir();
    const devConfig = loadConfig({ DATA_DIR: dir.path });
    loadMasterKey(devConfig, silent);
    const devKey = readFileSync(join(dir.path, 'master.key'), 'utf8').trim();
    expect(devKey.startsWith(DEV_KEY_PREFIX)).toBe(true);
    const prod = loadConfig({ ...prodBase, DATA_DIR: dir.path, MASTER_KEY: devKey });
    expect(() => loadMasterKey(prod, silent)).toThrow(/development key/);
    // The same bytes without the prefix are recognised too, because they match the dev key file.
    const stripped = loadConfig({
      ...prodBase,
      DATA_DIR: dir.path,
      MASTER_KEY: devKey.slice(DEV_KEY_PREFIX.length),
    });
    expect(() => loadMasterKey(stripped, silent)).toThrow(/development key/);
    dir.remove();
  });

  it('rejects a master key that is not 32 bytes', () => {
    expect(() => loadMasterKey(loadConfig({ ...prodBase, MASTER_KEY: 'c2hvcnQ' }), silent)).toThrow(
      /32 bytes/,
    );
  });

  it('seals with the current key and opens envelopes of a previous one', () => {
    const oldKey = masterKeyFrom(Buffer.alloc(32, 1));
    const newKey = masterKeyFrom(Buffer.alloc(32, 2));
    const sealed = new KeyRing(oldKey).seal(Buffer.from('relayer'), 'secret:a');
    expect(new KeyRing(newKey, [oldKey]).open(sealed, 'secret:a').toString()).toBe('relayer');
    expect(() => new KeyRing(newKey).open(sealed, 'secret:a')).toThrow(/unknown master key/);
  });
});
