/**
 * Server-side sessions of the example app, in memory, behind one HttpOnly cookie. Enough for an example
 * on one process; a real app keeps them in its own store (or Redis) so that restarts and replicas share
 * them.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { CredentialCheck } from './assurance-credential.ts';

/** Why an authorization request was sent: a plain sign-in, or the step-up of the sensitive action. */
export type Purpose = 'sign-in' | 'sensitive-action';

/** What the app keeps between sending the browser to Trustgate and its return to `/callback`. */
export interface PendingAuthorization {
  purpose: Purpose;
  codeVerifier: string;
  nonce: string;
  /** `max_age` sent, in seconds (checked against `auth_time` on return). */
  maxAge?: number;
  createdAtMs: number;
}

/** The signed-in person, as the ID token said, and the app's own verdict on the assurance credential. */
export interface SignedInUser {
  sub: string;
  did?: string;
  name?: string;
  username?: string;
  acr?: string;
  amr: string[];
  authTime?: number;
  /** Kept for RP-initiated logout (`id_token_hint`). */
  idToken: string;
  credential: CredentialCheck;
}

/** A one-time message for the next page. */
export interface Flash {
  kind: 'info' | 'error';
  text: string;
}

export interface RpSession {
  id: string;
  /** Anti-forgery token of the app's own forms. */
  csrf: string;
  lastSeenMs: number;
  /** Outstanding authorization requests by `state` (a few at most: two tabs, a retry). */
  pending: Map<string, PendingAuthorization>;
  user?: SignedInUser;
  flash?: Flash;
  /** When the last sensitive action was done, for the profile page. */
  sensitiveActionAt?: number;
  /** The `state` of an RP-initiated logout in progress. */
  logoutState?: string;
}

const MAX_PENDING = 5;
/** An authorization request not answered within this long is dropped. */
const PENDING_TTL_MS = 10 * 60_000;

export interface SessionStoreOptions {
  /** Cookie name; different apps on one host (localhost in development) need different names. */
  cookieName: string;
  /** `Secure` cookie (the app is served over https). */
  secure: boolean;
  /** Sessions unused for this long are forgotten. */
  idleMs?: number;
  /** At most this many sessions are kept; the least recently used go first. */
  maxSessions?: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, RpSession>();
  private readonly idleMs: number;
  private readonly maxSessions: number;

  constructor(private readonly options: SessionStoreOptions) {
    this.idleMs = options.idleMs ?? 8 * 3600_000;
    this.maxSessions = options.maxSessions ?? 10_000;
  }

  /** The request's session, or a new one (with its cookie set). */
  get(req: Request, res: Response): RpSession {
    const id = this.cookieOf(req);
    const found = id ? this.sessions.get(id) : undefined;
    const nowMs = Date.now();
    if (found && nowMs - found.lastSeenMs <= this.idleMs) {
      // Map order is recency order: the oldest entry is the first to evict.
      this.sessions.delete(found.id);
      this.sessions.set(found.id, found);
      found.lastSeenMs = nowMs;
      return found;
    }
    if (found) this.sessions.delete(found.id);
    return this.create(res);
  }

  /**
   * Replaces the session's id (after sign-in: a session id planted before it is worthless afterwards),
   * keeping its content.
   */
  rotate(session: RpSession, res: Response): RpSession {
    this.sessions.delete(session.id);
    const fresh: RpSession = { ...session, id: token(), csrf: token(), lastSeenMs: Date.now() };
    this.store(fresh, res);
    return fresh;
  }

  /** Forgets the session and clears its cookie. */
  destroy(session: RpSession, res: Response): void {
    this.sessions.delete(session.id);
    res.append('Set-Cookie', this.cookie('', 0));
  }

  /** Remembers an authorization request; returns its `state`. */
  addPending(session: RpSession, pending: PendingAuthorization): string {
    const nowMs = Date.now();
    for (const [state, p] of session.pending) {
      if (nowMs - p.createdAtMs > PENDING_TTL_MS) session.pending.delete(state);
    }
    while (session.pending.size >= MAX_PENDING) {
      const oldest = session.pending.keys().next().value;
      if (oldest === undefined) break;
      session.pending.delete(oldest);
    }
    const state = token();
    session.pending.set(state, pending);
    return state;
  }

  /** Takes (once) the authorization request that `state` names, if it is this session's and fresh. */
  takePending(session: RpSession, state: unknown): { state: string; pending: PendingAuthorization } | null {
    if (typeof state !== 'string') return null;
    const pending = session.pending.get(state);
    if (!pending) return null;
    session.pending.delete(state);
    if (Date.now() - pending.createdAtMs > PENDING_TTL_MS) return null;
    return { state, pending };
  }

  /** True when `given` is the session's anti-forgery token. */
  checkCsrf(session: RpSession, given: unknown): boolean {
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private create(res: Response): RpSession {
    const session: RpSession = { id: token(), csrf: token(), lastSeenMs: Date.now(), pending: new Map() };
    this.store(session, res);
    return session;
  }

  private store(session: RpSession, res: Response): void {
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    this.sessions.set(session.id, session);
    res.append('Set-Cookie', this.cookie(session.id, Math.floor(this.idleMs / 1000)));
  }

  private cookie(value: string, maxAgeS: number): string {
    // SameSite=Lax: the browser's return from Trustgate (a top-level GET from another site) carries it.
    return `${this.options.cookieName}=${value}; Path=/; HttpOnly; SameSite=Lax${
      this.options.secure ? '; Secure' : ''
    }; Max-Age=${maxAgeS}`;
  }

  private cookieOf(req: Request): string | undefined {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === this.options.cookieName) return part.slice(eq + 1).trim();
    }
    return undefined;
  }
}

const token = () => randomBytes(24).toString('base64url');
