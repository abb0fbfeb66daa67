import type { Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRpApp } from '../../examples/rp/app.ts';
import { createClient } from '../../src/oidc/clients.ts';
import {
  addVirtualAuthenticator,
  CHROMIUM_PATH,
  hasChromium,
  launchChromium,
  type PageWatch,
  screenshot,
  seriousAxeViolations,
  startBrowserService,
  type VirtualAuthenticator,
  watchPage,
} from '../helpers/browser.ts';
import { freePort } from '../helpers/process.ts';
import type { TestService } from '../helpers/service.ts';

// The example app (examples/rp) signing a person in through Trustgate's hosted pages in real Chromium,
// with a CDP virtual authenticator: sign-in with a live Trustgate session goes straight back to the
// app at acr phr; the app's sensitive action asks for acr phrh, Trustgate asks to step up and, since a
// virtual passkey has no trusted attestation, explains that the level cannot be reached, and the app
// reports unmet_authentication_requirements; a third-party app gets the consent page (deny, then
// allow); RP-initiated logout confirms on Trustgate and comes back to the app, signed out everywhere.
// Every page is checked for CSP violations, script errors and serious axe-core violations.
const chromium = hasChromium();
if (!chromium) it.skip(`browser tests skipped: ${CHROMIUM_PATH} not installed`, () => {});

const USERNAME = 'grace.hopper';
const STEP_MS = 15_000;

interface RunningRp {
  url: string;
  clientId: string;
  server: Server;
}

describe.skipIf(!chromium)('OpenID Connect in Chromium: the example app, step-up, consent, logout', () => {
  let service: TestService & { baseUrl: string };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;
  let phone: VirtualAuthenticator;
  /** The first-party example app, and a third-party one (consent page). */
  let app: RunningRp;
  let partner: RunningRp;
  let did = '';
  let signedUpAt = 0;
  /** Every main-frame navigation request (redirect hops included), and every committed page. */
  const requested: string[] = [];
  const committed: string[] = [];
  const appErrors: unknown[] = [];

  /** Starts the example app on a free port with a client made the admin way (`createClient`). */
  async function startRp(name: string, firstParty: boolean): Promise<RunningRp> {
    const port = await freePort();
    const url = `http://localhost:${port}`;
    const { provider, tenant } = await service.service.oidc.get('default');
    const { client, clientSecret } = await createClient(provider, service.service.store, tenant.id, {
      client_name: name,
      redirect_uris: [`${url}/callback`],
      post_logout_redirect_uris: [`${url}/`],
      first_party: firstParty,
    });
    const rp = await createRpApp({
      trustgateUrl: service.baseUrl,
      tenant: 'default',
      baseUrl: url,
      appName: name,
      client: { clientId: client.client_id, ...(clientSecret ? { clientSecret } : {}) },
      onError: (err) => appErrors.push(err),
    });
    expect(rp.clientId).toBe(client.client_id);
    const server = await new Promise<Server>((resolve) => {
      const s = rp.app.listen(port, '127.0.0.1', () => resolve(s));
    });
    return { url, clientId: rp.clientId, server };
  }

  beforeAll(async () => {
    [service, browser] = await Promise.all([startBrowserService(), launchChromium()]);
    [app, partner] = await Promise.all([startRp('Example app', true), startRp('Partner app', false)]);
    context = await browser.newContext({ baseURL: service.baseUrl, locale: 'en-GB' });
    context.setDefaultTimeout(STEP_MS);
    page = await context.newPage();
    watch = watchPage(page);
    page.on('request', (r) => {
      if (r.isNavigationRequest() && r.frame() === page.mainFrame()) requested.push(r.url());
    });
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) committed.push(frame.url());
    });
    phone = await addVirtualAuthenticator(context, page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const rp of [app, partner]) {
      await new Promise((resolve) => (rp ? rp.server.close(resolve) : resolve(undefined)));
    }
    await service?.destroy();
  });

  /** Text of `selector` once it matches `pattern` (waits for the page to fill it in). */
  async function textOf(selector: string, pattern: RegExp = /\S/): Promise<string> {
    const locator = page.locator(selector).filter({ hasText: pattern });
    await locator.first().waitFor({ state: 'visible' });
    return (await locator.first().textContent())?.trim() ?? '';
  }

  /** No CSP violation, no script error, no serious accessibility problem; then a screenshot. */
  async function checkPage(name: string) {
    expect(watch.cspViolations, `CSP violations on ${name}`).toEqual([]);
    expect(watch.pageErrors, `script errors on ${name}`).toEqual([]);
    const violations = await seriousAxeViolations(page);
    expect(violations, `serious axe violations on ${name}: ${JSON.stringify(violations, null, 1)}`).toEqual(
      [],
    );
    await screenshot(page, name);
  }

  const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;
  const h1 = () => textOf('h1');

  it('signs up on Trustgate with a passkey', async () => {
    await page.goto('/t/default/sign-up');
    await checkPage('oidc-sign-up');
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Display name').fill('Grace Hopper');
    await page.getByRole('button', { name: 'Create account with a passkey' }).click();
    await page.waitForURL('**/t/default/account');
    signedUpAt = Date.now();
    did = await textOf('#account-did', /^did:/);
    expect(did).toMatch(/^did:ethr:/);
  });

  it('signs in to the first-party app straight back from Trustgate (live session), at acr phr', async () => {
    await page.goto(`${app.url}/`);
    await checkPage('rp-home');
    const from = { requested: requested.length, committed: committed.length };
    await page.getByRole('button', { name: 'Sign in with Trustgate' }).click();
    await page.waitForURL(`${app.url}/profile`);
    // Through the authorization endpoint and the interaction, with no Trustgate page shown on the way.
    const hops = requested.slice(from.requested).map(pathOf);
    expect(hops[0]).toBe('/login');
    expect(hops.some((h) => h.startsWith('/t/default/authorize?'))).toBe(true);
    expect(hops.some((h) => h.startsWith('/t/default/interaction/'))).toBe(true);
    expect(hops.some((h) => h.startsWith('/callback?code='))).toBe(true);
    expect(committed.slice(from.committed).every((u) => u.startsWith(app.url))).toBe(true);

    expect(await textOf('#profile-acr')).toBe('phr');
    expect(await textOf('#profile-did')).toBe(did);
    expect(await textOf('#profile-sub')).toMatch(/^\S{8,}$/);
    expect((await textOf('#profile-amr')).split(', ')).toContain('user');
    const authTime = Date.parse(await textOf('#profile-auth-time'));
    expect(Date.now() - authTime).toBeLessThan(5 * 60_000);
    expect(await h1()).toBe('Hello, Grace Hopper');
    // Until Trustgate adds the credential, the app says so; once it does, the app's own check passes.
    const credential = await textOf('#credential-status');
    expect(['No credential', 'Verified by this app against the chain']).toContain(credential);
    await checkPage('rp-profile');
  });

  it('asks for a hardware-bound step-up before the sensitive action; a virtual passkey cannot give it', async () => {
    // Trustgate counts a proof made within 2 s before a request as made for it (clock skew between
    // instances); a person takes longer than that, and then the request must ask for a new proof.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, signedUpAt + 3_000 - Date.now())));
    await page.getByRole('button', { name: 'Do the sensitive action' }).click();
    await page.waitForURL('**/t/default/step-up?return=*');
    expect(pathOf(page.url())).toMatch(/^\/t\/default\/step-up\?return=%2Ft%2Fdefault%2Finteraction%2F/);
    expect(await h1()).toBe('Confirm it’s you');
    await textOf('#session-level', /AAL/);
    const authorize = requested.findLast((u) => pathOf(u).startsWith('/t/default/authorize?'));
    const params = new URL(authorize!).searchParams;
    expect(params.get('acr_values')).toBe('phrh');
    expect(params.get('max_age')).toBe('300');
    await checkPage('oidc-step-up');

    await page.getByRole('button', { name: 'Confirm with a passkey' }).click();
    await page.waitForURL('**/t/default/interaction/*');
    expect(await h1()).toBe('A stronger sign-in is needed');
    expect(await textOf('#unmet-heading')).toBe(
      'Example app asks for a phishing-resistant, hardware-bound authenticator',
    );
    await checkPage('oidc-unmet');

    await page.getByRole('button', { name: 'Go back to the app' }).click();
    await page.waitForURL(`${app.url}/profile`);
    const back = requested.findLast((u) => pathOf(u).startsWith('/callback?'));
    expect(new URL(back!).searchParams.get('error')).toBe('unmet_authentication_requirements');
    expect(await textOf('#message')).toMatch(
      /^Trustgate could not confirm a phishing-resistant, hardware-bound sign-in \(acr phrh\), so the sensitive action was not done\./,
    );
    expect(await page.locator('#message').getAttribute('role')).toBe('alert');
    expect(await page.locator('#sensitive-done').count()).toBe(0);
    expect(await textOf('#profile-acr')).toBe('phr');
    await checkPage('rp-unmet-message');
  });

  it('shows a third-party app the consent page: deny returns access_denied, allow signs in', async () => {
    await page.goto(`${partner.url}/`);
    await page.getByRole('button', { name: 'Sign in with Trustgate' }).click();
    await page.waitForURL('**/t/default/interaction/*');
    expect(await h1()).toBe('Allow Partner app?');
    expect(await textOf('#consent-heading')).toBe('Partner app would like to');
    expect(await page.locator('#consent-scopes li').allTextContents()).toEqual([
      'Know who you are: an account identifier',
      'Know your DID, the portable identifier that is the same at every app',
      'See your name and username',
      'Receive a signed credential about how strongly you signed in',
    ]);
    await checkPage('oidc-consent');

    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL(`${partner.url}/`);
    expect(await textOf('#message')).toBe('You did not allow this app to sign you in with Trustgate.');

    await page.getByRole('button', { name: 'Sign in with Trustgate' }).click();
    await page.waitForURL('**/t/default/interaction/*');
    expect(await h1()).toBe('Allow Partner app?');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${partner.url}/profile`);
    expect(await textOf('#profile-did')).toBe(did);
    expect(await textOf('#profile-acr')).toBe('phr');
    await checkPage('rp-partner-profile');
  });

  it('signs out through RP-initiated logout: confirm on Trustgate, back at the app, Trustgate signed out', async () => {
    await page.goto(`${app.url}/profile`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/t/default/logout?*');
    const logout = new URL(page.url()).searchParams;
    expect(logout.get('id_token_hint')).toMatch(/^ey/);
    expect(logout.get('post_logout_redirect_uri')).toBe(`${app.url}/`);
    expect(await h1()).toBe('Sign out?');
    await checkPage('oidc-logout-confirm');

    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    // Trustgate's form posts to Trustgate, which redirects to the app: the page's form-action must
    // allow that registered return address, or Chromium stops the redirect.
    await page.waitForURL(`${app.url}/?state=*`);
    expect(await textOf('#message')).toBe('You are signed out.');
    expect(await page.getByRole('button', { name: 'Sign in with Trustgate' }).isVisible()).toBe(true);
    await page.goto(`${app.url}/profile`);
    await page.waitForURL(`${app.url}/`);

    // The sign-in page offers the passkey through autofill, which a virtual authenticator would answer at
    // once (signing in again): it stays silent here, as a person who does not pick the passkey.
    await phone.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: phone.authenticatorId,
      enabled: false,
    });
    await page.goto('/t/default/account');
    await page.waitForURL('**/t/default/sign-in?return=*');
    expect(await h1()).toBe('Sign in');
    const session = await page.evaluate(() => fetch('/t/default/auth/session').then((r) => r.status));
    expect(session).toBe(401);
  });

  it('signs out of the partner app too once Trustgate’s session is gone (no confirm page needed)', async () => {
    await page.goto(`${partner.url}/profile`);
    expect(await textOf('#profile-did')).toBe(did);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${partner.url}/?state=*`);
    expect(requested.some((u) => pathOf(u) === '/t/default/logout/confirm')).toBe(true);
    expect(await textOf('#message')).toBe('You are signed out.');
  });

  it('reported no CSP violation, script error or app error on any page', () => {
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(appErrors).toEqual([]);
  });
});
