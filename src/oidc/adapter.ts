/**
 * oidc-provider's storage, in the database every instance shares: one `OidcPayload` row per
 * (tenant, model, id). Nothing the provider persists lives only in one process's memory, so a code
 * issued by one instance is redeemed at another, and a revoked grant is gone for all of them.
 *
 * Rows whose `expiresAt` has passed are treated as absent and purged in the background.
 */
import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import { Prisma } from '../store/generated/postgres/client.ts';
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

/** How long a client's metadata is reused before it is read again (a change reaches every instance then). */
export const CLIENT_CACHE_MS = 2_000;

interface PayloadRow {
  payload: string;
  expiresAt: bigint | number | string | null;
  consumedAt?: bigint | number | string | null;
  grantId?: string | null;
}

/**
 * The adapter class oidc-provider instantiates once per model name, bound to one tenant. Plain SQL
 * (identical in SQLite and PostgreSQL: quoted identifiers, `ON CONFLICT … DO UPDATE`, numbers for
 * times): the token endpoint makes several of these calls per request, and Prisma's query layer costs
 * about three times the database's own work for such single-row statements.
 */
export function oidcAdapterFor(store: Store, tenantId: string): new (model: string) => Adapter {
  const db = store.db;
  const loader = new FindBatcher(store, tenantId);
  return class TenantOidcAdapter implements Adapter {
    private readonly cache = new Map<string, { payload: AdapterPayload | undefined; readAtMs: number }>();

    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<undefined> {
      const nowMs = Date.now();
      const expiresAt = expiresIn ? nowMs + expiresIn * 1000 : null;
      // A grant's own row carries its id as grantId, so revoking the grant removes it with its tokens.
      const grantId = GRANTABLE.has(this.model)
        ? this.model === 'Grant'
          ? id
          : (payload.grantId ?? null)
        : null;
      const consumedAt = payload.consumed ? Number(payload.consumed) * 1000 : null;
      if (this.model === 'ReplayDetection') {
        // oidc-provider's ReplayDetection.unique finds, then saves: two concurrent uses of one DPoP
        // proof or client assertion would both pass. The insert decides: a second one is a replay.
        const inserted = await db.$executeRaw`INSERT INTO "OidcPayload"
          ("tenantId", "model", "id", "payload", "grantId", "userCode", "uid", "expiresAt", "consumedAt", "createdAt")
          VALUES (${tenantId}, ${this.model}, ${id}, ${JSON.stringify(payload)}, ${null}, ${null}, ${null},
            ${expiresAt}, ${null}, ${nowMs})
          ON CONFLICT ("tenantId", "model", "id") DO NOTHING`;
        if (inserted === 0) throw new errors.InvalidRequest('replay detected');
        return undefined;
      }
      await db.$executeRaw`INSERT INTO "OidcPayload"
        ("tenantId", "model", "id", "payload", "grantId", "userCode", "uid", "expiresAt", "consumedAt", "createdAt")
        VALUES (${tenantId}, ${this.model}, ${id}, ${JSON.stringify(payload)}, ${grantId}, ${payload.userCode ?? null},
          ${payload.uid ?? null}, ${expiresAt}, ${consumedAt}, ${nowMs})
        ON CONFLICT ("tenantId", "model", "id") DO UPDATE SET "payload" = excluded."payload",
          "grantId" = excluded."grantId", "userCode" = excluded."userCode", "uid" = excluded."uid",
          "expiresAt" = excluded."expiresAt",
          "consumedAt" = COALESCE(excluded."consumedAt", "OidcPayload"."consumedAt")`;
      this.cache.delete(id);
      return undefined;
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') {
        const hit = this.cache.get(id);
        if (hit && Date.now() - hit.readAtMs < CLIENT_CACHE_MS) return hit.payload;
      }
      const payload = decode(await loader.load(this.model, id));
      if (this.model === 'Client') {
        if (this.cache.size > 1_000) this.cache.clear();
        this.cache.set(id, { payload, readAtMs: Date.now() });
      }
      return payload;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const rows = await db.$queryRaw<
        PayloadRow[]
      >`SELECT "payload", "expiresAt", "consumedAt" FROM "OidcPayload"
        WHERE "tenantId" = ${tenantId} AND "model" = ${this.model} AND "userCode" = ${userCode} LIMIT 1`;
      return decode(rows[0]);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const rows = await db.$queryRaw<
        PayloadRow[]
      >`SELECT "payload", "expiresAt", "consumedAt" FROM "OidcPayload"
        WHERE "tenantId" = ${tenantId} AND "model" = ${this.model} AND "uid" = ${uid} LIMIT 1`;
      return decode(rows[0]);
    }

    async consume(id: string): Promise<undefined> {
      // The consumed mark is the column (reads put it into the payload as `consumed`). The update is
      // conditional: of two concurrent redemptions of one code or refresh token, one wins and the other
      // is a reuse, which revokes the whole grant (RFC 9700 §4.14.2).
      const updated = await db.$executeRaw`UPDATE "OidcPayload" SET "consumedAt" = ${Date.now()}
        WHERE "tenantId" = ${tenantId} AND "model" = ${this.model} AND "id" = ${id} AND "consumedAt" IS NULL`;
      if (updated === 1) return undefined;
      const rows = await db.$queryRaw<Array<{ grantId: string | null }>>`SELECT "grantId" FROM "OidcPayload"
        WHERE "tenantId" = ${tenantId} AND "model" = ${this.model} AND "id" = ${id}`;
      if (!rows[0]) return undefined;
      if (rows[0].grantId) await revokeGrant(db as unknown as Tx, tenantId, rows[0].grantId);
      throw new errors.InvalidGrant('grant request is invalid');
    }

    async destroy(id: string): Promise<undefined> {
      await db.$executeRaw`DELETE FROM "OidcPayload"
        WHERE "tenantId" = ${tenantId} AND "model" = ${this.model} AND "id" = ${id}`;
      this.cache.delete(id);
      return undefined;
    }

    async revokeByGrantId(grantId: string): Promise<undefined> {
      await db.$executeRaw`DELETE FROM "OidcPayload" WHERE "tenantId" = ${tenantId} AND "grantId" = ${grantId}`;
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
    where: { expiresAt: { lt: BigInt(Date.now() - graceMs) } },
  });
  return r.count;
}

/**
 * Finds issued in the same turn of the event loop go to the database as one query (`id IN (…)`): the
 * provider looks a token up under several models at once (introspection, revocation), and concurrent
 * requests overlap. Ids are random, so the rows come back keyed by model and id.
 */
class FindBatcher {
  private pending = new Map<
    string,
    Array<{ resolve: (row: PayloadRow | undefined) => void; reject: (err: unknown) => void }>
  >();
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly tenantId: string,
  ) {}

  load(model: string, id: string): Promise<PayloadRow | undefined> {
    return new Promise((resolve, reject) => {
      const key = `${model}\u0000${id}`;
      const waiting = this.pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    const ids = [...new Set([...batch.keys()].map((k) => k.slice(k.indexOf('\u0000') + 1)))];
    this.store.db.$queryRaw<
      Array<PayloadRow & { model: string; id: string }>
    >`SELECT "model", "id", "payload", "expiresAt", "consumedAt"
        FROM "OidcPayload" WHERE "tenantId" = ${this.tenantId} AND "id" IN (${Prisma.join(ids)})`
      .then((rows) => {
        const found = new Map(rows.map((r) => [`${r.model}\u0000${r.id}`, r]));
        for (const [key, waiters] of batch) for (const w of waiters) w.resolve(found.get(key));
      })
      .catch((err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      });
  }
}

function decode(row: PayloadRow | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  if (row.expiresAt !== null && Number(row.expiresAt) <= Date.now()) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  if (row.consumedAt !== null && row.consumedAt !== undefined && payload.consumed === undefined) {
    payload.consumed = Math.floor(Number(row.consumedAt) / 1000);
  }
  return payload;
}
