/**
 * ES256K (RFC 8812: ECDSA over secp256k1 with SHA-256) pieces that JOSE libraries do not give us:
 * signing through a managed key that never leaves the KMS, turning a `publicKeyHex` into a JWK, and
 * checking a signature against an Ethereum address when a DID document carries no public key at all
 * (`EcdsaSecp256k1RecoveryMethod2020` with only a `blockchainAccountId`).
 */
import { createHash } from 'node:crypto';
import { computeAddress, getBytes, hexlify, SigningKey } from 'ethers';
import type { JWK } from 'jose';
import { base64url } from 'jose';
import { type IdentityAgent, signWithManagedKey } from '../identity/agent.ts';

/** Signs a JWS signing input and returns the raw JWS signature (for ES256K: 64 bytes r||s). */
export type JwsSigner = (signingInput: Uint8Array) => Promise<Uint8Array>;

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N >> 1n;

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(hexlify(bytes));
}

function to32Bytes(value: bigint): Uint8Array {
  return getBytes(`0x${value.toString(16).padStart(64, '0')}`);
}

/**
 * An ES256K `JwsSigner` over managed key `kid`: SHA-256 of the signing input, signed inside the KMS with
 * `eth_rawSign`, returned as r||s with S in the lower half of the curve order (ES256K verifiers such as
 * did-jwt refuse high-S signatures, and so malleated copies of a credential cannot exist).
 */
export function managedKeySigner(agent: IdentityAgent, kid: string): JwsSigner {
  return async (signingInput) => {
    return compactLowS(await signWithManagedKey(agent, kid, sha256(signingInput)));
  };
}

/** r||s with S in the lower half of the curve order. */
function compactLowS(signature: { r: string; s: string }): Uint8Array {
  let s = BigInt(signature.s);
  if (s > HALF_N) s = SECP256K1_N - s;
  const raw = new Uint8Array(64);
  raw.set(getBytes(signature.r), 0);
  raw.set(to32Bytes(s), 32);
  return raw;
}

/** Where `cachedKeySigner` reads a managed key's sealed private part (the Veramo private-key store). */
export interface PrivateKeySource {
  getKey(args: { alias: string }): Promise<{ privateKeyHex: string }>;
}

/**
 * `managedKeySigner` for hot paths (credential issuing): the key is unsealed once and kept in this
 * process for `ttlMs`, instead of a key-row read and an unseal per signature. It changes nothing about
 * custody: the master key that unseals it lives in the same process for its whole life.
 */
export function cachedKeySigner(source: PrivateKeySource, kid: string, ttlMs = 5 * 60_000): JwsSigner {
  let held: { key: SigningKey; untilMs: number } | undefined;
  return async (signingInput) => {
    if (!held || Date.now() >= held.untilMs) {
      const { privateKeyHex } = await source.getKey({ alias: kid });
      held = { key: new SigningKey(`0x${privateKeyHex.replace(/^0x/, '')}`), untilMs: Date.now() + ttlMs };
    }
    return compactLowS(held.key.sign(sha256(signingInput)));
  };
}

/** The public JWK (`kty: EC`, `crv: secp256k1`) of a compressed or uncompressed secp256k1 key in hex. */
export function secp256k1JwkFromHex(publicKeyHex: string): JWK {
  const hex = publicKeyHex.startsWith('0x') ? publicKeyHex : `0x${publicKeyHex}`;
  const uncompressed = getBytes(SigningKey.computePublicKey(hex, false));
  return {
    kty: 'EC',
    crv: 'secp256k1',
    x: base64url.encode(uncompressed.slice(1, 33)),
    y: base64url.encode(uncompressed.slice(33, 65)),
  };
}

/**
 * True when the 64-byte ES256K signature over `signingInput` was made by the key of Ethereum `address`.
 *
 * With only an address there is no public key to verify against, so the public key is recovered from the
 * signature: an r||s signature does not say which of the (usually two) candidate points signed, hence both
 * recovery ids are tried and the signature counts only when one of them hashes to `address`. That is as
 * strong as an ordinary verification: forging it means forging a signature for that address's key.
 */
export function es256kSignedByAddress(
  signingInput: Uint8Array,
  signature: Uint8Array,
  address: string,
): boolean {
  return recoverEs256kPublicKey(signingInput, signature, address) !== undefined;
}

/**
 * The public key (uncompressed hex) of Ethereum `address` that made the ES256K `signature` over
 * `signingInput`, or undefined when neither recovery candidate hashes to `address`.
 */
export function recoverEs256kPublicKey(
  signingInput: Uint8Array,
  signature: Uint8Array,
  address: string,
): string | undefined {
  if (signature.length !== 64) return undefined;
  const r = toBigInt(signature.slice(0, 32));
  const s = toBigInt(signature.slice(32));
  if (r === 0n || s === 0n || r >= SECP256K1_N || s >= SECP256K1_N) return undefined;
  const digest = sha256(signingInput);
  const expected = address.toLowerCase();
  for (const v of [27, 28]) {
    try {
      // ethers refuses an S with its top bit set, so recover from the equivalent low-S form
      // (negating S flips the recovery id).
      const low = s > HALF_N;
      const publicKey = SigningKey.recoverPublicKey(digest, {
        r: hexlify(to32Bytes(r)),
        s: hexlify(to32Bytes(low ? SECP256K1_N - s : s)),
        v: low ? (v === 27 ? 28 : 27) : v,
      });
      if (computeAddress(publicKey).toLowerCase() === expected) return publicKey;
    } catch {
      // Not a valid point for this recovery id: try the other one.
    }
  }
  return undefined;
}
