/**
 * `npm run admin:grant -- <tenant> <username> <role>`: gives an account an admin role (`tenant-admin`,
 * `auditor`, `helpdesk`, `super-admin`), e.g. to bootstrap a tenant's first admin. `--revoke` removes it.
 */
import { loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { openStore } from '../store/index.ts';

const ROLES = ['super-admin', 'tenant-admin', 'auditor', 'helpdesk'];

try {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const revoke = args.includes('--revoke');
  const [tenantSlug, username, role] = args.filter((a) => !a.startsWith('--'));
  if (!tenantSlug || !username || !role || !ROLES.includes(role)) {
    throw new ConfigError(
      `Usage: npm run admin:grant -- <tenant> <username> <${ROLES.join('|')}> [--revoke]`,
    );
  }
  const config = loadConfig();
  const store = await openStore({ url: config.DATABASE_URL });
  try {
    const tenant = await store.db.tenant.findUnique({ where: { slug: tenantSlug } });
    if (!tenant) throw new ConfigError(`No tenant "${tenantSlug}".`);
    const account = await store.db.account.findUnique({
      where: { tenantId_username: { tenantId: tenant.id, username: username.toLowerCase() } },
    });
    if (!account) throw new ConfigError(`No account "${username}" in tenant "${tenantSlug}".`);
    const roles = new Set(JSON.parse(account.roles) as string[]);
    if (revoke) roles.delete(role);
    else roles.add(role);
    await store.db.account.update({ where: { id: account.id }, data: { roles: JSON.stringify([...roles]) } });
    process.stdout.write(`${username} in ${tenantSlug}: roles ${JSON.stringify([...roles])}\n`);
  } finally {
    await store.close();
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
