/**
 * Attestation at sign-up and enrolment, through the service's configured trust store: a chain to a
 * trusted root makes a hardware-bound passkey (AAL3, `phrh`, amr `hwk`); metadata names the model; a
 * model the metadata lists as revoked is refused even without attestation; a tenant that requires
 * trusted attestation refuses the rest; and an unchained attestation is never trusted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService, tempDir } from '../helpers/service.ts';
import { buildMdsBlob, createMdsSigner } from '../helpers/webauthn/mds-blob.ts';
import { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';
import { type AttestationChain, createAttestationChain, derToBase64 } from '../helpers/webauthn/test-pki.ts';

const HARDWARE_AAGUID = '1a2b3c4d-0000-4000-8000-00000000aaaa';
const METADATA_AAGUID = '1a2b3c4d-0000-4000-8000-00000000bbbb';
const REVOKED_AAGUID = '1a2b3c4d-0000-4000-8000-00000000dead';
const SOFTWARE_AAGUID = '1a2b3c4d-0000-4000-8000-00000000eeee';

let svc: TestService;
let hardware: AttestationChain;
let listed: AttestationChain;
let unlisted: AttestationChain;
let software: AttestationChain;
const dir = tempDir();

beforeAll(async () => {
  // Roots the operator trusts directly (e.g. a TPM vendor), in ATTESTATION_ROOTS_DIR.
  hardware = await createAttestationChain({ aaguid: HARDWARE_AAGUID, withIntermediate: true });
  mkdirSync(join(dir.path, 'roots', 'packed'), { recursive: true });
  writeFileSync(join(dir.path, 'roots', 'packed', 'vendor.pem'), hardware.rootPem);
  // A model known from FIDO metadata, and a revoked one.
  listed = await createAttestationChain({ aaguid: METADATA_AAGUID });
  unlisted = await createAttestationChain({ aaguid: '1a2b3c4d-0000-4000-8000-00000000cccc' });
  software = await createAttestationChain({ aaguid: SOFTWARE_AAGUID });
  const signer = await createMdsSigner();
  const blob = await buildMdsBlob({
    signer,
    entries: [
      {
        aaguid: METADATA_AAGUID,
        metadataStatement: {
          description: 'Test Security Key 5',
          attestationRootCertificates: [derToBase64(listed.rootDer)],
        },
        statusReports: [{ status: 'FIDO_CERTIFIED_L2', effectiveDate: '2025-01-01' }],
      },
      {
        aaguid: SOFTWARE_AAGUID,
        metadataStatement: {
          description: 'Software Authenticator 1',
          attestationRootCertificates: [derToBase64(software.rootDer)],
          keyProtection: ['software'],
        },
        statusReports: [{ status: 'FIDO_CERTIFIED', effectiveDate: '2025-01-01' }],
      },
      {
        aaguid: REVOKED_AAGUID,
        metadataStatement: {
          description: 'Broken Key',
          attestationRootCertificates: [derToBase64(listed.rootDer)],
        },
        statusReports: [
          { status: 'FIDO_CERTIFIED', effectiveDate: '2024-01-01' },
          { status: 'ATTESTATION_KEY_COMPROMISE', effectiveDate: '2025-06-01' },
        ],
      },
    ],
  });
  writeFileSync(join(dir.path, 'mds.jwt'), blob);
  writeFileSync(join(dir.path, 'mds-root.pem'), signer.root.pem);
  svc = await startTestService({
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    ATTESTATION_ROOTS_DIR: join(dir.path, 'roots'),
    MDS_BLOB: join(dir.path, 'mds.jwt'),
    MDS_ROOT_CERTS: join(dir.path, 'mds-root.pem'),
  });
});
afterAll(async () => {
  await svc?.destroy();
  dir.remove();
});

let n = 0;
const signUpWith = (authenticator: SoftAuthenticator) =>
  new AuthClient(svc.url, authenticator).signUp(`att${++n}`);

describe('attestation trust at sign-up', () => {
  it('makes a device-bound key whose attestation chains to a trusted root a hardware passkey: AAL3, phrh, hwk', async () => {
    const client = new AuthClient(
      svc.url,
      new SoftAuthenticator({ aaguid: HARDWARE_AAGUID, attestation: { chain: hardware } }),
    );
    const r = await client.signUp(`hw${++n}`);
    expect(r.status).toBe(201);
    expect(r.body.session).toMatchObject({ aal: 3, acr: 'phrh', phr: true, phrh: true });
    expect((r.body.session as { amr: string[] }).amr).toContain('hwk');
    const passkey = await svc.service.store.db.passkey.findFirstOrThrow({
      where: { aaguid: HARDWARE_AAGUID },
    });
    expect(passkey).toMatchObject({
      fmt: 'packed',
      attestationTrusted: true,
      hardwareBound: true,
      backupEligible: false,
    });
  });

  it('keeps a synced passkey (backup eligible) at AAL2 even with a trusted attestation', async () => {
    const r = await signUpWith(
      new SoftAuthenticator({
        aaguid: HARDWARE_AAGUID,
        attestation: { chain: hardware },
        backupEligible: true,
        backedUp: true,
      }),
    );
    expect(r.status).toBe(201);
    expect(r.body.session).toMatchObject({ aal: 2, phrh: false });
  });

  it('trusts a model through its metadata statement and records its name', async () => {
    const r = await signUpWith(
      new SoftAuthenticator({ aaguid: METADATA_AAGUID, attestation: { chain: listed } }),
    );
    expect(r.status).toBe(201);
    expect(r.body.session).toMatchObject({ aal: 3, acr: 'phrh' });
    const passkey = await svc.service.store.db.passkey.findFirstOrThrow({
      where: { aaguid: METADATA_AAGUID },
    });
    expect(passkey).toMatchObject({
      modelName: 'Test Security Key 5',
      attestationTrusted: true,
      name: 'Test Security Key 5',
    });
  });

  it('does not count a trusted model whose metadata says its keys are in software as hardware (AAL2)', async () => {
    const r = await signUpWith(
      new SoftAuthenticator({ aaguid: SOFTWARE_AAGUID, attestation: { chain: software } }),
    );
    expect(r.status).toBe(201);
    expect(r.body.session).toMatchObject({ aal: 2, phrh: false });
    const passkey = await svc.service.store.db.passkey.findFirstOrThrow({
      where: { aaguid: SOFTWARE_AAGUID },
    });
    expect(passkey).toMatchObject({ attestationTrusted: true, hardwareBound: false });
  });

  it('never trusts self attestation, fmt none, or a chain to an unknown root (AAL2 at most)', async () => {
    for (const attestation of ['self', 'none', { chain: unlisted }] as const) {
      const r = await signUpWith(
        new SoftAuthenticator({ aaguid: '1a2b3c4d-0000-4000-8000-00000000cccc', attestation }),
      );
      expect(r.status).toBe(201);
      expect(r.body.session).toMatchObject({ aal: 2, phrh: false });
    }
    const rows = await svc.service.store.db.passkey.findMany({
      where: { aaguid: '1a2b3c4d-0000-4000-8000-00000000cccc' },
    });
    expect(rows.map((p) => p.attestationTrusted)).toEqual([false, false, false]);
  });

  it('refuses a model the metadata lists as compromised, even with attestation none', async () => {
    const r = await signUpWith(new SoftAuthenticator({ aaguid: REVOKED_AAGUID, attestation: 'none' }));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'attestation_refused' });
    expect(await svc.service.store.db.passkey.count({ where: { aaguid: REVOKED_AAGUID } })).toBe(0);
  });
});

describe('tenant attestation policy', () => {
  it('a tenant requiring trusted attestation refuses untrusted authenticators and accepts trusted ones', async () => {
    await svc.service.store.db.tenant.create({
      data: { slug: 'strict', displayName: 'Strict', attestationPolicy: 'trusted' },
    });
    const refused = await new AuthClient(
      svc.url,
      new SoftAuthenticator({ attestation: 'self' }),
      'strict',
    ).signUp('strict1');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'attestation_untrusted' });
    const accepted = await new AuthClient(
      svc.url,
      new SoftAuthenticator({ aaguid: HARDWARE_AAGUID, attestation: { chain: hardware } }),
      'strict',
    ).signUp('strict2');
    expect(accepted.status).toBe(201);
  });
});

describe('step-up to phrh', () => {
  it('raises a synced-passkey session to AAL3 / phrh by stepping up with a security key', async () => {
    const client = new AuthClient(svc.url, new SoftAuthenticator({ backupEligible: true }));
    expect((await client.signUp(`stepper${++n}`)).status).toBe(201);
    const key = new SoftAuthenticator({ aaguid: HARDWARE_AAGUID, attestation: { chain: hardware } });
    expect((await client.addPasskey('Security key', {}, key)).status).toBe(201);
    const options = await client.call<{ options: Parameters<SoftAuthenticator['getAssertion']>[0] }>(
      'POST',
      client.t('/auth/step-up/passkey/options'),
      {},
    );
    const response = key.getAssertion(options.body.options, { origin: client.origin });
    const r = await client.call('POST', client.t('/auth/step-up/passkey/verify'), { response });
    expect(r.status).toBe(200);
    expect(r.body.session).toMatchObject({ aal: 3, acr: 'phrh', phrh: true });
  });
});
