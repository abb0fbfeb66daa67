/**
 * Threat: guessing TOTP codes (ASVS V2.2.1 / V6.3). Attempts are reserved in shared state before any
 * verification, at most 5 per 5-minute window; the lock that follows doubles per exhausted window up to
 * an hour; a success resets it; malformed input never uses the budget; the lock covers TOTP only.
 * Runs on SQLite and PostgreSQL, with in-process state (injected clock) and, when TEST_REDIS_URL is
 * set, with Redis shared by two instances (real time, short windows).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { generate } from 'otplib';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyRing, masterKeyFrom } from '../../src/crypto/envelope.ts';
import { RecoveryCodes } from '../../src/factors/recovery-codes.ts';
import { type TotpAccount, TotpError, TotpFactor } from '../../src/factors/totp.ts';
import { MemoryState } from '../../src/state/memory.ts';
import { createRedisState, type RedisState } from '../../src/state/redis.ts';
import type { Store } from '../../src/store/index.ts';
import { type StoreWiring, storeWirings, useMigratedStore } from '../helpers/stores.ts';

/** Counts real TOTP verifications (calls into otplib's verify), so the tests see what got through. */
const otp = vi.hoisted(() => ({ verifications: 0 }));
vi.mock('otplib', async (importOriginal) => {
  const actual = await importOriginal<typeof import('otplib')>();
  return {
    ...actual,
    verify: (options: Parameters<typeof actual.verify>[0]) => {
      otp.verifications++;
      return actual.verify(options);
    },
  };
});

const redisUrl = process.env.TEST_REDIS_URL;
const runPrefix = `tg-test-${randomUUID().slice(0, 8)}`;
const keys = new KeyRing(masterKeyFrom(randomBytes(32)));
const T0 = Date.UTC(2030, 0, 1, 0, 0, 10);
const STEP_MS = 30_000;
const MINUTE = 60_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function newAccount(store: Store): Promise<TotpAccount> {
  const tenant = await store.db.tenant.create({
    data: { slug: `t-${randomUUID().slice(0, 8)}`, displayName: 'Acme Co' },
  });
  const address = `0x${randomBytes(20).toString('hex')}`;
  const account = await store.db.account.create({
    data: { tenantId: tenant.id, did: `did:ethr:0x7a69:${address}`, address, username: 'alice' },
  });
  return { id: account.id, tenantId: tenant.id, did: account.did, username: account.username };
}

const codeAt = (secret: string, ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) });

/** A code that is wrong for every step within one of `ms`. */
async function wrongCodeAt(secret: string, ms: number): Promise<string> {
  const valid = await Promise.all([-1, 0, 1].map((d) => codeAt(secret, ms + d * STEP_MS)));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!valid.includes(candidate)) return candidate;
  }
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    if (!(e instanceof TotpError)) throw e;
    return e.code;
  }
}

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

function describeWithMemory(wiring: StoreWiring) {
  describe(`TOTP attempt cap on ${wiring.name} with in-process state`, () => {
    const w = useMigratedStore(wiring);
    const clock = { ms: T0 };
    const now = () => clock.ms;
    let state: MemoryState;
    let totp: TotpFactor;

    beforeAll(() => {
      state = new MemoryState({ now });
      totp = new TotpFactor({ store: w.store, keys, state, now });
    });
    afterAll(async () => {
      await state.close();
    });
    beforeEach(() => {
      clock.ms = T0;
    });

    async function enrolled() {
      const account = await newAccount(w.store);
      const { secret } = await totp.startEnrolment(account, 'Acme Co');
      await totp.confirmEnrolment(account, await codeAt(secret, clock.ms));
      // Move past the confirmation's step so the next current code is fresh.
      clock.ms += STEP_MS;
      return { account, secret, wrong: await wrongCodeAt(secret, clock.ms) };
    }

    /** Five wrong codes (each verified), then the sixth attempt's refusal. */
    async function exhaust(account: TotpAccount, wrong: string): Promise<TotpError> {
      for (let i = 0; i < 5; i++) expect(await outcome(totp.verify(account, wrong))).toBe('invalid_code');
      return refusal(totp.verify(account, wrong));
    }

    it('lets a burst of 50 parallel wrong guesses reach at most 5 verifications; the rest get 429', async () => {
      const { account, wrong } = await enrolled();
      const before = otp.verifications;
      const results = await Promise.all(
        Array.from({ length: 50 }, () => outcome(totp.verify(account, wrong))),
      );
      const verified = otp.verifications - before;
      expect(verified).toBeLessThanOrEqual(5);
      expect(verified).toBeGreaterThan(0);
      expect(results.filter((r) => r === 'invalid_code')).toHaveLength(verified);
      expect(results.filter((r) => r === 'too_many_attempts')).toHaveLength(50 - verified);
    });

    it('refuses the attempt after five failures with 429 too_many_attempts and Retry-After', async () => {
      const { account, wrong } = await enrolled();
      const error = await exhaust(account, wrong);
      expect([error.code, error.status]).toEqual(['too_many_attempts', 429]);
      expect(error.headers['Retry-After']).toBe('300');
      clock.ms += 100_000;
      const later = await refusal(totp.verify(account, wrong));
      expect(later.headers['Retry-After']).toBe('200');
    });

    it('still refuses a correct code after the cap until the lock passes, then accepts it', async () => {
      const { account, secret, wrong } = await enrolled();
      await exhaust(account, wrong);
      const before = otp.verifications;
      const locked = await refusal(totp.verify(account, await codeAt(secret, clock.ms)));
      expect(locked.code).toBe('too_many_attempts');
      expect(otp.verifications).toBe(before);
      clock.ms += 5 * MINUTE - 1_000;
      expect(await outcome(totp.verify(account, await codeAt(secret, clock.ms)))).toBe('too_many_attempts');
      clock.ms += 1_000;
      expect(await outcome(totp.verify(account, await codeAt(secret, clock.ms)))).toBe('ok');
    });

    it('doubles the lock for each consecutive exhausted window, up to one hour', async () => {
      const { account, secret } = await enrolled();
      const retryAfters: string[] = [];
      for (let round = 0; round < 6; round++) {
        const error = await exhaust(account, await wrongCodeAt(secret, clock.ms));
        retryAfters.push(error.headers['Retry-After']!);
        clock.ms += Number(error.headers['Retry-After']) * 1000;
      }
      expect(retryAfters).toEqual(['300', '600', '1200', '2400', '3600', '3600']);
    });

    it('resets the counter and the backoff after a success', async () => {
      const { account, secret } = await enrolled();
      for (let round = 0; round < 2; round++) {
        const error = await exhaust(account, await wrongCodeAt(secret, clock.ms));
        clock.ms += Number(error.headers['Retry-After']) * 1000;
      }
      // Four failures, then a success: the fifth attempt of the window succeeds and lifts everything.
      const wrong = await wrongCodeAt(secret, clock.ms);
      for (let i = 0; i < 4; i++) expect(await outcome(totp.verify(account, wrong))).toBe('invalid_code');
      expect(await outcome(totp.verify(account, await codeAt(secret, clock.ms)))).toBe('ok');
      clock.ms += STEP_MS;
      const error = await exhaust(account, await wrongCodeAt(secret, clock.ms));
      expect(error.headers['Retry-After']).toBe('300');
    });

    it('counts reused codes as attempts', async () => {
      const { account, secret } = await enrolled();
      const code = await codeAt(secret, clock.ms);
      expect(await outcome(totp.verify(account, code))).toBe('ok');
      for (let i = 0; i < 5; i++) expect(await outcome(totp.verify(account, code))).toBe('invalid_code');
      expect(await outcome(totp.verify(account, code))).toBe('too_many_attempts');
    });

    it('refuses non-ASCII digits before the cap: they are not verified and use none of the budget', async () => {
      const { account, secret, wrong } = await enrolled();
      const before = otp.verifications;
      for (let i = 0; i < 20; i++) {
        for (const code of ['٠١٢٣٤٥', '１２３４５６', '12345']) {
          expect(await outcome(totp.verify(account, code))).toBe('invalid_code_format');
        }
      }
      expect(otp.verifications).toBe(before);
      for (let i = 0; i < 4; i++) expect(await outcome(totp.verify(account, wrong))).toBe('invalid_code');
      expect(await outcome(totp.verify(account, await codeAt(secret, clock.ms)))).toBe('ok');
      // Even while locked, a malformed code is a format error, not another attempt.
      const error = await exhaust(account, wrong);
      expect(error.code).toBe('too_many_attempts');
      expect(await outcome(totp.verify(account, '１２３４５６'))).toBe('invalid_code_format');
    });

    it("locks only that account's TOTP: other accounts and the same account's recovery codes still work", async () => {
      const victim = await enrolled();
      const bystander = await enrolled();
      const recovery = new RecoveryCodes({ store: w.store, now });
      const codes = await recovery.generate(victim.account);
      await exhaust(victim.account, victim.wrong);
      expect(await outcome(totp.verify(victim.account, await codeAt(victim.secret, clock.ms)))).toBe(
        'too_many_attempts',
      );
      expect(await outcome(totp.verify(bystander.account, await codeAt(bystander.secret, clock.ms)))).toBe(
        'ok',
      );
      await expect(recovery.verify(victim.account, codes[0]!)).resolves.toMatchObject({
        kind: 'recovery_code',
      });
    });

    it('shares one budget between instances using the same state', async () => {
      const other = new TotpFactor({ store: w.store, keys, state, now });
      const { account, wrong } = await enrolled();
      for (let i = 0; i < 5; i++) {
        const instance = i % 2 === 0 ? totp : other;
        expect(await outcome(instance.verify(account, wrong))).toBe('invalid_code');
      }
      expect(await outcome(other.verify(account, wrong))).toBe('too_many_attempts');
      expect(await outcome(totp.verify(account, wrong))).toBe('too_many_attempts');
    });
  });
}

function describeWithRedis(wiring: StoreWiring, url: string) {
  describe(`TOTP attempt cap on ${wiring.name} with Redis shared by two instances`, () => {
    const w = useMigratedStore(wiring);
    let states: RedisState[] = [];
    let a: TotpFactor;
    let b: TotpFactor;
    const WINDOW_MS = 400;

    beforeAll(async () => {
      const prefix = `${runPrefix}-${wiring.name}:`;
      states = [await createRedisState({ url, prefix }), await createRedisState({ url, prefix })];
      const options = { store: w.store, keys, attemptWindowMs: WINDOW_MS, maxLockMs: 8 * WINDOW_MS };
      a = new TotpFactor({ ...options, state: states[0]! });
      b = new TotpFactor({ ...options, state: states[1]! });
    });
    afterAll(async () => {
      await Promise.all(states.map((s) => s.close()));
    });

    async function enrolled() {
      const account = await newAccount(w.store);
      const { secret } = await a.startEnrolment(account, 'Acme Co');
      await a.confirmEnrolment(account, await codeAt(secret, Date.now() - STEP_MS));
      return { account, secret, wrong: await wrongCodeAt(secret, Date.now()) };
    }

    it('lets a burst of 50 parallel wrong guesses over two instances reach at most 5 verifications', async () => {
      const { account, wrong } = await enrolled();
      const before = otp.verifications;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => outcome((i % 2 === 0 ? a : b).verify(account, wrong))),
      );
      const verified = otp.verifications - before;
      expect(verified).toBeLessThanOrEqual(5);
      expect(verified).toBeGreaterThan(0);
      expect(results.filter((r) => r === 'invalid_code')).toHaveLength(verified);
      const refused = results.filter((r) => r === 'too_many_attempts');
      expect(refused).toHaveLength(50 - verified);
    });

    it('sets Retry-After and holds a doubled lock after the second exhausted window', async () => {
      const { account, secret, wrong } = await enrolled();
      const exhaust = async () => {
        for (let i = 0; i < 5; i++) expect(await outcome(a.verify(account, wrong))).toBe('invalid_code');
        return refusal(b.verify(account, wrong));
      };
      const first = await exhaust();
      expect(first.code).toBe('too_many_attempts');
      expect(Number(first.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
      await sleep(WINDOW_MS + 150);
      await exhaust(); // second window: lock of 2 × WINDOW_MS
      await sleep(WINDOW_MS + 150);
      expect(await outcome(b.verify(account, await codeAt(secret, Date.now())))).toBe('too_many_attempts');
      await sleep(WINDOW_MS);
      expect(await outcome(b.verify(account, await codeAt(secret, Date.now())))).toBe('ok');
    });
  });
}

const wirings = storeWirings('TOTP attempt cap');
for (const wiring of wirings) describeWithMemory(wiring);
if (redisUrl) {
  for (const wiring of wirings) describeWithRedis(wiring, redisUrl);
  afterAll(async () => {
    const admin = new Redis(redisUrl);
    try {
      for await (const found of admin.scanStream({ match: `${runPrefix}-*`, count: 500 })) {
        if ((found as string[]).length > 0) await admin.del(...(found as string[]));
      }
    } finally {
      await admin.quit();
    }
  });
} else {
  it.skip('Redis attempt-cap suite skipped: TEST_REDIS_URL not set', () => {});
}
