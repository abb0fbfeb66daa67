/**
 * Recovery codes on SQLite and (when TEST_POSTGRES_URL is set) PostgreSQL: ten distinct 80-bit codes,
 * stored only as salted hashes (invariant 3), each accepted once even under concurrency (invariant 1),
 * regenerating replaces the set, malformed input is a 400, and an unknown account costs the same work
 * and gets the same answer as a wrong code (invariant 8).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  RECOVERY_CODE_COUNT,
  type RecoveryAccount,
  RecoveryCodeError,
  RecoveryCodes,
} from '../../src/factors/recovery-codes.ts';
import type { Store } from '../../src/store/index.ts';
import { type StoreWiring, storeWirings, useMigratedStore } from '../helpers/stores.ts';

/** Counts HMAC computations, to show the work per verification does not depend on the account. */
const hmacs = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    default: actual,
    createHmac: (...args: Parameters<typeof actual.createHmac>) => {
      hmacs.count++;
      return actual.createHmac(...args);
    },
  };
});

const CODE_SHAPE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/;

async function newAccount(store: Store, tenantId?: string): Promise<RecoveryAccount> {
  const tenant =
    tenantId ??
    (await store.db.tenant.create({ data: { slug: `t-${randomUUID().slice(0, 8)}`, displayName: 'Acme' } }))
      .id;
  const address = `0x${randomBytes(20).toString('hex')}`;
  const account = await store.db.account.create({
    data: { tenantId: tenant, did: `did:ethr:0x7a69:${address}`, address },
  });
  return { id: account.id, tenantId: tenant };
}

async function refusal(promise: Promise<unknown>): Promise<RecoveryCodeError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RecoveryCodeError);
  return error as RecoveryCodeError;
}

/** A well-formed code that is not one of `codes`. */
function otherCode(codes: string[]): string {
  for (;;) {
    const candidate = 'Z'.repeat(4) + randomBytes(6).toString('hex').toUpperCase().slice(0, 12);
    const formatted = candidate.match(/.{4}/g)!.join('-');
    if (!codes.includes(formatted)) return formatted;
  }
}

function describeRecoveryCodes(wiring: StoreWiring) {
  describe(`Recovery codes on ${wiring.name}`, () => {
    const w = useMigratedStore(wiring);
    const recovery = () => new RecoveryCodes({ store: w.store });

    it('generates ten distinct codes of four groups of four unambiguous characters', async () => {
      const codes = await recovery().generate(await newAccount(w.store));
      expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
      expect(new Set(codes).size).toBe(10);
      for (const code of codes) {
        expect(code).toMatch(CODE_SHAPE);
        expect(code).not.toMatch(/[ILOU]/);
      }
    });

    it('stores only salted hashes: no row contains a code, each has its own 16-byte salt', async () => {
      const account = await newAccount(w.store);
      const codes = await recovery().generate(account);
      const placeholder = w.store.dialect === 'postgres' ? '$1' : '?';
      const rows = await w.store.db.$queryRawUnsafe<Record<string, unknown>[]>(
        `SELECT * FROM "RecoveryCode" WHERE "accountId" = ${placeholder}`,
        account.id,
      );
      expect(rows).toHaveLength(10);
      const dump = rows
        .flatMap((row) =>
          Object.values(row).map((v) =>
            v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v),
          ),
        )
        .join('\n');
      for (const code of codes) {
        expect(dump).not.toContain(code);
        expect(dump).not.toContain(code.replace(/-/g, ''));
      }
      const salts = rows.map((row) => Buffer.from(row.salt as Uint8Array));
      for (const salt of salts) expect(salt).toHaveLength(16);
      expect(new Set(salts.map((s) => s.toString('hex'))).size).toBe(10);
      expect(new Set(rows.map((row) => row.setId)).size).toBe(1);
      // Each hash is HMAC-SHA-256(salt, normalised code) of exactly one code.
      const expected = codes.map((code) => code.replace(/-/g, ''));
      for (const row of rows) {
        const hash = Buffer.from(row.hash as Uint8Array);
        expect(hash).toHaveLength(32);
        const matches = expected.filter((code) =>
          createHmac('sha256', Buffer.from(row.salt as Uint8Array))
            .update(code)
            .digest()
            .equals(hash),
        );
        expect(matches).toHaveLength(1);
      }
    });

    it('accepts each code once, proving otp, and counts the remaining codes down', async () => {
      const account = await newAccount(w.store);
      const codes = await recovery().generate(account);
      expect(await recovery().remaining(account)).toBe(10);
      for (const [i, code] of codes.entries()) {
        await expect(recovery().verify(account, code)).resolves.toEqual({
          kind: 'recovery_code',
          amr: ['otp'],
          phishingResistant: false,
          hardwareBound: false,
          userVerified: false,
        });
        expect(await recovery().remaining(account)).toBe(9 - i);
        const again = await refusal(recovery().verify(account, code));
        expect([again.code, again.status, again.reason]).toEqual(['invalid_code', 401, 'reused']);
      }
    });

    it('answers a reused code exactly like a wrong one, apart from the logged reason', async () => {
      const account = await newAccount(w.store);
      const codes = await recovery().generate(account);
      await recovery().verify(account, codes[0]!);
      const reused = await refusal(recovery().verify(account, codes[0]!));
      const wrong = await refusal(recovery().verify(account, otherCode(codes)));
      expect(wrong.reason).toBe('wrong');
      expect(reused.reason).toBe('reused');
      for (const field of ['code', 'status', 'title', 'message', 'extensions', 'headers'] as const) {
        expect(reused[field]).toEqual(wrong[field]);
      }
    });

    it('accepts a code typed in lower case, with spaces, without hyphens, and with O, I, L for 0, 1, 1', async () => {
      const account = await newAccount(w.store);
      const codes = await recovery().generate(account);
      await recovery().verify(account, codes[0]!.toLowerCase());
      await recovery().verify(account, ` ${codes[1]!.replace(/-/g, ' ')} `);
      await recovery().verify(account, codes[2]!.replace(/-/g, ''));
      const lookalike = (code: string) =>
        code.replace(/0/g, 'O').replace(/1/g, (_, i: number) => (i % 2 ? 'I' : 'l'));
      const withDigits = codes.slice(3).find((code) => /[01]/.test(code));
      expect(withDigits).toBeDefined();
      await recovery().verify(account, lookalike(withDigits!));
    });

    for (const n of [2, 10]) {
      it(`gives exactly one success for ${n} concurrent uses of one code`, async () => {
        const account = await newAccount(w.store);
        const [code] = await recovery().generate(account);
        const results = await Promise.allSettled(
          Array.from({ length: n }, () => recovery().verify(account, code!)),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected')
            expect(r.reason).toMatchObject({ code: 'invalid_code', reason: 'reused' });
        }
        expect(await recovery().remaining(account)).toBe(9);
      });
    }

    it('regenerating replaces the set: old codes stop working, the new ten work', async () => {
      const account = await newAccount(w.store);
      const old = await recovery().generate(account);
      await recovery().verify(account, old[0]!);
      const fresh = await recovery().generate(account);
      expect(await recovery().remaining(account)).toBe(10);
      expect(await w.store.db.recoveryCode.count({ where: { accountId: account.id } })).toBe(10);
      for (const code of old.slice(1)) {
        const error = await refusal(recovery().verify(account, code));
        expect([error.code, error.reason]).toEqual(['invalid_code', 'wrong']);
      }
      for (const code of fresh) await recovery().verify(account, code);
    });

    it('refuses malformed input with 400 invalid_code_format', async () => {
      const account = await newAccount(w.store);
      await recovery().generate(account);
      const malformed = [
        '',
        'ABCD-EFGH-JKMN',
        'ABCD-EFGH-JKMN-PQRST',
        'ABCD-EFGH-JKMN-PQRU', // U is not in the alphabet
        'ABCD_EFGH_JKMN_PQRS',
        'ＡＢＣＤ-ＥＦＧＨ-ＪＫＭＮ-ＰＱＲＳ', // fullwidth
        'ıBCD-EFGH-JKMN-PQRS', // dotless i upper-cases to an ASCII I
        'ABCD-EFGH-JKMN-PQR٣',
        `${'-'.repeat(60)}ABCDEFGHJKMNPQRS`,
        'A'.repeat(100_000),
      ];
      for (const code of malformed) {
        const error = await refusal(recovery().verify(account, code));
        expect([error.code, error.status]).toEqual(['invalid_code_format', 400]);
      }
      const notAString = await refusal(recovery().verify(account, null as unknown as string));
      expect(notAString.code).toBe('invalid_code_format');
    });

    it("refuses another account's code", async () => {
      const owner = await newAccount(w.store);
      const other = await newAccount(w.store, owner.tenantId);
      const codes = await recovery().generate(owner);
      await recovery().generate(other);
      const error = await refusal(recovery().verify(other, codes[0]!));
      expect(error.code).toBe('invalid_code');
      await recovery().verify(owner, codes[0]!);
    });

    it('refuses an unknown account with the same error, after the same hashing work', async () => {
      const account = await newAccount(w.store);
      const codes = await recovery().generate(account);
      // Leave three codes, so a short set does not cost less either.
      for (const code of codes.slice(3)) await recovery().verify(account, code);
      const guess = otherCode(codes);

      let start = hmacs.count;
      const known = await refusal(recovery().verify(account, guess));
      const knownWork = hmacs.count - start;
      start = hmacs.count;
      const unknown = await refusal(recovery().verifyUnknown(guess));
      const unknownWork = hmacs.count - start;
      start = hmacs.count;
      await recovery().verify(account, codes[0]!);
      const successWork = hmacs.count - start;

      expect(knownWork).toBe(RECOVERY_CODE_COUNT);
      expect(unknownWork).toBe(knownWork);
      expect(successWork).toBe(knownWork);
      expect(unknown.reason).toBe('unknown_account');
      for (const field of ['code', 'status', 'title', 'message', 'extensions', 'headers'] as const) {
        expect(unknown[field]).toEqual(known[field]);
      }
      const malformed = await refusal(recovery().verifyUnknown('nope'));
      expect([malformed.code, malformed.status]).toEqual(['invalid_code_format', 400]);
    });

    it('hashes every slot of a set with no code left, and still refuses', async () => {
      const account = await newAccount(w.store);
      const start = hmacs.count;
      const error = await refusal(recovery().verify(account, 'ABCD-EFGH-JKMN-PQRS'));
      expect(hmacs.count - start).toBe(RECOVERY_CODE_COUNT);
      expect(error.code).toBe('invalid_code');
      expect(await recovery().remaining(account)).toBe(0);
    });
  });
}

for (const wiring of storeWirings('recovery codes')) describeRecoveryCodes(wiring);
