/**
 * Each tenant's OpenID Connect keys, sealed under the master key: token signing keys for ES256 (the
 * default), EdDSA and RS256 (older clients), and the cookie keys that sign the provider's cookies.
 *
 * Rotation with overlap, per algorithm and for cookies: a `next` key is published before it signs, so
 * verifiers have it in their cached JWKS by the time it does; when the `current` key is older than the
 * rotation period, `next` becomes `current`, `current` becomes `previous` (still published, so tokens it
 * signed keep verifying) and a new `next` is made; the old `previous` retires. Several instances may
 * rotate at once: every state change is a compare-and-set on the row, so exactly one wins and the others
 * read the result.
 */

import type { KeyObject } from 'node:crypto';
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import type { KeyRing } from '../crypto/envelope.ts';
import { isUniqueViolation, type Store } from '../store/index.ts';

export const SIGNING_ALGS = ['ES256', 'EdDSA', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
type KeyUse = 'sig' | 'cookie';
type KeyState = 'next' | 'current' | 'previous' | 'retired';

/** The private JWKs (signing order: current ES256 first) and cookie keys (first signs) of a tenant. */
export interface TenantKeySet {
  jwks: { keys: Array<Record<string, unknown>> };
  cookieKeys: string[];
  /** Changes whenever the set changes (a provider built from an older set is rebuilt). */
  fingerprint: string;
}

/** The envelope context of a key: bound to its tenant and row. */
export const oidcKeyContext = (tenantId: string, id: string) => `oidc-key:${tenantId}:${id}`;

const ALG_FOR_USE: Record<KeyUse, readonly string[]> = { sig: SIGNING_ALGS, cookie: ['HS256'] };
const STATE_ORDER: Record<KeyState, number> = { current: 0, next: 1, previous: 2, retired: 3 };

export class OidcKeys {
  constructor(
    private readonly deps: {
      store: Store;
      keys: KeyRing;
      /** How long a key is `current` before the next one takes over. */
      rotationMs: number;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /**
   * The tenant's key set: creates the first keys, and rotates the ones that are due, then reads every
   * published key (current, next, previous).
   */
  async load(tenantId: string): Promise<TenantKeySet> {
    for (const use of ['sig', 'cookie'] as const) {
      for (const alg of ALG_FOR_USE[use]) await this.ensure(tenantId, use, alg);
    }
    const rows = await this.deps.store.db.oidcKey.findMany({
      where: { tenantId, state: { in: ['current', 'next', 'previous'] } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    rows.sort((a, b) => STATE_ORDER[a.state as KeyState] - STATE_ORDER[b.state as KeyState]);
    const signing = rows.filter((r) => r.use === 'sig');
    // The provider signs with the first key of an algorithm: current keys come first, ES256 first of all.
    signing.sort(
      (a, b) =>
        STATE_ORDER[a.state as KeyState] - STATE_ORDER[b.state as KeyState] ||
        SIGNING_ALGS.indexOf(a.alg as SigningAlg) - SIGNING_ALGS.indexOf(b.alg as SigningAlg),
    );
    const jwks = {
      keys: signing.map((r) => ({
        ...(JSON.parse(this.open(tenantId, r.id, r.envelope).toString('utf8')) as Record<string, unknown>),
        kid: r.id,
        alg: r.alg,
        use: 'sig',
      })),
    };
    // Cookies: the current key signs; previous and next still verify.
    const cookieRows = rows.filter((r) => r.use === 'cookie');
    cookieRows.sort((a, b) => cookieRank(a.state) - cookieRank(b.state));
    const cookieKeys = cookieRows.map((r) => this.open(tenantId, r.id, r.envelope).toString('base64url'));
    const fingerprint = rows.map((r) => `${r.id}:${r.state}`).join(',');
    return { jwks, cookieKeys, fingerprint };
  }

  /** The ids and states of a tenant's published keys (cheap: no envelope is opened). */
  async fingerprint(tenantId: string): Promise<string> {
    const rows = await this.deps.store.db.oidcKey.findMany({
      where: { tenantId, state: { in: ['current', 'next', 'previous'] } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, state: true, activatedAt: true },
    });
    const due = rows.some(
      (r) => r.state === 'current' && (r.activatedAt?.getTime() ?? 0) + this.deps.rotationMs <= this.now(),
    );
    rows.sort((a, b) => STATE_ORDER[a.state as KeyState] - STATE_ORDER[b.state as KeyState]);
    // A key due for rotation changes the fingerprint, so the caller reloads (and rotates).
    return `${rows.map((r) => `${r.id}:${r.state}`).join(',')}${due ? ':due' : ''}`;
  }

  /** Makes sure `use`/`alg` has a current and a next key, rotating when the current one is due. */
  private async ensure(tenantId: string, use: KeyUse, alg: string): Promise<void> {
    const db = this.deps.store.db;
    const rows = await db.oidcKey.findMany({
      where: { tenantId, use, alg, state: { in: ['current', 'next', 'previous'] } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    const current = rows.find((r) => r.state === 'current');
    const next = rows.find((r) => r.state === 'next');
    const nowMs = this.now();
    if (!current) {
      // First keys of this tenant: one current, one next. Several instances may start at once, so the
      // ids are derived (the current's from tenant, use and algorithm, the next's from the current's):
      // one insert of each wins, the others hit the primary key and use the winner's keys.
      await this.createOnce(tenantId, use, alg, 'current', derivedKeyId(`${tenantId}:${use}:${alg}`));
      let made = await db.oidcKey.findFirst({ where: { tenantId, use, alg, state: 'current' } });
      // Only if that first key exists but has retired (so no current is left): a fresh one.
      if (!made) {
        await this.create(tenantId, use, alg, 'current');
        made = await db.oidcKey.findFirstOrThrow({ where: { tenantId, use, alg, state: 'current' } });
      }
      await this.createOnce(tenantId, use, alg, 'next', derivedKeyId(`next-of:${made.id}`));
      return;
    }
    if (!next) {
      // Another instance may be making it right now (first keys): the same derived id, one insert wins.
      // The rotation, if due, waits for the next load, so the new next key is published before it signs.
      await this.createOnce(tenantId, use, alg, 'next', derivedKeyId(`next-of:${current.id}`));
      return;
    }
    if ((current.activatedAt?.getTime() ?? 0) + this.deps.rotationMs > nowMs) return;
    // Rotate: the compare-and-set on the current row elects one rotating instance.
    await this.deps.store.tx(async (tx) => {
      const demoted = await tx.oidcKey.updateMany({
        where: { id: current.id, state: 'current' },
        data: { state: 'previous' },
      });
      if (demoted.count !== 1) return;
      await tx.oidcKey.updateMany({
        where: { tenantId, use, alg, state: 'previous', id: { not: current.id } },
        data: { state: 'retired', retiredAt: new Date(nowMs) },
      });
      const promoted = next
        ? await tx.oidcKey.updateMany({
            where: { id: next.id, state: 'next' },
            data: { state: 'current', activatedAt: new Date(nowMs) },
          })
        : { count: 0 };
      if (promoted.count !== 1) await this.create(tenantId, use, alg, 'current', tx);
      await this.create(tenantId, use, alg, 'next', tx);
    });
  }

  /** Creates a key under a derived `id`, unless another instance already did. */
  private async createOnce(
    tenantId: string,
    use: KeyUse,
    alg: string,
    state: KeyState,
    id: string,
  ): Promise<void> {
    try {
      await this.create(tenantId, use, alg, state, undefined, id);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }

  private async create(
    tenantId: string,
    use: KeyUse,
    alg: string,
    state: KeyState,
    tx?: Parameters<Parameters<Store['tx']>[0]>[0],
    id: string = randomUUID(),
  ): Promise<void> {
    const secret = use === 'cookie' ? randomBytes(32) : Buffer.from(JSON.stringify(generateJwk(alg)), 'utf8');
    const envelope = this.deps.keys.seal(secret, oidcKeyContext(tenantId, id));
    secret.fill(0);
    await (tx ?? this.deps.store.db).oidcKey.create({
      data: {
        id,
        tenantId,
        use,
        alg,
        state,
        masterKeyId: this.deps.keys.current.id,
        envelope: new Uint8Array(envelope),
        ...(state === 'current' ? { activatedAt: new Date(this.now()) } : {}),
      },
    });
  }

  private open(tenantId: string, id: string, envelope: Uint8Array): Buffer {
    return this.deps.keys.open(envelope, oidcKeyContext(tenantId, id));
  }
}

/** A UUID-shaped key id derived from `seed`: the same on every instance. */
function derivedKeyId(seed: string): string {
  const hex = createHash('sha256').update(`oidc-key-id\u0000${seed}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function cookieRank(state: string): number {
  return state === 'current' ? 0 : state === 'previous' ? 1 : 2;
}

/** A new private JWK for `alg`. */
function generateJwk(alg: string): Record<string, unknown> {
  let key: KeyObject;
  switch (alg) {
    case 'ES256':
      key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      break;
    case 'EdDSA':
      key = generateKeyPairSync('ed25519').privateKey;
      break;
    case 'RS256':
      key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      break;
    default:
      throw new Error(`unsupported signing algorithm ${alg}`);
  }
  return key.export({ format: 'jwk' }) as Record<string, unknown>;
}
