/**
 * The TOTP factor (RFC 6238) on SQLite and (when TEST_POSTGRES_URL is set) PostgreSQL: enrolment,
 * drift tolerance, each code accepted once (also under concurrency), strict code format, and
 * invariant 3 (the secret is never stored in plaintext). The attempt cap has its own file.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvelopeError, KeyRing, masterKeyFrom } from '../../src/crypto/envelope.ts';
import { type TotpAccount, TotpError, TotpFactor, totpContext } from '../../src/factors/totp.ts';
import { createState, type EphemeralState } from '../../src/state/index.ts';
import type { Store } from '../../src/store/index.ts';
import { type StoreWiring, storeWirings, useMigratedStore } from '../helpers/stores.ts';

const keys = new KeyRing(masterKeyFrom(randomBytes(32)));
/** 2030-01-01T00:00:10Z: ten seconds into a step, so one step either side is unambiguous. */
const T0 = Date.UTC(2030, 0, 1, 0, 0, 10);
const STEP_MS = 30_000;

/** A tenant with one account, created directly in the store. */
async function newAccount(store: Store): Promise<TotpAccount> {
  const tenant = await store.db.tenant.create({
    data: { slug: `t-${randomUUID().slice(0, 8)}`, displayName: 'Acme Co' },
  });
  const address = `0x${randomBytes(20).toString('hex')}`;
  const account = await store.db.account.create({
    data: {
      tenantId: tenant.id,
      did: `did:ethr:0x7a69:${address}`,
      address,
      username: `alice-${randomUUID().slice(0, 6)}`,
    },
  });
  return { id: account.id, tenantId: tenant.id, did: account.did, username: account.username };
}

/** RFC 4648 Base32 without padding. */
function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out: number[] = [];
  let value = 0;
  let bits = 0;
  for (const char of text) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not Base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
    value &= (1 << bits) - 1;
  }
  return Buffer.from(out);
}

const codeAt = (secret: string, ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) });

async function refusal(promise: Promise<unknown>): Promise<TotpError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TotpError);
  return error as TotpError;
}

function describeTotp(wiring: StoreWiring) {
  describe(`TOTP factor on ${wiring.name}`, () => {
    const w = useMigratedStore(wiring);
    let state: EphemeralState;
    const clock = { ms: T0 };
    let totp: TotpFactor;

    beforeAll(async () => {
      state = await createState({});
      totp = new TotpFactor({ store: w.store, keys, state, now: () => clock.ms });
    });
    afterAll(async () => {
      await state.close();
    });

    /** An account with a confirmed TOTP, confirmed at T0; the clock is left at T0. */
    async function enrolled(factor = totp) {
      clock.ms = T0;
      const account = await newAccount(w.store);
      const { secret } = await factor.startEnrolment(account, 'Acme Co');
      await factor.confirmEnrolment(account, await codeAt(secret, T0));
      return { account, secret };
    }

    it('generates a 160-bit Base32 secret', async () => {
      const account = await newAccount(w.store);
      const { secret } = await totp.startEnrolment(account, 'Acme Co');
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(base32Decode(secret)).toHaveLength(20);
      const other = await totp.startEnrolment(await newAccount(w.store), 'Acme Co');
      expect(other.secret).not.toBe(secret);
    });

    it('gives a key URI naming issuer, tenant, account, SHA1, 6 digits and 30 s', async () => {
      const account = await newAccount(w.store);
      const { secret, uri } = await totp.startEnrolment(account, 'Acme Co');
      const issuer = encodeURIComponent('Trustgate (Acme Co)');
      expect(uri).toBe(
        `otpauth://totp/${issuer}:${encodeURIComponent(account.username!)}?secret=${secret}` +
          `&issuer=${issuer}&algorithm=SHA1&digits=6&period=30`,
      );
    });

    it('labels an account without a username by its DID address, never with a colon', async () => {
      const account = { ...(await newAccount(w.store)), username: null };
      const { uri } = await totp.startEnrolment(account, 'Acme: Co');
      const label = decodeURIComponent(new URL(uri).pathname.slice(1));
      expect(label).toBe(`Trustgate (Acme Co):${account.did.split(':').at(-1)}`);
      expect(label.split(':')).toHaveLength(2);
    });

    it('renders the key URI as an SVG QR code', async () => {
      const { qrSvg } = await totp.startEnrolment(await newAccount(w.store), 'Acme Co');
      expect(qrSvg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(qrSvg).toContain('<path');
      expect(qrSvg.trim()).toMatch(/<\/svg>$/);
    });

    it('never stores the secret in plaintext: the row holds an envelope bound to its factor id', async () => {
      const account = await newAccount(w.store);
      const { secret } = await totp.startEnrolment(account, 'Acme Co');
      const rows = await w.store.db.$queryRawUnsafe<Record<string, unknown>[]>(
        `SELECT * FROM "TotpFactor" WHERE "accountId" = ${w.store.dialect === 'postgres' ? '$1' : '?'}`,
        account.id,
      );
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      const envelope = Buffer.from(row.envelope as Uint8Array);
      expect(envelope.includes(Buffer.from(secret, 'ascii'))).toBe(false);
      expect(envelope.includes(base32Decode(secret))).toBe(false);
      for (const value of Object.values(row)) {
        const text = value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : String(value);
        expect(text).not.toContain(secret);
      }
      expect(row.masterKeyId).toBe(keys.current.id);
      expect(keys.open(envelope, totpContext(String(row.id))).toString('ascii')).toBe(secret);
      // Copied to another row, the envelope does not open.
      expect(() => keys.open(envelope, totpContext(randomUUID()))).toThrow(EnvelopeError);
    });

    it('refuses to confirm with a wrong code and leaves the factor unconfirmed', async () => {
      clock.ms = T0;
      const account = await newAccount(w.store);
      const { secret } = await totp.startEnrolment(account, 'Acme Co');
      const right = await codeAt(secret, T0);
      const wrong = right === '000000' ? '000001' : '000000';
      const error = await refusal(totp.confirmEnrolment(account, wrong));
      expect([error.code, error.status, error.reason]).toEqual(['invalid_code', 400, 'wrong']);
      expect(await totp.status(account)).toMatchObject({ enrolled: true, confirmed: false });
      await totp.confirmEnrolment(account, right);
      expect(await totp.status(account)).toMatchObject({ enrolled: true, confirmed: true });
    });

    it('confirms with a valid code and records that step as used, so it cannot then sign in', async () => {
      const { account, secret } = await enrolled();
      const row = await w.store.db.totpFactor.findUniqueOrThrow({ where: { accountId: account.id } });
      expect(row.confirmed).toBe(true);
      expect(row.confirmedAt?.getTime()).toBe(T0);
      expect(row.lastUsedStep).toBe(BigInt(Math.floor(T0 / STEP_MS)));
      const error = await refusal(totp.verify(account, await codeAt(secret, T0)));
      expect([error.code, error.reason]).toEqual(['invalid_code', 'reused']);
    });

    it('refuses to confirm twice with 409 totp_exists, and to confirm nothing with 404 no_totp', async () => {
      const { account, secret } = await enrolled();
      clock.ms = T0 + STEP_MS;
      const again = await refusal(totp.confirmEnrolment(account, await codeAt(secret, clock.ms)));
      expect([again.code, again.status]).toEqual(['totp_exists', 409]);
      const none = await refusal(totp.confirmEnrolment(await newAccount(w.store), '123456'));
      expect([none.code, none.status]).toEqual(['no_totp', 404]);
    });

    it('signs in with a current code and proves otp, not phishing-resistant', async () => {
      const { account, secret } = await enrolled();
      clock.ms = T0 + STEP_MS;
      const proof = await totp.verify(account, await codeAt(secret, clock.ms));
      expect(proof).toEqual({
        kind: 'totp',
        amr: ['otp'],
        phishingResistant: false,
        hardwareBound: false,
        userVerified: false,
      });
    });

    it('accepts a code of the previous step and of the next step (one step of drift)', async () => {
      const { account, secret } = await enrolled();
      clock.ms = T0 + 2 * STEP_MS;
      await expect(totp.verify(account, await codeAt(secret, T0 + STEP_MS))).resolves.toMatchObject({
        kind: 'totp',
      });
      await expect(totp.verify(account, await codeAt(secret, T0 + 3 * STEP_MS))).resolves.toMatchObject({
        kind: 'totp',
      });
    });

    it('refuses a code two steps away, before or after, as a wrong code', async () => {
      const { account, secret } = await enrolled();
      clock.ms = T0 + 10 * STEP_MS;
      for (const ms of [T0 + 8 * STEP_MS, T0 + 12 * STEP_MS]) {
        const code = await codeAt(secret, ms);
        const neighbours = await Promise.all([-1, 0, 1].map((d) => codeAt(secret, clock.ms + d * STEP_MS)));
        if (neighbours.includes(code)) continue; // a one-in-a-million collision would make this moot
        const error = await refusal(totp.verify(account, code));
        expect([error.code, error.status, error.reason]).toEqual(['invalid_code', 401, 'wrong']);
      }
      await expect(totp.verify(account, await codeAt(secret, clock.ms))).resolves.toBeDefined();
    });

    it('refuses a code reused within its step, with the same answer as a wrong code', async () => {
      const { account, secret } = await enrolled();
      clock.ms = T0 + STEP_MS;
      const code = await codeAt(secret, clock.ms);
      await totp.verify(account, code);
      clock.ms += 5_000;
      const reused = await refusal(totp.verify(account, code));
      const wrong = await refusal(totp.verify(account, code === '999999' ? '999998' : '999999'));
      expect(reused.reason).toBe('reused');
      expect(wrong.reason).toBe('wrong');
      for (const e of [reused, wrong])
        expect([e.code, e.status, e.message]).toEqual([wrong.code, 401, wrong.message]);
      expect(reused.headers).toEqual(wrong.headers);
      expect(reused.extensions).toEqual(wrong.extensions);
    });

    it('refuses an earlier step once a later step was accepted', async () => {
      const { account, secret } = await enrolled();
      clock.ms = T0 + 2 * STEP_MS;
      await totp.verify(account, await codeAt(secret, T0 + 3 * STEP_MS));
      const error = await refusal(totp.verify(account, await codeAt(secret, T0 + 2 * STEP_MS)));
      expect(error.reason).toBe('reused');
    });

    for (const n of [2, 10]) {
      it(`gives exactly one success for ${n} concurrent submissions of one code`, async () => {
        // A budget above n, so every submission reaches the once-only check in the database.
        const roomy = new TotpFactor({ store: w.store, keys, state, now: () => clock.ms, maxAttempts: 100 });
        const { account, secret } = await enrolled(roomy);
        clock.ms = T0 + STEP_MS;
        const code = await codeAt(secret, clock.ms);
        const results = await Promise.allSettled(
          Array.from({ length: n }, () => roomy.verify(account, code)),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected') {
            expect(r.reason).toBeInstanceOf(TotpError);
            expect([r.reason.code, r.reason.reason]).toEqual(['invalid_code', 'reused']);
          }
        }
        const row = await w.store.db.totpFactor.findUniqueOrThrow({ where: { accountId: account.id } });
        expect(row.lastUsedStep).toBe(BigInt(Math.floor(clock.ms / STEP_MS)));
      });
    }

    it('refuses non-ASCII digits and other malformed codes with 400 invalid_code_format', async () => {
      const { account } = await enrolled();
      const malformed = [
        '٠١٢٣٤٥', // Arabic-Indic
        '۱۲۳۴۵۶', // Extended Arabic-Indic
        '１２３４５６', // fullwidth
        '१२३४५६', // Devanagari
        '12345',
        '1234567',
        '123 456',
        '12345a',
        '\t123456',
        '123456\n',
        '',
        ' '.repeat(10_000),
        `${' '.repeat(40)}123456${' '.repeat(40)}`,
      ];
      for (const code of malformed) {
        const error = await refusal(totp.verify(account, code));
        expect([error.code, error.status]).toEqual(['invalid_code_format', 400]);
      }
      const notAString = await refusal(totp.verify(account, 123456 as unknown as string));
      expect(notAString.code).toBe('invalid_code_format');
    });

    it('accepts a code surrounded by ASCII spaces', async () => {
      const { account, secret } = await enrolled();
      clock.ms = T0 + STEP_MS;
      await expect(totp.verify(account, `  ${await codeAt(secret, clock.ms)} `)).resolves.toBeDefined();
    });

    it('answers an unconfirmed factor, or none, like a wrong code', async () => {
      clock.ms = T0;
      const account = await newAccount(w.store);
      const none = await refusal(totp.verify(account, '123456'));
      const { secret } = await totp.startEnrolment(account, 'Acme Co');
      const unconfirmed = await refusal(totp.verify(account, await codeAt(secret, T0)));
      for (const e of [none, unconfirmed]) {
        expect([e.code, e.status, e.reason]).toEqual(['invalid_code', 401, 'not_enrolled']);
      }
    });

    it('refuses a new enrolment with 409 totp_exists while a confirmed TOTP exists', async () => {
      const { account, secret } = await enrolled();
      const error = await refusal(totp.startEnrolment(account, 'Acme Co'));
      expect([error.code, error.status]).toEqual(['totp_exists', 409]);
      clock.ms = T0 + STEP_MS;
      await expect(totp.verify(account, await codeAt(secret, clock.ms))).resolves.toBeDefined();
    });

    it('replaces an unconfirmed enrolment: only the newest secret confirms', async () => {
      clock.ms = T0;
      const account = await newAccount(w.store);
      const first = await totp.startEnrolment(account, 'Acme Co');
      const second = await totp.startEnrolment(account, 'Acme Co');
      expect(await w.store.db.totpFactor.count({ where: { accountId: account.id } })).toBe(1);
      const stale = await codeAt(first.secret, T0);
      if (stale !== (await codeAt(second.secret, T0))) {
        await expect(totp.confirmEnrolment(account, stale)).rejects.toMatchObject({ code: 'invalid_code' });
      }
      await totp.confirmEnrolment(account, await codeAt(second.secret, T0));
    });

    it('queues concurrent enrolments: all succeed and exactly one unconfirmed factor remains', async () => {
      const account = await newAccount(w.store);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => totp.startEnrolment(account, 'Acme Co')),
      );
      const rows = await w.store.db.totpFactor.findMany({ where: { accountId: account.id } });
      expect(rows).toHaveLength(1);
      const stored = keys.open(rows[0]!.envelope, totpContext(rows[0]!.id)).toString('ascii');
      expect(results.map((r) => r.secret)).toContain(stored);
    });

    it('removes the factor; status reports enrolled, confirmed and createdAt', async () => {
      const account = await newAccount(w.store);
      expect(await totp.status(account)).toEqual({ enrolled: false, confirmed: false, createdAt: null });
      const { secret } = await totp.startEnrolment(account, 'Acme Co');
      const started = await totp.status(account);
      expect(started).toMatchObject({ enrolled: true, confirmed: false });
      expect(started.createdAt).toBeInstanceOf(Date);
      clock.ms = T0;
      await totp.confirmEnrolment(account, await codeAt(secret, T0));
      expect(await totp.status(account)).toMatchObject({ enrolled: true, confirmed: true });
      expect(await totp.remove(account)).toBe(true);
      expect(await totp.remove(account)).toBe(false);
      expect(await totp.status(account)).toEqual({ enrolled: false, confirmed: false, createdAt: null });
      clock.ms = T0 + STEP_MS;
      const error = await refusal(totp.verify(account, await codeAt(secret, clock.ms)));
      expect(error.reason).toBe('not_enrolled');
      // Removed, a new enrolment may start.
      await expect(totp.startEnrolment(account, 'Acme Co')).resolves.toBeDefined();
    });

    it("keeps to the account's tenant: the same account id under another tenant has no TOTP", async () => {
      const { account, secret } = await enrolled();
      const other = await newAccount(w.store);
      const stranger = { ...account, tenantId: other.tenantId };
      clock.ms = T0 + STEP_MS;
      const error = await refusal(totp.verify(stranger, await codeAt(secret, clock.ms)));
      expect(error.reason).toBe('not_enrolled');
      expect(await totp.status(stranger)).toMatchObject({ enrolled: false });
      expect(await totp.remove(stranger)).toBe(false);
      await expect(totp.verify(account, await codeAt(secret, clock.ms))).resolves.toBeDefined();
    });
  });
}

for (const wiring of storeWirings('TOTP factor')) describeTotp(wiring);
