/**
 * `npm run admin:bootstrap -- <username> [--tenant <slug>]`: makes the first super-admin.
 *
 * The person first signs up at `{PUBLIC_URL}/t/default/sign-up` with a hardware security key; then the
 * operator runs this with their username. It grants `super-admin` to that existing account, in one
 * transaction, only when:
 *   - no active super-admin exists anywhere (otherwise it changes nothing and exits 1: later admins
 *     are made by super-admins through the roles API, or with `npm run admin:grant`);
 *   - the account is active and holds an active hardware-bound passkey (admin changes need a fresh
 *     AAL3 / `phrh` sign-in, so an admin without one could not act).
 * It prints the account's DID, creation time and key models so the operator can check it is the
 * person they meant before anyone uses it.
 *
 * Why not a one-time enrolment link: a link is a bearer secret worth super-admin until used (terminal
 * scrollback, shell history, chat, proxy logs), and whoever opens it first wins. Granting to an
 * account that already exists never creates such a secret; the operator's shell access to the
 * database is the trust root either way. Someone who takes the username first cannot slip in
 * unnoticed: the real person's sign-up fails, and the printed details show whose account it is.
 */
import { loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { openStore } from '../store/index.ts';
import { DEFAULT_TENANT } from '../tenants.ts';

/** Exit code when a super-admin already exists (nothing was changed); other refusals exit 2. */
const ALREADY_BOOTSTRAPPED = 1;

const SUPER_ADMIN = 'super-admin';

const usage = 'Usage: npm run admin:bootstrap -- <username> [--tenant <slug>]';

class AlreadyBootstrapped extends Error {}

try {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const tenantAt = args.indexOf('--tenant');
  const tenantSlug = tenantAt >= 0 ? args[tenantAt + 1] : DEFAULT_TENANT;
  const positional = args.filter((a, i) => !a.startsWith('--') && (tenantAt < 0 || i !== tenantAt + 1));
  const [username] = positional;
  if (!username || !tenantSlug || positional.length !== 1) throw new ConfigError(usage);
  const config = loadConfig();
  const store = await openStore({ url: config.DATABASE_URL });
  try {
    const granted = await store.tx(async (tx) => {
      const existing = await tx.account.findFirst({
        where: { status: 'active', roles: { contains: `"${SUPER_ADMIN}"` } },
        select: { username: true, tenantId: true },
      });
      if (existing) {
        throw new AlreadyBootstrapped(
          'A super-admin already exists: nothing changed. Super-admins grant roles through the admin API ' +
            '(PUT /t/{tenant}/api/admin/people/{id}/roles), or use npm run admin:grant.',
        );
      }
      const tenant = await tx.tenant.findUnique({ where: { slug: tenantSlug } });
      if (!tenant) throw new ConfigError(`No tenant "${tenantSlug}".`);
      const signUp = `${config.PUBLIC_URL}/t/${tenant.slug}/sign-up`;
      const account = await tx.account.findUnique({
        where: { tenantId_username: { tenantId: tenant.id, username: username.toLowerCase() } },
        include: { passkeys: { where: { status: 'active', hardwareBound: true } } },
      });
      if (!account) {
        throw new ConfigError(
          `No account "${username}" in tenant "${tenant.slug}". Sign up first at ${signUp} with a hardware ` +
            'security key, then run this again.',
        );
      }
      if (account.status !== 'active') throw new ConfigError(`The account "${username}" is not active.`);
      if (account.passkeys.length === 0) {
        throw new ConfigError(
          `The account "${username}" has no hardware-bound security key, and admin changes need one ` +
            `(AAL3 / phrh). Add one (a key whose attestation the service trusts), then run this again.`,
        );
      }
      const roles = new Set(JSON.parse(account.roles) as string[]);
      roles.add(SUPER_ADMIN);
      await tx.account.update({ where: { id: account.id }, data: { roles: JSON.stringify([...roles]) } });
      return { tenant, account };
    });
    const { tenant, account } = granted;
    const keys = account.passkeys.map((p) => p.modelName ?? p.aaguid).join(', ');
    process.stdout.write(
      [
        `${account.username} in tenant ${tenant.slug} is now super-admin.`,
        `  DID:        ${account.did}`,
        `  created:    ${account.createdAt.toISOString()}`,
        `  keys:       ${keys}`,
        'Check that this is the person you meant; if not, remove the role with',
        `  npm run admin:grant -- ${tenant.slug} ${account.username} super-admin --revoke`,
        '',
      ].join('\n'),
    );
  } finally {
    await store.close();
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof AlreadyBootstrapped ? ALREADY_BOOTSTRAPPED : 2);
}
