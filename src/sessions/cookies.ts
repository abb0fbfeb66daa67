/**
 * The session and flow cookies. On https they are `__Host-` cookies (Secure, Path=/, no Domain: the
 * browser refuses them from any other origin or subdomain); on plain http (development on localhost)
 * the plain names, since browsers refuse Secure cookies there. Always HttpOnly and SameSite=Lax (Lax,
 * not Strict, so that OpenID Connect redirects back from apps carry the session).
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';

export interface CookieNames {
  session: string;
  flow: string;
  secure: boolean;
}

export function cookieNames(publicUrl: string): CookieNames {
  const secure = new URL(publicUrl).protocol === 'https:';
  return secure
    ? { session: '__Host-tg_session', flow: '__Host-tg_flow', secure }
    : { session: 'tg_session', flow: 'tg_flow', secure };
}

/** Reads one cookie from the request (first occurrence wins; values are not decoded). */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function serialize(name: string, value: string, secure: boolean, maxAgeS: number): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}; Max-Age=${maxAgeS}`;
}

export function setCookie(res: Response, names: CookieNames, name: string, value: string, maxAgeS: number) {
  res.append('Set-Cookie', serialize(name, value, names.secure, maxAgeS));
}

export function clearCookie(res: Response, names: CookieNames, name: string) {
  res.append('Set-Cookie', serialize(name, '', names.secure, 0));
}

const FLOW_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/**
 * The browser's flow id: binds WebAuthn challenges to the browser that asked for them, before there is
 * a session. Created (and set) when absent or malformed.
 */
export function flowId(req: Request, res: Response, names: CookieNames): string {
  const existing = readCookie(req, names.flow);
  if (existing && FLOW_PATTERN.test(existing)) return existing;
  const id = randomBytes(24).toString('base64url');
  setCookie(res, names, names.flow, id, 24 * 3600);
  return id;
}
