/**
 * Composition of the device side (called by src/service.ts): the device registry and revocation
 * cascade with its worker, the Shared Signals streams and push worker, and the revocation fan-out.
 */
import type { ChainConnection } from './chain/index.ts';
import type { ChainOutbox } from './chain/outbox.ts';
import type { CredentialIssuance } from './credentials/issuance.ts';
import type { KeyRing } from './crypto/envelope.ts';
import { DeviceFanout } from './devices/fanout.ts';
import type { AccountJobs } from './flows/account-jobs.ts';
import { DeviceRevocations } from './flows/revoke-device.ts';
import type { Accounts } from './identity/accounts.ts';
import type { IdentityAgent } from './identity/agent.ts';
import type { Logger } from './log.ts';
import type { TenantProviders } from './oidc/provider.ts';
import type { Sessions } from './sessions/sessions.ts';
import { SsfPush } from './ssf/delivery.ts';
import { DeviceSignals } from './ssf/device-signals.ts';
import { type SetSigningKey, setSigningKey } from './ssf/events.ts';
import { SsfStreams } from './ssf/streams.ts';
import { SubjectResolver } from './ssf/subjects.ts';
import type { EphemeralState } from './state/types.ts';
import type { Store } from './store/index.ts';

export interface DeviceServices {
  revocations: DeviceRevocations;
  streams: SsfStreams;
  push: SsfPush;
  fanout: DeviceFanout;
  stop(): Promise<void>;
}

export async function startDevices(deps: {
  store: Store;
  state: EphemeralState;
  keys: KeyRing;
  log: Logger;
  publicUrl: string;
  /** OIDC_ALLOW_PRIVATE_CALLBACKS: SETs may go to loopback and private receivers, over http. */
  allowPrivate: boolean;
  sessions: Sessions;
  issuance: CredentialIssuance;
  providers: TenantProviders;
  accounts: Accounts;
  accountJobs: AccountJobs;
  agent: IdentityAgent;
  chain: ChainConnection;
  outbox: ChainOutbox;
}): Promise<DeviceServices> {
  const { store, state, log } = deps;
  const streams = new SsfStreams({ store, keys: deps.keys, allowPrivate: deps.allowPrivate });
  const push = new SsfPush({ store, streams, log, allowPrivate: deps.allowPrivate });
  // SETs are signed with the tenant's current OIDC signing key (ES256, first in the key set).
  const signingKeys = new Map<string, { key: Promise<SetSigningKey>; atMs: number }>();
  const signingKey = (tenantId: string) => {
    const hit = signingKeys.get(tenantId);
    if (hit && Date.now() - hit.atMs < 60_000) return hit.key;
    const key = deps.providers.oidcKeys.load(tenantId).then((set) => {
      const jwk = set.jwks.keys.find((k) => k.alg === 'ES256') ?? set.jwks.keys[0];
      if (!jwk) throw new Error(`tenant ${tenantId} has no signing key`);
      return setSigningKey(jwk);
    });
    key.catch(() => signingKeys.delete(tenantId));
    signingKeys.set(tenantId, { key, atMs: Date.now() });
    return key;
  };
  const signals = new DeviceSignals({
    store,
    publicUrl: deps.publicUrl,
    streams,
    push,
    subjects: new SubjectResolver({ providers: deps.providers }),
    signingKey,
  });
  const fanout = new DeviceFanout({ state, log });
  const revocations = new DeviceRevocations({
    store,
    state,
    sessions: deps.sessions,
    log,
    credentials: deps.issuance,
    chain: {
      accounts: deps.accounts,
      accountJobs: deps.accountJobs,
      agent: deps.agent,
      chain: deps.chain,
      outbox: deps.outbox,
    },
    signals,
    fanout,
  });
  // Every instance's push worker wakes on a revocation anywhere (its SETs are rows: any instance sends).
  fanout.on(() => push.kick());
  await fanout.start();
  push.start();
  await revocations.start();
  return {
    revocations,
    streams,
    push,
    fanout,
    stop: async () => {
      await revocations.stop();
      await push.stop();
      await fanout.stop();
    },
  };
}
