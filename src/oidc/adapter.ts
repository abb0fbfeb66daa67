/**
 * oidc-provider's storage, in the database every instance shares: one `OidcPayload` row per
 * (tenant, model, id). Nothing the provider persists lives only in one process's memory, so a code
 * issued by one instance is redeemed at another, and a revoked grant is gone for all of them.
 *
 * Rows whose `expiresAt` has passed are treated as absent and purged in the background.
 */
import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import type { Store, Tx } from '../store/index.ts';

/** Models whose rows belong to a grant (revoked together by `revokeByGrantId`). */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'ClientCredentials',
  'Grant',
]);

/** The adapter class oidc-provider instantiates once per model name, bound to one tenant. */
export function oidcAdapterFor(store: Store, tenantId: string): new (model: string) => Adapter {
  return class TenantOidcAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<undefined> {
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      // A grant's own row carries its id as grantId, so revoking the grant removes it with its tokens.
      const grantId = this.model === 'Grant' ? id : (payload.grantId ?? null);
      const columns = {
        payload: JSON.stringify(payload),
        grantId: GRANTABLE.has(this.model) ? grantId : null,
        userCode: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expiresAt,
        consumedAt: payload.consumed ? new Date(Number(payload.consumed) * 1000) : null,
      };
      await store.db.oidcPayload.upsert({
        where: { tenantId_model_id: { tenantId, model: this.model, id } },
        create: { tenantId, model: this.model, id, ...columns },
        update: columns,
      });
      return undefined;
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const row = await store.db.oidcPayload.findUnique({
        where: { tenantId_model_id: { tenantId, model: this.model, id } },
      });
      return decode(row);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const row = await store.db.oidcPayload.findFirst({ where: { tenantId, model: this.model, userCode } });
      return decode(row);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const row = await store.db.oidcPayload.findFirst({ where: { tenantId, model: this.model, uid } });
      return decode(row);
    }

    async consume(id: string): Promise<undefined> {
      // The consumed mark lives in the payload (the provider reads `consumed` from it) and the column.
      // The update is conditional: of two concurrent redemptions of one code or refresh token, one
      // wins and the other is a reuse, which revokes the whole grant (RFC 9700 §4.14.2).
      const row = await store.db.oidcPayload.findUnique({
        where: { tenantId_model_id: { tenantId, model: this.model, id } },
      });
      if (!row) return undefined;
      const nowS = Math.floor(Date.now() / 1000);
      const payload = { ...(JSON.parse(row.payload) as AdapterPayload), consumed: nowS };
      const r = await store.db.oidcPayload.updateMany({
        where: { tenantId, model: this.model, id, consumedAt: null },
        data: { payload: JSON.stringify(payload), consumedAt: new Date(nowS * 1000) },
      });
      if (r.count === 0) {
        if (row.grantId) await revokeGrant(store.db as unknown as Tx, tenantId, row.grantId);
        throw new errors.InvalidGrant('grant request is invalid');
      }
      return undefined;
    }

    async destroy(id: string): Promise<undefined> {
      await store.db.oidcPayload.deleteMany({ where: { tenantId, model: this.model, id } });
      return undefined;
    }

    async revokeByGrantId(grantId: string): Promise<undefined> {
      await revokeGrant(store.db as unknown as Tx, tenantId, grantId);
      return undefined;
    }
  };
}

/** Removes a grant and everything issued under it (codes, access and refresh tokens). */
export async function revokeGrant(db: Tx, tenantId: string, grantId: string): Promise<number> {
  const r = await db.oidcPayload.deleteMany({ where: { tenantId, grantId } });
  return r.count;
}

/** Deletes rows that expired more than `graceMs` ago; returns how many. */
export async function purgeExpiredOidcRows(store: Store, graceMs = 60_000): Promise<number> {
  const r = await store.db.oidcPayload.deleteMany({
    where: { expiresAt: { lt: new Date(Date.now() - graceMs) } },
  });
  return r.count;
}

function decode(row: { payload: string; expiresAt: Date | null } | null): AdapterPayload | undefined {
  if (!row) return undefined;
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return undefined;
  return JSON.parse(row.payload) as AdapterPayload;
}
