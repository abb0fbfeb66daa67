/**
 * Typed ERC-1056 registry operations: the payload of every chain job, its calldata, and for the signed
 * (meta-transaction) variants the canonical message the identity's owner signs.
 *
 * Direct operations are sent by the relayer, so they only work on identities the relayer owns. Every
 * other identity (a person's own wallet, a Trustgate-held managed key that is not the relayer) uses the
 * `*Signed` variant: the owner signs `keccak256(0x19 0x00 registry nonce[owner] identity "op" args…)` and
 * the relayer submits it, paying the gas.
 */
import {
  encodeBytes32String,
  getAddress,
  Interface,
  isAddress,
  isHexString,
  type JsonRpcApiProvider,
  recoverAddress,
  Signature,
  type SigningKey,
  solidityPacked,
  solidityPackedKeccak256,
  ZeroAddress,
} from 'ethers';
import { z } from 'zod';
import { TrustgateError } from '../errors.ts';
import { withTimeout } from '../util/timeout.ts';
import { registryArtifact } from './registry-artifact.ts';

/** 400 `invalid_signature`: the meta-transaction was not signed by the identity's current owner. */
export class InvalidSignatureError extends TrustgateError {
  constructor(detail: string) {
    super('invalid_signature', 400, 'Invalid signature', detail);
  }
}

/** 400 `stale_nonce`: the meta-transaction was signed for another nonce than the owner's current one. */
export class StaleNonceError extends TrustgateError {
  constructor(detail: string, expected: bigint) {
    super('stale_nonce', 400, 'Stale nonce', detail, { extensions: { expectedNonce: expected.toString() } });
  }
}

/** Delegate types of did:ethr: `veriKey` (verification method) and `sigAuth` (also authentication). */
export const DELEGATE_TYPES = ['veriKey', 'sigAuth'] as const;

const address = z
  .string()
  .refine((a) => isAddress(a), 'must be a 0x-prefixed 20-byte address')
  .transform((a) => getAddress(a));
/** Names are bytes32 strings ('did/pub/Secp256k1/veriKey/hex', 'did/svc/HubService', …): at most 31 bytes. */
const bytes32Name = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 31, 'must be at most 31 UTF-8 bytes');
/** Attribute values are raw bytes (hex); the resolver encodes keys itself (base64 text would double-encode). */
const bytesValue = z
  .string()
  .refine((v) => isHexString(v) && v.length % 2 === 0, 'must be 0x-prefixed hex bytes')
  .transform((v) => v.toLowerCase());
/** Validity in seconds from the block that records the change. */
const validity = z
  .number()
  .int()
  .positive()
  .max(100 * 365 * 86_400);
const delegateType = z.enum(DELEGATE_TYPES);
/** The owner's registry nonce the signature was made for, and the 65-byte signature (r ‖ s ‖ v). */
const metaSignature = {
  nonce: z.union([z.string().regex(/^\d{1,30}$/), z.number().int().nonnegative()]).transform(String),
  signature: z.string().refine((s) => isHexString(s, 65), 'must be a 65-byte 0x-prefixed hex signature'),
};

const changeOwner = { identity: address, newOwner: address };
const addDelegate = { identity: address, delegateType, delegate: address, validity };
const revokeDelegate = { identity: address, delegateType, delegate: address };
const setAttribute = { identity: address, name: bytes32Name, value: bytesValue, validity };
const revokeAttribute = { identity: address, name: bytes32Name, value: bytesValue };

/** Schemas of each job kind's payload. */
export const registryOpSchemas = {
  changeOwner: z.strictObject(changeOwner),
  addDelegate: z.strictObject(addDelegate),
  revokeDelegate: z.strictObject(revokeDelegate),
  setAttribute: z.strictObject(setAttribute),
  revokeAttribute: z.strictObject(revokeAttribute),
  changeOwnerSigned: z.strictObject({ ...changeOwner, ...metaSignature }),
  addDelegateSigned: z.strictObject({ ...addDelegate, ...metaSignature }),
  revokeDelegateSigned: z.strictObject({ ...revokeDelegate, ...metaSignature }),
  setAttributeSigned: z.strictObject({ ...setAttribute, ...metaSignature }),
  revokeAttributeSigned: z.strictObject({ ...revokeAttribute, ...metaSignature }),
};

/** A job kind: one registry function. */
export type RegistryOpKind = keyof typeof registryOpSchemas;
/** The kinds the relayer sends as itself (it must own the identity). */
export type DirectOpKind = Exclude<RegistryOpKind, `${string}Signed`>;
/** The payload of a job of kind `K`, after validation. */
export type RegistryOpPayload<K extends RegistryOpKind> = z.output<(typeof registryOpSchemas)[K]>;
/** A validated operation: its kind and payload. */
export type RegistryOp = {
  [K in RegistryOpKind]: { kind: K; payload: RegistryOpPayload<K> };
}[RegistryOpKind];
/** A direct operation (what an owner signs, before the signature is attached). */
export type DirectOp = Extract<RegistryOp, { kind: DirectOpKind }>;
/** The input of a payload of kind `K`, before validation. */
export type RegistryOpInput<K extends RegistryOpKind> = z.input<(typeof registryOpSchemas)[K]>;

/** Whether `kind` names a registry operation. */
export function isRegistryOpKind(kind: string): kind is RegistryOpKind {
  return Object.hasOwn(registryOpSchemas, kind);
}

/** Whether `op` is a meta-transaction the owner signed. */
export function isSignedOp(op: RegistryOp): op is Exclude<RegistryOp, DirectOp> {
  return op.kind.endsWith('Signed');
}

/** Validates a job's kind and payload; 400 `invalid_request` naming each problem. */
export function parseRegistryOp(kind: string, payload: unknown): RegistryOp {
  if (!isRegistryOpKind(kind)) {
    throw new TrustgateError('invalid_request', 400, 'Invalid request', `Unknown chain job kind "${kind}".`);
  }
  const result = registryOpSchemas[kind].safeParse(payload);
  if (!result.success) {
    throw new TrustgateError('invalid_request', 400, 'Invalid request', `Invalid ${kind} payload.`, {
      extensions: {
        errors: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      },
    });
  }
  return { kind, payload: result.data } as RegistryOp;
}

/** Deactivation is a change of owner to the zero address (the resolver then reports `deactivated`). */
export function deactivateOp(identity: string): DirectOp {
  return { kind: 'changeOwner', payload: { identity: getAddress(identity), newOwner: ZeroAddress } };
}

let iface: Interface | undefined;
/** The registry's ABI as an ethers Interface. */
export function registryInterface(): Interface {
  iface ??= new Interface(registryArtifact().abi);
  return iface;
}

const b32 = (s: string) => encodeBytes32String(s);

function splitSignature(signature: string): [number, string, string] {
  const sig = Signature.from(signature);
  return [sig.v, sig.r, sig.s];
}

/** ABI-encoded calldata of `op` for the registry. */
export function encodeRegistryCall(op: RegistryOp): string {
  const i = registryInterface();
  switch (op.kind) {
    case 'changeOwner': {
      const p = op.payload;
      return i.encodeFunctionData('changeOwner', [p.identity, p.newOwner]);
    }
    case 'addDelegate': {
      const p = op.payload;
      return i.encodeFunctionData('addDelegate', [p.identity, b32(p.delegateType), p.delegate, p.validity]);
    }
    case 'revokeDelegate': {
      const p = op.payload;
      return i.encodeFunctionData('revokeDelegate', [p.identity, b32(p.delegateType), p.delegate]);
    }
    case 'setAttribute': {
      const p = op.payload;
      return i.encodeFunctionData('setAttribute', [p.identity, b32(p.name), p.value, p.validity]);
    }
    case 'revokeAttribute': {
      const p = op.payload;
      return i.encodeFunctionData('revokeAttribute', [p.identity, b32(p.name), p.value]);
    }
    case 'changeOwnerSigned': {
      const p = op.payload;
      return i.encodeFunctionData('changeOwnerSigned', [
        p.identity,
        ...splitSignature(p.signature),
        p.newOwner,
      ]);
    }
    case 'addDelegateSigned': {
      const p = op.payload;
      return i.encodeFunctionData('addDelegateSigned', [
        p.identity,
        ...splitSignature(p.signature),
        b32(p.delegateType),
        p.delegate,
        p.validity,
      ]);
    }
    case 'revokeDelegateSigned': {
      const p = op.payload;
      return i.encodeFunctionData('revokeDelegateSigned', [
        p.identity,
        ...splitSignature(p.signature),
        b32(p.delegateType),
        p.delegate,
      ]);
    }
    case 'setAttributeSigned': {
      const p = op.payload;
      return i.encodeFunctionData('setAttributeSigned', [
        p.identity,
        ...splitSignature(p.signature),
        b32(p.name),
        p.value,
        p.validity,
      ]);
    }
    case 'revokeAttributeSigned': {
      const p = op.payload;
      return i.encodeFunctionData('revokeAttributeSigned', [
        p.identity,
        ...splitSignature(p.signature),
        b32(p.name),
        p.value,
      ]);
    }
  }
}

/** The signed op's direct counterpart (what its signature covers). */
export function unsignedOf(op: RegistryOp): DirectOp {
  if (!isSignedOp(op)) return op;
  const { nonce: _n, signature: _s, ...rest } = op.payload;
  return { kind: op.kind.slice(0, -'Signed'.length), payload: rest } as DirectOp;
}

/** The action part of the signed message: the registry method's name and its arguments, packed. */
function packedAction(op: DirectOp): string {
  switch (op.kind) {
    case 'changeOwner':
      return solidityPacked(['string', 'address'], ['changeOwner', op.payload.newOwner]);
    case 'addDelegate': {
      const p = op.payload;
      return solidityPacked(
        ['string', 'bytes32', 'address', 'uint256'],
        ['addDelegate', b32(p.delegateType), p.delegate, p.validity],
      );
    }
    case 'revokeDelegate': {
      const p = op.payload;
      return solidityPacked(
        ['string', 'bytes32', 'address'],
        ['revokeDelegate', b32(p.delegateType), p.delegate],
      );
    }
    case 'setAttribute': {
      const p = op.payload;
      return solidityPacked(
        ['string', 'bytes32', 'bytes', 'uint256'],
        ['setAttribute', b32(p.name), p.value, p.validity],
      );
    }
    case 'revokeAttribute': {
      const p = op.payload;
      return solidityPacked(['string', 'bytes32', 'bytes'], ['revokeAttribute', b32(p.name), p.value]);
    }
  }
}

/**
 * The digest the registry checks for a signed op: keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce ‖ identity ‖
 * action), where `nonce` is the registry's `nonce(owner)` of the identity's current owner. It is signed
 * with the raw key (no EIP-191 text prefix), exactly as the contract recovers it.
 */
export function signedMessageHash(registryAddress: string, nonce: bigint, op: DirectOp): string {
  return solidityPackedKeccak256(
    ['bytes1', 'bytes1', 'address', 'uint256', 'address', 'bytes'],
    ['0x19', '0x00', getAddress(registryAddress), nonce, op.payload.identity, packedAction(op)],
  );
}

/** Signs `op` as the identity's owner (a managed key or a test wallet) for the owner's registry `nonce`. */
export function signRegistryOp(
  key: SigningKey,
  registryAddress: string,
  nonce: bigint,
  op: DirectOp,
): Extract<RegistryOp, { kind: `${string}Signed` }> {
  const signature = key.sign(signedMessageHash(registryAddress, nonce, op)).serialized;
  return {
    kind: `${op.kind}Signed`,
    payload: { ...op.payload, nonce: nonce.toString(), signature },
  } as Extract<RegistryOp, { kind: `${string}Signed` }>;
}

/** What `verifySignedOp` needs of the chain connection. */
export interface RegistryReader {
  readonly provider: JsonRpcApiProvider;
  readonly registryAddress: string;
}

/** Reads `identityOwner(identity)` and that owner's meta-transaction nonce from the registry. */
export async function readOwnerAndNonce(
  chain: RegistryReader,
  identity: string,
  timeoutMs = 10_000,
): Promise<{ owner: string; nonce: bigint }> {
  const i = registryInterface();
  const call = async (fn: string, args: unknown[]) =>
    i.decodeFunctionResult(
      fn,
      await withTimeout(
        chain.provider.call({ to: chain.registryAddress, data: i.encodeFunctionData(fn, args) }),
        timeoutMs,
        'the chain did not answer',
      ),
    )[0] as unknown;
  const owner = getAddress(String(await call('identityOwner', [identity])));
  const nonce = BigInt(String(await call('nonce', [owner])));
  return { owner, nonce };
}

/**
 * Checks a signed op against the chain before anything is enqueued or any gas is spent: the signature
 * must be for the owner's current nonce (`stale_nonce` otherwise) and recover to the identity's current
 * owner (`invalid_signature` otherwise). Direct ops pass unchanged. Rejects with a plain Error when the
 * chain does not answer (the caller decides whether to defer the check).
 */
export async function verifySignedOp(
  chain: RegistryReader,
  op: RegistryOp,
  timeoutMs = 10_000,
): Promise<void> {
  if (!isSignedOp(op)) return;
  const { owner, nonce } = await readOwnerAndNonce(chain, op.payload.identity, timeoutMs);
  const claimed = BigInt(op.payload.nonce);
  if (claimed !== nonce) {
    throw new StaleNonceError(
      `The signature was made for nonce ${claimed}, but the owner's registry nonce is ${nonce}. Sign again.`,
      nonce,
    );
  }
  let signer: string;
  try {
    signer = recoverAddress(
      signedMessageHash(chain.registryAddress, nonce, unsignedOf(op)),
      op.payload.signature,
    );
  } catch {
    throw new InvalidSignatureError('The signature is malformed.');
  }
  if (signer !== owner) {
    throw new InvalidSignatureError(
      "The signature is not the identity owner's signature over this operation.",
    );
  }
}
