/**
 * Admins in a real browser. Chromium's virtual authenticator cannot produce an attestation that chains
 * to a trusted root, so it can never reach AAL3 / `phrh`, which every admin write needs. The admin
 * signs up over HTTP with an attested test security key instead (`adminClient`), and the browser gets
 * that session's cookies: the console then runs with a real, fresh hardware-bound session.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { adminClient, type HardwareAttestation } from './admin.ts';
import type { AuthClient } from './auth-client.ts';
import type { TestService } from './service.ts';

/** A browser context holding `client`'s session cookies for `baseUrl`. */
export async function contextWithSession(
  browser: Browser,
  baseUrl: string,
  client: AuthClient,
): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: baseUrl });
  await context.addCookies(
    [...client.cookies].map(([name, value]) => ({
      name,
      value,
      url: baseUrl,
      httpOnly: true,
      sameSite: 'Lax' as const,
    })),
  );
  return context;
}

/**
 * An admin holding `roles` in `tenant`, signed in at AAL3 / `phrh` with a security key, and a browser
 * context with their session. `svc` must run with `hw.env` and on `baseUrl` (startBrowserService).
 */
export async function adminInBrowser(
  browser: Browser,
  svc: TestService & { baseUrl: string },
  hw: HardwareAttestation,
  roles: string | string[],
  options: { tenant?: string; username?: string; hardware?: boolean } = {},
): Promise<{ admin: AuthClient & { accountId: string }; context: BrowserContext }> {
  const admin = await adminClient({ ...svc, url: svc.baseUrl }, hw, roles, options);
  const context = await contextWithSession(browser, svc.baseUrl, admin);
  return { admin, context };
}
