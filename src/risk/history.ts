/**
 * The person's history as the risk engine reads it, and where assessed attempts are recorded. Two
 * implementations: the database (sign-ins) and memory (simulation and evaluation replay attempts
 * against a fresh history).
 */

import type { Store } from '../store/index.ts';
import type { KeystrokeModel } from './keystroke/detectors.ts';
import type { GeoPoint, KnownDevice, PastAttempt, PersonHistory } from './types.ts';

/** How far back history reaches, and how much of it. */
export const HISTORY_DAYS = 90;
export const HISTORY_ATTEMPTS = 200;

/** One assessed attempt, as recorded. */
export interface RecordedAttempt {
  tenantId: string;
  accountId?: string;
  action: string;
  at: number;
  outcome: 'success' | 'failure' | 'step_up' | 'denied';
  ip?: string;
  geo?: GeoPoint;
  asn?: number;
  deviceId?: string;
  score: number;
  decision: string;
  reasons: string[];
  assessment: unknown;
}

/** Which parts of the history an attempt can use (devices need a fingerprint, typing a sample). */
export interface HistoryNeeds {
  devices: boolean;
  typing: boolean;
}

export interface RiskHistory {
  load(tenantId: string, accountId: string, username?: string, needs?: HistoryNeeds): Promise<PersonHistory>;
  record(attempt: RecordedAttempt): Promise<void>;
  /** Matches or adds the device of a successful attempt; returns its id. */
  rememberDevice(
    tenantId: string,
    accountId: string,
    device: Omit<KnownDevice, 'id' | 'firstSeenAt' | 'lastSeenAt' | 'state'>,
    matchedId?: string,
    at?: number,
  ): Promise<string>;
  saveTyping(
    tenantId: string,
    accountId: string,
    typing: { model: KeystrokeModel | null; samples: number },
  ): Promise<void>;
}

const emptyHistory = (username?: string): PersonHistory => ({
  attempts: [],
  devices: [],
  typing: { model: null, samples: 0 },
  ...(username ? { username } : {}),
});

/** History in the database (RiskAttempt, RiskDevice, TypingProfile). */
export class StoredRiskHistory implements RiskHistory {
  constructor(private readonly store: Store) {}

  async load(
    tenantId: string,
    accountId: string,
    username?: string,
    needs: HistoryNeeds = { devices: true, typing: true },
  ): Promise<PersonHistory> {
    const since = new Date(Date.now() - HISTORY_DAYS * 86_400_000);
    const [rows, devices, typing] = await Promise.all([
      this.store.db.riskAttempt.findMany({
        where: { tenantId, accountId, at: { gte: since } },
        orderBy: { at: 'desc' },
        take: HISTORY_ATTEMPTS,
        select: {
          at: true,
          outcome: true,
          ip: true,
          country: true,
          city: true,
          lat: true,
          lon: true,
          accuracyKm: true,
          deviceId: true,
        },
      }),
      // An attempt without a fingerprint or a typing sample cannot use devices or a profile: skip them.
      needs.devices
        ? this.store.db.riskDevice.findMany({
            where: { tenantId, accountId },
            take: 100,
            orderBy: { lastSeenAt: 'desc' },
          })
        : [],
      needs.typing ? this.store.db.typingProfile.findUnique({ where: { accountId } }) : null,
    ]);
    return {
      attempts: rows.map(
        (r): PastAttempt => ({
          at: r.at.getTime(),
          // Allowed after a step-up counts as a success of the person.
          outcome: r.outcome === 'success' || r.outcome === 'step_up' ? 'success' : 'failure',
          ...(r.ip ? { ip: r.ip } : {}),
          ...(r.lat !== null && r.lon !== null
            ? {
                geo: {
                  lat: r.lat,
                  lon: r.lon,
                  accuracyKm: r.accuracyKm ?? 500,
                  ...(r.country ? { country: r.country } : {}),
                  ...(r.city ? { city: r.city } : {}),
                },
              }
            : {}),
          ...(r.deviceId ? { deviceId: r.deviceId } : {}),
        }),
      ),
      devices: devices.map((d) => ({
        id: d.id,
        thumbmark: d.thumbmark,
        components: JSON.parse(d.components) as Record<string, string>,
        ...(d.label ? { label: d.label } : {}),
        firstSeenAt: d.firstSeenAt.getTime(),
        lastSeenAt: d.lastSeenAt.getTime(),
        state: d.state === 'revoked' ? 'revoked' : 'trusted',
        attested: d.attested,
      })),
      typing: typing
        ? { model: JSON.parse(typing.model) as unknown, samples: typing.samples }
        : { model: null, samples: 0 },
      ...(username ? { username } : {}),
    };
  }

  async record(a: RecordedAttempt): Promise<void> {
    await this.store.db.riskAttempt.create({
      data: {
        tenantId: a.tenantId,
        accountId: a.accountId ?? null,
        action: a.action,
        at: new Date(a.at),
        outcome: a.outcome,
        ip: a.ip ?? null,
        country: a.geo?.country ?? null,
        city: a.geo?.city ?? null,
        lat: a.geo?.lat ?? null,
        lon: a.geo?.lon ?? null,
        accuracyKm: a.geo ? Math.round(a.geo.accuracyKm) : null,
        asn: a.asn ?? null,
        deviceId: a.deviceId ?? null,
        score: a.score,
        decision: a.decision,
        reasons: JSON.stringify(a.reasons),
        assessment: JSON.stringify(a.assessment),
      },
    });
  }

  async rememberDevice(
    tenantId: string,
    accountId: string,
    device: Omit<KnownDevice, 'id' | 'firstSeenAt' | 'lastSeenAt' | 'state'>,
    matchedId?: string,
    at = Date.now(),
  ): Promise<string> {
    if (matchedId) {
      await this.store.db.riskDevice.updateMany({
        where: { id: matchedId, accountId },
        data: {
          lastSeenAt: new Date(at),
          thumbmark: device.thumbmark,
          components: JSON.stringify(device.components),
        },
      });
      return matchedId;
    }
    const row = await this.store.db.riskDevice.create({
      data: {
        tenantId,
        accountId,
        thumbmark: device.thumbmark,
        components: JSON.stringify(device.components),
        label: device.label ?? null,
        attested: device.attested,
        firstSeenAt: new Date(at),
        lastSeenAt: new Date(at),
      },
    });
    return row.id;
  }

  async saveTyping(
    tenantId: string,
    accountId: string,
    typing: { model: KeystrokeModel | null; samples: number },
  ): Promise<void> {
    if (!typing.model) return;
    const model = JSON.stringify(typing.model);
    await this.store.db.typingProfile.upsert({
      where: { accountId },
      create: { accountId, tenantId, model, samples: typing.samples },
      update: { model, samples: typing.samples },
    });
  }
}

/** History in memory: simulation and evaluation start from nothing and replay attempts in order. */
export class MemoryRiskHistory implements RiskHistory {
  private readonly people = new Map<string, PersonHistory>();
  readonly recorded: RecordedAttempt[] = [];
  private nextDevice = 1;

  private person(accountId: string): PersonHistory {
    let p = this.people.get(accountId);
    if (!p) {
      p = emptyHistory();
      this.people.set(accountId, p);
    }
    return p;
  }

  async load(_tenantId: string, accountId: string, username?: string): Promise<PersonHistory> {
    const p = this.person(accountId);
    return { ...p, attempts: [...p.attempts], devices: [...p.devices], ...(username ? { username } : {}) };
  }

  async record(a: RecordedAttempt): Promise<void> {
    this.recorded.push(a);
    if (!a.accountId) return;
    const p = this.person(a.accountId);
    p.attempts.unshift({
      at: a.at,
      outcome: a.outcome === 'success' || a.outcome === 'step_up' ? 'success' : 'failure',
      ...(a.ip ? { ip: a.ip } : {}),
      ...(a.geo ? { geo: a.geo } : {}),
      ...(a.deviceId ? { deviceId: a.deviceId } : {}),
    });
    p.attempts.splice(HISTORY_ATTEMPTS);
  }

  async rememberDevice(
    _tenantId: string,
    accountId: string,
    device: Omit<KnownDevice, 'id' | 'firstSeenAt' | 'lastSeenAt' | 'state'>,
    matchedId?: string,
    at = Date.now(),
  ): Promise<string> {
    const p = this.person(accountId);
    const existing = matchedId ? p.devices.find((d) => d.id === matchedId) : undefined;
    if (existing) {
      existing.lastSeenAt = at;
      existing.thumbmark = device.thumbmark;
      existing.components = device.components;
      return existing.id;
    }
    const id = `device-${this.nextDevice++}`;
    p.devices.push({ ...device, id, firstSeenAt: at, lastSeenAt: at, state: 'trusted' });
    return id;
  }

  async saveTyping(
    _tenantId: string,
    accountId: string,
    typing: { model: KeystrokeModel | null; samples: number },
  ): Promise<void> {
    this.person(accountId).typing = typing;
  }
}
