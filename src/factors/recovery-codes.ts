/**
 * Recovery codes: ten single-use codes a person keeps offline, proving `otp`. Rules it enforces:
 *
 *   - Each code is 80 random bits written in Crockford Base32 (no I, L, O, U) as four groups of four,
 *     e.g. `7KQ2-M9XD-4TRB-ZP6H`. Only a salted hash is stored: a 16-byte random salt per code and
 *     HMAC-SHA-256(salt, normalised code). The codes are returned once, at generation.
 *   - Regenerating replaces the whole set in one transaction; old codes stop working.
 *   - Input is normalised (ASCII only, upper-cased, spaces and hyphens dropped, O read as 0, I and L as
 *     1); anything that is not then 16 alphabet characters is `invalid_code_format`.
 *   - Verification hashes the input against a fixed number of slots and compares each with
 *     `timingSafeEqual`, without stopping at a match: the work is the same whichever code matches, how
 *     many are left, or (`verifyUnknown`) whether the account exists at all (no user enumeration).
 *   - A code is used once: marked with a conditional update, so of concurrent uses exactly one wins.
 *
 * Rate limiting of recovery is the calling flow's job.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { TrustgateError } from '../errors.ts';
import type { Store, Tx } from '../store/index.ts';
import type { FactorProof } from './types.ts';

/** Codes per set. */
export const RECOVERY_CODE_COUNT = 10;
/** Crockford's Base32 alphabet: no I, L, O (read as 1, 1, 0) and no U. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_BYTES = 10;
const CODE_CHARS = 16;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const NORMALISED = /^[0-9A-HJKMNP-TV-Z]{16}$/;
const MAX_INPUT_LENGTH = 64;

/** Fills slots beyond the stored codes; its hash never matches (a random 256-bit value). */
const DUMMY = { id: '', salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES), usedAt: null };

/** Why a code was refused. `reason` is for the audit log; the client sees only the code. */
export type RecoveryRefusal = 'wrong' | 'reused' | 'unknown_account';

/** Refusals: `invalid_code_format` (400) and `invalid_code` (401, whatever the reason). */
export class RecoveryCodeError extends TrustgateError {
  /** For the audit log only: why `invalid_code` was answered. Never part of the problem body. */
  readonly reason: RecoveryRefusal | undefined;

  constructor(code: 'invalid_code_format' | 'invalid_code', reason?: RecoveryRefusal) {
    if (code === 'invalid_code_format') {
      super(code, 400, 'Invalid code format', 'Enter a recovery code like 7KQ2-M9XD-4TRB-ZP6H.');
    } else {
      super(code, 401, 'Invalid code', 'The recovery code is not valid.');
    }
    this.reason = reason;
  }
}

/** The account recovery codes belong to. */
export interface RecoveryAccount {
  id: string;
  tenantId: string;
}

export interface RecoveryCodesOptions {
  store: Store;
  /** Clock in epoch milliseconds, for `usedAt`. Default `Date.now`. */
  now?: () => number;
}

interface CodeRow {
  id: string;
  salt: Uint8Array;
  hash: Uint8Array;
  usedAt: Date | null;
}

/** Recovery codes of accounts: generate a set, verify one (once), count what is left. */
export class RecoveryCodes {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(options: RecoveryCodesOptions) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Generates a new set of ten codes, replacing any previous set. The only time the codes can be read.
   * @returns the codes, formatted `XXXX-XXXX-XXXX-XXXX`.
   */
  async generate(account: RecoveryAccount, tx?: Tx): Promise<string[]> {
    const codes = new Set<string>();
    while (codes.size < RECOVERY_CODE_COUNT) codes.add(encode(randomBytes(CODE_BYTES)));
    const setId = randomUUID();
    const rows = [...codes].map((code) => {
      const salt = randomBytes(SALT_BYTES);
      return {
        tenantId: account.tenantId,
        accountId: account.id,
        setId,
        salt: new Uint8Array(salt),
        hash: new Uint8Array(hashOf(salt, code)),
      };
    });
    const replace = async (t: Tx) => {
      await t.recoveryCode.deleteMany({ where: { accountId: account.id, tenantId: account.tenantId } });
      await t.recoveryCode.createMany({ data: rows });
    };
    // In the caller's transaction when given one (with the sessions it ends and the event it records).
    if (tx) await replace(tx);
    else await this.#store.tx(replace);
    return [...codes].map(format);
  }

  /**
   * Verifies and uses up one code.
   * @throws RecoveryCodeError `invalid_code_format` (400) or `invalid_code` (401: wrong or already used).
   */
  async verify(account: RecoveryAccount, code: string): Promise<FactorProof> {
    const normalised = normalise(code);
    const rows = await this.#store.db.recoveryCode.findMany({
      where: { accountId: account.id, tenantId: account.tenantId },
      select: { id: true, salt: true, hash: true, usedAt: true },
    });
    const match = findMatch(rows, normalised);
    if (!match) throw new RecoveryCodeError('invalid_code', 'wrong');
    if (match.usedAt) throw new RecoveryCodeError('invalid_code', 'reused');
    const { count } = await this.#store.db.recoveryCode.updateMany({
      where: { id: match.id, usedAt: null },
      data: { usedAt: new Date(this.#now()) },
    });
    if (count !== 1) throw new RecoveryCodeError('invalid_code', 'reused');
    return {
      kind: 'recovery_code',
      amr: ['otp'],
      phishingResistant: false,
      hardwareBound: false,
      userVerified: false,
    };
  }

  /**
   * Does the work of `verify` for a person who does not exist, and refuses the same way (malformed
   * input is `invalid_code_format`, anything else `invalid_code`), so recovery answers alike, in about
   * the same time, for unknown usernames.
   */
  async verifyUnknown(code: string): Promise<never> {
    const normalised = normalise(code);
    // The same query shape as `verify`, for an id no account has.
    const rows = await this.#store.db.recoveryCode.findMany({
      where: { accountId: randomUUID(), tenantId: randomUUID() },
      select: { id: true, salt: true, hash: true, usedAt: true },
    });
    findMatch(rows, normalised);
    throw new RecoveryCodeError('invalid_code', 'unknown_account');
  }

  /** Number of unused codes in the account's current set. */
  remaining(account: RecoveryAccount): Promise<number> {
    return this.#store.db.recoveryCode.count({
      where: { accountId: account.id, tenantId: account.tenantId, usedAt: null },
    });
  }
}

/**
 * The row whose hash matches, or undefined. Hashes at least `RECOVERY_CODE_COUNT` slots (padding with a
 * dummy) and compares every one, so the time does not depend on which code matched or how many exist.
 */
function findMatch(rows: CodeRow[], normalised: string): CodeRow | undefined {
  let match: CodeRow | undefined;
  const slots = Math.max(rows.length, RECOVERY_CODE_COUNT);
  for (let i = 0; i < slots; i++) {
    const row = rows[i];
    const slot = row && row.hash.length === HASH_BYTES ? row : DUMMY;
    const equal = timingSafeEqual(hashOf(slot.salt, normalised), slot.hash);
    if (equal && slot !== DUMMY && match === undefined) match = row;
  }
  return match;
}

function hashOf(salt: Uint8Array, normalised: string): Buffer {
  return createHmac('sha256', salt).update(normalised, 'ascii').digest();
}

/** 80 bits as 16 Crockford Base32 characters. */
function encode(bytes: Buffer): string {
  let out = '';
  let value = 0;
  let bits = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(value >>> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  if (out.length !== CODE_CHARS) throw new Error('recovery code encoding is broken');
  return out;
}

function format(code: string): string {
  return code.match(/.{4}/g)!.join('-');
}

/** The canonical 16-character form of a typed code, or `invalid_code_format`. */
function normalise(code: unknown): string {
  // ASCII is checked before upper-casing: some non-ASCII letters upper-case to ASCII ones (ı → I).
  if (typeof code === 'string' && code.length <= MAX_INPUT_LENGTH && /^[\x20-\x7e]*$/.test(code)) {
    const canonical = code.toUpperCase().replace(/[ -]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
    if (NORMALISED.test(canonical)) return canonical;
  }
  throw new RecoveryCodeError('invalid_code_format');
}
