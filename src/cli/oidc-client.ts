/**
 * `npm run oidc:client -- <command>`: manage a tenant's OpenID Connect clients from the shell.
 *
 *   create <tenant> --name <name> --redirect-uri <uri> [--redirect-uri <uri>…] [--public] [--first-party]
 *          [--pairwise] [--post-logout-uri <uri>] [--backchannel-uri <uri>] [--scope "<scopes>"]
 *   list <tenant>
 *   delete <tenant> <client_id>
 *   initial-access-token <tenant> [--days <n>]    for dynamic registration (RFC 7591)
 *
 * The database is migrated first, as at start. Secrets and tokens are printed once.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../config.ts';
import { loadKeyRing } from '../crypto/master-key.ts';
import { ConfigError, TrustgateError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { type ClientInput, createClient, deleteClient, listClients } from '../oidc/clients.ts';
import { TenantProviders } from '../oidc/provider.ts';
import { cookieNames } from '../sessions/cookies.ts';
import { Sessions } from '../sessions/sessions.ts';
import { openStore } from '../store/index.ts';
import { applyMigrations } from '../store/migrate.ts';
import { ensureDefaultTenant } from '../tenants.ts';

const USAGE = `Usage:
  npm run oidc:client -- create <tenant> --name <name> --redirect-uri <uri> [--redirect-uri <uri>…]
                         [--public] [--first-party] [--pairwise] [--post-logout-uri <uri>]
                         [--backchannel-uri <uri>] [--scope "<scopes>"]
  npm run oidc:client -- list <tenant>
  npm run oidc:client -- delete <tenant> <client_id>
  npm run oidc:client -- initial-access-token <tenant> [--days <n>]`;

try {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-uri': { type: 'string', multiple: true },
      'backchannel-uri': { type: 'string' },
      scope: { type: 'string' },
      public: { type: 'boolean', default: false },
      'first-party': { type: 'boolean', default: false },
      pairwise: { type: 'boolean', default: false },
      days: { type: 'string', default: '1' },
    },
  });
  const [command, slug, clientId] = positionals;
  if (!command || !slug) throw new ConfigError(USAGE);
  const config = loadConfig();
  const log = createLogger({ level: 'warn', name: 'oidc:client' }, process.stderr);
  const keys = loadKeyRing(config, log);
  await applyMigrations({ url: config.DATABASE_URL, log });
  const store = await openStore({ url: config.DATABASE_URL });
  try {
    await ensureDefaultTenant(store);
    const providers = new TenantProviders({
      store,
      keys,
      sessions: new Sessions(store),
      publicUrl: config.PUBLIC_URL,
      log,
      sessionCookie: cookieNames(config.PUBLIC_URL).session,
      keyRotationMs: config.OIDC_KEY_ROTATION_DAYS * 86_400_000,
      allowPrivateCallbacks: config.OIDC_ALLOW_PRIVATE_CALLBACKS,
      proxy: false,
    });
    const { provider, tenant } = await providers.get(slug);
    const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    switch (command) {
      case 'create': {
        if (!values.name || !values['redirect-uri']) throw new ConfigError(USAGE);
        const input: ClientInput = {
          client_name: values.name,
          redirect_uris: values['redirect-uri'],
          type: values.public ? 'public' : 'confidential',
          first_party: values['first-party'],
          subject_type: values.pairwise ? 'pairwise' : 'public',
          ...(values['post-logout-uri'] ? { post_logout_redirect_uris: values['post-logout-uri'] } : {}),
          ...(values['backchannel-uri'] ? { backchannel_logout_uri: values['backchannel-uri'] } : {}),
          ...(values.scope ? { scope: values.scope } : {}),
        };
        const created = await createClient(provider, store, tenant.id, input);
        out({ ...created.client, ...(created.clientSecret ? { client_secret: created.clientSecret } : {}) });
        break;
      }
      case 'list':
        out(await listClients(store, tenant.id));
        break;
      case 'delete':
        if (!clientId) throw new ConfigError(USAGE);
        if (!(await deleteClient(store, tenant.id, clientId)))
          throw new ConfigError(`No client ${clientId}.`);
        out({ deleted: clientId });
        break;
      case 'initial-access-token': {
        const expiresIn = Math.round(Number(values.days) * 86_400);
        if (!Number.isFinite(expiresIn) || expiresIn < 60)
          throw new ConfigError('--days must be a positive number.');
        const token = await new provider.InitialAccessToken({ expiresIn }).save();
        out({ initial_access_token: token, expires_in: expiresIn });
        break;
      }
      default:
        throw new ConfigError(USAGE);
    }
  } finally {
    await store.close();
  }
} catch (err) {
  const message =
    err instanceof z.ZodError
      ? err.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('\n')
      : err instanceof TrustgateError
        ? `${err.code}: ${err.message}`
        : err instanceof Error
          ? err.message
          : String(err);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
