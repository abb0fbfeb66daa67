/**
 * Bitstring Status List v1.0 bitstrings: spec bit order, the `encodedList` form, and refusal of
 * malformed or oversized (zip bomb) foreign lists.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  createBitstring,
  decodeBitstring,
  encodeBitstring,
  getBit,
  MalformedStatusListError,
  StatusIndexOutOfRangeError,
  setBit,
} from '../../src/credentials/bitstring.ts';

/** The 16 KB all-zero list from the spec's BitstringStatusListCredential example. */
const SPEC_EXAMPLE = 'uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('bitstring', () => {
  it('creates a zeroed 16 KB (131072-bit) bitstring by default', () => {
    const bits = createBitstring();
    expect(bits.length).toBe(16_384);
    expect(bits.every((b) => b === 0)).toBe(true);
    expect(createBitstring(262_144).length).toBe(32_768);
  });

  it('refuses lists below 131072 bits or not a whole number of bytes (herd privacy)', () => {
    expect(() => createBitstring(131_064)).toThrow(RangeError);
    expect(() => createBitstring(131_073)).toThrow(RangeError);
    expect(() => createBitstring(Number.NaN)).toThrow(RangeError);
  });

  it('puts index 0 in the most significant bit of the first byte (the left-most bit)', () => {
    const bits = setBit(createBitstring(), 0, true);
    expect(bits[0]).toBe(0x80);
    expect(getBit(bits, 0)).toBe(true);
    expect(getBit(bits, 1)).toBe(false);
  });

  it('puts index 131071 in the least significant bit of the last byte', () => {
    const bits = setBit(createBitstring(), 131_071, true);
    expect(bits[16_383]).toBe(0x01);
    expect(bits.subarray(0, 16_383).every((b) => b === 0)).toBe(true);
  });

  it('maps index 9 to 0x40 of the second byte and index 15 to 0x01', () => {
    const bits = setBit(setBit(createBitstring(), 9, true), 15, true);
    expect(bits[1]).toBe(0x41);
    expect([bits[0], bits[2]]).toEqual([0, 0]);
  });

  it('clears a bit without touching its neighbours, and never mutates its input', () => {
    const all = createBitstring().fill(0xff);
    const cleared = setBit(all, 10, false);
    expect(cleared[1]).toBe(0b1101_1111);
    expect(all[1]).toBe(0xff);
    expect(getBit(cleared, 10)).toBe(false);
    expect(getBit(cleared, 11)).toBe(true);
  });

  it('refuses indexes outside [0, size) and non-integers with a typed 400 error', () => {
    const bits = createBitstring();
    for (const index of [-1, 131_072, 1.5, Number.NaN]) {
      expect(() => getBit(bits, index)).toThrow(StatusIndexOutOfRangeError);
      expect(() => setBit(bits, index, true)).toThrow(StatusIndexOutOfRangeError);
    }
    expect(thrown(() => getBit(bits, -1))).toMatchObject({ code: 'status_index_out_of_range', status: 400 });
  });

  it('encodes as "u" + unpadded base64url of a GZIP stream of the raw bits', () => {
    const bits = setBit(setBit(createBitstring(), 0, true), 131_071, true);
    const encoded = encodeBitstring(bits);
    expect(encoded).toMatch(/^u[A-Za-z0-9_-]+$/);
    const raw = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
    expect(new Uint8Array(raw)).toEqual(bits);
  });

  it('round-trips through encode and decode', () => {
    let bits = createBitstring();
    for (const i of [0, 7, 8, 4242, 65_536, 131_071]) bits = setBit(bits, i, true);
    const decoded = decodeBitstring(encodeBitstring(bits));
    expect(decoded).toEqual(bits);
    expect(getBit(decoded, 4242)).toBe(true);
    expect(getBit(decoded, 4243)).toBe(false);
  });

  it('decodes the spec example to 131072 zero bits', () => {
    const bits = decodeBitstring(SPEC_EXAMPLE);
    expect(bits.length).toBe(16_384);
    expect(bits.every((b) => b === 0)).toBe(true);
  });

  it('refuses a zip bomb: stops decompressing at the cap', () => {
    const bomb = `u${gzipSync(Buffer.alloc(64 * 1024 * 1024)).toString('base64url')}`;
    expect(bomb.length).toBeLessThan(100_000);
    expect(() => decodeBitstring(bomb)).toThrow(/more than 16777216 bytes/);
    expect(() => decodeBitstring(encodeBitstring(createBitstring(262_144)), { maxBytes: 20_000 })).toThrow(
      MalformedStatusListError,
    );
  });

  it('refuses malformed input with malformed_status_list', () => {
    const bad = [
      '',
      'H4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA', // no multibase prefix
      'zH4sIAAAAAAAAA', // base58btc, not base64url
      'uH4sI+AAA/AAA=', // base64 alphabet and padding
      'uaGVsbG8', // not GZIP
      SPEC_EXAMPLE.slice(0, 30), // truncated GZIP
      `u${gzipSync(Buffer.alloc(1024)).toString('base64url')}`, // below 16 KB
    ];
    for (const input of bad) {
      expect(() => decodeBitstring(input), input).toThrow(MalformedStatusListError);
    }
    expect(thrown(() => decodeBitstring('uaGVsbG8'))).toMatchObject({
      code: 'malformed_status_list',
      status: 400,
    });
  });
});
