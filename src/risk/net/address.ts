/**
 * Client addresses as the risk engine reads them. Parsing is strict (four-part decimal IPv4 only, no
 * `0x7f.1` or `127.1` shorthands that other parsers accept), IPv4-mapped IPv6 (`::ffff:a.b.c.d`, how a
 * dual-stack socket reports an IPv4 client) is unwrapped to IPv4, and ipaddr.js decides whether the
 * address is public: anything it does not call `unicast` (private, loopback, link-local, CGNAT,
 * documentation, reserved, 6to4, Teredo…) is not looked up in any database.
 */
import ipaddr from 'ipaddr.js';

/** An address as a sortable key: IPv4 as one uint32, IPv6 as four big-endian uint32 words. */
export type IpKey = { family: 4; value: number } | { family: 6; words: Uint32Array };

/** What a client address string turned out to be. `address` is normalized (IPv4-mapped unwrapped). */
export type ClassifiedAddress =
  | { kind: 'public'; address: string; key: IpKey }
  | { kind: 'non_public'; address: string; key: IpKey; range: string }
  | { kind: 'malformed' };

/** Parses a strict dotted-quad IPv4 address (no leading zeros, no shorthand) into a uint32. */
export function parseIpv4(text: string): number | undefined {
  const length = text.length;
  if (length < 7 || length > 15) return undefined;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? 46 : text.charCodeAt(i);
    if (c === 46) {
      // Leading zeros are refused: some parsers read `010` as octal 8.
      if (digits === 0 || octet > 255 || (digits > 1 && text.charCodeAt(i - digits) === 48)) return undefined;
      value = value * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

/** Parses an IPv6 address (RFC 4291 text forms, no zone id) into four big-endian uint32 words. */
export function parseIpv6(text: string): Uint32Array | undefined {
  const n = text.length;
  if (n < 2 || n > 45) return undefined;
  const groups = [0, 0, 0, 0, 0, 0, 0, 0];
  let count = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let value = 0;
    let j = i;
    for (; j < n && j - i < 5; j++) {
      const digit = hexDigit(text.charCodeAt(j));
      if (digit < 0) break;
      value = value * 16 + digit;
    }
    if (j < n && text.charCodeAt(j) === 46) {
      // A dotted IPv4 tail (`::ffff:192.0.2.1`) fills the last two groups.
      const v4 = count > 6 ? undefined : parseIpv4(text.slice(i));
      if (v4 === undefined) return undefined;
      groups[count++] = Math.floor(v4 / 0x10000);
      groups[count++] = v4 % 0x10000;
      break;
    }
    if (j === i || j - i > 4 || count === 8) return undefined;
    groups[count++] = value;
    if (j === n) break;
    if (text.charCodeAt(j) !== 58 || j + 1 === n) return undefined;
    if (text.charCodeAt(j + 1) === 58) {
      if (gap !== -1) return undefined;
      gap = count;
      i = j + 2;
    } else {
      i = j + 1;
    }
  }
  if (gap === -1 ? count !== 8 : count > 7) return undefined;
  if (gap !== -1) {
    const shift = 8 - count;
    for (let k = count - 1; k >= gap; k--) groups[k + shift] = groups[k]!;
    for (let k = gap; k < gap + shift; k++) groups[k] = 0;
  }
  const words = new Uint32Array(4);
  for (let k = 0; k < 4; k++) words[k] = groups[2 * k]! * 0x10000 + groups[2 * k + 1]!;
  return words;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses an IPv4 or IPv6 address into a key, unwrapping IPv4-mapped IPv6. Undefined when malformed. */
export function parseIpKey(text: string): IpKey | undefined {
  if (text.includes(':')) {
    const words = parseIpv6(text);
    if (!words) return undefined;
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return { family: 4, value: words[3]! };
    return { family: 6, words };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

/** The canonical text of a key (dotted quad, or RFC 5952 IPv6). */
export function formatIpKey(key: IpKey): string {
  return toIpaddr(key).toString();
}

/**
 * Classifies a client address: malformed, non-public (with ipaddr.js's range name) or public. A zone id
 * (`fe80::1%eth0`) is dropped first; it only ever qualifies link-local addresses.
 */
export function classifyAddress(ip: string): ClassifiedAddress {
  const zone = ip.indexOf('%');
  const key = parseIpKey((zone === -1 ? ip : ip.slice(0, zone)).trim());
  if (!key) return { kind: 'malformed' };
  const parsed = toIpaddr(key);
  const address = parsed.toString();
  const range = parsed.range();
  return range === 'unicast' ? { kind: 'public', address, key } : { kind: 'non_public', address, key, range };
}

function toIpaddr(key: IpKey): ipaddr.IPv4 | ipaddr.IPv6 {
  if (key.family === 4) {
    const v = key.value;
    return new ipaddr.IPv4([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  }
  const parts: number[] = [];
  for (const word of key.words) parts.push(word >>> 16, word & 0xffff);
  return new ipaddr.IPv6(parts);
}
