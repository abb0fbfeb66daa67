/**
 * `npm run audit:verify -- <tenant>`: exit 0 and "OK" for an intact, anchored chain; exit 1 naming the
 * first broken record; exit 2 for an unknown tenant or missing argument. Runs against a service that was
 * restarted, so the embedded chain's AuditAnchor address is found again from the replayed chain.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/audit/events.ts';
import { startTestService, type TestService, tempDir } from '../helpers/service.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = tempDir();
let svc: TestService;
let tenantId: string;
let firstAnchorAddress: string;

beforeAll(async () => {
  const env = { AUDIT_ANCHOR_EVERY: '3', AUDIT_ANCHOR_MINUTES: '60' };
  const first = await startTestService(env, { dataDir: dir.path });
  firstAnchorAddress = first.service.chain.auditAnchorAddress!;
  const tenant = await first.service.store.db.tenant.create({
    data: { slug: 'cli-audit', displayName: 'CLI' },
  });
  tenantId = tenant.id;
  await first.service.store.tx(async (tx) => {
    for (let i = 0; i < 4; i++) await recordEvent(tx, { tenantId, type: 'signin.succeeded', detail: { i } });
  });
  await first.service.auditAnchoring!.runOnce();
  const row = await first.service.store.db.auditAnchor.findFirstOrThrow({ where: { tenantId } });
  await first.service.outbox.waitFor(row.chainJobId!, 20_000);
  await first.stop();
  svc = await startTestService(env, { dataDir: dir.path });
}, 60_000);

afterAll(async () => {
  await svc?.stop();
  dir.remove();
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/audit-verify.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...svc.env, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run audit:verify', () => {
  it('finds the same AuditAnchor after a restart, with its anchors replayed', () => {
    expect(svc.service.chain.auditAnchorAddress).toBe(firstAnchorAddress);
  });

  it('exits 0 for an intact chain, having checked the on-chain anchor', async () => {
    const r = await cli(['cli-audit', '--json', '--rpc', svc.service.chain.rpcUrl]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      tenant: 'cli-audit',
      ok: true,
      records: 4,
      anchorsChecked: 1,
    });
  });

  it('exits 1 and names the first broken record', async () => {
    await svc.service.store.db.securityEvent.update({
      where: { tenantId_seq: { tenantId, seq: 2 } },
      data: { type: 'signin.failed' },
    });
    const r = await cli(['--', 'cli-audit', '--rpc', svc.service.chain.rpcUrl]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('BROKEN at record 2 (hash_mismatch)');
  });

  it('exits 2 for an unknown tenant or a missing argument', async () => {
    const unknown = await cli(['no-such-tenant', '--no-anchors']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('No tenant "no-such-tenant"');
    const missing = await cli([]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Usage: npm run audit:verify');
  });
});
