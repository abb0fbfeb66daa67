/**
 * A compact table of inclusive IP ranges, each carrying a uint32 value (an index into the caller's own
 * table): sorted typed arrays and a binary search, one lane for IPv4 (one word per key) and one for
 * IPv6 (four words per key). No objects per range, so hundreds of thousands of ranges cost a few MB.
 *
 * Overlaps are resolved at build time so that every address has exactly one answer: the range that
 * starts later wins where two overlap, so a nested (more specific) range wins inside its parent, whose
 * remaining parts keep their own value. Adjacent pieces with the same value are merged.
 */
import type { IpKey } from './address.ts';

const IPV4_WIDTH = 1;
const IPV6_WIDTH = 4;

/** Growable parallel arrays of ranges whose keys are `width` uint32 words. */
class RangeBuffer {
  starts: Uint32Array;
  ends: Uint32Array;
  values: Uint32Array;
  count = 0;

  constructor(
    readonly width: number,
    capacity = 256,
  ) {
    this.starts = new Uint32Array(capacity * width);
    this.ends = new Uint32Array(capacity * width);
    this.values = new Uint32Array(capacity);
  }

  push(
    start: ArrayLike<number>,
    startAt: number,
    end: ArrayLike<number>,
    endAt: number,
    value: number,
  ): void {
    if (this.count === this.values.length) this.grow();
    const w = this.width;
    const at = this.count * w;
    for (let k = 0; k < w; k++) {
      this.starts[at + k] = start[startAt + k]!;
      this.ends[at + k] = end[endAt + k]!;
    }
    this.values[this.count] = value;
    this.count++;
  }

  private grow(): void {
    const capacity = Math.max(256, Math.ceil(this.values.length * 1.5));
    const grown = (from: Uint32Array, size: number) => {
      const to = new Uint32Array(size);
      to.set(from);
      return to;
    };
    this.starts = grown(this.starts, capacity * this.width);
    this.ends = grown(this.ends, capacity * this.width);
    this.values = grown(this.values, capacity);
  }

  /** Exact-size copies, so the table holds no slack. */
  seal(): SealedLane {
    const w = this.width;
    return {
      width: w,
      count: this.count,
      starts: this.starts.slice(0, this.count * w),
      ends: this.ends.slice(0, this.count * w),
      values: this.values.slice(0, this.count),
    };
  }
}

interface SealedLane {
  width: number;
  count: number;
  starts: Uint32Array;
  ends: Uint32Array;
  values: Uint32Array;
}

function compare(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number, width: number): number {
  for (let k = 0; k < width; k++) {
    const x = a[ai + k]!;
    const y = b[bi + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function copy(to: Uint32Array, toAt: number, from: ArrayLike<number>, fromAt: number, width: number): void {
  for (let k = 0; k < width; k++) to[toAt + k] = from[fromAt + k]!;
}

/** Adds one to a multi-word key in place; true when it wrapped past the last address. */
function increment(words: Uint32Array): boolean {
  for (let k = words.length - 1; k >= 0; k--) {
    if (words[k] !== 0xffffffff) {
      words[k] = words[k]! + 1;
      return false;
    }
    words[k] = 0;
  }
  return true;
}

/** Subtracts one from a multi-word key in place (callers never pass zero). */
function decrement(words: Uint32Array): void {
  for (let k = words.length - 1; k >= 0; k--) {
    if (words[k] !== 0) {
      words[k] = words[k]! - 1;
      return;
    }
    words[k] = 0xffffffff;
  }
}

/** Order of the input ranges by start ascending, then end descending (parents before children). */
function sortedOrder(input: RangeBuffer): Uint32Array {
  const { starts, ends, width: w, count } = input;
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const cmp = (i: number, j: number) =>
    compare(starts, i * w, starts, j * w, w) || compare(ends, j * w, ends, i * w, w);
  let sorted = true;
  for (let i = 1; i < count && sorted; i++) sorted = cmp(i - 1, i) <= 0;
  // Published data is already sorted; only an operator's hand-made file pays for the sort.
  if (!sorted) order.sort(cmp);
  return order;
}

/** Resolves overlaps (the later start wins) into sorted, disjoint pieces. */
function flatten(input: RangeBuffer): SealedLane {
  const w = input.width;
  const { starts, ends, values } = input;
  const out = new RangeBuffer(w, Math.max(16, input.count));
  const order = sortedOrder(input);
  const stack: number[] = [];
  const cursor = new Uint32Array(w);
  let exhausted = false;
  const scratch = new Uint32Array(w);
  const before = new Uint32Array(w);

  const emit = (to: ArrayLike<number>, toAt: number, value: number) => {
    const last = out.count - 1;
    if (last >= 0 && out.values[last] === value) {
      copy(scratch, 0, out.ends, last * w, w);
      if (!increment(scratch) && compare(scratch, 0, cursor, 0, w) === 0) {
        copy(out.ends, last * w, to, toAt, w);
        return;
      }
    }
    out.push(cursor, 0, to, toAt, value);
  };
  // Emits the rest of `range` (from the cursor to its end) and moves the cursor past it.
  const close = (range: number) => {
    if (exhausted || compare(cursor, 0, ends, range * w, w) > 0) return;
    emit(ends, range * w, values[range]!);
    copy(cursor, 0, ends, range * w, w);
    exhausted = increment(cursor);
  };

  for (const range of order) {
    while (stack.length > 0 && compare(ends, stack.at(-1)! * w, starts, range * w, w) < 0)
      close(stack.pop()!);
    const parent = stack.at(-1);
    if (parent !== undefined && !exhausted && compare(cursor, 0, starts, range * w, w) < 0) {
      copy(before, 0, starts, range * w, w);
      decrement(before);
      emit(before, 0, values[parent]!);
    }
    copy(cursor, 0, starts, range * w, w);
    exhausted = false;
    stack.push(range);
  }
  while (stack.length > 0) close(stack.pop()!);
  return out.seal();
}

/** Collects ranges; `build()` sorts them, resolves overlaps and packs them into an `IpRangeTable`. */
export class IpRangeTableBuilder {
  private readonly v4 = new RangeBuffer(IPV4_WIDTH);
  private readonly v6 = new RangeBuffer(IPV6_WIDTH);
  private readonly one = new Uint32Array(2);

  /** Adds an inclusive IPv4 range (uint32 bounds). */
  addIpv4(start: number, end: number, value: number): void {
    if (!(start >= 0 && start <= end && end <= 0xffffffff)) throw new RangeError('invalid IPv4 range');
    this.one[0] = start;
    this.one[1] = end;
    this.v4.push(this.one, 0, this.one, 1, value);
  }

  /** Adds an inclusive IPv6 range (four big-endian uint32 words per bound). */
  addIpv6(start: Uint32Array, end: Uint32Array, value: number): void {
    if (start.length !== 4 || end.length !== 4 || compare(start, 0, end, 0, 4) > 0) {
      throw new RangeError('invalid IPv6 range');
    }
    this.v6.push(start, 0, end, 0, value);
  }

  /** Adds an inclusive range of either family (both bounds of the same family). */
  add(start: IpKey, end: IpKey, value: number): void {
    if (start.family === 4 && end.family === 4) this.addIpv4(start.value, end.value, value);
    else if (start.family === 6 && end.family === 6) this.addIpv6(start.words, end.words, value);
    else throw new RangeError('range bounds of different families');
  }

  /** Packs the ranges added so far. */
  build(): IpRangeTable {
    return new IpRangeTable(flatten(this.v4), flatten(this.v6));
  }
}

/** Sorted, disjoint IP ranges with values; `find` is a binary search (O(log n), no allocation). */
export class IpRangeTable {
  /** @internal Built by `IpRangeTableBuilder`. */
  constructor(
    private readonly v4: SealedLane,
    private readonly v6: SealedLane,
  ) {}

  /** Number of IPv4 pieces after overlap resolution. */
  get ipv4Count(): number {
    return this.v4.count;
  }

  /** Number of IPv6 pieces after overlap resolution. */
  get ipv6Count(): number {
    return this.v6.count;
  }

  /** Bytes held by the typed arrays. */
  get byteLength(): number {
    const lane = (l: SealedLane) => l.starts.byteLength + l.ends.byteLength + l.values.byteLength;
    return lane(this.v4) + lane(this.v6);
  }

  /** The value of the range holding `key`, or -1. */
  find(key: IpKey): number {
    return key.family === 4 ? this.findIpv4(key.value) : this.findIpv6(key.words);
  }

  /** The value of the range holding an IPv4 address (uint32), or -1. */
  findIpv4(address: number): number {
    const { starts, ends, values, count } = this.v4;
    let lo = 0;
    let hi = count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= address) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found >= 0 && ends[found]! >= address ? values[found]! : -1;
  }

  /** The value of the range holding an IPv6 address (four words), or -1. */
  findIpv6(address: ArrayLike<number>): number {
    const { starts, ends, values, count } = this.v6;
    let lo = 0;
    let hi = count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(starts, mid * 4, address, 0, 4) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found >= 0 && compare(ends, found * 4, address, 0, 4) >= 0 ? values[found]! : -1;
  }
}

/** First and last address of `key/prefix`, and whether `key` had host bits set. */
export function cidrBounds(key: IpKey, prefix: number): { start: IpKey; end: IpKey; hostBits: boolean } {
  if (key.family === 4) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const start = (key.value & mask) >>> 0;
    const end = (start | ~mask) >>> 0;
    return {
      start: { family: 4, value: start },
      end: { family: 4, value: end },
      hostBits: start !== key.value,
    };
  }
  const start = new Uint32Array(4);
  const end = new Uint32Array(4);
  let hostBits = false;
  for (let k = 0; k < 4; k++) {
    const bits = Math.min(32, Math.max(0, prefix - 32 * k));
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    start[k] = (key.words[k]! & mask) >>> 0;
    end[k] = (start[k]! | ~mask) >>> 0;
    if (start[k] !== key.words[k]) hostBits = true;
  }
  return { start: { family: 6, words: start }, end: { family: 6, words: end }, hostBits };
}
