import { X509Certificate } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MDS_ROOT_PATH,
  keyIdentifier,
  MdsBlob,
  MdsBlobError,
  type MdsBlobFailure,
} from '../../src/factors/attestation/mds.ts';
import { AttestationRefusedError, AttestationTrustStore } from '../../src/factors/attestation/trust-store.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  buildMdsBlob,
  createMdsSigner,
  encodeJws,
  type MdsEntryInput,
  type MdsSigner,
  mdsPayload,
  tamperMdsBlob,
} from '../helpers/webauthn/mds-blob.ts';
import {
  createAttestationChain,
  createTestCa,
  derToBase64,
  type TestCertificate,
} from '../helpers/webauthn/test-pki.ts';

const KEY_AAGUID = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';
const REVOKED_AAGUID = 'ee882879-721c-4913-9775-3dfcce97072a';
const BYPASS_AAGUID = '73bb0cd4-e502-49b8-9c6f-b59445bf720b';
const STATUS_ONLY_AAGUID = '0bb43545-fd2c-4185-87dd-feb0b2916ace';

let attestationRoot: TestCertificate;
let signer: MdsSigner;
let entries: MdsEntryInput[];
let u2fLeaf: Uint8Array;

async function expectRefused(blob: string, reason: MdsBlobFailure, roots = [signer.root.der]) {
  const attempt = MdsBlob.verify(blob, { roots });
  await expect(attempt).rejects.toBeInstanceOf(MdsBlobError);
  await expect(attempt).rejects.toMatchObject({ reason });
}

beforeAll(async () => {
  attestationRoot = await createTestCa('Vendor Attestation Root');
  signer = await createMdsSigner({ withIntermediate: true });
  u2fLeaf = (await createAttestationChain({ aaguid: KEY_AAGUID, root: attestationRoot })).leaf.der;
  const statement = (description: string) => ({
    description,
    attestationRootCertificates: [derToBase64(attestationRoot.der)],
  });
  entries = [
    {
      aaguid: KEY_AAGUID,
      metadataStatement: statement('Test Key'),
      // Out of order on purpose: the latest by effectiveDate counts, not the last listed.
      statusReports: [
        { status: 'FIDO_CERTIFIED_L2', effectiveDate: '2024-05-01' },
        { status: 'USER_VERIFICATION_BYPASS', effectiveDate: '2022-01-01' },
        { status: 'FIDO_CERTIFIED_L1', effectiveDate: '2021-01-01' },
      ],
    },
    {
      aaguid: REVOKED_AAGUID,
      metadataStatement: statement('Revoked Key'),
      statusReports: [
        { status: 'FIDO_CERTIFIED', effectiveDate: '2020-01-01' },
        { status: 'REVOKED', effectiveDate: '2023-09-30' },
      ],
    },
    {
      aaguid: BYPASS_AAGUID,
      metadataStatement: statement('Bypassable Key'),
      statusReports: [{ status: 'USER_VERIFICATION_BYPASS', effectiveDate: '2023-02-02' }],
    },
    { aaguid: STATUS_ONLY_AAGUID, statusReports: [{ status: 'REVOKED', effectiveDate: '2023-01-01' }] },
    {
      attestationCertificateKeyIdentifiers: [keyIdentifier(new X509Certificate(u2fLeaf))!.toUpperCase()],
      metadataStatement: statement('Test U2F Key'),
      statusReports: [{ status: 'FIDO_CERTIFIED', effectiveDate: '2019-01-01' }],
    },
  ];
});

describe('MdsBlob.verify: accepted BLOBs', () => {
  it('should accept a BLOB signed by a chain (leaf, intermediate) ending at the MDS root', async () => {
    const blob = await MdsBlob.verify(
      await buildMdsBlob({ signer, entries, no: 42, nextUpdate: '2099-12-31' }),
      {
        roots: [signer.root.der],
      },
    );
    expect(blob.no).toBe(42);
    expect(blob.size).toBe(entries.length);
    expect(blob.nextUpdate.toISOString()).toBe('2099-12-31T00:00:00.000Z');
    expect(blob.stale).toBe(false);
  });

  it('should accept an RS256 BLOB', async () => {
    const rsaSigner = await createMdsSigner({ alg: 'RS256' });
    const blob = await MdsBlob.verify(await buildMdsBlob({ signer: rsaSigner, entries }), {
      roots: [rsaSigner.root.der],
    });
    expect(blob.statementFor({ aaguid: KEY_AAGUID })?.description).toBe('Test Key');
  });

  it('should accept but flag a BLOB whose nextUpdate has passed', async () => {
    const blob = await MdsBlob.verify(await buildMdsBlob({ signer, entries, nextUpdate: '2020-01-01' }), {
      roots: [signer.root.der],
    });
    expect(blob.stale).toBe(true);
  });

  it('should index statements by AAGUID and report the latest status by effectiveDate', async () => {
    const blob = await MdsBlob.verify(await buildMdsBlob({ signer, entries }), { roots: [signer.root.der] });
    const statement = blob.statementFor({ aaguid: KEY_AAGUID.toUpperCase().replace(/-/g, '') });
    expect(statement).toMatchObject({
      description: 'Test Key',
      status: 'FIDO_CERTIFIED_L2',
      statusDate: '2024-05-01',
      hasMetadataStatement: true,
    });
    expect(statement?.refusedStatus).toBeUndefined();
    expect(statement?.roots.map((r) => Buffer.from(r).toString('base64'))).toEqual([
      derToBase64(attestationRoot.der),
    ]);
    expect(blob.statementFor({ aaguid: REVOKED_AAGUID })).toMatchObject({ refusedStatus: 'REVOKED' });
    expect(blob.statementFor({ aaguid: BYPASS_AAGUID })).toMatchObject({
      refusedStatus: 'USER_VERIFICATION_BYPASS',
    });
    expect(blob.statementFor({ aaguid: STATUS_ONLY_AAGUID })).toMatchObject({
      hasMetadataStatement: false,
      roots: [],
      refusedStatus: 'REVOKED',
    });
    expect(blob.statementFor({ aaguid: '9f2a0a48-0000-4000-8000-000000000000' })).toBeUndefined();
  });

  it('should find fido-u2f entries by the leaf key identifier, only when the AAGUID is zero or absent', async () => {
    const blob = await MdsBlob.verify(await buildMdsBlob({ signer, entries }), { roots: [signer.root.der] });
    const zero = '00000000-0000-0000-0000-000000000000';
    expect(blob.statementFor({ aaguid: zero, leafCert: u2fLeaf })?.description).toBe('Test U2F Key');
    expect(blob.statementFor({ leafCert: u2fLeaf })?.description).toBe('Test U2F Key');
    expect(blob.statementFor({ aaguid: zero })).toBeUndefined();
    expect(
      blob.statementFor({ aaguid: '9f2a0a48-0000-4000-8000-000000000000', leafCert: u2fLeaf }),
    ).toBeUndefined();
  });
});

describe('MdsBlob.verify: refused BLOBs', () => {
  it('should refuse a BLOB whose payload was tampered with (REVOKED turned into FIDO_CERTIFIED)', async () => {
    const genuine = await buildMdsBlob({ signer, entries });
    const tampered = tamperMdsBlob(genuine, (payload) => {
      for (const entry of payload.entries as Array<{ statusReports: Array<{ status: string }> }>) {
        for (const report of entry.statusReports) report.status = 'FIDO_CERTIFIED';
      }
    });
    await expectRefused(tampered, 'signature');
  });

  it('should refuse a BLOB signed by a chain that does not end at the MDS root', async () => {
    const rogue = await createMdsSigner();
    await expectRefused(await buildMdsBlob({ signer: rogue, entries }), 'chain');
  });

  it("should refuse a BLOB signed by another key than the x5c leaf's", async () => {
    const rogue = await createMdsSigner();
    await expectRefused(await buildMdsBlob({ signer: rogue, entries, x5c: signer.chain }), 'signature');
  });

  it('should refuse a BLOB whose x5c omits the intermediate', async () => {
    await expectRefused(await buildMdsBlob({ signer, entries, x5c: [signer.chain[0]!] }), 'chain');
  });

  it('should refuse alg none', async () => {
    const header = { alg: 'none', typ: 'JWT', x5c: signer.chain.map(derToBase64) };
    await expectRefused(encodeJws(header, mdsPayload({ entries })), 'alg');
  });

  it('should refuse HS256 (an HMAC keyed with public data proves nothing)', async () => {
    const payload = new TextEncoder().encode(JSON.stringify(mdsPayload({ entries })));
    const hmac = await new CompactSign(payload)
      .setProtectedHeader({ alg: 'HS256', x5c: signer.chain.map(derToBase64) })
      .sign(new Uint8Array(signer.chain[0]!.slice(0, 32)));
    await expectRefused(hmac, 'alg');
  });

  it('should refuse an algorithm outside ES256, RS256 and PS256 (ES384)', async () => {
    const header = { alg: 'ES384', x5c: signer.chain.map(derToBase64) };
    await expectRefused(encodeJws(header, mdsPayload({ entries }), 'AAAA'), 'alg');
  });

  it('should refuse a BLOB without x5c, or that is not a JWS at all', async () => {
    const payload = new TextEncoder().encode(JSON.stringify(mdsPayload({ entries })));
    const noX5c = await new CompactSign(payload).setProtectedHeader({ alg: 'ES256' }).sign(signer.privateKey);
    await expectRefused(noX5c, 'format');
    await expectRefused('not-a-jws', 'format');
    await expectRefused('e30.e30', 'format');
  });

  it('should refuse a correctly signed payload that is not shaped like MDS3', async () => {
    const payload = new TextEncoder().encode(JSON.stringify({ no: 1, nextUpdate: 'soon', entries: [] }));
    const jws = await new CompactSign(payload)
      .setProtectedHeader({ alg: 'ES256', x5c: signer.chain.map(derToBase64) })
      .sign(signer.privateKey);
    await expectRefused(jws, 'payload');
    await expect(MdsBlob.verify(jws, { roots: [signer.root.der] })).rejects.toThrow(/nextUpdate/);
  });

  it('should refuse a BLOB whose signer certificate has expired', async () => {
    const blob = await buildMdsBlob({ signer, entries });
    const later = new Date(Date.now() + 2 * 365 * 86_400_000);
    await expect(MdsBlob.verify(blob, { roots: [signer.root.der], now: later })).rejects.toMatchObject({
      reason: 'chain',
    });
  });
});

describe('MdsBlob.load', () => {
  let server: Server;
  let host: string;
  const routes = new Map<string, string>();
  const dir = tempDir();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const body = routes.get(req.url ?? '');
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/jwt' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    routes.set('/blob.jwt', await buildMdsBlob({ signer, entries }));
    writeFileSync(join(dir.path, 'mds-root.pem'), signer.root.pem);
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    dir.remove();
  });

  it('should load a BLOB from an http URL on an allow-listed host', async () => {
    const blob = await MdsBlob.load(`http://${host}/blob.jwt`, {
      allowHosts: [host],
      rootPems: [signer.root.pem],
    });
    expect(blob.statementFor({ aaguid: KEY_AAGUID })?.description).toBe('Test Key');
  });

  it('should load a BLOB of real size (over 5 MB)', async () => {
    routes.set('/big.jwt', await buildMdsBlob({ signer, entries, legalHeader: 'x'.repeat(6 * 1024 * 1024) }));
    const blob = await MdsBlob.load(`http://${host}/big.jwt`, {
      allowHosts: [host],
      rootPems: [signer.root.pem],
    });
    expect(blob.size).toBe(entries.length);
  });

  it('should refuse http to a host that is not allow-listed (safe-fetch rules apply)', async () => {
    await expect(
      MdsBlob.load(`http://${host}/blob.jwt`, { rootPems: [signer.root.pem] }),
    ).rejects.toMatchObject({
      reason: 'source',
    });
  });

  it('should refuse a URL that does not answer 200', async () => {
    await expect(
      MdsBlob.load(`http://${host}/missing.jwt`, { allowHosts: [host], rootPems: [signer.root.pem] }),
    ).rejects.toMatchObject({ reason: 'source' });
  });

  it('should load a BLOB from a file with the MDS root from a PEM file', async () => {
    const path = join(dir.path, 'blob.jwt');
    writeFileSync(path, `${routes.get('/blob.jwt')}\n`);
    const blob = await MdsBlob.load(path, { rootPaths: [join(dir.path, 'mds-root.pem')] });
    expect(blob.statementFor({ aaguid: REVOKED_AAGUID })?.refusedStatus).toBe('REVOKED');
  });

  it('should refuse when the MDS root file is missing or holds no certificate', async () => {
    const path = join(dir.path, 'blob.jwt');
    await expect(MdsBlob.load(path, { rootPaths: [join(dir.path, 'absent.pem')] })).rejects.toMatchObject({
      reason: 'roots',
    });
    await expect(MdsBlob.load(path, { rootPems: ['nothing here'] })).rejects.toMatchObject({
      reason: 'roots',
    });
  });

  it.skipIf(!existsSync(DEFAULT_MDS_ROOT_PATH))(
    'should verify against GlobalSign Root CA - R3 by default (a test-signed BLOB is refused)',
    async () => {
      const path = join(dir.path, 'blob.jwt');
      await expect(MdsBlob.load(path)).rejects.toMatchObject({ reason: 'chain' });
    },
  );

  it('should build a trust store from a BLOB URL and MDS root files, refusing a REVOKED model', async () => {
    const store = await AttestationTrustStore.load({
      mdsBlob: `http://${host}/blob.jwt`,
      mdsRoots: [join(dir.path, 'mds-root.pem')],
      allowHosts: [host],
    });
    expect(store.mds?.stale).toBe(false);
    expect(() => store.evaluate({ fmt: 'none', aaguid: REVOKED_AAGUID, x5c: [] })).toThrow(
      AttestationRefusedError,
    );
    const chain = await createAttestationChain({ aaguid: KEY_AAGUID, root: attestationRoot });
    expect(store.evaluate({ fmt: 'packed', aaguid: KEY_AAGUID, x5c: chain.chain })).toMatchObject({
      trusted: true,
      modelName: 'Test Key',
    });
  });
});
