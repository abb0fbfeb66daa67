/**
 * Types of the hosted pages' shared browser modules (`web/assets/common.js`) and the vendored
 * SimpleWebAuthn build, which the portal and console import at run time from `/assets/` (kept external
 * by the Vite build, so every page runs the same code).
 */
declare module '@hosted/common' {
  export const tenant: string;
  export function tenantPath(rest: string): string;
  export class ApiError extends Error {
    constructor(status: number, problem?: unknown);
    readonly status: number;
    readonly code: string;
    readonly problem: Record<string, unknown>;
  }
  export function api<T = unknown>(path: string, options?: { method?: string; body?: unknown }): Promise<T>;
  export function showStatus(text: string): void;
  export function showError(text: string): void;
  export function clearMessages(): void;
  export function safeReturnPath(value: unknown): string | undefined;
  export function accountPage(): string;
  export function goTo(path: string): void;
  export function herePath(): string;
  export function goToStepUp(): void;
  export function goToSignIn(): void;
  export function redirectIfUnauthenticated(err: unknown): boolean;
  export function isAborted(err: unknown): boolean;
  export function describeError(err: unknown): string;
  export function reportError(err: unknown, options?: { redirect?: boolean }): void;
  export function formatDate(value: string | number | Date | null | undefined): string;
  export interface SessionView {
    aal: 1 | 2 | 3;
    amr: string[];
    phr: boolean;
    phrh: boolean;
    authTime: string;
    [key: string]: unknown;
  }
  export function describeLevel(session: SessionView | undefined): string;
  export function currentSession(): Promise<
    | {
        account: { id: string; did: string; username: string; displayName: string | null };
        session: SessionView;
      }
    | undefined
  >;
}

declare module '@hosted/simplewebauthn' {
  export * from '@simplewebauthn/browser';
}
