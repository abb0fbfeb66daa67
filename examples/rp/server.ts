/**
 * `npm run example:rp`: starts the example app (see README.md beside this file).
 *
 * Environment:
 *   TRUSTGATE_URL            Trustgate's PUBLIC_URL (default http://localhost:3000)
 *   TENANT                   Trustgate tenant (default `default`)
 *   PORT                     this app's port (default 4000)
 *   RP_PUBLIC_URL            this app's public URL (default http://localhost:$PORT)
 *   RP_CLIENT_ID             a client made by an admin; with RP_CLIENT_SECRET for a confidential one
 *   RP_CLIENT_SECRET
 *   RP_INITIAL_ACCESS_TOKEN  without RP_CLIENT_ID: register a client dynamically with this token
 *   RP_TRUSTED_ISSUERS       optional, comma-separated issuer DIDs the app accepts credentials from
 *   HOST                     address to listen on (default 127.0.0.1)
 */
import type { AddressInfo } from 'node:net';
import { createRpApp } from './app.ts';
import { NoClientError } from './client-registration.ts';

const env = process.env;
const port = Number(env.PORT ?? 4000);
const trustgateUrl = env.TRUSTGATE_URL ?? 'http://localhost:3000';
const tenant = env.TENANT ?? 'default';
const baseUrl = env.RP_PUBLIC_URL ?? `http://localhost:${port}`;
const trustedIssuers = (env.RP_TRUSTED_ISSUERS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

try {
  const rp = await createRpApp({
    trustgateUrl,
    tenant,
    baseUrl,
    ...(env.RP_CLIENT_ID
      ? {
          client: {
            clientId: env.RP_CLIENT_ID,
            ...(env.RP_CLIENT_SECRET ? { clientSecret: env.RP_CLIENT_SECRET } : {}),
          },
        }
      : {}),
    ...(env.RP_INITIAL_ACCESS_TOKEN ? { initialAccessToken: env.RP_INITIAL_ACCESS_TOKEN } : {}),
    ...(trustedIssuers.length > 0 ? { trustedIssuers } : {}),
  });
  if (rp.registered) {
    // Shown once, on this terminal only: without it every start registers another client.
    process.stdout.write(
      `Registered a new client at ${rp.issuer}. To reuse it, start with:\n` +
        `  RP_CLIENT_ID=${rp.registered.clientId}` +
        (rp.registered.clientSecret ? ` RP_CLIENT_SECRET=${rp.registered.clientSecret}` : '') +
        '\n',
    );
  }
  const server = rp.app.listen(port, env.HOST ?? '127.0.0.1', () => {
    const address = server.address() as AddressInfo;
    process.stdout.write(
      `Example app on ${baseUrl} (listening on ${address.address}:${address.port}), ` +
        `signing in with ${rp.issuer} as client ${rp.clientId}\n`,
    );
  });
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  if (err instanceof NoClientError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(
      `The example app could not start (is Trustgate running at ${trustgateUrl}?): ${
        err instanceof Error ? err.message : String(err)
      }\n`,
    );
  }
  process.exit(1);
}
