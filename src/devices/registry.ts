/**
 * The device registry: what Trustgate knows about each device a person signs in from. A device is a
 * RiskDevice row (the risk engine's fingerprint match) with everything linked to it:
 *
 *   fingerprint history   the assessed attempts that matched it (RiskAttempt.deviceId)
 *   passkeys              registered from it (Passkey.deviceId), with their attestation
 *   DID delegate          the key of the person's DID that lives on it (RiskDevice.delegateAddress)
 *   last seen             time and place (city, country) of its latest attempt
 *   trust state           `trusted`, `new` or `revoked`
 *
 * Every read is scoped to one tenant and, for people, to their own account: another person's device
 * (or another tenant's) is simply not found (404), never "forbidden".
 */
import { recordEvent } from '../audit/events.ts';
import { NotFoundError } from '../errors.ts';
import type { Passkey, RiskAttempt, RiskDevice } from '../store/generated/postgres/client.ts';
import type { Store } from '../store/index.ts';

/** Trust states of a device. */
export type DeviceState = 'trusted' | 'new' | 'revoked';

/** Most fingerprint-history entries a device view carries. */
export const HISTORY_LIMIT = 20;
/** Most devices listed for one person. */
const LIST_LIMIT = 100;

/** Whose devices a caller may see: one tenant, and within it one account or (admins) any. */
export interface DeviceScope {
  tenantId: string;
  accountId?: string;
}

/** A passkey as the device view shows it (no key material). */
export interface DevicePasskeyView {
  id: string;
  name: string;
  fmt: string;
  aaguid: string;
  modelName: string | null;
  attestationTrusted: boolean;
  hardwareBound: boolean;
  backupEligible: boolean;
  status: string;
  createdAt: string;
}

/** One assessed attempt from the device. */
export interface DeviceAttemptView {
  at: string;
  action: string;
  outcome: string;
  city: string | null;
  country: string | null;
  score: number;
}

export interface DeviceView {
  id: string;
  accountId: string;
  label: string | null;
  state: DeviceState;
  firstSeenAt: string;
  lastSeenAt: string;
  /** Time and place of the latest attempt from this device. */
  lastSeen: { at: string; city: string | null; country: string | null } | null;
  /** Summary of its passkeys' attestations: the strongest claim any of them makes. */
  attestation: {
    passkeys: number;
    formats: string[];
    models: string[];
    trusted: boolean;
    hardwareBound: boolean;
  };
  passkeys: DevicePasskeyView[];
  delegate: { address: string } | null;
  revokedAt: string | null;
  /** Newest first, at most HISTORY_LIMIT (only in the single-device view). */
  history?: DeviceAttemptView[];
}

function stateOf(device: RiskDevice): DeviceState {
  return device.state === 'revoked' || device.state === 'new' ? device.state : 'trusted';
}

function passkeyView(p: Passkey): DevicePasskeyView {
  return {
    id: p.id,
    name: p.name,
    fmt: p.fmt,
    aaguid: p.aaguid,
    modelName: p.modelName,
    attestationTrusted: p.attestationTrusted,
    hardwareBound: p.hardwareBound,
    backupEligible: p.backupEligible,
    status: p.status,
    createdAt: p.createdAt.toISOString(),
  };
}

function attemptView(a: Pick<RiskAttempt, 'at' | 'action' | 'outcome' | 'city' | 'country' | 'score'>) {
  return {
    at: a.at.toISOString(),
    action: a.action,
    outcome: a.outcome,
    city: a.city,
    country: a.country,
    score: a.score,
  };
}

/** Builds the view of `device` from its passkeys and attempts (newest first). */
export function deviceView(
  device: RiskDevice,
  passkeys: Passkey[],
  attempts: Array<Pick<RiskAttempt, 'at' | 'action' | 'outcome' | 'city' | 'country' | 'score'>>,
  withHistory: boolean,
): DeviceView {
  const latest = attempts[0];
  return {
    id: device.id,
    accountId: device.accountId,
    label: device.label,
    state: stateOf(device),
    firstSeenAt: device.firstSeenAt.toISOString(),
    lastSeenAt: device.lastSeenAt.toISOString(),
    lastSeen: latest ? { at: latest.at.toISOString(), city: latest.city, country: latest.country } : null,
    attestation: {
      passkeys: passkeys.length,
      formats: [...new Set(passkeys.map((p) => p.fmt))],
      models: [...new Set(passkeys.flatMap((p) => (p.modelName ? [p.modelName] : [])))],
      trusted: device.attested || passkeys.some((p) => p.attestationTrusted),
      hardwareBound: passkeys.some((p) => p.hardwareBound),
    },
    passkeys: passkeys.map(passkeyView),
    delegate: device.delegateAddress ? { address: device.delegateAddress } : null,
    revokedAt: device.revokedAt?.toISOString() ?? null,
    ...(withHistory ? { history: attempts.slice(0, HISTORY_LIMIT).map(attemptView) } : {}),
  };
}

const ATTEMPT_FIELDS = {
  deviceId: true,
  at: true,
  action: true,
  outcome: true,
  city: true,
  country: true,
  score: true,
} as const;

export class DeviceRegistry {
  constructor(private readonly store: Store) {}

  /** The device row in scope, or 404 `not_found` (unknown, another person's, another tenant's). */
  async find(scope: DeviceScope, id: string): Promise<RiskDevice> {
    const device = await this.store.db.riskDevice.findFirst({
      where: { id, tenantId: scope.tenantId, ...(scope.accountId ? { accountId: scope.accountId } : {}) },
    });
    if (!device) throw new NotFoundError('No such device.');
    return device;
  }

  /** The devices of `accountId` in the tenant, most recently seen first. */
  async list(tenantId: string, accountId: string): Promise<DeviceView[]> {
    const db = this.store.db;
    const devices = await db.riskDevice.findMany({
      where: { tenantId, accountId },
      orderBy: { lastSeenAt: 'desc' },
      take: LIST_LIMIT,
    });
    if (devices.length === 0) return [];
    const ids = devices.map((d) => d.id);
    const [passkeys, attempts] = await Promise.all([
      db.passkey.findMany({
        where: { tenantId, accountId, deviceId: { in: ids } },
        orderBy: { createdAt: 'asc' },
      }),
      // The latest attempt of each device: one query, newest first, the first row per device wins.
      db.riskAttempt.findMany({
        where: { tenantId, accountId, deviceId: { in: ids } },
        orderBy: { at: 'desc' },
        take: ids.length * 5,
        select: ATTEMPT_FIELDS,
      }),
    ]);
    return devices.map((d) =>
      deviceView(
        d,
        passkeys.filter((p) => p.deviceId === d.id),
        attempts.filter((a) => a.deviceId === d.id),
        false,
      ),
    );
  }

  /** One device in scope with its fingerprint history. */
  async view(scope: DeviceScope, id: string): Promise<DeviceView> {
    const device = await this.find(scope, id);
    const [passkeys, attempts] = await Promise.all([
      this.store.db.passkey.findMany({
        where: { tenantId: device.tenantId, deviceId: device.id },
        orderBy: { createdAt: 'asc' },
      }),
      this.store.db.riskAttempt.findMany({
        where: { tenantId: device.tenantId, accountId: device.accountId, deviceId: device.id },
        orderBy: { at: 'desc' },
        take: HISTORY_LIMIT,
        select: ATTEMPT_FIELDS,
      }),
    ]);
    return deviceView(device, passkeys, attempts, true);
  }

  /** Names a device in scope. */
  async rename(scope: DeviceScope, id: string, label: string): Promise<DeviceView> {
    const device = await this.find(scope, id);
    await this.store.tx(async (tx) => {
      await tx.riskDevice.updateMany({ where: { id: device.id }, data: { label } });
      await recordEvent(tx, {
        tenantId: device.tenantId,
        accountId: device.accountId,
        type: 'device.renamed',
        detail: { deviceId: device.id, from: device.label, to: label },
      });
    });
    return this.view(scope, id);
  }

  /** Links the device to one of its owner's DID delegates (checked on chain by the caller). */
  async setDelegate(scope: DeviceScope, id: string, address: string): Promise<void> {
    const device = await this.find(scope, id);
    await this.store.db.riskDevice.updateMany({
      where: { id: device.id, state: { not: 'revoked' } },
      data: { delegateAddress: address },
    });
  }
}
