/**
 * Credentials benchmark, side by side in one run on one core: the machine's raw ES256K sign and verify
 * rate (@noble/curves secp256k1, the curve code did-jwt and ethers themselves use), Trustgate's JWT VC
 * issue rate (managed key in the sealed KMS) and verify rate with warm caches, issuing the way the service
 * does it (CredentialIssuance: status entries for revocation and suspension, the IssuedCredential record,
 * one transaction), one at a time and with requests in flight, and Veramo's default verification path
 * (did-jwt-vc `verifyCredential` over stock ethr-did-resolver on JSON-RPC, no cache).
 *
 * Runs in process on a fresh embedded service (SQLite, embedded chain, free ports), removed afterwards.
 */
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1';
import { verifyCredential as stockVerifyCredential } from 'did-jwt-vc';
import { JsonRpcProvider } from 'ethers';
import { cachedKeySigner } from '../src/credentials/es256k.ts';
import { TenantIssuers } from '../src/credentials/issuers.ts';
import { issueJwtVc, VC_V1_CONTEXT, verifyJwtVc } from '../src/credentials/vc-jwt.ts';
import { loadKeyRing } from '../src/crypto/master-key.ts';
import { signWithManagedKey } from '../src/identity/agent.ts';
import { PrismaPrivateKeyStore } from '../src/identity/veramo-stores.ts';
import { createLogger } from '../src/log.ts';
import type { Service } from '../src/service.ts';
import { stockEthrResolver } from '../test/helpers/stock-resolver.ts';
import { percentile, type Row, withOwnService } from './lib.ts';

const SECONDS = Number(process.env.BENCH_CREDENTIALS_SECONDS ?? 3);
const UNCACHED_SECONDS = Number(process.env.BENCH_CREDENTIALS_UNCACHED_SECONDS ?? 3);
/** Issues in flight for the concurrent issuance row (an HTTP server sees many at once). */
const IN_FLIGHT = Number(process.env.BENCH_CREDENTIALS_IN_FLIGHT ?? 16);

interface Measured {
  opsPerSecond: number;
  p50: number;
  p99: number;
}

/** Runs `op` back to back for `seconds` (after a short warm-up), one at a time. */
async function timed(seconds: number, op: () => unknown): Promise<Measured> {
  for (let i = 0; i < 20; i++) await op();
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  while (performance.now() < end) {
    const t0 = performance.now();
    await op();
    latencies.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** Runs `op` with `concurrency` in flight for `seconds` (after a warm-up): throughput and latency. */
async function timedConcurrent(
  seconds: number,
  concurrency: number,
  op: () => Promise<unknown>,
): Promise<Measured> {
  for (let i = 0; i < 20; i++) await op();
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await op();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

const rate = (name: string, m: Measured, extra: Partial<Row> = {}): Row => ({
  name,
  value: m.opsPerSecond,
  unit: 'ops/s',
  note: `p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms${extra.note ? `; ${extra.note}` : ''}`,
  ...(extra.target ? { target: extra.target } : {}),
});

const sha256 = (data: Uint8Array) => new Uint8Array(createHash('sha256').update(data).digest());

type BenchService = Pick<Service, 'store' | 'agent' | 'resolver' | 'chain' | 'credentials' | 'config'>;

async function measure(service: BenchService): Promise<Row[]> {
  // Raw ES256K as a JWS does it: SHA-256 of the signing input, then ECDSA over secp256k1 (low S).
  const privateKey = secp256k1.utils.randomPrivateKey();
  const publicKey = secp256k1.getPublicKey(privateKey, false);
  const input = new TextEncoder().encode(`${'h'.repeat(120)}.${'p'.repeat(600)}`);
  const digest = sha256(input);
  const signature = secp256k1.sign(digest, privateKey, { lowS: true });
  const rawSign = await timed(SECONDS, () => secp256k1.sign(sha256(input), privateKey, { lowS: true }));
  const rawVerify = await timed(SECONDS, () => secp256k1.verify(signature, sha256(input), publicKey));
  // An address-only did:ethr method (EcdsaSecp256k1RecoveryMethod2020) has no public key to verify
  // against: did-jwt recovers it from the signature instead, which costs more than a plain verify.
  const rawRecover = await timed(SECONDS, () =>
    signature.addRecoveryBit(signature.recovery ?? 0).recoverPublicKey(sha256(input)),
  );

  const tenant = await service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } });
  const issuer = await new TenantIssuers(service.agent).get(tenant.id);
  const credential = {
    '@context': [VC_V1_CONTEXT],
    type: ['VerifiableCredential', 'DeviceCredential'],
    expirationDate: new Date(Date.now() + 86_400_000).toISOString(),
    credentialSubject: {
      id: 'did:ethr:0x7a69:0x1111111111111111111111111111111111111111',
      assurance: 'aal2',
    },
  };
  // The issue path's floor: one signature through the agent's KMS (key row read, unsealed, eth_rawSign).
  const kmsSign = await timed(SECONDS, () => signWithManagedKey(service.agent, issuer.kid, digest));
  const issue = await timed(SECONDS, () => issueJwtVc({ agent: service.agent, issuer, credential }));
  // What the service issues with: the issuer key unsealed once and held (cachedKeySigner).
  const held = cachedKeySigner(
    new PrismaPrivateKeyStore(service.store, loadKeyRing(service.config, createLogger({ level: 'silent' }))),
    issuer.kid,
  );
  const issueHeld = await timed(SECONDS, () =>
    issueJwtVc({ agent: service.agent, issuer, credential, sign: held }),
  );

  // Issuing as the service does: a DeviceBindingCredential of a stored passkey, with its two status
  // entries and its record written in one transaction.
  const { issuance } = service.credentials;
  const holder = await service.store.db.account.create({
    data: {
      tenantId: tenant.id,
      did: 'did:ethr:0x7a69:0x1111111111111111111111111111111111111111',
      address: '0x1111111111111111111111111111111111111111',
    },
  });
  const passkey = await service.store.db.passkey.create({
    data: {
      tenantId: tenant.id,
      accountId: holder.id,
      credentialId: 'bench-credential',
      publicKey: new Uint8Array(77),
      name: 'Bench key',
      fmt: 'packed',
      aaguid: '00000000-0000-0000-0000-000000000000',
      backupEligible: false,
      backedUp: false,
    },
  });
  const issueRecorded = () => issuance.issueDeviceBinding({ account: holder, passkey });
  const issueService = await timed(SECONDS, issueRecorded);
  const issueServiceConcurrent = await timedConcurrent(SECONDS, IN_FLIGHT, issueRecorded);

  const jwt = await issueJwtVc({ agent: service.agent, issuer, credential });
  const verifyWarm = await timed(SECONDS, () => verifyJwtVc(jwt, { resolver: service.resolver }));

  const provider = new JsonRpcProvider(service.chain.rpcUrl, service.chain.chainId, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
  let stock: Measured;
  try {
    const resolver = stockEthrResolver(provider, service.chain.registryAddress);
    stock = await timed(UNCACHED_SECONDS, () => stockVerifyCredential(jwt, resolver));
  } finally {
    provider.destroy();
  }

  const pct = (a: number, b: number) => (100 * a) / b;
  return [
    rate('raw ES256K sign (@noble/curves secp256k1, SHA-256 + ECDSA)', rawSign),
    rate('raw ES256K verify (@noble/curves secp256k1)', rawVerify),
    rate('raw secp256k1 public-key recovery (@noble/curves)', rawRecover),
    rate('managed-key sign alone (Veramo KMS: Prisma read + unseal + sign)', kmsSign),
    rate('JWT VC issue (ES256K, managed key in sealed KMS)', issue),
    rate('JWT VC issue (ES256K, issuer key held unsealed, as the service issues)', issueHeld),
    rate(
      'credential issue via CredentialIssuance (2 status entries + record, 1 tx), one at a time',
      issueService,
    ),
    rate(`credential issue via CredentialIssuance, ${IN_FLIGHT} in flight`, issueServiceConcurrent),
    rate('JWT VC verify, warm caches (Trustgate resolver)', verifyWarm, {
      note: 'address-only did:ethr: the key is recovered once, then verified with the learned key',
    }),
    rate('JWT VC verify, Veramo default path, uncached stock resolver', stock, {
      note: 'did-jwt-vc + ethr-did-resolver over JSON-RPC',
    }),
    {
      name: 'JWT VC issue / raw sign (KMS per signature)',
      value: pct(issue.opsPerSecond, rawSign.opsPerSecond),
      unit: '%',
    },
    {
      name: 'JWT VC issue / raw sign (issuer key held)',
      value: pct(issueHeld.opsPerSecond, rawSign.opsPerSecond),
      unit: '%',
      target: '>= 70',
    },
    {
      name: 'CredentialIssuance issue (one at a time) / raw sign',
      value: pct(issueService.opsPerSecond, rawSign.opsPerSecond),
      unit: '%',
      target: '>= 70',
    },
    {
      name: `CredentialIssuance issue (${IN_FLIGHT} in flight) / raw sign`,
      value: pct(issueServiceConcurrent.opsPerSecond, rawSign.opsPerSecond),
      unit: '%',
      target: '>= 70',
    },
    {
      name: 'JWT VC verify warm / raw verify',
      value: pct(verifyWarm.opsPerSecond, rawVerify.opsPerSecond),
      unit: '%',
      target: '>= 70',
    },
    {
      name: 'JWT VC verify warm / uncached stock path',
      value: verifyWarm.opsPerSecond / stock.opsPerSecond,
      unit: 'x',
    },
  ];
}

/**
 * The credentials benchmark. Given a service (in process), measures it; otherwise starts a fresh embedded
 * one (SQLite, embedded chain, free ports) and removes it afterwards.
 */
export async function credentialsBench(service?: BenchService): Promise<Row[]> {
  if (service) return measure(service);
  return withOwnService('credentials', measure);
}
