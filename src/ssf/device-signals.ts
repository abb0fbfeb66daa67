/**
 * The Shared Signals a device revocation sends: to every enabled stream of the tenant that asked for
 * them, one CAEP `session-revoked` SET per ended session the receiver knew (its OIDC `sid`; tenant-wide
 * streams get the session's lineage as an opaque id) and one `credential-change` (`change_type:
 * revoke`) SET per disabled passkey. Each SET is signed now and queued as a row; SsfPush delivers it.
 * The `jti` is derived from the revocation, stream and subject, so a re-run queues nothing twice.
 */
import type { Store } from '../store/index.ts';
import { issuerOf } from '../tenants.ts';
import type { SsfPush } from './delivery.ts';
import {
  CAEP_CREDENTIAL_CHANGE,
  CAEP_SESSION_REVOKED,
  deterministicJti,
  type InitiatingEntity,
  type SecurityEvent,
  type SetSigningKey,
  signSet,
} from './events.ts';
import { type SsfStreams, wants } from './streams.ts';
import type { SubjectResolver } from './subjects.ts';

/** A revoked passkey as the credential-change event describes it. */
export interface RevokedPasskey {
  id: string;
  name: string;
  aaguid: string;
  transports: string;
}

export interface DeviceRevocationSignals {
  tenantId: string;
  accountId: string;
  revocationId: string;
  initiator: InitiatingEntity;
  reason?: string | null;
  /** Lineages (browser sessions) the revocation ended. */
  lineages: string[];
  passkeys: RevokedPasskey[];
  atMs: number;
}

export class DeviceSignals {
  constructor(
    private readonly deps: {
      store: Store;
      publicUrl: string;
      streams: SsfStreams;
      push: SsfPush;
      subjects: SubjectResolver;
      /** The tenant's current SET signing key (its OIDC signing key). */
      signingKey: (tenantId: string) => Promise<SetSigningKey>;
    },
  ) {}

  /** Signs and queues the revocation's SETs; answers what was queued (jtis of this run's SETs). */
  async forDeviceRevocation(input: DeviceRevocationSignals): Promise<{ streams: number; jtis: string[] }> {
    const db = this.deps.store.db;
    const streams = await this.deps.streams.subscribed(input.tenantId);
    if (streams.length === 0) return { streams: 0, jtis: [] };
    const tenant = await db.tenant.findUniqueOrThrow({ where: { id: input.tenantId } });
    const issuer = issuerOf(this.deps.publicUrl, tenant.slug);
    const key = await this.deps.signingKey(input.tenantId);
    const common = {
      event_timestamp: Math.floor(input.atMs / 1000),
      initiating_entity: input.initiator,
      ...(input.reason ? { reason_admin: { en: input.reason } } : {}),
    };
    const sets: Array<{ tenantId: string; streamId: string; jti: string; token: string }> = [];
    for (const stream of streams) {
      const sub = await this.deps.subjects.subFor(input.tenantId, input.accountId, stream.clientId);
      const user = { format: 'iss_sub' as const, iss: issuer, sub };
      const events: Array<{ key: string; event: SecurityEvent }> = [];
      if (wants(stream, CAEP_SESSION_REVOKED)) {
        if (stream.clientId) {
          const links = await db.oidcLink.findMany({
            where: { tenantId: input.tenantId, clientId: stream.clientId, lineage: { in: input.lineages } },
            select: { sessionUid: true, sid: true },
          });
          for (const link of links) {
            events.push({
              key: `session:${link.sessionUid}`,
              event: {
                type: CAEP_SESSION_REVOKED,
                subject: link.sid
                  ? { format: 'complex', user, session: { format: 'opaque', id: link.sid } }
                  : user,
                body: common,
              },
            });
          }
        } else {
          for (const lineage of input.lineages) {
            events.push({
              key: `session:${lineage}`,
              event: {
                type: CAEP_SESSION_REVOKED,
                subject: { format: 'complex', user, session: { format: 'opaque', id: lineage } },
                body: common,
              },
            });
          }
        }
      }
      if (wants(stream, CAEP_CREDENTIAL_CHANGE)) {
        for (const passkey of input.passkeys) {
          events.push({
            key: `passkey:${passkey.id}`,
            event: {
              type: CAEP_CREDENTIAL_CHANGE,
              subject: user,
              body: {
                credential_type: credentialTypeOf(passkey),
                change_type: 'revoke',
                friendly_name: passkey.name,
                fido2_aaguid: passkey.aaguid,
                ...common,
              },
            },
          });
        }
      }
      for (const { key: subjectKey, event } of events) {
        const jti = deterministicJti(input.revocationId, stream.id, event.type, subjectKey);
        const token = await signSet(key, {
          issuer,
          audience: stream.clientId ?? new URL(stream.endpointUrl).origin,
          jti,
          txn: input.revocationId,
          event,
        });
        sets.push({ tenantId: input.tenantId, streamId: stream.id, jti, token });
      }
    }
    await this.deps.push.queue(sets);
    return { streams: streams.length, jtis: sets.map((s) => s.jti) };
  }
}

/** CAEP credential types for passkeys: a roaming authenticator (USB, NFC, BLE) or a platform one. */
function credentialTypeOf(passkey: RevokedPasskey): 'fido2-roaming' | 'fido2-platform' {
  let transports: unknown[] = [];
  try {
    transports = JSON.parse(passkey.transports) as unknown[];
  } catch {
    // Unknown transports: a platform authenticator is the common case.
  }
  return transports.some((t) => t === 'usb' || t === 'nfc' || t === 'ble')
    ? 'fido2-roaming'
    : 'fido2-platform';
}
