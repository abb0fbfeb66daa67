/**
 * Veramo's three stores on Trustgate's database (Prisma), in place of Veramo's in-memory or TypeORM ones:
 *   - PrismaDIDStore: identifiers (`Identifier`), their keys as `ManagedKey` rows and services as JSON;
 *   - PrismaKeyStore: public key metadata (`ManagedKey`);
 *   - PrismaPrivateKeyStore: key material (`PrivateKey`), only ever stored as an AES-256-GCM envelope
 *     under the master key (invariant 3), bound to its alias.
 * Semantics follow Veramo's own stores (MemoryDIDStore, MemoryKeyStore, the data-store PrivateKeyStore):
 * errors carry Veramo's `not_found:` / `key_already_exists:` / `invalid_argument:` prefixes.
 */
import { randomUUID } from 'node:crypto';
import type { IIdentifier, IKey, IService, ManagedKeyInfo } from '@veramo/core';
import { AbstractDIDStore } from '@veramo/did-manager';
import {
  AbstractKeyStore,
  AbstractPrivateKeyStore,
  type ImportablePrivateKey,
  type ManagedPrivateKey,
} from '@veramo/key-manager';
import type { KeyRing } from '../crypto/envelope.ts';
import { isUniqueViolation, type Store, type Tx } from '../store/index.ts';

/** The envelope context of a private key: an envelope copied to another alias does not open. */
export const privateKeyContext = (alias: string): string => `privatekey:${alias}`;

interface ManagedKeyRow {
  kid: string;
  kms: string;
  type: string;
  publicKeyHex: string;
  meta: string;
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function toKey(row: ManagedKeyRow): IKey {
  return {
    kid: row.kid,
    kms: row.kms,
    type: row.type as IKey['type'],
    publicKeyHex: row.publicKeyHex,
    meta: parseJson<IKey['meta']>(row.meta, {}),
  };
}

/** Columns of a ManagedKey row for `key` (never its private half, which the key store must not hold). */
function keyColumns(key: Partial<IKey>): Omit<ManagedKeyRow, 'kid'> {
  if (!key.kms || !key.type || typeof key.publicKeyHex !== 'string') {
    throw new Error('invalid_argument: a key needs kid, kms, type and publicKeyHex');
  }
  return {
    kms: key.kms,
    type: key.type,
    publicKeyHex: key.publicKeyHex,
    meta: JSON.stringify(key.meta ?? {}),
  };
}

const identifierInclude = {
  keys: { orderBy: [{ createdAt: 'asc' as const }, { kid: 'asc' as const }] },
};

type IdentifierRow = {
  did: string;
  provider: string;
  alias: string | null;
  controllerKeyId: string | null;
  services: string;
  keys: ManagedKeyRow[];
};

function toIdentifier(row: IdentifierRow): IIdentifier {
  const identifier: IIdentifier = {
    did: row.did,
    provider: row.provider,
    keys: row.keys.map(toKey),
    services: parseJson<IService[]>(row.services, []),
  };
  if (row.alias !== null) identifier.alias = row.alias;
  if (row.controllerKeyId !== null) identifier.controllerKeyId = row.controllerKeyId;
  return identifier;
}

/**
 * Veramo DID store on the `Identifier` table. An identifier's keys are `ManagedKey` rows pointing at it;
 * importing an identifier again replaces its alias, controller, services and key list (keys no longer
 * listed are unlinked, not deleted: deleting key material is the KeyManager's job).
 */
export class PrismaDIDStore extends AbstractDIDStore {
  constructor(private readonly store: Store) {
    super();
  }

  /** Stores (or replaces) `args`. Throws if its alias belongs to another identifier. */
  async importDID(args: IIdentifier): Promise<boolean> {
    if (!args.did || !args.provider)
      throw new Error('invalid_argument: an identifier needs did and provider');
    const columns = {
      provider: args.provider,
      alias: args.alias ?? null,
      controllerKeyId: args.controllerKeyId ?? null,
      services: JSON.stringify(args.services ?? []),
    };
    const keys = args.keys ?? [];
    try {
      await this.store.tx(async (tx: Tx) => {
        await tx.identifier.upsert({
          where: { did: args.did },
          create: { did: args.did, ...columns },
          update: columns,
        });
        for (const key of keys) {
          const data = { ...keyColumns(key), identifierDid: args.did };
          await tx.managedKey.upsert({
            where: { kid: key.kid },
            create: { kid: key.kid, ...data },
            update: data,
          });
        }
        await tx.managedKey.updateMany({
          where: { identifierDid: args.did, kid: { notIn: keys.map((k) => k.kid) } },
          data: { identifierDid: null },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new Error(`illegal_argument: another identifier already has the alias ${args.alias}`);
      }
      throw err;
    }
    return true;
  }

  /** Finds an identifier by `did` or by `alias` (exactly one of them). */
  async getDID(args: { did: string } | { alias: string }): Promise<IIdentifier>;
  async getDID(args: { did?: string; alias?: string }): Promise<IIdentifier> {
    const { did, alias } = args;
    if (did !== undefined && alias === undefined) {
      const row = await this.store.db.identifier.findUnique({ where: { did }, include: identifierInclude });
      if (!row) throw new Error(`not_found: IIdentifier not found with did=${did}`);
      return toIdentifier(row);
    }
    if (did === undefined && alias !== undefined) {
      const row = await this.store.db.identifier.findUnique({ where: { alias }, include: identifierInclude });
      if (!row) throw new Error(`not_found: IIdentifier not found with alias=${alias}`);
      return toIdentifier(row);
    }
    throw new Error('invalid_argument: Get requires did or alias');
  }

  /** Deletes an identifier (its keys stay, unlinked). Deleting an unknown DID succeeds. */
  async deleteDID({ did }: { did: string }): Promise<boolean> {
    await this.store.db.identifier.deleteMany({ where: { did } });
    return true;
  }

  /** Lists identifiers, optionally filtered by alias and/or provider. */
  async listDIDs(args: { alias?: string; provider?: string } = {}): Promise<IIdentifier[]> {
    const rows = await this.store.db.identifier.findMany({
      where: {
        ...(args.alias !== undefined ? { alias: args.alias } : {}),
        ...(args.provider !== undefined ? { provider: args.provider } : {}),
      },
      include: identifierInclude,
      orderBy: [{ createdAt: 'asc' }, { did: 'asc' }],
    });
    return rows.map(toIdentifier);
  }
}

/** Veramo key store on the `ManagedKey` table: public key metadata only. */
export class PrismaKeyStore extends AbstractKeyStore {
  constructor(private readonly store: Store) {
    super();
  }

  /** Stores (or updates) a key's metadata; a `privateKeyHex` in `args` is ignored, never stored. */
  async importKey(args: Partial<IKey>): Promise<boolean> {
    if (!args.kid) throw new Error('invalid_argument: a key needs kid, kms, type and publicKeyHex');
    const data = keyColumns(args);
    await this.store.db.managedKey.upsert({
      where: { kid: args.kid },
      create: { kid: args.kid, ...data },
      update: data,
    });
    return true;
  }

  /** The key with `kid`; throws `not_found` when there is none. */
  async getKey({ kid }: { kid: string }): Promise<IKey> {
    const row = await this.store.db.managedKey.findUnique({ where: { kid } });
    if (!row) throw new Error(`not_found: Key not found with kid=${kid}`);
    return toKey(row);
  }

  /** Deletes the key with `kid`; throws `not_found` when there is none. */
  async deleteKey({ kid }: { kid: string }): Promise<boolean> {
    const { count } = await this.store.db.managedKey.deleteMany({ where: { kid } });
    if (count === 0) throw new Error(`not_found: Key not found with kid=${kid}`);
    return true;
  }

  /** Every key's metadata. */
  async listKeys(_args: Record<string, never> = {}): Promise<ManagedKeyInfo[]> {
    const rows = await this.store.db.managedKey.findMany({ orderBy: [{ createdAt: 'asc' }, { kid: 'asc' }] });
    return rows.map(toKey);
  }
}

/** Canonical form of key material: lower-case hex without `0x`. */
function normalizeHex(hex: string): string {
  const value = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (value.length === 0 || value.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(value)) {
    throw new Error('invalid_argument: privateKeyHex must be hex');
  }
  return value.toLowerCase();
}

/**
 * Veramo private-key store on the `PrivateKey` table. Key material is sealed with the key ring under
 * the current master key (the row records its id) and bound to the alias; the plaintext exists only in
 * memory, on its way to or from kms-local, and never in a log or an error message.
 */
export class PrismaPrivateKeyStore extends AbstractPrivateKeyStore {
  constructor(
    private readonly store: Store,
    private readonly keys: KeyRing,
  ) {
    super();
  }

  private open(row: { alias: string; type: string; envelope: Uint8Array }): ManagedPrivateKey {
    const bytes = this.keys.open(row.envelope, privateKeyContext(row.alias));
    try {
      return {
        alias: row.alias,
        type: row.type as ManagedPrivateKey['type'],
        privateKeyHex: bytes.toString('hex'),
      };
    } finally {
      bytes.fill(0);
    }
  }

  /**
   * Stores a private key under `alias` (a fresh UUID when absent). Importing the same key again is a
   * no-op; a different key under an existing alias throws `key_already_exists`.
   */
  async importKey(args: ImportablePrivateKey): Promise<ManagedPrivateKey> {
    if (!args.type) throw new Error('invalid_argument: type and privateKeyHex are required');
    const alias = args.alias || randomUUID();
    const privateKeyHex = normalizeHex(args.privateKeyHex);
    const key: ManagedPrivateKey = { alias, type: args.type, privateKeyHex };
    const existing = await this.store.db.privateKey.findUnique({ where: { alias } });
    if (existing) return this.sameOrThrow(existing, key);
    const plaintext = Buffer.from(privateKeyHex, 'hex');
    let envelope: Buffer;
    try {
      envelope = this.keys.seal(plaintext, privateKeyContext(alias));
    } finally {
      plaintext.fill(0);
    }
    try {
      await this.store.db.privateKey.create({
        data: {
          alias,
          type: args.type,
          masterKeyId: this.keys.current.id,
          envelope: new Uint8Array(envelope),
        },
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // A concurrent import of the same alias won: accept it only if it stored the same key.
      const winner = await this.store.db.privateKey.findUnique({ where: { alias } });
      if (!winner) throw err;
      return this.sameOrThrow(winner, key);
    }
    return key;
  }

  private sameOrThrow(
    row: { alias: string; type: string; envelope: Uint8Array },
    key: ManagedPrivateKey,
  ): ManagedPrivateKey {
    const stored = this.open(row);
    if (stored.privateKeyHex !== key.privateKeyHex || stored.type !== key.type) {
      throw new Error(
        'key_already_exists: A key with this alias exists but with different data. Please use a different alias.',
      );
    }
    return stored;
  }

  /** The private key under `alias` (for kms-local only); throws `not_found` when there is none. */
  async getKey({ alias }: { alias: string }): Promise<ManagedPrivateKey> {
    const row = await this.store.db.privateKey.findUnique({ where: { alias } });
    if (!row) throw new Error(`not_found: PrivateKey not found for alias=${alias}`);
    return this.open(row);
  }

  /** Deletes the private key under `alias`; throws `not_found` when there is none. */
  async deleteKey({ alias }: { alias: string }): Promise<boolean> {
    const { count } = await this.store.db.privateKey.deleteMany({ where: { alias } });
    if (count === 0) throw new Error(`not_found: PrivateKey not found for alias=${alias}`);
    return true;
  }

  /** Every private key, opened (Veramo's contract; kms-local derives public keys from them). */
  async listKeys(_args: Record<string, never> = {}): Promise<ManagedPrivateKey[]> {
    const rows = await this.store.db.privateKey.findMany({
      orderBy: [{ createdAt: 'asc' }, { alias: 'asc' }],
    });
    return rows.map((row) => this.open(row));
  }
}
