/**
 * Server-side browser sessions. The cookie carries a random 256-bit token; the database keeps only its
 * SHA-256, so a database dump holds no usable session. Every instance reads the same rows, so ending a
 * session takes effect everywhere at once.
 *
 * Rules enforced here:
 *   - idle and absolute limits per assurance level (NIST SP 800-63B-4: AAL2 30 min idle / 12 h,
 *     AAL3 15 min idle / 12 h); an expired session is ended on first sight;
 *   - the token rotates whenever the session's level changes (sign-in, step-up): `elevate` ends the old
 *     row and opens a new one, so a token captured before a step-up never carries the higher level;
 *   - a factor change or recovery ends every other session of the account (`endOthers`);
 *   - a step-up counts for the tenant's window: afterwards the session's level drops back to what its
 *     sign-in proved (each stored proof carries its time);
 *   - a step-up the decision point demanded at sign-in is stored with the session (`pending`), and the
 *     HTTP edge lets such a session only step up, read itself or sign out until it is met;
 *   - rows that replace one another (rotation) share a `lineage`: the browser session as apps see it.
 *     Whenever a lineage ends (sign-out, factor change, revocation, timeout), the end listeners run in
 *     the same transaction (OpenID Connect revokes the grants made in it).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  type Aal,
  type Assurance,
  type AssuranceRequirement,
  acrOf,
  assuranceOf,
  meets,
} from '../factors/assurance.ts';
import type { FactorProof } from '../factors/types.ts';
import type { Session } from '../store/generated/postgres/client.ts';
import type { Store, Tx } from '../store/index.ts';

export type { Session } from '../store/generated/postgres/client.ts';

/** Idle and absolute lifetimes of a session at a level. */
export interface SessionLimit {
  idleMs: number;
  absoluteMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Defaults: NIST SP 800-63B-4 reauthentication limits (AAL1 sessions, e.g. after recovery, as AAL2). */
export const DEFAULT_SESSION_LIMITS: Record<Aal, SessionLimit> = {
  1: { idleMs: 30 * MINUTE, absoluteMs: 12 * HOUR },
  2: { idleMs: 30 * MINUTE, absoluteMs: 12 * HOUR },
  3: { idleMs: 15 * MINUTE, absoluteMs: 12 * HOUR },
};

/** `lastSeenAt` is written at most this often, so busy sessions do not write on every request. */
const TOUCH_EVERY_MS = 30_000;

/** What a session proved, as stored (no attestation details), with when and how. */
type StoredProof = Omit<FactorProof, 'attestation'> & {
  /** When it was proved (epoch ms). */
  at?: number;
  /** Added by a step-up: counts only within the tenant's step-up window. */
  elevated?: boolean;
};

/** A live session with its assurance decoded (expired step-ups no longer count). */
export interface ActiveSession {
  row: Session;
  assurance: Assurance;
  acr: string;
  /** Every proof stored, expired step-ups included. */
  proofs: StoredProof[];
  /** When the person last proved a factor that still counts (OIDC `auth_time`), epoch ms. */
  authTimeMs: number;
  /** A step-up still owed (from the decision at sign-in). */
  pending?: AssuranceRequirement;
}

/** The tenant settings a session depends on. */
export interface SessionTenant {
  id: string;
  stepUpWindowSeconds: number;
}

export interface OpenSessionInput {
  tenantId: string;
  accountId: string;
  proofs: FactorProof[];
  mustEnrolPasskey?: boolean;
  userAgent?: string;
  ip?: string;
  /** Kept from the session being replaced (rotation keeps the absolute deadline). */
  createdAtMs?: number;
  /** A step-up the decision point demanded. */
  pending?: AssuranceRequirement;
  /** Kept from the session being replaced. */
  lineage?: string;
  /** The device (RiskDevice) the session is opened on, when the sign-in matched or recorded one. */
  deviceId?: string;
}

/** A session that just ended (not by rotation: its lineage ended with it). */
export interface EndedSession {
  id: string;
  tenantId: string;
  accountId: string;
  lineage: string;
  reason: string;
}

/** Runs inside the transaction that ends the sessions; a failure rolls the ending back. */
export type SessionEndListener = (tx: Tx, ended: EndedSession[]) => Promise<void>;

type SessionWhere = NonNullable<Parameters<Tx['session']['findMany']>[0]>['where'];

export const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export class Sessions {
  private readonly now: () => number;
  private readonly limits: Record<Aal, SessionLimit>;
  private readonly endListeners: SessionEndListener[] = [];

  constructor(
    private readonly store: Store,
    options: { now?: () => number; limits?: Partial<Record<Aal, SessionLimit>> } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.limits = { ...DEFAULT_SESSION_LIMITS, ...options.limits };
  }

  /** Registers a listener for ended lineages (see `SessionEndListener`). */
  onEnd(listener: SessionEndListener): void {
    this.endListeners.push(listener);
  }

  /** Opens a session for proofs just verified; returns the cookie token (shown once) and the row. */
  async open(input: OpenSessionInput, tx?: Tx): Promise<{ token: string; session: ActiveSession }> {
    const token = randomBytes(32).toString('base64url');
    const nowMs = this.now();
    const proofs = input.proofs.map((p) => ({ ...stripAttestation(p), at: (p as StoredProof).at ?? nowMs }));
    const assurance = assuranceOf(proofs);
    const pending =
      input.pending && !meets(assurance, nowMs, input.pending, nowMs) ? input.pending : undefined;
    const limit = this.limits[assurance.aal];
    const startMs = input.createdAtMs ?? nowMs;
    const passkeyId = [...proofs].reverse().find((p) => p.passkeyId)?.passkeyId ?? null;
    const row = await (tx ?? this.store.db).session.create({
      data: {
        id: hashToken(token),
        tenantId: input.tenantId,
        accountId: input.accountId,
        aal: assurance.aal,
        amr: JSON.stringify(assurance.amr),
        factors: JSON.stringify(proofs),
        phr: assurance.phr,
        phrh: assurance.phrh,
        passkeyId,
        authTime: new Date(nowMs),
        lastSeenAt: new Date(nowMs),
        idleExpiresAt: new Date(Math.min(nowMs + limit.idleMs, startMs + limit.absoluteMs)),
        absoluteExpiresAt: new Date(startMs + limit.absoluteMs),
        mustEnrolPasskey: input.mustEnrolPasskey ?? false,
        pendingRequirement: pending ? JSON.stringify(pending) : null,
        userAgent: input.userAgent?.slice(0, 512) ?? null,
        ip: input.ip ?? null,
        createdAt: new Date(startMs),
        ...(input.lineage ? { lineage: input.lineage } : {}),
        ...(input.deviceId ? { deviceId: input.deviceId } : {}),
      },
    });
    return { token, session: decode(row, nowMs, Number.POSITIVE_INFINITY) };
  }

  /**
   * The live session of `token` in `tenantId`, or null (unknown, ended, expired, other tenant). Ends an
   * expired session on sight and slides the idle deadline.
   */
  async find(token: string | undefined, tenant: SessionTenant): Promise<ActiveSession | null> {
    if (!token || !TOKEN_PATTERN.test(token)) return null;
    const row = await this.store.db.session.findUnique({ where: { id: hashToken(token) } });
    if (!row || row.endedAt || row.tenantId !== tenant.id) return null;
    const nowMs = this.now();
    if (nowMs >= row.idleExpiresAt.getTime() || nowMs >= row.absoluteExpiresAt.getTime()) {
      const reason = nowMs >= row.absoluteExpiresAt.getTime() ? 'absolute_timeout' : 'idle_timeout';
      await this.end(row.id, reason);
      return null;
    }
    if (nowMs - row.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
      const idle = this.limits[row.aal as Aal].idleMs;
      const idleExpiresAt = new Date(Math.min(nowMs + idle, row.absoluteExpiresAt.getTime()));
      await this.store.db.session.updateMany({
        where: { id: row.id, endedAt: null },
        data: { lastSeenAt: new Date(nowMs), idleExpiresAt },
      });
      row.lastSeenAt = new Date(nowMs);
      row.idleExpiresAt = idleExpiresAt;
    }
    return decode(row, nowMs, tenant.stepUpWindowSeconds * 1000);
  }

  /** The live session of a row already read (e.g. by lineage), or null; no write. */
  findByRow(row: Session, tenant: SessionTenant): ActiveSession | null {
    const nowMs = this.now();
    if (row.endedAt || row.tenantId !== tenant.id) return null;
    if (nowMs >= row.idleExpiresAt.getTime() || nowMs >= row.absoluteExpiresAt.getTime()) return null;
    return decode(row, nowMs, tenant.stepUpWindowSeconds * 1000);
  }

  /**
   * Adds proofs to a live session (step-up, a first passkey after recovery): ends the old row and opens
   * a new one with a new token, the combined assurance and a fresh `auth_time`. The absolute deadline
   * stays that of the original sign-in. Null when the old session ended meanwhile.
   */
  async elevate(
    current: ActiveSession,
    proofs: FactorProof[],
    options: { mustEnrolPasskey?: boolean } = {},
  ): Promise<{ token: string; session: ActiveSession } | null> {
    return this.store.tx((tx) => this.elevateWithin(tx, current, proofs, options));
  }

  /** `elevate` inside the caller's transaction. */
  async elevateWithin(
    tx: Tx,
    current: ActiveSession,
    proofs: FactorProof[],
    options: { mustEnrolPasskey?: boolean; deviceId?: string } = {},
  ): Promise<{ token: string; session: ActiveSession } | null> {
    const nowMs = this.now();
    const ended = await tx.session.updateMany({
      where: { id: current.row.id, endedAt: null },
      data: { endedAt: new Date(nowMs), endReason: 'rotated' },
    });
    if (ended.count !== 1) return null;
    return this.open(
      {
        tenantId: current.row.tenantId,
        accountId: current.row.accountId,
        proofs: [...current.proofs, ...proofs.map((p) => ({ ...p, at: nowMs, elevated: true }))],
        mustEnrolPasskey: options.mustEnrolPasskey ?? current.row.mustEnrolPasskey,
        userAgent: current.row.userAgent ?? undefined,
        ip: current.row.ip ?? undefined,
        createdAtMs: current.row.createdAt.getTime(),
        lineage: current.row.lineage,
        deviceId: options.deviceId ?? current.row.deviceId ?? undefined,
        ...(current.pending ? { pending: current.pending } : {}),
      },
      tx,
    );
  }

  /** Ends one session (by its token hash). */
  async end(id: string, reason: string, tx?: Tx): Promise<boolean> {
    return (await this.endWhere({ id }, reason, tx)) === 1;
  }

  /** Ends an account's session by its public id (the person ending one of their sessions). */
  async endByPublicId(accountId: string, publicId: string, reason: string, tx?: Tx): Promise<boolean> {
    return (await this.endWhere({ accountId, publicId }, reason, tx)) === 1;
  }

  /** Ends every live session of the account except `exceptId` (a factor changed, recovery). */
  async endOthers(accountId: string, exceptId: string | undefined, reason: string, tx?: Tx): Promise<number> {
    return this.endWhere({ accountId, ...(exceptId ? { id: { not: exceptId } } : {}) }, reason, tx);
  }

  /** Ends every live session signed in with `passkeyId` (a suspected clone, a revoked device). */
  async endForPasskey(passkeyId: string, reason: string, tx?: Tx): Promise<number> {
    return this.endWhere({ passkeyId }, reason, tx);
  }

  /** Ends every live session opened on device `deviceId` (a revoked device). */
  async endForDevice(deviceId: string, reason: string, tx?: Tx): Promise<number> {
    return this.endWhere({ deviceId }, reason, tx);
  }

  /** Ends the live sessions matching `where` and tells the listeners, in one transaction. */
  private async endWhere(where: SessionWhere, reason: string, tx?: Tx): Promise<number> {
    const run = async (t: Tx) => {
      const rows = await t.session.findMany({
        where: { ...where, endedAt: null },
        select: { id: true, tenantId: true, accountId: true, lineage: true },
      });
      if (rows.length === 0) return 0;
      const r = await t.session.updateMany({
        where: { id: { in: rows.map((row) => row.id) }, endedAt: null },
        data: { endedAt: new Date(this.now()), endReason: reason },
      });
      const ended = rows.map((row) => ({ ...row, reason }));
      for (const listener of this.endListeners) await listener(t, ended);
      return r.count;
    };
    if (tx) return run(tx);
    // Nothing to end is the common case (sign-out of an ended session): no transaction for it.
    if (this.endListeners.length === 0) return run(this.store.db as unknown as Tx);
    return this.store.tx(run);
  }

  /** The account's live sessions, newest first. */
  async list(accountId: string): Promise<Session[]> {
    const nowMs = new Date(this.now());
    return this.store.db.session.findMany({
      where: { accountId, endedAt: null, idleExpiresAt: { gt: nowMs }, absoluteExpiresAt: { gt: nowMs } },
      orderBy: { createdAt: 'desc' },
      take: 100,
    });
  }
}

function stripAttestation(proof: FactorProof | StoredProof): StoredProof {
  const { attestation: _omit, ...rest } = proof as FactorProof;
  return rest;
}

/** Decodes a row; step-ups older than `windowMs` no longer count. */
function decode(row: Session, nowMs: number, windowMs: number): ActiveSession {
  const proofs = JSON.parse(row.factors) as StoredProof[];
  const effective = proofs.filter((p) => !p.elevated || nowMs - (p.at ?? 0) <= windowMs);
  const assurance = assuranceOf(effective);
  const lastEffective = Math.max(...effective.map((p) => p.at ?? row.authTime.getTime()));
  const authTimeMs = Math.min(row.authTime.getTime(), lastEffective);
  const pending = row.pendingRequirement
    ? (JSON.parse(row.pendingRequirement) as AssuranceRequirement)
    : undefined;
  return {
    row,
    assurance,
    acr: acrOf(assurance),
    proofs,
    authTimeMs,
    ...(pending && !meets(assurance, authTimeMs, pending, nowMs) ? { pending } : {}),
  };
}
