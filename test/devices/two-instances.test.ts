/**
 * The revocation cascade across two instances sharing PostgreSQL, Redis, one master key and one chain
 * (behind one PUBLIC_URL, as behind a load balancer): revoke on instance A, and instance B refuses the
 * device's session within 1 s, the app's refresh token fails at B, the DID delegate reads invalid on
 * chain (stock ethr-did-resolver), the DeviceBindingCredential's bit is set in the status list B
 * serves, the fan-out reaches B over Redis, and the CAEP SETs reach the app's receiver.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { getAddress, JsonRpcProvider, Wallet } from 'ethers';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validDelegateTypes } from '../../src/devices/delegates.ts';
import type { DeviceRevokedMessage } from '../../src/devices/fanout.ts';
import { signWithManagedOwner } from '../../src/flows/registry-signing.ts';
import { CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED } from '../../src/ssf/events.ts';
import { adminClient, type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import type { AuthClient } from '../helpers/auth-client.ts';
import { DeviceBrowser, eventually, SetReceiver } from '../helpers/devices.ts';
import { makeClient, oidc, rpConfig, signInToApp } from '../helpers/oidc.ts';
import { freePort } from '../helpers/process.ts';
import {
  freshPostgresUrl,
  startTestService,
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  type TestService,
} from '../helpers/service.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';

describe('device revocation across two instances sharing PostgreSQL and Redis', () => {
  if (!TEST_POSTGRES_URL || !TEST_REDIS_URL) {
    it.skip('two-instance revocation suite skipped: set TEST_POSTGRES_URL and TEST_REDIS_URL', () => {});
    return;
  }

  let db: ReturnType<typeof freshPostgresUrl>;
  let hw: HardwareAttestation;
  let a: TestService;
  let b: TestService;
  let publicUrl: string;
  let rpcUrl: string;
  let receiver: SetReceiver;

  beforeAll(async () => {
    db = freshPostgresUrl();
    hw = await hardwareAttestationEnv();
    receiver = await SetReceiver.start();
    const portA = await freePort();
    publicUrl = `http://127.0.0.1:${portA}`;
    const shared: Record<string, string> = {
      ...hw.env,
      AUTH_RATE_LIMIT_PER_MINUTE: '100000',
      OIDC_ALLOW_PRIVATE_CALLBACKS: 'true',
      DATABASE_URL: db.url,
      MASTER_KEY: randomBytes(32).toString('base64url'),
      PUBLIC_URL: publicUrl,
      REDIS_URL: TEST_REDIS_URL!,
      REDIS_PREFIX: `tg-devices-${randomBytes(4).toString('hex')}:`,
    };
    a = await startTestService({ ...shared, PORT: String(portA) });
    const facts = (await (await fetch(`${a.url}/api/chain`)).json()) as { rpcUrl: string; registry: string };
    rpcUrl = facts.rpcUrl;
    b = await startTestService({
      ...shared,
      CHAIN_RPC_URL: facts.rpcUrl,
      REGISTRY_ADDRESS: facts.registry,
      RELAYER_PRIVATE_KEY: a.service.chain.relayer.privateKey,
    });
  }, 120_000);

  afterAll(async () => {
    await b?.destroy();
    await a?.destroy();
    await receiver?.close();
    await db?.drop();
    hw?.remove();
  });

  /** A request the balancer sent to instance `base` with the browser's cookies. */
  const at = (base: string, browser: AuthClient, path: string) =>
    fetch(`${base}${path}`, { headers: { cookie: browser.cookieHeader(), origin: publicUrl } });

  it('revoke on A: B refuses the session within 1 s, refresh fails, delegate invalid, bit set, SETs pushed', async () => {
    // The person, on their laptop, through A.
    const laptop = new DeviceBrowser(a.url, 'two-instance-laptop');
    const up = await laptop.signUp('two-instances');
    expect(up.status).toBe(201);
    const accountId = (up.body.account as { id: string }).id;
    const deviceId = await laptop.currentDeviceId();
    const account = await a.service.store.db.account.findUniqueOrThrow({ where: { id: accountId } });

    // The laptop holds a delegate key of the DID (added on chain, then linked to the device).
    const delegate = Wallet.createRandom().address;
    const identifier = await a.service.agent.didManagerGet({ did: account.did });
    const op = await signWithManagedOwner(a.service.agent, a.service.chain, identifier.controllerKeyId!, {
      kind: 'addDelegate',
      payload: { identity: getAddress(account.address), delegateType: 'veriKey', delegate, validity: 86_400 },
    });
    const job = await a.service.outbox.enqueue({ idempotencyKey: `test-two-instances-${delegate}`, ...op });
    expect((await a.service.outbox.waitFor(job.id, 20_000)).status).toBe('confirmed');
    expect(
      (await laptop.call('PATCH', laptop.t(`/api/me/devices/${deviceId}`), { delegateAddress: delegate }))
        .status,
    ).toBe(200);
    const resolver = stockEthrResolver(
      new JsonRpcProvider(rpcUrl, 31337, { staticNetwork: true, cacheTimeout: -1 }),
      a.service.chain.registryAddress,
    );
    const delegateListed = async () => {
      const doc = await resolver.resolve(account.did);
      return (doc.didDocument?.verificationMethod ?? []).some((m) =>
        String(m.blockchainAccountId ?? '')
          .toLowerCase()
          .endsWith(delegate.toLowerCase()),
      );
    };
    expect(await delegateListed()).toBe(true);

    // The app: signed in through the code flow, holding a refresh token; its SET receiver is a stream.
    const { client, clientSecret } = await makeClient(a.service, { scope: 'openid offline_access' });
    const issuer = `${publicUrl}/t/default`;
    const app = await rpConfig(issuer, client.client_id, clientSecret);
    const { tokens } = await signInToApp(app, laptop, { scope: 'openid offline_access', prompt: 'consent' });
    expect(tokens.refresh_token).toBeTruthy();
    const admin = await adminClient(a, hw, 'tenant-admin');
    const stream = await admin.call('POST', admin.t('/api/admin/ssf/streams'), {
      clientId: client.client_id,
      endpointUrl: receiver.url,
    });
    expect(stream.status).toBe(201);

    // The DeviceBindingCredential of the laptop's passkey and its status entry.
    const passkey = await a.service.store.db.passkey.findFirstOrThrow({ where: { accountId, deviceId } });
    const credential = await a.service.store.db.issuedCredential.findFirstOrThrow({
      where: { passkeyId: passkey.id },
    });
    type StatusEntry = { statusListCredential: string; statusListIndex: string; statusPurpose: string };
    const status = (decodeJwt(credential.jwt) as { vc: { credentialStatus: StatusEntry | StatusEntry[] } }).vc
      .credentialStatus;
    const entry = [status].flat().find((e) => e.statusPurpose === 'revocation')!;
    expect(entry.statusPurpose).toBe('revocation');
    const bitAtB = async () => {
      const url = entry.statusListCredential.replace(publicUrl, b.url);
      const jws = await (await fetch(url)).text();
      const encoded = (decodeJwt(jws) as { credentialSubject: { encodedList: string } }).credentialSubject
        .encodedList;
      const bits = gunzipSync(Buffer.from(encoded.replace(/^u/, ''), 'base64url'));
      const index = Number(entry.statusListIndex);
      return ((bits[index >> 3]! >> (7 - (index & 7))) & 1) === 1;
    };
    expect(await bitAtB()).toBe(false);

    // B serves the laptop's session; B hears revocations over Redis.
    expect((await at(b.url, laptop, '/t/default/auth/session')).status).toBe(200);
    const heardAtB: DeviceRevokedMessage[] = [];
    b.service.devices.fanout.on((m) => heardAtB.push(m));

    // Revoke on A while polling B with the device's session cookie.
    const started = performance.now();
    let refusedAfterMs = Number.POSITIVE_INFINITY;
    const polling = (async () => {
      while (performance.now() - started < 5_000) {
        if ((await at(b.url, laptop, '/t/default/auth/session')).status === 401) {
          refusedAfterMs = performance.now() - started;
          return;
        }
      }
    })();
    const revoked = await admin.call<{ id: string; status: string }>(
      'POST',
      admin.t(`/api/admin/devices/${deviceId}/revoke`),
      { reason: 'stolen' },
    );
    expect(revoked.status).toBe(202);
    await polling;
    expect(refusedAfterMs).toBeLessThan(1_000);
    expect((await at(b.url, laptop, '/t/default/api/me/devices')).status).toBe(401);

    // The refresh token fails at B (the grant went with the session).
    const appAtB = new oidc.Configuration(
      { ...(app.serverMetadata() as oidc.ServerMetadata), token_endpoint: `${b.url}/t/default/token` },
      client.client_id,
      { client_secret: clientSecret },
      oidc.ClientSecretBasic(clientSecret!),
    );
    oidc.allowInsecureRequests(appAtB);
    await expect(oidc.refreshTokenGrant(appAtB, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });

    // The status bit, as B publishes it.
    expect(await bitAtB()).toBe(true);
    // B heard the revocation through the shared state.
    await eventually(
      async () => heardAtB,
      (h) => h.some((m) => m.deviceId === deviceId),
      5_000,
    );

    // The delegate: pending until mined, then invalid on chain; the status API (at B) says completed.
    const done = await eventually(
      async () =>
        (await (await at(b.url, admin, `/t/default/api/admin/revocations/${revoked.body.id}`)).json()) as {
          status: string;
          steps: Array<{ name: string; status: string }>;
        },
      (v) => v.status === 'completed',
      20_000,
    );
    expect(done.steps.find((s) => s.name === 'revoke_delegate')?.status).toBe('done');
    // The registry's validDelegate is false at once; the stock resolver drops a delegate whose validTo
    // (the revoking block's time) is behind its wall clock, so within a second.
    expect(await validDelegateTypes(b.service.chain, account.address, delegate)).toEqual([]);
    await eventually(delegateListed, (listed) => !listed, 5_000);

    // The SETs reached the app's receiver, signed with the tenant key (verified against B's JWKS).
    const sets = await receiver.waitFor(2);
    const jwks = createRemoteJWKSet(new URL(`${b.url}/t/default/jwks`));
    const events: string[] = [];
    for (const s of sets) {
      const { payload, protectedHeader } = await jwtVerify(s.token, jwks, {
        issuer,
        audience: client.client_id,
      });
      expect(protectedHeader.typ).toBe('secevent+jwt');
      expect((payload.sub_id as { format: string }).format).toMatch(/^(iss_sub|complex)$/);
      events.push(...Object.keys(payload.events as object));
    }
    expect(events.sort()).toEqual([CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED].sort());
    const change = sets
      .map((s) => decodeJwt(s.token))
      .find((p) => Object.hasOwn(p.events as object, CAEP_CREDENTIAL_CHANGE));
    expect(change?.sub_id).toEqual({ format: 'iss_sub', iss: issuer, sub: accountId });
  }, 90_000);
});
