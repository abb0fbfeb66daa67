/**
 * The embedded chain's journal: every mined block's signed transactions and timestamp, kept in the
 * database, so a fresh in-memory chain can be rebuilt block for block at start.
 */
import type { Store } from '../store/index.ts';

export interface JournaledBlock {
  number: bigint;
  hash: string;
  timestamp: bigint;
  /** Signed raw transactions, in block order (0x-prefixed hex). */
  transactions: Array<{ hash: string; raw: string }>;
}

export interface ChainMeta {
  chainId: number;
  genesisTimestamp: bigint;
  genesisHash: string;
  registryAddress: string | null;
}

const META_ID = 1;

export class ChainJournal {
  constructor(private readonly store: Store) {}

  async meta(): Promise<ChainMeta | null> {
    return this.store.db.embeddedChain.findUnique({ where: { id: META_ID } });
  }

  async createMeta(meta: Omit<ChainMeta, 'registryAddress'>): Promise<ChainMeta> {
    return this.store.db.embeddedChain.create({ data: { id: META_ID, ...meta, registryAddress: null } });
  }

  async setRegistryAddress(address: string): Promise<void> {
    await this.store.db.embeddedChain.update({ where: { id: META_ID }, data: { registryAddress: address } });
  }

  /** The highest journaled block number, or 0n (genesis) if none. */
  async head(): Promise<bigint> {
    const last = await this.store.db.chainBlock.findFirst({
      orderBy: { number: 'desc' },
      select: { number: true },
    });
    return last?.number ?? 0n;
  }

  /** Appends one block with its transactions, atomically. */
  async append(block: JournaledBlock): Promise<void> {
    await this.store.db.chainBlock.create({
      data: {
        number: block.number,
        hash: block.hash,
        timestamp: block.timestamp,
        transactions: {
          create: block.transactions.map((tx, index) => ({
            index,
            hash: tx.hash,
            raw: Buffer.from(tx.raw.slice(2), 'hex'),
          })),
        },
      },
    });
  }

  /** Streams journaled blocks in order, a page at a time. */
  async *blocks(pageSize = 500): AsyncGenerator<JournaledBlock> {
    let after = -1n;
    for (;;) {
      const page = await this.store.db.chainBlock.findMany({
        where: { number: { gt: after } },
        orderBy: { number: 'asc' },
        take: pageSize,
        include: { transactions: { orderBy: { index: 'asc' } } },
      });
      for (const row of page) {
        yield {
          number: row.number,
          hash: row.hash,
          timestamp: row.timestamp,
          transactions: row.transactions.map((t) => ({
            hash: t.hash,
            raw: `0x${Buffer.from(t.raw).toString('hex')}`,
          })),
        };
      }
      if (page.length < pageSize) return;
      after = page[page.length - 1]!.number;
    }
  }

  /** Number of journaled blocks. */
  async count(): Promise<number> {
    return this.store.db.chainBlock.count();
  }
}
