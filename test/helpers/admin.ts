/**
 * Admins for tests. Admin writes need a recent AAL3 / `phrh` session, so admins sign up with a hardware
 * security key: a software authenticator whose packed attestation chains to a test root that the service
 * trusts (`hardwareAttestationEnv()` writes that root into an ATTESTATION_ROOTS_DIR).
 *
 *   const hw = await hardwareAttestationEnv();
 *   svc = await startTestService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000' });
 *   const admin = await adminClient(svc, hw, 'tenant-admin');      // signed in at AAL3 / phrh
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthClient } from './auth-client.ts';
import { type TestService, tempDir } from './service.ts';
import { SoftAuthenticator } from './webauthn/soft-authenticator.ts';
import { type AttestationChain, createAttestationChain } from './webauthn/test-pki.ts';

/** The AAGUID of the test security key model. */
export const SECURITY_KEY_AAGUID = '1a2b3c4d-0000-4000-8000-00000000a11a';

export interface HardwareAttestation {
  /** Environment for `startTestService` (ATTESTATION_ROOTS_DIR). */
  env: Record<string, string>;
  chain: AttestationChain;
  /** A new security key (its own credentials, the trusted model). */
  securityKey(): SoftAuthenticator;
  remove(): void;
}

/** A trusted test root for packed attestation, and security keys that chain to it. */
export async function hardwareAttestationEnv(): Promise<HardwareAttestation> {
  const dir = tempDir();
  const chain = await createAttestationChain({ aaguid: SECURITY_KEY_AAGUID, withIntermediate: true });
  mkdirSync(join(dir.path, 'roots', 'packed'), { recursive: true });
  writeFileSync(join(dir.path, 'roots', 'packed', 'test-vendor.pem'), chain.rootPem);
  return {
    env: { ATTESTATION_ROOTS_DIR: join(dir.path, 'roots') },
    chain,
    securityKey: () => new SoftAuthenticator({ aaguid: SECURITY_KEY_AAGUID, attestation: { chain } }),
    remove: () => dir.remove(),
  };
}

let n = 0;

/**
 * A person in `tenant` holding `roles`, signed up with a security key (their session is AAL3 / `phrh`),
 * or with `hardware: false` with a synced passkey (AAL2 / `phr`: reads only, changes get the RFC 9470
 * challenge). Roles are written to the database directly (what `npm run admin:grant` does).
 */
export async function adminClient(
  svc: TestService,
  hw: HardwareAttestation,
  roles: string | string[],
  options: { tenant?: string; username?: string; hardware?: boolean } = {},
): Promise<AuthClient & { accountId: string }> {
  const tenant = options.tenant ?? 'default';
  const key = options.hardware === false ? new SoftAuthenticator() : hw.securityKey();
  const client = new AuthClient(svc.url, key, tenant);
  const username = options.username ?? `admin${++n}-${Date.now().toString(36)}`;
  const r = await client.signUp(username);
  if (r.status !== 201) throw new Error(`admin sign-up failed: ${r.status} ${JSON.stringify(r.body)}`);
  const account = r.body.account as { id: string };
  await svc.service.store.db.account.update({
    where: { id: account.id },
    data: { roles: JSON.stringify(Array.isArray(roles) ? roles : [roles]) },
  });
  return Object.assign(client, { accountId: account.id });
}
