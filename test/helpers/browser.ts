/**
 * Real-browser tests: Debian's Chromium driven by playwright-core, a CDP virtual authenticator for
 * passkeys, axe-core for accessibility, CSP-violation watching and screenshots. The service runs on
 * `http://localhost:<port>` because WebAuthn refuses IP addresses as relying-party ids.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type CDPSession, chromium, type Page } from 'playwright-core';
import { NotFoundError } from '../../src/errors.ts';
import { pageRoutes } from '../../src/http/routes/pages.ts';
import { defineRoute, type Route } from '../../src/http/routes.ts';
import { staticAssets } from '../../src/http/static-assets.ts';
import { fromRoot } from '../../src/paths.ts';
import type { Store } from '../../src/store/index.ts';
import { ensureWebBuild } from '../../src/web/app-build.ts';
import { freePort } from './process.ts';
import { startTestService, type TestService } from './service.ts';

/** Where Debian installs Chromium (`apt-get install -y chromium`); CI's `.ci/run` installs it. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Whether the browser suites can run on this machine. */
export const hasChromium = () => existsSync(CHROMIUM_PATH);

/** Launches headless Chromium with the flags that keep it quiet and offline. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A CDP virtual authenticator: a platform authenticator with resident keys and user verification. */
export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
  /** The credentials it holds (one per registered passkey). */
  credentials(): Promise<Array<{ credentialId: string; rpId?: string; userHandle?: string }>>;
}

/**
 * Adds a virtual authenticator to `page` (WebAuthn is per page target in CDP): a platform one
 * (`internal`, like a phone or laptop; Chromium allows one) or a roaming security key (`usb`).
 */
export async function addVirtualAuthenticator(
  context: BrowserContext,
  page: Page,
  transport: 'internal' | 'usb' = 'internal',
): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport,
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    authenticatorId,
    credentials: async () =>
      (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as Array<{
        credentialId: string;
        rpId?: string;
        userHandle?: string;
      }>,
  };
}

/** What a page reported while the test drove it. */
export interface PageWatch {
  /** Console messages about the Content Security Policy (violations). */
  cspViolations: string[];
  /** Uncaught exceptions in page scripts. */
  pageErrors: string[];
  /** Console errors (failed loads and the like). */
  consoleErrors: string[];
}

/** Starts collecting CSP violations, uncaught errors and console errors of `page`. */
export function watchPage(page: Page): PageWatch {
  const watch: PageWatch = { cspViolations: [], pageErrors: [], consoleErrors: [] };
  page.on('console', (message) => {
    const text = message.text();
    if (text.includes('Content Security Policy')) watch.cspViolations.push(text);
    else if (message.type() === 'error') watch.consoleErrors.push(text);
  });
  page.on('pageerror', (err) => watch.pageErrors.push(err.message));
  return watch;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core'), 'utf8');

/** An axe-core violation, reduced to what a failure message needs. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (WCAG 2.x A/AA rules and best practices) on the page and returns the violations of
 * impact `serious` or `critical`. The script goes in through CDP's Runtime.evaluate (Playwright's
 * `evaluate`), which the page's CSP does not govern: no `bypassCSP` is needed, so the page under test
 * keeps its real policy.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate('typeof window.axe');
  if (loaded === 'undefined') await page.evaluate(axeSource);
  const violations = (await page.evaluate(`window.axe
    .run(document, { resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)),
    })))`)) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Folder of the screenshots the browser suites write (git-ignored). */
export const screenshotDir = fromRoot('test-artifacts', 'screenshots');

/** Saves a full-page screenshot as `test-artifacts/screenshots/<name>.png`; returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Routes that serve the hosted pages and `/assets/` through the declared-route pipeline, for a service
 * whose composition root does not mount them yet. Where the service does mount them, its own routes
 * answer first and these are never reached. `store` is read at request time (the service opens it).
 */
export function hostedPageFallbackRoutes(deps: { store: () => Store; publicUrl: string }): Route[] {
  const assets = staticAssets();
  const pages = pageRoutes({
    get store() {
      return deps.store();
    },
    publicUrl: deps.publicUrl,
  });
  const serveAsset = defineRoute({
    method: 'get',
    path: '/assets/*path',
    operationId: 'testAssets',
    summary: 'Browser assets (test-side wiring).',
    tags: ['test'],
    responses: { 200: { description: 'A file.' } },
    handler: ({ req, res }) =>
      new Promise((resolve, reject) => {
        assets(req, res, (err?: unknown) => reject(err ?? new NotFoundError(`No route for ${req.path}.`)));
        res.once('finish', () => resolve(undefined));
      }),
  });
  return [...pages, serveAsset];
}

/** Whether the composition root mounts the hosted pages and their assets itself. */
export function serviceMountsHostedPages(): boolean {
  const service = readFileSync(fromRoot('src', 'service.ts'), 'utf8');
  const app = readFileSync(fromRoot('src', 'http', 'app.ts'), 'utf8');
  return (
    service.includes('pageRoutes(') && (app.includes('staticAssets(') || service.includes('staticAssets('))
  );
}

/**
 * A service on `http://localhost:<port>` (so WebAuthn accepts it as the relying party), with `env` on
 * top of the test defaults. Builds the portal and console first when their sources changed.
 */
export async function startBrowserService(
  env: Record<string, string> = {},
): Promise<TestService & { baseUrl: string; wiredByTest: boolean }> {
  await ensureWebBuild();
  const port = await freePort();
  const publicUrl = `http://localhost:${port}`;
  const wiredByTest = !serviceMountsHostedPages();
  let service: TestService | undefined;
  const extraRoutes = wiredByTest
    ? hostedPageFallbackRoutes({ store: () => service!.service.store, publicUrl })
    : [];
  service = await startTestService({ ...env, PORT: String(port), PUBLIC_URL: publicUrl }, { extraRoutes });
  return { ...service, baseUrl: publicUrl, wiredByTest };
}
