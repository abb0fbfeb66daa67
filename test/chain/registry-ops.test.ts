/**
 * Registry operations: payload validation, calldata, and the canonical meta-transaction digest, checked
 * against the independent construction in the contract tests' fixture (same layout the contract verifies).
 */
import { Wallet, ZeroAddress } from 'ethers';
import { describe, expect, it } from 'vitest';
import {
  type DirectOp,
  deactivateOp,
  encodeRegistryCall,
  parseRegistryOp,
  registryInterface,
  signedMessageHash,
  signRegistryOp,
  unsignedOf,
} from '../../src/chain/registry-ops.ts';
import { TrustgateError } from '../../src/errors.ts';
import { bytes32, signAction, signedAction } from '../contracts/registry-fixture.ts';

/** A random key as a plain Wallet (createRandom gives an HD wallet). */
const randomWallet = () => new Wallet(Wallet.createRandom().privateKey);
const registry = Wallet.createRandom().address;
const identity = Wallet.createRandom().address;
const other = Wallet.createRandom().address;
const nonce = 7n;

const ops: DirectOp[] = [
  { kind: 'changeOwner', payload: { identity, newOwner: other } },
  { kind: 'addDelegate', payload: { identity, delegateType: 'sigAuth', delegate: other, validity: 3600 } },
  { kind: 'revokeDelegate', payload: { identity, delegateType: 'veriKey', delegate: other } },
  {
    kind: 'setAttribute',
    payload: {
      identity,
      name: 'did/pub/Secp256k1/veriKey/hex',
      value: `0x${'02'.repeat(33)}`,
      validity: 86_400,
    },
  },
  { kind: 'revokeAttribute', payload: { identity, name: 'did/svc/HubService', value: '0x68747470733a2f2f' } },
];

/** The fixture's action bytes for `op`, built without src/ code. */
function fixtureAction(op: DirectOp): string {
  switch (op.kind) {
    case 'changeOwner':
      return signedAction.changeOwner(op.payload.newOwner);
    case 'addDelegate':
      return signedAction.addDelegate(
        bytes32(op.payload.delegateType),
        op.payload.delegate,
        op.payload.validity,
      );
    case 'revokeDelegate':
      return signedAction.revokeDelegate(bytes32(op.payload.delegateType), op.payload.delegate);
    case 'setAttribute':
      return signedAction.setAttribute(bytes32(op.payload.name), op.payload.value, op.payload.validity);
    case 'revokeAttribute':
      return signedAction.revokeAttribute(bytes32(op.payload.name), op.payload.value);
  }
}

describe('registry operations', () => {
  it.each(ops.map((op) => [op.kind, op] as const))(
    'signs %s over the canonical ERC-1056 digest (0x19 0x00 registry nonce identity action)',
    (_kind, op) => {
      const owner = randomWallet();
      const signed = signRegistryOp(owner.signingKey, registry, nonce, op);
      const [v, r, s] = signAction(owner, registry, nonce, identity, fixtureAction(op));
      expect(signed.kind).toBe(`${op.kind}Signed`);
      expect(signed.payload.signature).toBe(`${r}${s.slice(2)}${v === 27 ? '1b' : '1c'}`);
      expect(signed.payload.nonce).toBe('7');
      expect(unsignedOf(signed)).toEqual(op);
      expect(signedMessageHash(registry, nonce, op)).not.toBe(signedMessageHash(registry, nonce + 1n, op));
    },
  );

  it('encodes direct and signed calls for the registry ABI', () => {
    const owner = randomWallet();
    for (const op of ops) {
      const direct = registryInterface().parseTransaction({ data: encodeRegistryCall(op) });
      expect(direct?.name).toBe(op.kind);
      expect(direct?.args[0]).toBe(identity);
      const signed = registryInterface().parseTransaction({
        data: encodeRegistryCall(signRegistryOp(owner.signingKey, registry, nonce, op)),
      });
      expect(signed?.name).toBe(`${op.kind}Signed`);
      expect(Number(signed?.args[1])).toBeGreaterThanOrEqual(27);
    }
  });

  it('deactivates by changing the owner to the zero address', () => {
    expect(deactivateOp(identity.toLowerCase())).toEqual({
      kind: 'changeOwner',
      payload: { identity, newOwner: ZeroAddress },
    });
  });

  it('normalizes addresses and hex values', () => {
    const op = parseRegistryOp('setAttribute', {
      identity: identity.toLowerCase(),
      name: 'did/svc/HubService',
      value: '0xABCD',
      validity: 60,
    });
    expect(op.payload).toMatchObject({ identity, value: '0xabcd' });
  });

  it.each([
    ['an unknown kind', 'mint', { identity }],
    ['a bad address', 'changeOwner', { identity: '0x1234', newOwner: other }],
    ['a name longer than 31 bytes', 'revokeAttribute', { identity, name: 'x'.repeat(32), value: '0x01' }],
    ['a value that is not hex bytes', 'revokeAttribute', { identity, name: 'n', value: 'base64==' }],
    ['an unknown delegate type', 'revokeDelegate', { identity, delegateType: 'owner', delegate: other }],
    [
      'a negative validity',
      'addDelegate',
      { identity, delegateType: 'veriKey', delegate: other, validity: -1 },
    ],
    ['unknown fields', 'changeOwner', { identity, newOwner: other, gasLimit: 1 }],
    ['a signed op without its signature', 'changeOwnerSigned', { identity, newOwner: other, nonce: '0' }],
  ])('rejects %s with 400 invalid_request', (_what, kind, payload) => {
    let error: unknown;
    try {
      parseRegistryOp(kind, payload);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TrustgateError);
    expect((error as TrustgateError).status).toBe(400);
    expect((error as TrustgateError).code).toBe('invalid_request');
  });
});
