/**
 * `npm run admin:bootstrap`: the first super-admin is an existing account with a hardware-bound key,
 * named by the operator. It refuses an unknown username, an account without a hardware key and a
 * malformed call; once there is a super-admin it changes nothing. The bootstrapped person can then
 * administer tenants with their own sign-in.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../src/paths.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let hw: HardwareAttestation;

beforeAll(async () => {
  hw = await hardwareAttestationEnv();
  svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000' });
}, 120_000);
afterAll(async () => {
  await svc?.destroy();
  hw?.remove();
});

/** Runs the CLI against the test service's database. */
function bootstrap(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fromRoot('src', 'cli', 'admin-bootstrap.ts'), '--', ...args],
      {
        cwd: fromRoot(),
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...svc.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

const rolesOf = async (username: string) =>
  JSON.parse(
    (await svc.service.store.db.account.findFirstOrThrow({ where: { username } })).roles,
  ) as string[];

describe('admin:bootstrap', () => {
  it('refuses a malformed call, an unknown username and an account without a hardware-bound key', async () => {
    const usage = await bootstrap();
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/Usage: npm run admin:bootstrap/);

    const unknown = await bootstrap('nobody-yet');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain(`Sign up first at ${svc.env.PUBLIC_URL}/t/default/sign-up`);

    expect((await new AuthClient(svc.url).signUp('synced-only')).status).toBe(201);
    const synced = await bootstrap('synced-only');
    expect(synced.code).toBe(2);
    expect(synced.err).toMatch(/no hardware-bound security key/);
    expect(await rolesOf('synced-only')).toEqual([]);
    expect(await svc.service.store.db.account.count({ where: { roles: { contains: 'super-admin' } } })).toBe(
      0,
    );
  }, 60_000);

  it('makes the named person super-admin once; they can then create tenants; a second run changes nothing', async () => {
    const first = await adminClient(svc, hw, [], { username: 'operator' });
    const r = await bootstrap('operator');
    expect(r.code, r.err).toBe(0);
    const account = await svc.service.store.db.account.findFirstOrThrow({ where: { username: 'operator' } });
    expect(r.out).toContain('operator in tenant default is now super-admin');
    expect(r.out).toContain(account.did);
    expect(await rolesOf('operator')).toEqual(['super-admin']);

    const created = await first.call('POST', '/api/admin/tenants', { slug: 'boot', displayName: 'Boot' });
    expect(created.status).toBe(201);

    await adminClient(svc, hw, [], { username: 'latecomer' });
    const again = await bootstrap('latecomer');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/A super-admin already exists: nothing changed/);
    expect(await rolesOf('latecomer')).toEqual([]);
  }, 60_000);
});
