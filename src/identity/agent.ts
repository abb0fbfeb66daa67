/**
 * Trustgate's Veramo agent: KeyManager (kms-local over the sealed Prisma private-key store), DIDManager
 * (did:ethr on our chain, did:key) and a DID resolver, plus the few helpers the identity flows need:
 * create a managed did:ethr, sign a registry digest with its key, and read its public material.
 *
 * Chain writes never leave through Veramo: creating a did:ethr needs no transaction (a fresh address owns
 * itself), and every later change (delegates, attributes, owner) is a meta-transaction signed here with
 * `signWithManagedKey` and sent by the relayer through the durable outbox. The did:ethr provider below
 * therefore refuses Veramo's own on-chain updates.
 *
 * Never set DEBUG=veramo:* in production: Veramo's agent then prints every method's arguments to stderr,
 * and a `keyManagerImport` carries a private key (Trustgate's own flows import none through the agent).
 */
import {
  createAgent,
  type IDIDManager,
  type IIdentifier,
  type IKey,
  type IKeyManager,
  type IResolver,
  type IService,
  type TAgent,
} from '@veramo/core';
import { DIDManager } from '@veramo/did-manager';
import { EthrDIDProvider } from '@veramo/did-provider-ethr';
import { getDidKeyResolver, KeyDIDProvider } from '@veramo/did-provider-key';
import { DIDResolverPlugin } from '@veramo/did-resolver';
import { KeyManager } from '@veramo/key-manager';
import { KeyManagementSystem } from '@veramo/kms-local';
import { type Resolvable, Resolver } from 'did-resolver';
import {
  AbstractSigner,
  type BytesLike,
  computeAddress,
  copyRequest,
  getAddress,
  getBytes,
  hashMessage,
  hexlify,
  type Provider,
  resolveAddress,
  resolveProperties,
  Signature,
  Transaction,
  type TransactionLike,
  type TransactionRequest,
  type TypedDataDomain,
  TypedDataEncoder,
  type TypedDataField,
} from 'ethers';
import { getResolver as getEthrResolver } from 'ethr-did-resolver';
import type { ChainConnection } from '../chain/index.ts';
import type { KeyRing } from '../crypto/envelope.ts';
import type { Store } from '../store/index.ts';
import { PrismaDIDStore, PrismaKeyStore, PrismaPrivateKeyStore } from './veramo-stores.ts';

/** What Trustgate's agent can do. */
export type IdentityAgent = TAgent<IDIDManager & IKeyManager & IResolver>;

/** Name of the local key management system (kms-local over the sealed private-key store). */
export const LOCAL_KMS = 'local';
/** DIDManager provider names. */
export const ETHR_PROVIDER = 'did:ethr';
export const KEY_PROVIDER = 'did:key';

/** Hex chain id as did:ethr writes it (`31337` → `0x7a69`). */
export const chainIdHex = (chainId: number): string => `0x${chainId.toString(16)}`;

/**
 * The did:ethr of `address` on chain `chainId`, in Trustgate's canonical form
 * `did:ethr:<chainIdHex>:<lower-case address>` (matching `Account.address`).
 */
export function ethrDid(chainId: number, address: string): string {
  return `did:ethr:${chainIdHex(chainId)}:${getAddress(address).toLowerCase()}`;
}

/** The identity address of a did:ethr (address or public-key form), lower-case; throws for other DIDs. */
export function addressOfEthrDid(did: string): string {
  const match = /^did:ethr:(?:[^:]+:)?(0x[0-9a-fA-F]{40}|0x[0-9a-fA-F]{66})$/.exec(did);
  if (!match?.[1]) throw new Error(`invalid_argument: not a did:ethr: ${did}`);
  const id = match[1];
  return (id.length === 42 ? getAddress(id) : computeAddress(id)).toLowerCase();
}

/**
 * did:ethr provider that creates the address form (`did:ethr:0x7a69:0xabc…`) for our chain, and refuses
 * on-chain updates from Veramo (they must go through the outbox).
 */
class ManagedEthrDIDProvider extends EthrDIDProvider {
  constructor(
    options: ConstructorParameters<typeof EthrDIDProvider>[0],
    private readonly chainId: number,
  ) {
    super(options);
  }

  override async createIdentifier(
    args: Parameters<EthrDIDProvider['createIdentifier']>[0],
    context: Parameters<EthrDIDProvider['createIdentifier']>[1],
  ): Promise<Omit<IIdentifier, 'provider'>> {
    // Stock Veramo 7 creates the public-key form and sends nothing; we keep its key handling and only
    // rewrite the DID to the address form.
    const created = await super.createIdentifier(args, context);
    const key = created.keys[0];
    if (!key) throw new Error('invalid_setup: did:ethr provider created no key');
    return { ...created, did: ethrDid(this.chainId, computeAddress(`0x${key.publicKeyHex}`)) };
  }

  private refuse(): never {
    throw new Error('not_supported: did:ethr changes go through the chain outbox, not through Veramo');
  }
  override async addKey(): Promise<never> {
    this.refuse();
  }
  override async removeKey(): Promise<never> {
    this.refuse();
  }
  override async addService(): Promise<never> {
    this.refuse();
  }
  override async removeService(): Promise<never> {
    this.refuse();
  }
}

// ethr-did-resolver's types name ethers' CommonJS build; at run time both are the same ethers 6.
type EthrResolverProvider = NonNullable<
  Extract<Parameters<typeof getEthrResolver>[0], { networks?: unknown }>['provider']
>;

/** A DID resolver for our chain's did:ethr (stock ethr-did-resolver) and did:key. */
export function createDefaultResolver(chain: ChainConnection): Resolvable {
  return new Resolver({
    ...getEthrResolver({
      networks: [
        {
          name: chainIdHex(chain.chainId),
          chainId: chain.chainId,
          provider: chain.provider as unknown as EthrResolverProvider,
          registry: chain.registryAddress,
          legacyNonce: false,
        },
      ],
    }),
    ...getDidKeyResolver(),
  });
}

export interface IdentityAgentOptions {
  store: Store;
  keys: KeyRing;
  chain: ChainConnection;
  /** DID resolver; defaults to `createDefaultResolver(chain)` (uncached). */
  resolver?: Resolvable;
}

/** Builds the agent over the database, the master key ring and the chain. */
export function createIdentityAgent(options: IdentityAgentOptions): IdentityAgent {
  const { store, keys, chain } = options;
  const ethr = new ManagedEthrDIDProvider(
    {
      defaultKms: LOCAL_KMS,
      networks: [
        {
          name: chainIdHex(chain.chainId),
          chainId: chain.chainId,
          provider: chain.provider,
          registry: chain.registryAddress,
        },
      ],
    },
    chain.chainId,
  );
  return createAgent<IDIDManager & IKeyManager & IResolver>({
    plugins: [
      new KeyManager({
        store: new PrismaKeyStore(store),
        kms: { [LOCAL_KMS]: new KeyManagementSystem(new PrismaPrivateKeyStore(store, keys)) },
      }),
      new DIDManager({
        store: new PrismaDIDStore(store),
        defaultProvider: ETHR_PROVIDER,
        providers: {
          [ETHR_PROVIDER]: ethr,
          [KEY_PROVIDER]: new KeyDIDProvider({ defaultKms: LOCAL_KMS }),
        },
      }),
      new DIDResolverPlugin({ resolver: options.resolver ?? createDefaultResolver(chain) }),
    ],
  });
}

/** A did:ethr whose controller key Trustgate holds. */
export interface ManagedDid {
  did: string;
  /** Identity (and, until changed on chain, owner) address, lower-case. */
  address: string;
  /** Key id of the secp256k1 controller key in the agent's key manager. */
  kid: string;
  identifier: IIdentifier;
}

/**
 * Creates a secp256k1 key and its `did:ethr:<chainIdHex>:<address>`, sending no transaction: a fresh
 * address is its own owner in the ERC-1056 registry. Throws `illegal_argument` if `alias` is taken.
 */
export async function createManagedDid(
  agent: IdentityAgent,
  options: { alias?: string } = {},
): Promise<ManagedDid> {
  const key = await agent.keyManagerCreate({ kms: LOCAL_KMS, type: 'Secp256k1' });
  try {
    const identifier = await agent.didManagerCreate({
      provider: ETHR_PROVIDER,
      kms: LOCAL_KMS,
      ...(options.alias !== undefined ? { alias: options.alias } : {}),
      options: { keyRef: key.kid },
    });
    return { did: identifier.did, address: addressOfEthrDid(identifier.did), kid: key.kid, identifier };
  } catch (err) {
    // No DID was stored (alias taken, database error): do not leave an orphan private key behind.
    await agent.keyManagerDelete({ kid: key.kid }).catch(() => undefined);
    throw err;
  }
}

/**
 * Signs a 32-byte digest (e.g. an ERC-1056 meta-transaction hash `keccak256(0x19 0x00 …)`) with the
 * managed secp256k1 key `kid`, as a raw ECDSA signature with recovery bit; no prefix is added.
 *
 * It goes through kms-local's `eth_rawSign` (`SigningKey.sign(digest)`), so the private key is opened
 * only inside the KMS and never reaches this module. (`ES256K` would SHA-256 the input again and
 * `eth_signMessage` would add the EIP-191 personal-message prefix: neither signs a given digest.)
 */
export async function signWithManagedKey(
  agent: IdentityAgent,
  kid: string,
  digest: BytesLike,
): Promise<Signature> {
  const bytes = getBytes(digest);
  if (bytes.length !== 32) throw new Error('invalid_argument: a digest is exactly 32 bytes');
  const compact = await agent.keyManagerSign({
    keyRef: kid,
    algorithm: 'eth_rawSign',
    data: hexlify(bytes).slice(2),
    encoding: 'base16',
  });
  return Signature.from(compact);
}

/**
 * An ethers signer backed by a managed secp256k1 key: messages, typed data, transactions and raw
 * digests are all signed through `signWithManagedKey`.
 */
export class ManagedKeySigner extends AbstractSigner {
  private constructor(
    private readonly agent: IdentityAgent,
    /** Key id in the agent's key manager. */
    readonly kid: string,
    /** Checksummed address of the key. */
    readonly address: string,
    provider: Provider | null,
  ) {
    super(provider);
  }

  /** A signer for managed key `kid` (secp256k1), optionally connected to `provider`. */
  static async create(
    agent: IdentityAgent,
    kid: string,
    provider: Provider | null = null,
  ): Promise<ManagedKeySigner> {
    const key = await agent.keyManagerGet({ kid });
    if (key.type !== 'Secp256k1') throw new Error(`invalid_argument: key ${kid} is not secp256k1`);
    return new ManagedKeySigner(agent, kid, computeAddress(`0x${key.publicKeyHex}`), provider);
  }

  override async getAddress(): Promise<string> {
    return this.address;
  }

  override connect(provider: Provider | null): ManagedKeySigner {
    return new ManagedKeySigner(this.agent, this.kid, this.address, provider);
  }

  /** Signs a 32-byte digest as is. */
  signDigest(digest: BytesLike): Promise<Signature> {
    return signWithManagedKey(this.agent, this.kid, digest);
  }

  override async signMessage(message: string | Uint8Array): Promise<string> {
    return (await this.signDigest(hashMessage(message))).serialized;
  }

  override async signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    const populated = await TypedDataEncoder.resolveNames(domain, types, value, async (name) => {
      if (!this.provider) throw new Error('invalid_argument: cannot resolve ENS names without a provider');
      const address = await this.provider.resolveName(name);
      if (!address) throw new Error(`invalid_argument: unresolvable ENS name ${name}`);
      return address;
    });
    return (await this.signDigest(TypedDataEncoder.hash(populated.domain, types, populated.value)))
      .serialized;
  }

  override async signTransaction(request: TransactionRequest): Promise<string> {
    const tx = copyRequest(request);
    const { to, from } = await resolveProperties({
      to: tx.to ? resolveAddress(tx.to, this) : undefined,
      from: tx.from ? resolveAddress(tx.from, this) : undefined,
    });
    if (to != null) tx.to = to;
    if (from != null) {
      if (getAddress(from) !== this.address)
        throw new Error('invalid_argument: transaction from address mismatch');
      tx.from = undefined;
    }
    const unsigned = Transaction.from(tx as TransactionLike<string>);
    unsigned.signature = await this.signDigest(unsigned.unsignedHash);
    return unsigned.serialized;
  }
}

/** The public side of a managed identifier: what may be shown, exported or logged. */
export interface PublicMaterial {
  did: string;
  alias?: string;
  provider: string;
  /** did:ethr identity address (lower-case), when the DID is a did:ethr. */
  address?: string;
  controllerKeyId?: string;
  keys: Array<Pick<IKey, 'kid' | 'type' | 'kms' | 'publicKeyHex'>>;
  services: IService[];
}

/** The public material of managed identifier `did`: DID, address, public keys and services; never key material. */
export async function exportPublicMaterial(agent: IdentityAgent, did: string): Promise<PublicMaterial> {
  const identifier = await agent.didManagerGet({ did });
  const material: PublicMaterial = {
    did: identifier.did,
    provider: identifier.provider,
    keys: identifier.keys.map(({ kid, type, kms, publicKeyHex }) => ({ kid, type, kms, publicKeyHex })),
    services: identifier.services,
  };
  if (identifier.alias !== undefined) material.alias = identifier.alias;
  if (identifier.controllerKeyId !== undefined) material.controllerKeyId = identifier.controllerKeyId;
  if (identifier.did.startsWith('did:ethr:')) material.address = addressOfEthrDid(identifier.did);
  return material;
}
