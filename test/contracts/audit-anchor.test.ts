/**
 * AuditAnchor.sol, role-matrix style: every state-changing call tried as the owner, the anchor key, a
 * former anchor key (after rotation), a former owner and a stranger; sequence numbers that do not grow;
 * and the events and views a verifier relies on.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type BaseContract,
  ContractFactory,
  type ContractRunner,
  type ContractTransactionResponse,
  type InterfaceAbi,
  keccak256,
  toUtf8Bytes,
  type Wallet,
  ZeroAddress,
  ZeroHash,
} from 'ethers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type InProcessChain, loadHardhat, startInProcessChain } from '../helpers/hardhat-network.ts';
import { mined } from './registry-fixture.ts';

const SOURCE = fileURLToPath(new URL('../../contracts/AuditAnchor.sol', import.meta.url));
const ARTIFACT = fileURLToPath(
  new URL('../../artifacts/contracts/AuditAnchor.sol/AuditAnchor.json', import.meta.url),
);

async function artifact(): Promise<{ abi: InterfaceAbi; bytecode: string; deployedBytecode: string }> {
  if (!existsSync(ARTIFACT) || statSync(ARTIFACT).mtimeMs < statSync(SOURCE).mtimeMs) {
    await loadHardhat().run('compile', { quiet: true });
  }
  return JSON.parse(readFileSync(ARTIFACT, 'utf8'));
}

interface Anchor extends BaseContract {
  connect(runner: ContractRunner | null): Anchor;
  owner(): Promise<string>;
  anchorKey(): Promise<string>;
  latest(tenant: string): Promise<[bigint, string]>;
  headAt(tenant: string, seq: number | bigint): Promise<string>;
  anchor(tenant: string, seq: number | bigint, head: string): Promise<ContractTransactionResponse>;
  setAnchorKey(key: string): Promise<ContractTransactionResponse>;
  transferOwnership(owner: string): Promise<ContractTransactionResponse>;
}

const TENANT = keccak256(toUtf8Bytes('tenant-a'));
const OTHER_TENANT = keccak256(toUtf8Bytes('tenant-b'));
const head = (n: number) => keccak256(toUtf8Bytes(`head-${n}`));

interface Roles {
  owner: Wallet;
  anchorKey: Wallet;
  formerAnchorKey: Wallet;
  formerOwner: Wallet;
  stranger: Wallet;
}

describe('AuditAnchor', () => {
  let chain: InProcessChain;
  let factory: ContractFactory;
  let contract: Anchor;
  let r: Roles;

  beforeAll(async () => {
    chain = await startInProcessChain();
    const a = await artifact();
    factory = new ContractFactory(a.abi, a.bytecode);
  });
  afterAll(() => chain?.close());

  /** A fresh contract: `formerOwner` deployed it with `formerAnchorKey`, then handed both on. */
  beforeEach(async () => {
    const [owner, anchorKey, formerAnchorKey, formerOwner, stranger] = await Promise.all(
      Array.from({ length: 5 }, () => chain.fundedWallet()),
    );
    r = {
      owner: owner!,
      anchorKey: anchorKey!,
      formerAnchorKey: formerAnchorKey!,
      formerOwner: formerOwner!,
      stranger: stranger!,
    };
    const deployed = await factory.connect(r.formerOwner).deploy(r.formerAnchorKey.address);
    await deployed.waitForDeployment();
    contract = deployed as unknown as Anchor;
    await mined(contract.connect(r.formerOwner).setAnchorKey(r.anchorKey.address));
    await mined(contract.connect(r.formerOwner).transferOwnership(r.owner.address));
  });

  const as = (w: Wallet) => contract.connect(w);

  describe('anchor(tenant, seq, head)', () => {
    it('accepts the anchor key, records latest and headAt, and emits Anchored', async () => {
      const receipt = await mined(as(r.anchorKey).anchor(TENANT, 100, head(100)));
      const events = receipt.logs.map((l) => contract.interface.parseLog(l)).filter((e) => e !== null);
      expect(events.map((e) => [e.name, e.args[0], Number(e.args[1]), e.args[2]])).toEqual([
        ['Anchored', TENANT, 100, head(100)],
      ]);
      expect(await contract.latest(TENANT)).toEqual([100n, head(100)]);
      expect(await contract.headAt(TENANT, 100)).toBe(head(100));
      expect(await contract.headAt(TENANT, 99)).toBe(ZeroHash);
    });

    for (const role of ['owner', 'formerAnchorKey', 'formerOwner', 'stranger'] as const) {
      it(`refuses ${role}`, async () => {
        await expect(as(r[role]).anchor(TENANT, 1, head(1))).rejects.toThrow(/NotAnchorKey|reverted/);
        expect(await contract.latest(TENANT)).toEqual([0n, ZeroHash]);
      });
    }

    it('refuses a sequence number that does not grow (equal or smaller), keeping the anchored head', async () => {
      await mined(as(r.anchorKey).anchor(TENANT, 200, head(200)));
      for (const seq of [200, 150, 0]) {
        await expect(as(r.anchorKey).anchor(TENANT, seq, head(seq + 1))).rejects.toThrow();
      }
      expect(await contract.latest(TENANT)).toEqual([200n, head(200)]);
      expect(await contract.headAt(TENANT, 150)).toBe(ZeroHash);
    });

    it('keeps tenants apart: each tenant has its own sequence', async () => {
      await mined(as(r.anchorKey).anchor(TENANT, 50, head(50)));
      await mined(as(r.anchorKey).anchor(OTHER_TENANT, 10, head(10)));
      expect(await contract.latest(OTHER_TENANT)).toEqual([10n, head(10)]);
      expect(await contract.latest(TENANT)).toEqual([50n, head(50)]);
    });

    it('refuses a zero head', async () => {
      await expect(as(r.anchorKey).anchor(TENANT, 1, ZeroHash)).rejects.toThrow();
    });
  });

  describe('setAnchorKey(key)', () => {
    for (const role of ['anchorKey', 'formerOwner', 'stranger'] as const) {
      it(`refuses ${role}`, async () => {
        await expect(as(r[role]).setAnchorKey(r[role].address)).rejects.toThrow();
        expect(await contract.anchorKey()).toBe(r.anchorKey.address);
      });
    }

    it('lets the owner rotate the key: the new key anchors, the old one is refused', async () => {
      const receipt = await mined(as(r.owner).setAnchorKey(r.stranger.address));
      const event = contract.interface.parseLog(receipt.logs[0]!);
      expect([event?.name, event?.args[0], event?.args[1]]).toEqual([
        'AnchorKeyChanged',
        r.anchorKey.address,
        r.stranger.address,
      ]);
      await expect(as(r.anchorKey).anchor(TENANT, 1, head(1))).rejects.toThrow();
      await mined(as(r.stranger).anchor(TENANT, 1, head(1)));
      expect(await contract.latest(TENANT)).toEqual([1n, head(1)]);
    });

    it('refuses the zero address', async () => {
      await expect(as(r.owner).setAnchorKey(ZeroAddress)).rejects.toThrow();
    });
  });

  describe('transferOwnership(owner)', () => {
    for (const role of ['anchorKey', 'formerOwner', 'stranger'] as const) {
      it(`refuses ${role}`, async () => {
        await expect(as(r[role]).transferOwnership(r[role].address)).rejects.toThrow();
        expect(await contract.owner()).toBe(r.owner.address);
      });
    }

    it('lets the owner hand over ownership, after which only the new owner rotates the key', async () => {
      await mined(as(r.owner).transferOwnership(r.stranger.address));
      await expect(as(r.owner).setAnchorKey(r.owner.address)).rejects.toThrow();
      await mined(as(r.stranger).setAnchorKey(r.stranger.address));
      expect(await contract.anchorKey()).toBe(r.stranger.address);
    });
  });

  it('refuses to deploy with a zero anchor key', async () => {
    await expect(factory.connect(r.owner).deploy(ZeroAddress)).rejects.toThrow();
  });
});
