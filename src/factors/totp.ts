/**
 * TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps), a second factor that proves `otp`. Rules it enforces:
 *
 *   - The secret is 20 random bytes (160 bits), shown once at enrolment and stored only as an envelope
 *     bound to its factor id (`totp:<factorId>`); it is never logged.
 *   - A code is exactly six ASCII digits after trimming ASCII spaces. Anything else (Arabic-Indic or
 *     fullwidth digits included) is refused as `invalid_code_format` before any verification and does
 *     not count as an attempt.
 *   - One step of clock drift is tolerated: the previous, current and next step.
 *   - Each code is accepted once: the accepted step must be later than the stored `lastUsedStep`, and
 *     is written with a conditional update, so of concurrent submissions of one code exactly one wins.
 *     A reused code gets the same answer as a wrong one; only `reason` (never sent) tells them apart.
 *   - Attempts are capped in shared state (every instance sees one budget): each attempt is reserved
 *     atomically before verifying, at most `maxAttempts` per window; using up a window's budget locks
 *     TOTP for a backoff that doubles with each exhausted window (capped); a success resets all of it.
 *     The keys are TOTP's own, so the lock never blocks the person's passkeys or recovery codes.
 *   - A factor that is absent or not yet confirmed answers `invalid_code` like a wrong code, so
 *     verification does not reveal whether the person has TOTP.
 */
import { randomUUID } from 'node:crypto';
import { generateSecret, verify as verifyOtp } from 'otplib';
import QRCode from 'qrcode';
import type { KeyRing } from '../crypto/envelope.ts';
import { TrustgateError } from '../errors.ts';
import { lockAccount } from '../identity/accounts.ts';
import type { EphemeralState } from '../state/types.ts';
import type { Store, Tx } from '../store/index.ts';
import type { FactorProof } from './types.ts';

const SECRET_BYTES = 20;
const DIGITS = 6;
const PERIOD_S = 30;
const CODE_PATTERN = /^[0-9]{6}$/;
/** Longer input is refused before any parsing, so trimming stays cheap. */
const MAX_INPUT_LENGTH = 64;

/** The envelope context binding a TOTP secret to its factor row. */
export const totpContext = (factorId: string) => `totp:${factorId}`;

/** Why a code was refused. `reason` is for the audit log; the client sees only the code. */
export type TotpRefusal = 'wrong' | 'reused' | 'not_enrolled';

const TITLES = {
  invalid_code_format: 'Invalid code format',
  invalid_code: 'Invalid code',
  no_totp: 'No authenticator app',
  totp_exists: 'Authenticator app already set up',
  too_many_attempts: 'Too many attempts',
} as const;

/**
 * Refusals of the TOTP factor. Codes: `invalid_code_format` (400), `invalid_code` (401 on sign-in,
 * 400 when confirming enrolment), `no_totp` (404, nothing to confirm), `totp_exists` (409, remove the
 * confirmed factor first), `too_many_attempts` (429, with `Retry-After`).
 */
export class TotpError extends TrustgateError {
  /** For the audit log only: why `invalid_code` was answered. Never part of the problem body. */
  readonly reason: TotpRefusal | undefined;

  constructor(
    code: 'invalid_code_format' | 'invalid_code' | 'no_totp' | 'totp_exists' | 'too_many_attempts',
    status: number,
    detail: string,
    options: { reason?: TotpRefusal; headers?: Record<string, string> } = {},
  ) {
    super(code, status, TITLES[code], detail, options.headers ? { headers: options.headers } : {});
    this.reason = options.reason;
  }
}

/** The account a TOTP factor belongs to. */
export interface TotpAccount {
  id: string;
  tenantId: string;
  username?: string | null;
  did: string;
}

/** What enrolment shows the person once: the secret and the same as a URI and a QR code. */
export interface TotpEnrolment {
  /** Base32 (RFC 4648, no padding), 160 bits. */
  secret: string;
  /** Key URI: `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`. */
  uri: string;
  /** The URI as an SVG QR code. */
  qrSvg: string;
}

/** Whether the account has TOTP, and whether it is confirmed. */
export interface TotpStatus {
  enrolled: boolean;
  confirmed: boolean;
  createdAt: Date | null;
}

export interface TotpFactorOptions {
  store: Store;
  keys: KeyRing;
  /** Shared state holding the attempt counters (Redis when there is more than one instance). */
  state: EphemeralState;
  /** Issuer shown in authenticator apps, followed by the tenant's label. Default `Trustgate`. */
  issuerName?: string;
  /**
   * Clock in epoch milliseconds, for time steps and `Retry-After`. Default `Date.now`. Attempt windows
   * and locks expire on the state's own clock, so a test injecting a clock gives the state the same one.
   */
  now?: () => number;
  /** Attempts allowed per window. Default 5. */
  maxAttempts?: number;
  /** Length of an attempt window, and the first lock. Default 5 minutes. */
  attemptWindowMs?: number;
  /** Longest lock; the backoff doubles up to it. Default 1 hour. */
  maxLockMs?: number;
  /** How long exhausted windows are remembered for the backoff (unless a success resets it). Default 24 h. */
  strikeMemoryMs?: number;
}

/** The TOTP factor: enrol, confirm, verify (once per code, attempt-capped), remove, status. */
export class TotpFactor {
  readonly #store: Store;
  readonly #keys: KeyRing;
  readonly #state: EphemeralState;
  readonly #issuerName: string;
  readonly #now: () => number;
  readonly #maxAttempts: number;
  readonly #windowMs: number;
  readonly #maxLockMs: number;
  readonly #strikeMemoryMs: number;

  constructor(options: TotpFactorOptions) {
    this.#store = options.store;
    this.#keys = options.keys;
    this.#state = options.state;
    this.#issuerName = options.issuerName ?? 'Trustgate';
    this.#now = options.now ?? Date.now;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#windowMs = options.attemptWindowMs ?? 5 * 60_000;
    this.#maxLockMs = options.maxLockMs ?? 60 * 60_000;
    this.#strikeMemoryMs = options.strikeMemoryMs ?? 24 * 60 * 60_000;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new Error('maxAttempts must be a positive integer');
    }
    // A lock shorter than the window would let the window's leftover count lock again at once.
    if (this.#maxLockMs < this.#windowMs) throw new Error('maxLockMs must be at least attemptWindowMs');
  }

  /**
   * Starts enrolment: a new secret, stored unconfirmed (replacing an unconfirmed one).
   * @param tenantLabel the tenant's name, shown after the issuer name in authenticator apps.
   * @throws TotpError `totp_exists` (409) when the account has a confirmed TOTP: remove it first.
   */
  async startEnrolment(account: TotpAccount, tenantLabel: string): Promise<TotpEnrolment> {
    const factorId = randomUUID();
    const secret = generateSecret({ length: SECRET_BYTES });
    const envelope = this.#keys.seal(Buffer.from(secret, 'ascii'), totpContext(factorId));
    const data = {
      id: factorId,
      tenantId: account.tenantId,
      accountId: account.id,
      masterKeyId: this.#keys.current.id,
      envelope: new Uint8Array(envelope),
    };
    await this.#store.tx(async (tx) => {
      // Concurrent enrolments of one account queue on its row, so each sees the previous one's factor.
      await lockAccount(this.#store, tx, account);
      const existing = await tx.totpFactor.findFirst({
        where: { accountId: account.id, tenantId: account.tenantId },
        select: { id: true, confirmed: true },
      });
      if (existing?.confirmed) throw totpExists();
      if (existing) await tx.totpFactor.delete({ where: { id: existing.id } });
      await tx.totpFactor.create({ data });
    });
    const uri = this.#keyUri(secret, account, tenantLabel);
    const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { secret, uri, qrSvg };
  }

  /**
   * Confirms enrolment with a first code from the app; that code's step counts as used.
   * @throws TotpError `invalid_code_format` (400), `invalid_code` (400), `no_totp` (404),
   *   `totp_exists` (409, already confirmed).
   */
  async confirmEnrolment(account: TotpAccount, code: string, tx?: Tx): Promise<void> {
    const token = parseCode(code);
    const row = await this.#find(account);
    if (!row) throw new TotpError('no_totp', 404, 'Start setting up an authenticator app first.');
    if (row.confirmed) throw totpExists();
    const step = await this.#matchStep(row.id, row.envelope, token);
    if (step === null) throw invalidCode(400, 'wrong');
    if (step <= row.lastUsedStep) throw invalidCode(400, 'reused');
    const { count } = await (tx ?? this.#store.db).totpFactor.updateMany({
      where: { id: row.id, confirmed: false, lastUsedStep: { lt: step } },
      data: { confirmed: true, confirmedAt: new Date(this.#now()), lastUsedStep: step },
    });
    if (count === 1) return;
    const current = await this.#find(account);
    if (current?.confirmed) throw totpExists();
    throw invalidCode(400, 'reused');
  }

  /**
   * Verifies a sign-in code.
   * @throws TotpError `invalid_code_format` (400, not counted), `too_many_attempts` (429, with
   *   `Retry-After`), `invalid_code` (401: wrong, reused, or no confirmed TOTP; see `reason`).
   */
  async verify(account: TotpAccount, code: string): Promise<FactorProof> {
    const token = parseCode(code);
    await this.#reserveAttempt(account);
    const row = await this.#find(account);
    if (!row?.confirmed) throw invalidCode(401, 'not_enrolled');
    const step = await this.#matchStep(row.id, row.envelope, token);
    if (step === null) throw invalidCode(401, 'wrong');
    if (step <= row.lastUsedStep) throw invalidCode(401, 'reused');
    // The conditional update is the real once-only check: of concurrent submissions, one updates the row.
    const { count } = await this.#store.db.totpFactor.updateMany({
      where: { id: row.id, confirmed: true, lastUsedStep: { lt: step } },
      data: { lastUsedStep: step },
    });
    if (count !== 1) throw invalidCode(401, 'reused');
    await this.#resetAttempts(account);
    return {
      kind: 'totp',
      amr: ['otp'],
      phishingResistant: false,
      hardwareBound: false,
      userVerified: false,
    };
  }

  /**
   * Removes the account's TOTP, confirmed or not. The caller enforces step-up first. With `tx`, the
   * removal commits with the caller's other changes.
   * @returns whether there was one.
   */
  async remove(account: TotpAccount, tx?: Tx): Promise<boolean> {
    const { count } = await (tx ?? this.#store.db).totpFactor.deleteMany({
      where: { accountId: account.id, tenantId: account.tenantId },
    });
    return count > 0;
  }

  /** Whether the account has TOTP (`enrolled`), and whether it is confirmed. */
  async status(account: TotpAccount): Promise<TotpStatus> {
    const row = await this.#store.db.totpFactor.findFirst({
      where: { accountId: account.id, tenantId: account.tenantId },
      select: { confirmed: true, createdAt: true },
    });
    return { enrolled: row !== null, confirmed: row?.confirmed ?? false, createdAt: row?.createdAt ?? null };
  }

  #find(account: TotpAccount) {
    return this.#store.db.totpFactor.findFirst({
      where: { accountId: account.id, tenantId: account.tenantId },
      select: { id: true, envelope: true, confirmed: true, lastUsedStep: true },
    });
  }

  /** The step (previous, current or next) whose code is `token`, or null. */
  async #matchStep(factorId: string, envelope: Uint8Array, token: string): Promise<bigint | null> {
    const plain = this.#keys.open(envelope, totpContext(factorId));
    try {
      const result = await verifyOtp({
        secret: plain.toString('ascii'),
        token,
        algorithm: 'sha1',
        digits: DIGITS,
        period: PERIOD_S,
        epoch: Math.floor(this.#now() / 1000),
        epochTolerance: PERIOD_S,
      });
      // The functional API types HOTP and TOTP results together; a TOTP match always carries its step.
      return result.valid && 'timeStep' in result ? BigInt(result.timeStep) : null;
    } finally {
      plain.fill(0);
    }
  }

  /**
   * Takes one attempt from the account's budget before any verification, so a burst of parallel
   * guesses never gets more than `maxAttempts` verifications: the counter is atomic in shared state.
   */
  async #reserveAttempt(account: TotpAccount): Promise<void> {
    const keys = attemptKeys(account);
    const lock = await this.#state.get(keys.lock);
    if (lock !== null) throw this.#tooMany(Number(lock));
    const { count, resetAtMs } = await this.#state.increment(keys.attempts, this.#windowMs);
    if (count === this.#maxAttempts) {
      // This attempt uses up the window: lock for the backoff now, so an attacker who pauses until the
      // window ends still meets the lock. A success on this very attempt lifts it again.
      const strikes = await this.#state.hit(keys.strikes, this.#strikeMemoryMs);
      const lockMs = Math.min(this.#windowMs * 2 ** Math.min(strikes - 1, 30), this.#maxLockMs);
      await this.#state.set(keys.lock, String(this.#now() + lockMs), lockMs);
      return;
    }
    if (count > this.#maxAttempts) {
      const current = await this.#state.get(keys.lock);
      throw this.#tooMany(current === null ? resetAtMs : Number(current));
    }
  }

  async #resetAttempts(account: TotpAccount): Promise<void> {
    const keys = attemptKeys(account);
    await Promise.all([
      this.#state.delete(keys.attempts),
      this.#state.delete(keys.strikes),
      this.#state.delete(keys.lock),
    ]);
  }

  #tooMany(untilMs: number): TotpError {
    const seconds = Number.isFinite(untilMs) ? Math.max(1, Math.ceil((untilMs - this.#now()) / 1000)) : 1;
    return new TotpError('too_many_attempts', 429, 'Too many attempts with the authenticator app.', {
      headers: { 'Retry-After': String(seconds) },
    });
  }

  #keyUri(secret: string, account: TotpAccount, tenantLabel: string): string {
    const tenant = uriPart(tenantLabel);
    const issuer = tenant ? `${uriPart(this.#issuerName)} (${tenant})` : uriPart(this.#issuerName);
    // Key URI labels may not contain a colon, which a DID is full of: show its address instead.
    const name = uriPart(account.username ?? account.did.split(':').at(-1) ?? account.did);
    const e = encodeURIComponent;
    return (
      `otpauth://totp/${e(issuer)}:${e(name)}?secret=${secret}&issuer=${e(issuer)}` +
      `&algorithm=SHA1&digits=${DIGITS}&period=${PERIOD_S}`
    );
  }
}

/** Shared-state keys of the TOTP attempt cap; only TOTP uses them. */
function attemptKeys(account: TotpAccount) {
  const id = `${account.tenantId}:${account.id}`;
  return { attempts: `totp:attempts:${id}`, strikes: `totp:strikes:${id}`, lock: `totp:lock:${id}` };
}

/** The code as six ASCII digits, or `invalid_code_format`. */
function parseCode(code: unknown): string {
  if (typeof code === 'string' && code.length <= MAX_INPUT_LENGTH) {
    let start = 0;
    let end = code.length;
    while (start < end && code[start] === ' ') start++;
    while (end > start && code[end - 1] === ' ') end--;
    const token = code.slice(start, end);
    if (CODE_PATTERN.test(token)) return token;
  }
  throw new TotpError('invalid_code_format', 400, 'Enter the 6-digit code from your authenticator app.');
}

/** Authenticator apps split the label at a colon and some choke on control characters. */
function uriPart(text: string): string {
  return text
    .replace(/[:\p{Cc}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 64);
}

function invalidCode(status: 400 | 401, reason: TotpRefusal): TotpError {
  return new TotpError('invalid_code', status, 'The code is not valid.', { reason });
}

function totpExists(): TotpError {
  return new TotpError('totp_exists', 409, 'An authenticator app is already set up; remove it first.');
}
