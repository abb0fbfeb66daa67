/**
 * W3C Bitstring Status List v1.0 bitstrings: creation, bit access, and the `encodedList` form
 * (GZIP, then base64url without padding, with the multibase prefix `u`).
 *
 * Bit order follows the spec: "the first index is the left-most bit", i.e. index 0 is the most
 * significant bit of the first byte. Bit-access functions never mutate their input.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { TrustgateError } from '../errors.ts';

/** The spec's minimum: 16 KB uncompressed, so one credential hides among 131,072 (herd privacy). */
export const MIN_STATUS_LIST_BITS = 131_072;

/** Default cap on a decoded list's size: a foreign list larger than this is refused (zip bombs). */
export const MAX_DECODED_BYTES = 16 * 1024 * 1024;

/** 400 `malformed_status_list`: an `encodedList` is not a valid GZIP+base64url multibase bitstring. */
export class MalformedStatusListError extends TrustgateError {
  constructor(detail: string, cause?: unknown) {
    super('malformed_status_list', 400, 'Malformed status list', detail, { cause });
  }
}

/** 400 `status_index_out_of_range`: the index is not an integer in `[0, size)`. */
export class StatusIndexOutOfRangeError extends TrustgateError {
  constructor(index: number, size: number) {
    super(
      'status_index_out_of_range',
      400,
      'Status index out of range',
      `Status list index ${index} is not an integer in [0, ${size}).`,
    );
  }
}

/** A zeroed bitstring of `bits` bits (at least 131072, a multiple of 8). */
export function createBitstring(bits: number = MIN_STATUS_LIST_BITS): Uint8Array {
  if (!Number.isSafeInteger(bits) || bits < MIN_STATUS_LIST_BITS || bits % 8 !== 0) {
    throw new RangeError(
      `A status list needs a whole number of bytes and at least ${MIN_STATUS_LIST_BITS} bits.`,
    );
  }
  return new Uint8Array(bits / 8);
}

function checkIndex(bitstring: Uint8Array, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= bitstring.length * 8) {
    throw new StatusIndexOutOfRangeError(index, bitstring.length * 8);
  }
}

/** The bit at `index` (index 0 = most significant bit of byte 0). */
export function getBit(bitstring: Uint8Array, index: number): boolean {
  checkIndex(bitstring, index);
  return ((bitstring[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
}

/** A copy of `bitstring` with the bit at `index` set to `value`. */
export function setBit(bitstring: Uint8Array, index: number, value: boolean): Uint8Array {
  checkIndex(bitstring, index);
  const out = Uint8Array.from(bitstring);
  const mask = 0x80 >> (index & 7);
  const byte = out[index >> 3] ?? 0;
  out[index >> 3] = value ? byte | mask : byte & ~mask;
  return out;
}

/** The spec's `encodedList`: `u` + base64url (no padding) of the GZIP-compressed bitstring. */
export function encodeBitstring(bitstring: Uint8Array): string {
  return `u${gzipSync(bitstring).toString('base64url')}`;
}

export interface DecodeOptions {
  /** Refuse lists shorter than this many bits (default 131072, the spec's minimum). */
  minBits?: number;
  /** Refuse lists that decompress to more than this many bytes (default 16 MiB). */
  maxBytes?: number;
}

/**
 * Decodes an `encodedList` back to its bitstring. Refuses anything that is not `u` + base64url of a
 * GZIP stream, that is shorter than `minBits`, or that would decompress past `maxBytes`: decompression
 * stops at the cap, so a zip bomb costs at most `maxBytes` of memory.
 */
export function decodeBitstring(encoded: string, options: DecodeOptions = {}): Uint8Array {
  const minBits = options.minBits ?? MIN_STATUS_LIST_BITS;
  const maxBytes = options.maxBytes ?? MAX_DECODED_BYTES;
  if (typeof encoded !== 'string' || !encoded.startsWith('u')) {
    throw new MalformedStatusListError('encodedList must be a multibase base64url string (prefix "u").');
  }
  const body = encoded.slice(1);
  // Buffer's base64url decoder skips invalid characters silently; be strict instead.
  if (!/^[A-Za-z0-9_-]*$/.test(body) || body.length % 4 === 1) {
    throw new MalformedStatusListError('encodedList is not valid base64url.');
  }
  const compressed = Buffer.from(body, 'base64url');
  let raw: Buffer;
  try {
    raw = gunzipSync(compressed, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new MalformedStatusListError(`encodedList decompresses to more than ${maxBytes} bytes.`, err);
    }
    throw new MalformedStatusListError('encodedList is not a valid GZIP stream.', err);
  }
  if (raw.length * 8 < minBits) {
    throw new MalformedStatusListError(
      `encodedList has ${raw.length * 8} bits; at least ${minBits} are required.`,
    );
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
}
