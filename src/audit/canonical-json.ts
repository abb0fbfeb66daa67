/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the values audit records hold: object members sorted
 * by their UTF-16 code units, no whitespace, strings and numbers serialized as ECMAScript's
 * `JSON.stringify` does (which is what RFC 8785 specifies). Rules enforced:
 *
 *   - only JSON values: null, booleans, finite numbers, strings, arrays, plain objects
 *   - `undefined` members are dropped (as JSON.stringify does); `undefined` elsewhere is refused
 *   - non-finite numbers, bigints, functions, symbols and class instances (Date, Buffer, …) are refused
 */

/** Thrown for a value that has no JSON form. */
export class NotCanonicalizableError extends Error {
  constructor(path: string, what: string) {
    super(`cannot canonicalize ${what} at ${path || '(root)'}`);
    this.name = 'NotCanonicalizableError';
  }
}

/** The RFC 8785 canonical JSON text of `value`. */
export function canonicalJson(value: unknown): string {
  return serialize(value, '');
}

function serialize(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new NotCanonicalizableError(path, String(value));
      // ECMAScript's Number-to-String is RFC 8785's number serialization (and -0 prints as 0).
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new NotCanonicalizableError(path, `a ${typeof value}`);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v, i) => serialize(v, `${path}[${i}]`)).join(',')}]`;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new NotCanonicalizableError(path, `an instance of ${(value as object).constructor?.name}`);
  }
  // Sorting by UTF-16 code units is JavaScript's default string comparison.
  const keys = Object.keys(value).sort();
  const members: string[] = [];
  for (const key of keys) {
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    members.push(`${JSON.stringify(key)}:${serialize(member, `${path}.${key}`)}`);
  }
  return `{${members.join(',')}}`;
}
