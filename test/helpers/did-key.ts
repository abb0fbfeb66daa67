/** did:key holders for tests: fresh Ed25519 (EdDSA) or P-256 (ES256) keys with their did-jwt signers. */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { EdDSASigner, ES256Signer, type Signer } from 'did-jwt';

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
export function base58btc(bytes: Uint8Array): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  let out = '';
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/** A did:key holder for Ed25519 (EdDSA) or P-256 (ES256), with its did-jwt signer. */
export function didKeyHolder(kind: 'ed25519' | 'p256'): { did: string; signer: Signer; alg: string } {
  if (kind === 'ed25519') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const d = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
    return {
      did: `did:key:z${base58btc(Buffer.concat([Buffer.from([0xed, 0x01]), pub]))}`,
      signer: EdDSASigner(new Uint8Array(Buffer.concat([d, pub]))),
      alg: 'EdDSA',
    };
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const compressed = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const point = compressed.subarray(compressed.length - 65);
  const x = point.subarray(1, 33);
  const prefix = (point[64]! & 1) === 1 ? 0x03 : 0x02;
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  return {
    did: `did:key:z${base58btc(Buffer.concat([Buffer.from([0x80, 0x24, prefix]), x]))}`,
    signer: ES256Signer(new Uint8Array(d)),
    alg: 'ES256',
  };
}
