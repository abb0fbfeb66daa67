import {
  type ContractTransactionResponse,
  keccak256,
  type Overrides,
  type Wallet,
  ZeroAddress,
  ZeroHash,
} from 'ethers';
import { EthereumDIDRegistry as CanonicalRegistry, EthrDidController } from 'ethr-did-resolver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HARDHAT_CHAIN_ID, type InProcessChain, startInProcessChain } from '../helpers/hardhat-network.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';
import {
  bytes32,
  type DidRegistry,
  deployRegistry,
  mined,
  registryArtifact,
  registryEvents,
  signAction,
  signedAction,
} from './registry-fixture.ts';

const VERI_KEY = bytes32('veriKey');
const SIG_AUTH = bytes32('sigAuth');
const PUB_KEY_ATTR = 'did/pub/Secp256k1/veriKey/hex';
const DAY = 86_400;

/** One identity whose key handed control to `owner`, with one `veriKey` delegate, plus an outsider. */
interface Fixture {
  identity: string;
  owner: Wallet;
  /** The identity's own key, which owned it until it called changeOwner. */
  formerOwner: Wallet;
  delegate: Wallet;
  stranger: Wallet;
}

type Role = Exclude<keyof Fixture, 'identity'>;
const REJECTED_ROLES: ReadonlyArray<{ role: Role; label: string }> = [
  { role: 'formerOwner', label: 'a former owner' },
  { role: 'delegate', label: 'a delegate' },
  { role: 'stranger', label: 'a stranger' },
];

describe('EthereumDIDRegistry', () => {
  let chain: InProcessChain;
  let registry: DidRegistry;
  let registryAddress: string;

  beforeAll(async () => {
    chain = await startInProcessChain();
    registry = await deployRegistry(chain.signers[0]!);
    registryAddress = await registry.getAddress();
  });

  afterAll(() => chain?.close());

  const as = (wallet: Wallet): DidRegistry => registry.connect(wallet);

  async function setup(): Promise<Fixture> {
    const [formerOwner, owner, delegate, stranger] = await Promise.all([
      chain.fundedWallet(),
      chain.fundedWallet(),
      chain.fundedWallet(),
      chain.fundedWallet(),
    ]);
    const identity = formerOwner.address;
    await mined(as(formerOwner).changeOwner(identity, owner.address));
    await mined(as(owner).addDelegate(identity, VERI_KEY, delegate.address, DAY));
    return { identity, owner, formerOwner, delegate, stranger };
  }

  describe('interface', () => {
    it('exposes exactly the ABI of the canonical registry bundled with ethr-did-resolver', async () => {
      const { abi } = await registryArtifact();
      const canonical = (entries: readonly unknown[]) => entries.map((entry) => JSON.stringify(entry)).sort();
      expect(canonical(abi as unknown[])).toEqual(canonical(CanonicalRegistry.abi));
    });

    it('reports an identity that never changed owner as owned by itself', async () => {
      const fresh = await chain.fundedWallet();
      expect(await registry.owners(fresh.address)).toBe(ZeroAddress);
      expect(await registry.identityOwner(fresh.address)).toBe(fresh.address);
      expect(await registry.changed(fresh.address)).toBe(0n);
    });

    it('keys the delegates mapping by keccak256 of the delegate type and stores the expiry time', async () => {
      const fx = await setup();
      const receipt = await mined(as(fx.owner).addDelegate(fx.identity, SIG_AUTH, fx.delegate.address, 600));
      const block = await chain.ethers.getBlock(receipt.blockNumber);
      expect(await registry.delegates(fx.identity, keccak256(SIG_AUTH), fx.delegate.address)).toBe(
        BigInt(block!.timestamp + 600),
      );
      expect(await registry.delegates(fx.identity, SIG_AUTH, fx.delegate.address)).toBe(0n);
    });
  });

  describe('role matrix: direct calls', () => {
    const calls: ReadonlyArray<{
      name: string;
      send(contract: DidRegistry, fx: Fixture): Promise<ContractTransactionResponse>;
      applied(fx: Fixture): Promise<void>;
    }> = [
      {
        name: 'changeOwner',
        send: (c, fx) => c.changeOwner(fx.identity, fx.stranger.address),
        applied: async (fx) => expect(await registry.identityOwner(fx.identity)).toBe(fx.stranger.address),
      },
      {
        name: 'addDelegate',
        send: (c, fx) => c.addDelegate(fx.identity, SIG_AUTH, fx.stranger.address, DAY),
        applied: async (fx) =>
          expect(await registry.validDelegate(fx.identity, SIG_AUTH, fx.stranger.address)).toBe(true),
      },
      {
        name: 'revokeDelegate',
        send: (c, fx) => c.revokeDelegate(fx.identity, VERI_KEY, fx.delegate.address),
        applied: async (fx) =>
          expect(await registry.validDelegate(fx.identity, VERI_KEY, fx.delegate.address)).toBe(false),
      },
      {
        name: 'setAttribute',
        send: (c, fx) =>
          c.setAttribute(fx.identity, bytes32(PUB_KEY_ATTR), fx.stranger.signingKey.publicKey, DAY),
        applied: async () => {},
      },
      {
        name: 'revokeAttribute',
        send: (c, fx) =>
          c.revokeAttribute(fx.identity, bytes32(PUB_KEY_ATTR), fx.stranger.signingKey.publicKey),
        applied: async () => {},
      },
    ];

    for (const call of calls) {
      describe(call.name, () => {
        it(`accepts ${call.name} from the owner, records the block and emits one event`, async () => {
          const fx = await setup();
          const receipt = await mined(call.send(as(fx.owner), fx));
          await call.applied(fx);
          expect(await registry.changed(fx.identity)).toBe(BigInt(receipt.blockNumber));
          const events = registryEvents(registry, receipt);
          expect(events).toHaveLength(1);
          expect(events[0]!.args.identity).toBe(fx.identity);
        });

        for (const { role, label } of REJECTED_ROLES) {
          it(`rejects ${call.name} from ${label}`, async () => {
            const fx = await setup();
            const changedBefore = await registry.changed(fx.identity);
            await expect(call.send(as(fx[role]), fx)).rejects.toThrow('bad_actor');
            expect(await registry.changed(fx.identity)).toBe(changedBefore);
            expect(await registry.identityOwner(fx.identity)).toBe(fx.owner.address);
          });
        }
      });
    }
  });

  describe('role matrix: signed calls (meta-transactions relayed by a stranger)', () => {
    const calls: ReadonlyArray<{
      name: string;
      action(fx: Fixture): string;
      submit(
        contract: DidRegistry,
        fx: Fixture,
        sig: [number, string, string],
      ): Promise<ContractTransactionResponse>;
      applied(fx: Fixture): Promise<void>;
    }> = [
      {
        name: 'changeOwnerSigned',
        action: (fx) => signedAction.changeOwner(fx.stranger.address),
        submit: (c, fx, sig) => c.changeOwnerSigned(fx.identity, ...sig, fx.stranger.address),
        applied: async (fx) => expect(await registry.identityOwner(fx.identity)).toBe(fx.stranger.address),
      },
      {
        name: 'addDelegateSigned',
        action: (fx) => signedAction.addDelegate(SIG_AUTH, fx.stranger.address, DAY),
        submit: (c, fx, sig) => c.addDelegateSigned(fx.identity, ...sig, SIG_AUTH, fx.stranger.address, DAY),
        applied: async (fx) =>
          expect(await registry.validDelegate(fx.identity, SIG_AUTH, fx.stranger.address)).toBe(true),
      },
      {
        name: 'revokeDelegateSigned',
        action: (fx) => signedAction.revokeDelegate(VERI_KEY, fx.delegate.address),
        submit: (c, fx, sig) => c.revokeDelegateSigned(fx.identity, ...sig, VERI_KEY, fx.delegate.address),
        applied: async (fx) =>
          expect(await registry.validDelegate(fx.identity, VERI_KEY, fx.delegate.address)).toBe(false),
      },
      {
        name: 'setAttributeSigned',
        action: (fx) =>
          signedAction.setAttribute(bytes32(PUB_KEY_ATTR), fx.stranger.signingKey.publicKey, DAY),
        submit: (c, fx, sig) =>
          c.setAttributeSigned(
            fx.identity,
            ...sig,
            bytes32(PUB_KEY_ATTR),
            fx.stranger.signingKey.publicKey,
            DAY,
          ),
        applied: async () => {},
      },
      {
        name: 'revokeAttributeSigned',
        action: (fx) => signedAction.revokeAttribute(bytes32(PUB_KEY_ATTR), fx.stranger.signingKey.publicKey),
        submit: (c, fx, sig) =>
          c.revokeAttributeSigned(
            fx.identity,
            ...sig,
            bytes32(PUB_KEY_ATTR),
            fx.stranger.signingKey.publicKey,
          ),
        applied: async () => {},
      },
    ];

    for (const call of calls) {
      describe(call.name, () => {
        const sign = async (fx: Fixture, signer: Wallet, nonceOffset = 0n) =>
          signAction(
            signer,
            registryAddress,
            (await registry.nonce(fx.owner.address)) + nonceOffset,
            fx.identity,
            call.action(fx),
          );

        /** Submits and expects rejection, with neither the owner's nonce nor the change log touched. */
        async function expectRejected(fx: Fixture, sig: [number, string, string]): Promise<void> {
          const nonceBefore = await registry.nonce(fx.owner.address);
          const changedBefore = await registry.changed(fx.identity);
          await expect(call.submit(as(fx.stranger), fx, sig)).rejects.toThrow('bad_signature');
          expect(await registry.nonce(fx.owner.address)).toBe(nonceBefore);
          expect(await registry.changed(fx.identity)).toBe(changedBefore);
        }

        it(`accepts ${call.name} signed by the owner and consumes the owner's nonce`, async () => {
          const fx = await setup();
          const nonceBefore = await registry.nonce(fx.owner.address);
          const receipt = await mined(call.submit(as(fx.stranger), fx, await sign(fx, fx.owner)));
          await call.applied(fx);
          expect(await registry.nonce(fx.owner.address)).toBe(nonceBefore + 1n);
          expect(await registry.nonce(fx.identity)).toBe(0n);
          expect(await registry.changed(fx.identity)).toBe(BigInt(receipt.blockNumber));
        });

        for (const { role, label } of REJECTED_ROLES) {
          it(`rejects ${call.name} signed by ${label}`, async () => {
            const fx = await setup();
            await expectRejected(fx, await sign(fx, fx[role]));
          });
        }

        it(`rejects ${call.name} signed over a wrong nonce`, async () => {
          const fx = await setup();
          await expectRejected(fx, await sign(fx, fx.owner, 1n));
        });

        it(`rejects a replayed ${call.name} signature once its nonce is consumed`, async () => {
          const fx = await setup();
          const sig = await sign(fx, fx.owner);
          await mined(call.submit(as(fx.stranger), fx, sig));
          // After changeOwnerSigned the stranger owns the identity; the replay must still fail.
          const changedBefore = await registry.changed(fx.identity);
          await expect(call.submit(as(fx.stranger), fx, sig)).rejects.toThrow('bad_signature');
          expect(await registry.changed(fx.identity)).toBe(changedBefore);
        });
      });
    }
  });

  describe('signature binding', () => {
    it('rejects a signature whose ecrecover yields address(0), even for the zero-address identity', async () => {
      const attacker = await chain.fundedWallet();
      expect(await registry.identityOwner(ZeroAddress)).toBe(ZeroAddress);
      // v = 0 is not a valid recovery id: the precompile returns nothing and ecrecover gives address(0).
      await expect(
        as(attacker).changeOwnerSigned(ZeroAddress, 0, ZeroHash, ZeroHash, attacker.address),
      ).rejects.toThrow('bad_signature');
      await expect(
        as(attacker).addDelegateSigned(ZeroAddress, 29, ZeroHash, ZeroHash, VERI_KEY, attacker.address, DAY),
      ).rejects.toThrow('bad_signature');
      expect(await registry.identityOwner(ZeroAddress)).toBe(ZeroAddress);
      expect(await registry.nonce(ZeroAddress)).toBe(0n);
    });

    it('rejects a signature made for another registry deployment', async () => {
      const fx = await setup();
      const other = await deployRegistry(chain.signers[0]!);
      const sig = signAction(
        fx.owner,
        await other.getAddress(),
        await registry.nonce(fx.owner.address),
        fx.identity,
        signedAction.changeOwner(fx.stranger.address),
      );
      await expect(
        as(fx.stranger).changeOwnerSigned(fx.identity, ...sig, fx.stranger.address),
      ).rejects.toThrow('bad_signature');
    });

    it('rejects a signature made for another identity of the same owner', async () => {
      const fx = await setup();
      const second = await chain.fundedWallet();
      await mined(as(second).changeOwner(second.address, fx.owner.address));
      const sig = signAction(
        fx.owner,
        registryAddress,
        await registry.nonce(fx.owner.address),
        second.address,
        signedAction.changeOwner(fx.stranger.address),
      );
      await expect(
        as(fx.stranger).changeOwnerSigned(fx.identity, ...sig, fx.stranger.address),
      ).rejects.toThrow('bad_signature');
      await mined(as(fx.stranger).changeOwnerSigned(second.address, ...sig, fx.stranger.address));
    });

    it('rejects a signature whose arguments were altered by the relayer', async () => {
      const fx = await setup();
      const sig = signAction(
        fx.owner,
        registryAddress,
        await registry.nonce(fx.owner.address),
        fx.identity,
        signedAction.addDelegate(SIG_AUTH, fx.delegate.address, 60),
      );
      const relay = as(fx.stranger);
      await expect(
        relay.addDelegateSigned(fx.identity, ...sig, SIG_AUTH, fx.stranger.address, 60),
      ).rejects.toThrow('bad_signature');
      await expect(
        relay.addDelegateSigned(fx.identity, ...sig, SIG_AUTH, fx.delegate.address, DAY),
      ).rejects.toThrow('bad_signature');
      await expect(
        relay.addDelegateSigned(fx.identity, ...sig, VERI_KEY, fx.delegate.address, 60),
      ).rejects.toThrow('bad_signature');
      await mined(relay.addDelegateSigned(fx.identity, ...sig, SIG_AUTH, fx.delegate.address, 60));
    });

    it("voids an owner's unused signatures once ownership moves on", async () => {
      const fx = await setup();
      const pending = signAction(
        fx.owner,
        registryAddress,
        await registry.nonce(fx.owner.address),
        fx.identity,
        signedAction.addDelegate(SIG_AUTH, fx.stranger.address, DAY),
      );
      const next = await chain.fundedWallet();
      await mined(as(fx.owner).changeOwner(fx.identity, next.address));
      await expect(
        as(fx.stranger).addDelegateSigned(fx.identity, ...pending, SIG_AUTH, fx.stranger.address, DAY),
      ).rejects.toThrow('bad_signature');
    });
  });

  describe('nonce', () => {
    it('increments one counter per owner, shared by all identities that owner controls', async () => {
      const fx = await setup();
      const second = await chain.fundedWallet();
      await mined(as(second).changeOwner(second.address, fx.owner.address));
      const relay = as(fx.stranger);
      const nameA = bytes32('did/svc/A');

      for (const [index, identity] of [fx.identity, second.address, fx.identity].entries()) {
        expect(await registry.nonce(fx.owner.address)).toBe(BigInt(index));
        const sig = signAction(
          fx.owner,
          registryAddress,
          BigInt(index),
          identity,
          signedAction.setAttribute(nameA, '0x01', DAY),
        );
        await mined(relay.setAttributeSigned(identity, ...sig, nameA, '0x01', DAY));
      }
      expect(await registry.nonce(fx.owner.address)).toBe(3n);
      expect(await registry.nonce(fx.identity)).toBe(0n);
      expect(await registry.nonce(second.address)).toBe(0n);
    });

    it("signs with the new owner's own counter after a signed transfer", async () => {
      const fx = await setup();
      const next = await chain.fundedWallet();
      const relay = as(fx.stranger);
      const transfer = signAction(
        fx.owner,
        registryAddress,
        0n,
        fx.identity,
        signedAction.changeOwner(next.address),
      );
      await mined(relay.changeOwnerSigned(fx.identity, ...transfer, next.address));
      expect(await registry.nonce(fx.owner.address)).toBe(1n);
      expect(await registry.nonce(next.address)).toBe(0n);

      const action = signedAction.revokeDelegate(VERI_KEY, fx.delegate.address);
      const stale = signAction(next, registryAddress, 1n, fx.identity, action);
      await expect(
        relay.revokeDelegateSigned(fx.identity, ...stale, VERI_KEY, fx.delegate.address),
      ).rejects.toThrow('bad_signature');
      const fresh = signAction(next, registryAddress, 0n, fx.identity, action);
      await mined(relay.revokeDelegateSigned(fx.identity, ...fresh, VERI_KEY, fx.delegate.address));
      expect(await registry.nonce(next.address)).toBe(1n);
    });

    it('leaves nonces untouched on direct (unsigned) calls', async () => {
      const fx = await setup();
      await mined(as(fx.owner).setAttribute(fx.identity, bytes32('did/svc/B'), '0x02', DAY));
      expect(await registry.nonce(fx.owner.address)).toBe(0n);
    });
  });

  describe('delegate validity', () => {
    it('treats a delegate as valid until its validity elapses, then as expired', async () => {
      const fx = await setup();
      await mined(as(fx.owner).addDelegate(fx.identity, SIG_AUTH, fx.stranger.address, 100));
      expect(await registry.validDelegate(fx.identity, SIG_AUTH, fx.stranger.address)).toBe(true);
      await chain.increaseTime(50);
      expect(await registry.validDelegate(fx.identity, SIG_AUTH, fx.stranger.address)).toBe(true);
      await chain.increaseTime(60);
      expect(await registry.validDelegate(fx.identity, SIG_AUTH, fx.stranger.address)).toBe(false);
      // The longer-lived veriKey delegate from the fixture is unaffected.
      expect(await registry.validDelegate(fx.identity, VERI_KEY, fx.delegate.address)).toBe(true);
    });

    it('never treats a delegate added with zero validity as valid', async () => {
      const fx = await setup();
      await mined(as(fx.owner).addDelegate(fx.identity, SIG_AUTH, fx.stranger.address, 0));
      expect(await registry.validDelegate(fx.identity, SIG_AUTH, fx.stranger.address)).toBe(false);
    });

    it('scopes a delegation to its delegate type and its identity', async () => {
      const fx = await setup();
      const other = await chain.fundedWallet();
      expect(await registry.validDelegate(fx.identity, VERI_KEY, fx.delegate.address)).toBe(true);
      expect(await registry.validDelegate(fx.identity, SIG_AUTH, fx.delegate.address)).toBe(false);
      expect(await registry.validDelegate(other.address, VERI_KEY, fx.delegate.address)).toBe(false);
    });

    it('invalidates a delegate as soon as it is revoked, and allows adding it again', async () => {
      const fx = await setup();
      await mined(as(fx.owner).revokeDelegate(fx.identity, VERI_KEY, fx.delegate.address));
      expect(await registry.validDelegate(fx.identity, VERI_KEY, fx.delegate.address)).toBe(false);
      await mined(as(fx.owner).addDelegate(fx.identity, VERI_KEY, fx.delegate.address, DAY));
      expect(await registry.validDelegate(fx.identity, VERI_KEY, fx.delegate.address)).toBe(true);
    });

    it('keeps delegations made by a former owner after a change of owner', async () => {
      // ERC-1056 semantics: delegations belong to the identity, not to the owner who made them.
      const fx = await setup();
      await mined(as(fx.owner).changeOwner(fx.identity, fx.stranger.address));
      expect(await registry.validDelegate(fx.identity, VERI_KEY, fx.delegate.address)).toBe(true);
    });
  });

  describe('change log', () => {
    it('emits events with the canonical fields and validTo values', async () => {
      const fx = await setup();
      const name = bytes32(PUB_KEY_ATTR);
      const value = fx.stranger.signingKey.compressedPublicKey;
      const o = as(fx.owner);
      const stamp = async (receipt: { blockNumber: number }) =>
        BigInt((await chain.ethers.getBlock(receipt.blockNumber))!.timestamp);

      const add = await mined(o.addDelegate(fx.identity, SIG_AUTH, fx.stranger.address, 500));
      const revoke = await mined(o.revokeDelegate(fx.identity, SIG_AUTH, fx.stranger.address));
      const set = await mined(o.setAttribute(fx.identity, name, value, 700));
      const unset = await mined(o.revokeAttribute(fx.identity, name, value));
      const transfer = await mined(o.changeOwner(fx.identity, fx.stranger.address));

      const only = (receipt: Parameters<typeof registryEvents>[1]) => {
        const [event, ...rest] = registryEvents(registry, receipt);
        expect(rest).toHaveLength(0);
        return event!;
      };
      expect(only(add).name).toBe('DIDDelegateChanged');
      expect(only(add).args.toObject()).toMatchObject({
        identity: fx.identity,
        delegateType: SIG_AUTH,
        delegate: fx.stranger.address,
        validTo: (await stamp(add)) + 500n,
      });
      expect(only(revoke).args.validTo).toBe(await stamp(revoke));
      expect(only(set).name).toBe('DIDAttributeChanged');
      expect(only(set).args.toObject()).toMatchObject({
        identity: fx.identity,
        name,
        value,
        validTo: (await stamp(set)) + 700n,
      });
      expect(only(unset).args.toObject()).toMatchObject({ name, value, validTo: 0n });
      expect(only(transfer).name).toBe('DIDOwnerChanged');
      expect(only(transfer).args.toObject()).toMatchObject({
        identity: fx.identity,
        owner: fx.stranger.address,
      });
    });

    it('links each change to the block of the previous one through previousChange', async () => {
      const fresh = await chain.fundedWallet();
      const o = as(fresh);
      const receipts = [
        await mined(o.setAttribute(fresh.address, bytes32('did/svc/A'), '0x01', DAY)),
        await mined(o.addDelegate(fresh.address, VERI_KEY, chain.signers[1]!.address, DAY)),
        await mined(o.changeOwner(fresh.address, fresh.address)),
      ];
      const previous = receipts.map((receipt) => registryEvents(registry, receipt)[0]!.args.previousChange);
      expect(previous).toEqual([0n, BigInt(receipts[0]!.blockNumber), BigInt(receipts[1]!.blockNumber)]);
      expect(await registry.changed(fresh.address)).toBe(BigInt(receipts[2]!.blockNumber));
    });

    it('chains two changes mined in the same block with previousChange pointing at that block', async () => {
      const fresh = await chain.fundedWallet();
      const o = as(fresh);
      await mined(o.setAttribute(fresh.address, bytes32('did/svc/A'), '0x01', DAY));
      const first = await registry.changed(fresh.address);
      const nonce = await chain.ethers.getTransactionCount(fresh.address);
      const overrides = (offset: number): Overrides => ({ nonce: nonce + offset, gasLimit: 200_000 });

      await chain.provider.request({ method: 'evm_setAutomine', params: [false] });
      let txs: ContractTransactionResponse[];
      try {
        txs = [
          await o.setAttribute(fresh.address, bytes32('did/svc/B'), '0x02', DAY, overrides(0)),
          await o.setAttribute(fresh.address, bytes32('did/svc/C'), '0x03', DAY, overrides(1)),
        ];
        await chain.provider.request({ method: 'evm_mine', params: [] });
      } finally {
        await chain.provider.request({ method: 'evm_setAutomine', params: [true] });
      }
      const [b, c] = await Promise.all(txs.map((tx) => tx.wait()));
      expect(b!.blockNumber).toBe(c!.blockNumber);
      expect(registryEvents(registry, b!)[0]!.args.previousChange).toBe(first);
      expect(registryEvents(registry, c!)[0]!.args.previousChange).toBe(BigInt(b!.blockNumber));
      expect(await registry.changed(fresh.address)).toBe(BigInt(b!.blockNumber));
    });

    it('keeps a separate change chain per identity', async () => {
      const [a, b] = await Promise.all([chain.fundedWallet(), chain.fundedWallet()]);
      const first = await mined(as(a).setAttribute(a.address, bytes32('did/svc/A'), '0x01', DAY));
      const other = await mined(as(b).setAttribute(b.address, bytes32('did/svc/A'), '0x01', DAY));
      expect(registryEvents(registry, other)[0]!.args.previousChange).toBe(0n);
      expect(await registry.changed(a.address)).toBe(BigInt(first.blockNumber));
    });
  });
});

// ethr-did-resolver's declarations refer to ethers' CommonJS types; ours are the ESM ones. Same runtime
// objects, nominally different types (private fields), hence these casts at the library boundary.
type CjsSigner = NonNullable<ConstructorParameters<typeof EthrDidController>[2]>;
type CjsProvider = NonNullable<ConstructorParameters<typeof EthrDidController>[4]>;

describe('EthereumDIDRegistry with stock ethr-did-resolver', () => {
  // A chain of its own: the resolver compares validTo with its wall clock, so this suite must not share a
  // chain whose clock another suite moved forward with evm_increaseTime.
  let chain: InProcessChain;
  let registry: DidRegistry;
  let registryAddress: string;

  beforeAll(async () => {
    chain = await startInProcessChain();
    registry = await deployRegistry(chain.signers[0]!);
    registryAddress = await registry.getAddress();
  });

  afterAll(() => chain?.close());

  const resolver = () => stockEthrResolver(chain.ethers, registryAddress, { name: 'hardhat' });

  /** ethr-did's controller for `identity`, sending its transactions from `sender`. */
  const controller = (identity: string, sender: Wallet) =>
    new EthrDidController(
      identity,
      undefined,
      sender as unknown as CjsSigner,
      'hardhat',
      chain.ethers as unknown as CjsProvider,
      undefined,
      registryAddress,
      false,
    );

  const metaSignature = (key: Wallet, hash: string) => {
    const { v, r, s } = key.signingKey.sign(hash);
    return { sigV: v, sigR: r, sigS: s };
  };

  const account = (address: string) => `eip155:${HARDHAT_CHAIN_ID}:${address}`;

  /** The resolver treats validTo >= its wall-clock second as valid: let the clock pass a revoking block. */
  async function waitForWallClockPast(blockNumber: number): Promise<void> {
    const { timestamp } = (await chain.ethers.getBlock(blockNumber))!;
    while (Math.floor(Date.now() / 1000) <= timestamp)
      await new Promise((resolve) => setTimeout(resolve, 25));
  }

  it('resolves a DID document reflecting owner, delegates and key attributes set through EthrDidController', async () => {
    const [identity, kept, revoked, next] = await Promise.all([
      chain.fundedWallet(),
      chain.fundedWallet(),
      chain.fundedWallet(),
      chain.fundedWallet(),
    ]);
    const publicKey = (await chain.fundedWallet()).signingKey.compressedPublicKey;
    const did = `did:ethr:hardhat:${identity.address}`;
    const c = controller(identity.address, identity);

    await c.addDelegate('veriKey', kept.address, DAY);
    await c.addDelegate('sigAuth', revoked.address, DAY);
    await c.setAttribute(PUB_KEY_ATTR, publicKey, DAY);
    const revocation = await c.revokeDelegate('sigAuth', revoked.address);
    const transfer = await c.changeOwner(next.address);
    await waitForWallClockPast(revocation.blockNumber);

    const { didDocument, didDocumentMetadata, didResolutionMetadata } = await resolver().resolve(did);
    expect(didResolutionMetadata.error).toBeUndefined();
    expect(didDocumentMetadata.versionId).toBe(String(transfer.blockNumber));
    expect(didDocument?.id).toBe(did);
    const methods = didDocument?.verificationMethod ?? [];
    expect(methods).toContainEqual({
      id: `${did}#controller`,
      type: 'EcdsaSecp256k1RecoveryMethod2020',
      controller: did,
      blockchainAccountId: account(next.address),
    });
    expect(methods).toContainEqual(
      expect.objectContaining({
        type: 'EcdsaSecp256k1RecoveryMethod2020',
        blockchainAccountId: account(kept.address),
      }),
    );
    const key = methods.find((method) => method.publicKeyHex === publicKey.slice(2));
    expect(key?.type).toBe('EcdsaSecp256k1VerificationKey2019');
    expect(didDocument?.assertionMethod).toContain(key?.id);
    expect(methods.map((method) => method.blockchainAccountId)).not.toContain(account(revoked.address));
    expect(methods.map((method) => method.blockchainAccountId)).not.toContain(account(identity.address));
    expect(methods).toHaveLength(3);

    // The chain-id form of the DID names the same identity.
    const byChainId = await resolver().resolve(`did:ethr:0x7a69:${identity.address}`);
    expect(byChainId.didDocument?.verificationMethod?.map((method) => method.blockchainAccountId)).toEqual(
      methods.map((method) => method.blockchainAccountId),
    );
  });

  it("accepts meta-transactions whose hashes ethr-did's controller computes (legacyNonce: false)", async () => {
    const [identity, next, delegate, relayer] = await Promise.all([
      chain.fundedWallet(),
      chain.fundedWallet(),
      chain.fundedWallet(),
      chain.fundedWallet(),
    ]);
    const publicKey = delegate.signingKey.publicKey;
    const c = controller(identity.address, relayer);

    await c.addDelegateSigned(
      'veriKey',
      delegate.address,
      DAY,
      metaSignature(identity, await c.createAddDelegateHash('veriKey', delegate.address, DAY)),
    );
    expect(await registry.validDelegate(identity.address, VERI_KEY, delegate.address)).toBe(true);
    await c.setAttributeSigned(
      PUB_KEY_ATTR,
      publicKey,
      DAY,
      metaSignature(identity, await c.createSetAttributeHash(PUB_KEY_ATTR, publicKey, DAY)),
    );
    await c.changeOwnerSigned(
      next.address,
      metaSignature(identity, await c.createChangeOwnerHash(next.address)),
    );
    expect(await registry.identityOwner(identity.address)).toBe(next.address);

    await c.revokeDelegateSigned(
      'veriKey',
      delegate.address,
      metaSignature(next, await c.createRevokeDelegateHash('veriKey', delegate.address)),
    );
    const last = await c.revokeAttributeSigned(
      PUB_KEY_ATTR,
      publicKey,
      metaSignature(next, await c.createRevokeAttributeHash(PUB_KEY_ATTR, publicKey)),
    );
    expect(await registry.validDelegate(identity.address, VERI_KEY, delegate.address)).toBe(false);
    expect(await registry.nonce(identity.address)).toBe(3n);
    expect(await registry.nonce(next.address)).toBe(2n);
    expect(await registry.nonce(relayer.address)).toBe(0n);
    await waitForWallClockPast(last.blockNumber);

    const did = `did:ethr:hardhat:${identity.address}`;
    const { didDocument } = await resolver().resolve(did);
    expect(didDocument?.verificationMethod).toEqual([
      {
        id: `${did}#controller`,
        type: 'EcdsaSecp256k1RecoveryMethod2020',
        controller: did,
        blockchainAccountId: account(next.address),
      },
    ]);
  });

  it('resolves an identity whose owner was set to address(0) as deactivated, whatever follows', async () => {
    const identity = await chain.fundedWallet();
    const did = `did:ethr:hardhat:${identity.address}`;
    await mined(registry.connect(identity).changeOwner(identity.address, ZeroAddress));
    // Canonical ERC-1056 quirk, kept for compatibility: with owners[identity] == 0 the identity's own key
    // controls it again on-chain. The resolver stops at the null owner, so the DID stays deactivated.
    await mined(registry.connect(identity).addDelegate(identity.address, VERI_KEY, identity.address, DAY));

    const { didDocument, didDocumentMetadata } = await resolver().resolve(did);
    expect(didDocumentMetadata.deactivated).toBe(true);
    expect(didDocument?.verificationMethod).toEqual([]);
  });
});
