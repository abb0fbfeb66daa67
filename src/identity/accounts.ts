/**
 * Accounts: every account owns a did:ethr on the configured chain. Custody is `managed` (Trustgate holds
 * the controller key, the default) or `self` (the person's own wallet owns the DID). Creating a managed
 * account sends no transaction: a fresh address is its own owner in the registry.
 */
import { ConflictError, NotFoundError } from '../errors.ts';
import type { Account } from '../store/generated/postgres/client.ts';
import { isUniqueViolation, type Store, type Tx } from '../store/index.ts';
import { addressOfEthrDid, chainIdHex, createManagedDid, ethrDid, type IdentityAgent } from './agent.ts';

export type { Account } from '../store/generated/postgres/client.ts';

/**
 * Takes the account's row lock for the rest of the transaction, so concurrent changes to one account's
 * factors queue (PostgreSQL; SQLite runs transactions one at a time already).
 */
export async function lockAccount(
  store: Pick<Store, 'dialect'>,
  tx: Tx,
  account: { id: string; tenantId: string },
) {
  if (store.dialect !== 'postgres') return;
  await tx.$queryRawUnsafe(
    'SELECT 1 FROM "Account" WHERE "id" = $1 AND "tenantId" = $2 FOR UPDATE',
    account.id,
    account.tenantId,
  );
}

/** What a person chose at sign-up. */
export interface AccountProfile {
  /** The account id, when the caller chose it beforehand (sign-up scores the attempt first). */
  id?: string;
  username?: string;
  displayName?: string;
  userHandle?: string;
}

/** The public view of an account. */
export interface AccountView {
  id: string;
  did: string;
  address: string;
  custody: 'managed' | 'self';
  status: 'active' | 'deactivated';
  linkedDids: string[];
  createdAt: string;
}

export function accountView(account: Account & { linkedDids?: Array<{ did: string }> }): AccountView {
  return {
    id: account.id,
    did: account.did,
    address: account.address,
    custody: account.custody as AccountView['custody'],
    status: account.status as AccountView['status'],
    linkedDids: (account.linkedDids ?? []).map((l) => l.did),
    createdAt: account.createdAt.toISOString(),
  };
}

export class Accounts {
  constructor(
    private readonly store: Store,
    private readonly agent: IdentityAgent,
    private readonly chainId: number,
  ) {}

  /** Whether `did` is a did:ethr of the configured chain (named by its hex chain id). */
  isOwnChainDid(did: string): boolean {
    const m = /^did:ethr:([A-Za-z0-9]+):(0x[0-9a-fA-F]{40})$/.exec(did);
    return m !== null && m[1]!.toLowerCase() === chainIdHex(this.chainId);
  }

  /**
   * Creates an account whose DID's controller key Trustgate holds (sealed under the master key).
   * `within` runs in the same transaction as the account row (a sign-up stores the passkey, the
   * session and the event with it), so a failure leaves neither account nor orphan key behind.
   */
  async createManaged<T = void>(
    tenantId: string,
    profile: AccountProfile = {},
    within?: (tx: Tx, account: Account) => Promise<T>,
  ): Promise<{ account: Account; result: T }> {
    const managed = await createManagedDid(this.agent);
    const data = {
      ...(profile.id ? { id: profile.id } : {}),
      tenantId,
      did: managed.did,
      address: managed.address,
      custody: 'managed',
      username: profile.username ?? null,
      displayName: profile.displayName ?? null,
      userHandle: profile.userHandle ?? null,
    };
    try {
      return await this.store.tx(async (tx) => {
        const account = await tx.account.create({ data });
        const result = within ? await within(tx, account) : (undefined as T);
        return { account, result };
      });
    } catch (err) {
      // Keep no orphan key behind a failed account creation.
      await this.agent.didManagerDelete({ did: managed.did }).catch(() => undefined);
      await this.agent.keyManagerDelete({ kid: managed.kid }).catch(() => undefined);
      if (isUniqueViolation(err) && profile.username) {
        throw new ConflictError('username_taken', 'This username is taken.');
      }
      throw err;
    }
  }

  /** The account with this sign-in name in the tenant (names are compared lower-case). */
  async findByUsername(tenantId: string, username: string): Promise<Account | null> {
    return this.store.db.account.findUnique({
      where: { tenantId_username: { tenantId, username: username.toLowerCase() } },
    });
  }

  /** Creates an account for a did:ethr whose key the person proved to hold (their own wallet). */
  async createSelfCustody(tenantId: string, did: string): Promise<Account> {
    if (!this.isOwnChainDid(did)) {
      throw new ConflictError(
        'unsupported_did',
        `Accounts own a did:ethr on chain ${chainIdHex(this.chainId)}; link other DIDs to an account instead.`,
      );
    }
    const address = addressOfEthrDid(did);
    try {
      return await this.store.db.account.create({
        data: { tenantId, did: ethrDid(this.chainId, address), address, custody: 'self' },
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ConflictError('account_exists', 'An account already owns this DID.');
      throw err;
    }
  }

  /** The account of `did` in the tenant: its own DID or a linked one. */
  async findByDid(tenantId: string, did: string): Promise<Account | null> {
    // Every spelling of one of our did:ethr (any address case) is one account.
    const canonical = this.isOwnChainDid(did) ? ethrDid(this.chainId, addressOfEthrDid(did)) : did;
    const own = await this.store.db.account.findUnique({
      where: { tenantId_did: { tenantId, did: canonical } },
    });
    if (own) return own;
    const linked = await this.store.db.linkedDid.findUnique({
      where: { tenantId_did: { tenantId, did } },
      include: { account: true },
    });
    return linked?.account ?? null;
  }

  /** The account `id` of the tenant (404 for any other tenant's account). */
  async get(tenantId: string, id: string) {
    const account = await this.store.db.account.findFirst({
      where: { id, tenantId },
      include: { linkedDids: true },
    });
    if (!account) throw new NotFoundError('No such account.');
    return account;
  }

  /** Links an external DID the person proved to hold. */
  async linkDid(account: Account, did: string): Promise<void> {
    if (did === account.did) throw new ConflictError('already_linked', 'This is the account’s own DID.');
    const existing = await this.findByDid(account.tenantId, did);
    if (existing && existing.id !== account.id) {
      throw new ConflictError('already_linked', 'This DID belongs to another account.');
    }
    try {
      await this.store.db.linkedDid.create({
        data: { tenantId: account.tenantId, accountId: account.id, did },
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // A concurrent link won the race: fine if it was for this account.
      const winner = await this.findByDid(account.tenantId, did);
      if (winner?.id !== account.id)
        throw new ConflictError('already_linked', 'This DID belongs to another account.');
    }
  }

  async setCustody(account: Account, custody: 'managed' | 'self'): Promise<void> {
    await this.store.db.account.update({ where: { id: account.id }, data: { custody } });
  }

  async setStatus(account: Account, status: 'active' | 'deactivated'): Promise<void> {
    await this.store.db.account.update({ where: { id: account.id }, data: { status } });
  }

  /** The managed controller key id of a managed account's DID. */
  async managedKid(account: Account): Promise<string> {
    const identifier = await this.agent.didManagerGet({ did: account.did });
    if (!identifier.controllerKeyId) throw new Error(`managed DID ${account.did} has no controller key`);
    return identifier.controllerKeyId;
  }
}
