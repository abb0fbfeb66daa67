/**
 * Envelope encryption for secrets at rest (invariant 3). Each secret gets a fresh 256-bit data key;
 * the data key is wrapped with the master key; both layers are AES-256-GCM. The envelope names the
 * master key by id, so a key ring can open envelopes sealed under an older master key during rotation,
 * and binds a caller-given context (AAD) so an envelope copied to another row does not open.
 *
 * Layout: version(1) | keyId(8) | wrapNonce(12) | wrappedKey(32) | wrapTag(16) | nonce(12) | tag(16) | ciphertext
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 1;
const KEY_ID_BYTES = 8;
const HEADER = 1 + KEY_ID_BYTES + 12 + 32 + 16 + 12 + 16;

/** A 32-byte master key and its id (hex of the first 8 bytes of its SHA-256). */
export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Wraps raw key bytes as a MasterKey. */
export function masterKeyFrom(key: Buffer): MasterKey {
  if (key.length !== 32) throw new Error('a master key is exactly 32 bytes');
  return { id: keyIdOf(key), key };
}

function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest().subarray(0, KEY_ID_BYTES).toString('hex');
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): { nonce: Buffer; tag: Buffer; ct: Buffer } {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, tag: cipher.getAuthTag(), ct };
}

function gcmOpen(key: Buffer, nonce: Buffer, tag: Buffer, ct: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]);
}

/** Thrown when an envelope is malformed, sealed under an unknown key, or fails authentication. */
export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

/**
 * A key ring: seals under the current master key, opens under any key it holds.
 */
export class KeyRing {
  readonly current: MasterKey;
  private readonly byId: Map<string, MasterKey>;

  constructor(current: MasterKey, previous: MasterKey[] = []) {
    this.current = current;
    this.byId = new Map([...previous, current].map((k) => [k.id, k]));
  }

  /** Encrypts `plaintext`, bound to `context` (e.g. `secret:chain.relayer`). */
  seal(plaintext: Buffer, context: string): Buffer {
    const aad = Buffer.from(context, 'utf8');
    const dataKey = randomBytes(32);
    try {
      const header = Buffer.alloc(1 + KEY_ID_BYTES);
      header.writeUInt8(VERSION, 0);
      Buffer.from(this.current.id, 'hex').copy(header, 1);
      const wrapped = gcmSeal(this.current.key, dataKey, Buffer.concat([header, aad]));
      const body = gcmSeal(dataKey, plaintext, Buffer.concat([header, aad]));
      return Buffer.concat([header, wrapped.nonce, wrapped.ct, wrapped.tag, body.nonce, body.tag, body.ct]);
    } finally {
      dataKey.fill(0);
    }
  }

  /** Decrypts an envelope sealed for `context`. Throws EnvelopeError on any mismatch. */
  open(envelope: Uint8Array, context: string): Buffer {
    const buf = Buffer.from(envelope);
    if (buf.length < HEADER || buf.readUInt8(0) !== VERSION) throw new EnvelopeError('malformed envelope');
    const header = buf.subarray(0, 1 + KEY_ID_BYTES);
    const keyId = header.subarray(1).toString('hex');
    const master = this.byId.get(keyId);
    if (!master) throw new EnvelopeError(`envelope sealed under unknown master key ${keyId}`);
    const aad = Buffer.concat([header, Buffer.from(context, 'utf8')]);
    let offset = header.length;
    const take = (n: number) => {
      const part = buf.subarray(offset, offset + n);
      offset += n;
      return part;
    };
    const wrapNonce = take(12);
    const wrappedKey = take(32);
    const wrapTag = take(16);
    const nonce = take(12);
    const tag = take(16);
    const ct = buf.subarray(offset);
    let dataKey: Buffer | undefined;
    try {
      dataKey = gcmOpen(master.key, wrapNonce, wrapTag, wrappedKey, aad);
      return gcmOpen(dataKey, nonce, tag, ct, aad);
    } catch {
      throw new EnvelopeError('envelope failed authentication (wrong key, context or tampered data)');
    } finally {
      dataKey?.fill(0);
    }
  }

  /** Id of the master key an envelope was sealed under. */
  static keyIdOf(envelope: Uint8Array): string {
    return Buffer.from(envelope.subarray(1, 1 + KEY_ID_BYTES)).toString('hex');
  }
}
