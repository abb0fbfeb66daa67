import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient } from '../helpers/auth-client.ts';
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
import { contextWithSession } from '../helpers/console.ts';
import { DeviceBrowser } from '../helpers/devices.ts';
import type { TestService } from '../helpers/service.ts';
import { SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';

// The people's portal (/t/{tenant}/account/…) in real Chromium with a virtual passkey authenticator: a
// person signs up, then does each view's main job (overview, security, sessions, devices, credentials,
// activity, DID) and every result is checked in the page and through the API. Each view is checked for
// CSP violations, script errors and serious axe-core violations, and reached by keyboard.
const chromium = hasChromium();
if (!chromium) it.skip(`browser tests skipped: ${CHROMIUM_PATH} not installed`, () => {});

const USERNAME = 'mary.somerville';
const STEP_MS = 15_000;

interface Answer<T> {
  status: number;
  body: T;
}

describe.skipIf(!chromium)('the people’s portal in Chromium', () => {
  let service: TestService & { baseUrl: string };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;
  let phone: VirtualAuthenticator;
  /** The person's other passkey, in software: it signs in from another device over HTTP. */
  const synced = new SoftAuthenticator();
  let laptop: DeviceBrowser;

  beforeAll(async () => {
    [service, browser] = await Promise.all([startBrowserService(), launchChromium()]);
    context = await browser.newContext({ baseURL: service.baseUrl, locale: 'en-GB' });
    context.setDefaultTimeout(STEP_MS);
    page = await context.newPage();
    watch = watchPage(page);
    phone = await addVirtualAuthenticator(context, page);
    laptop = new DeviceBrowser(service.baseUrl, 'portal-laptop', synced);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await service?.destroy();
  });

  /** The API as the browser's session sees it (same cookies, same origin). */
  async function api<T = Record<string, unknown>>(path: string): Promise<Answer<T>> {
    return page.evaluate(async (url) => {
      const res = await fetch(url, { headers: { accept: 'application/json' } });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : {} };
    }, `/t/default${path}`) as Promise<Answer<T>>;
  }

  /** Text of `selector` once it matches `pattern` (waits for the view to fill it in). */
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

  const nav = () => page.getByRole('navigation', { name: 'Your account' });

  /** Opens a view from the portal's navigation and waits for its heading. */
  async function openView(label: string, heading: string) {
    await nav().getByRole('link', { name: label, exact: true }).click();
    await page.getByRole('heading', { level: 2, name: heading, exact: true }).waitFor();
    expect(await nav().getByRole('link', { name: label, exact: true }).getAttribute('aria-current')).toBe(
      'page',
    );
  }

  /** Presses Tab until `target` has focus; fails after `limit` presses. */
  async function tabTo(target: Locator, limit = 40): Promise<void> {
    for (let i = 0; i < limit; i++) {
      await page.keyboard.press('Tab');
      const focused = await target.evaluate((el) => {
        const node = el as unknown as { ownerDocument: { activeElement: unknown } };
        return node.ownerDocument.activeElement === node;
      });
      if (focused) return;
    }
    throw new Error(`Tab never reached ${target}`);
  }

  /** Copies the browser's session cookies into an HTTP client: the same session, for API set-up. */
  async function sameSessionOverHttp(): Promise<AuthClient> {
    const client = new AuthClient(service.baseUrl, synced);
    for (const cookie of await context.cookies(service.baseUrl))
      client.cookies.set(cookie.name, cookie.value);
    return client;
  }

  it('signs up and the overview shows who you are, this session, the DID and where it is anchored', async () => {
    await page.goto('/t/default/sign-up');
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Display name').fill('Mary Somerville');
    await page.getByRole('button', { name: 'Create account with a passkey' }).click();
    await page.waitForURL('**/t/default/account');
    expect(await textOf('#account-username', /mary/)).toBe(USERNAME);
    expect(await textOf('#account-display-name', /Mary/)).toBe('Mary Somerville');
    const did = await textOf('#account-did', /^did:/);
    expect(did).toMatch(/^did:ethr:/);
    expect(await textOf('#session-level', /AAL/)).toMatch(/^AAL2, phishing-resistant/);

    const mine = await api<{ did: string; chain: { chainId: number; registry: string; reachable: boolean } }>(
      '/api/me/did',
    );
    expect(mine.status).toBe(200);
    expect(mine.body.did).toBe(did);
    expect(mine.body.chain.reachable).toBe(true);
    expect(Number(mine.body.chain.chainId)).toBe(service.service.chain.chainId);
    expect(await textOf('#did-chain', /chain/)).toBe(
      `Anchored on chain ${mine.body.chain.chainId}, registry ${mine.body.chain.registry}`,
    );
    // Not an admin: no way into the console.
    expect(await page.getByRole('link', { name: 'Open the admin console' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
    await checkPage('portal-overview');
  });

  it('is reached by keyboard: Tab gets to the navigation, Enter opens a view, a form is used by keyboard', async () => {
    // From the top of the page (the skip link), past the site's header, into the portal's navigation.
    await page.locator('.skip-link').focus();
    await tabTo(nav().getByRole('link', { name: 'Security', exact: true }));
    await page.keyboard.press('Enter');
    await page.waitForURL('**/t/default/account/security');
    // The view's heading takes focus, so the next Tab goes on into the view.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Security');
    const input = page.locator('#passkey-list > li.passkey').first().getByRole('textbox');
    await tabTo(input);
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('Phone');
    await page.keyboard.press('Enter');
    expect(await textOf('#status', /renamed/)).toBe('Passkey renamed to “Phone”.');
    const factors = await api<{ passkeys: Array<{ name: string }> }>('/api/me/factors');
    expect(factors.body.passkeys.map((p) => p.name)).toEqual(['Phone']);
  });

  it('adds a second passkey by name and removes it (Security)', async () => {
    const key = await addVirtualAuthenticator(context, page, 'usb');
    await phone.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: phone.authenticatorId,
      enabled: false,
    });
    await page.getByLabel('Name for a new passkey (optional)').fill('Backup key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    expect(await textOf('#status', /added/)).toBe('Passkey “Backup key” added.');
    await page.locator('#passkey-list > li.passkey').nth(1).waitFor();
    expect(await page.locator('#passkey-list h3').allTextContents()).toEqual(['Phone', 'Backup key']);
    expect(await key.credentials()).toHaveLength(1);
    let factors = await api<{ passkeys: Array<{ name: string; status: string }> }>('/api/me/factors');
    expect(factors.body.passkeys.map((p) => p.name)).toEqual(['Phone', 'Backup key']);
    await phone.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: phone.authenticatorId,
      enabled: true,
    });
    await key.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: key.authenticatorId });
    await checkPage('portal-security');

    const backup = page.locator('#passkey-list > li.passkey', { hasText: 'Backup key' });
    await backup.getByRole('button', { name: 'Remove passkey “Backup key”' }).click();
    // The first press only asks; Cancel keeps it.
    await backup.getByRole('button', { name: 'Cancel' }).click();
    expect(await backup.getByRole('button', { name: 'Remove passkey “Backup key”' }).isVisible()).toBe(true);
    await backup.getByRole('button', { name: 'Remove passkey “Backup key”' }).click();
    await backup.getByRole('button', { name: 'Yes, remove “Backup key”' }).click();
    expect(await textOf('#status', /removed/)).toBe('Passkey “Backup key” removed.');
    await backup.waitFor({ state: 'detached' });
    expect(await page.locator('#passkey-list h3').allTextContents()).toEqual(['Phone']);
    factors = await api<{ passkeys: Array<{ name: string; status: string }> }>('/api/me/factors');
    expect(factors.body.passkeys.map((p) => p.name)).toEqual(['Phone']);
    expect(await textOf('#totp-status')).toBe('Not set up.');
    expect(await page.getByRole('link', { name: 'Set up an authenticator app' }).getAttribute('href')).toBe(
      '/t/default/totp',
    );
  });

  it('ends a session on another device, then every other one at once (Sessions)', async () => {
    // A synced passkey, added through this session, signs the person in on their laptop too.
    const added = await (await sameSessionOverHttp()).addPasskey('Synced passkey');
    expect(added.status).toBe(201);
    expect((await laptop.signIn()).status).toBe(200);
    expect((await laptop.session()).status).toBe(200);
    const laptopName = (await laptop.devices()).find((d) => d.current)?.label;
    expect(laptopName).toMatch(/macOS/);

    await openView('Sessions', 'Where you’re signed in');
    await page.locator('#session-list > li.session').nth(1).waitFor();
    expect(await page.locator('#session-list h3').first().textContent()).toBe('This session');
    const other = page.locator('#session-list > li.session').nth(1);
    // The session is named after its device and browser (the device list loads alongside).
    await other.locator('h3', { hasText: laptopName as string }).waitFor();
    expect(await other.locator('.meta').first().textContent()).toMatch(/^Chrome on macOS · /);
    await checkPage('portal-sessions');
    await other.getByRole('button', { name: /^End the session started / }).click();
    await other.getByRole('button', { name: 'Yes, end it' }).click();
    expect(await textOf('#status', /ended/)).toBe('Session ended.');
    await page.locator('#session-list > li.session').nth(1).waitFor({ state: 'detached' });
    expect(await page.locator('#session-list > li.session').count()).toBe(1);
    expect((await laptop.session()).status).toBe(401);
    let sessions = await api<{ sessions: Array<{ current: boolean }> }>('/api/me/sessions');
    expect(sessions.body.sessions.map((s) => s.current)).toEqual([true]);

    // Two more, on two devices: "sign out everywhere else" ends both and keeps this one.
    const tablet = laptop.onDevice('portal-tablet');
    expect((await laptop.signIn()).status).toBe(200);
    expect((await tablet.signIn()).status).toBe(200);
    await page.reload();
    await page.locator('#session-list > li.session').nth(2).waitFor();
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await page.getByRole('button', { name: 'Yes, end all 2 other sessions' }).click();
    expect(await textOf('#status', /everywhere/)).toBe('You are signed out everywhere else.');
    await page.locator('#session-list > li.session').nth(1).waitFor({ state: 'detached' });
    expect(await page.locator('#session-list h3').allTextContents()).toEqual(['This session']);
    expect((await laptop.session()).status).toBe(401);
    expect((await tablet.session()).status).toBe(401);
    sessions = await api('/api/me/sessions');
    expect(sessions.body.sessions.map((s) => s.current)).toEqual([true]);
    expect(await page.getByRole('button', { name: 'Sign out everywhere else' }).count()).toBe(0);
  });

  it('renames a device and revokes the lost one, showing the cascade until it is done (Devices)', async () => {
    expect((await laptop.signIn()).status).toBe(200);
    const laptopId = await laptop.currentDeviceId();
    const laptopName = (await laptop.devices()).find((d) => d.current)?.label as string;
    const devicesBefore = await api<{ devices: Array<{ id: string; current: boolean }> }>('/api/me/devices');
    const current = devicesBefore.body.devices.find((d) => d.current);
    expect(current).toBeDefined();
    await openView('Devices', 'Your devices');
    const mine = page.locator(`#device-list > li.device[data-device-id="${current!.id}"]`);
    await mine.locator('.badge', { hasText: /^This device$/ }).waitFor();
    expect(await mine.locator('.hint.warning').textContent()).toBe(
      'This is the device you are using now: revoking it signs you out here too.',
    );
    const lost = page.locator(`#device-list > li.device[data-device-id="${laptopId}"]`);
    expect(await lost.locator('h3').textContent()).not.toContain('This device');
    await lost.getByLabel(`Name for “${laptopName}”`).fill('Old laptop');
    await lost.getByRole('button', { name: `Rename device “${laptopName}”` }).click();
    expect(await textOf('#status', /renamed/)).toBe('Device renamed to “Old laptop”.');
    await lost.locator('h3', { hasText: 'Old laptop' }).waitFor();
    let devices = await api<{ devices: Array<{ id: string; label: string | null; state: string }> }>(
      '/api/me/devices',
    );
    expect(devices.body.devices.find((d) => d.id === laptopId)?.label).toBe('Old laptop');
    await checkPage('portal-devices');

    // Signed in too long ago to revoke: the portal sends the person to step up, and back here.
    const signedIn = await api<{ session: { id: string } }>('/auth/session');
    await service.service.store.db.session.updateMany({
      where: { publicId: signedIn.body.session.id },
      data: { authTime: new Date(Date.now() - 10 * 60_000) },
    });
    await lost.getByRole('button', { name: 'Revoke “Old laptop”' }).click();
    await lost.getByRole('button', { name: 'Yes, revoke “Old laptop”' }).click();
    await page.waitForURL('**/t/default/step-up?return=*');
    expect(new URL(page.url()).searchParams.get('return')).toBe('/t/default/account/devices');
    devices = await api('/api/me/devices');
    expect(devices.body.devices.find((d) => d.id === laptopId)?.state).not.toBe('revoked');
    await page.getByRole('button', { name: 'Confirm with a passkey' }).click();
    await page.waitForURL('**/t/default/account/devices');

    const revoked = page.waitForResponse((r) => r.url().endsWith(`/api/me/devices/${laptopId}/revoke`));
    await lost.getByRole('button', { name: 'Revoke “Old laptop”' }).click();
    await lost.getByRole('button', { name: 'Yes, revoke “Old laptop”' }).click();
    const answer = await revoked;
    expect(answer.status()).toBe(202);
    const { id } = (await answer.json()) as { id: string };
    const summary = page.locator('#revocation-summary');
    expect(await summary.getAttribute('role')).toBe('status');
    await page.locator('#revocation-summary[data-status="completed"]').waitFor();
    expect(await summary.textContent()).toBe('“Old laptop” is revoked: every step is done.');
    expect(await page.locator('#revocation .step-pending').count()).toBe(0);
    expect(await page.locator('#revocation .step').count()).toBe(8);
    const status = await api<{ status: string; deviceId: string }>(`/api/me/revocations/${id}`);
    expect(status.body).toMatchObject({ status: 'completed', deviceId: laptopId });
    await lost.locator('h3', { hasText: 'Revoked' }).waitFor();
    expect(await lost.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
    devices = await api('/api/me/devices');
    expect(devices.body.devices.find((d) => d.id === laptopId)?.state).toBe('revoked');
    expect((await laptop.session()).status).toBe(401);
    // This browser's own session is untouched.
    expect((await api('/auth/session')).status).toBe(200);
    await checkPage('portal-devices-revoked');
  });

  it('opens an issued credential: claims, the signed original, a download and a QR code (Credentials)', async () => {
    const held = await api<{
      credentials: Array<{ id: string; type: string; status: { revoked: boolean } }>;
    }>('/api/me/credentials');
    const valid = held.body.credentials.filter(
      (c) => c.type === 'DeviceBindingCredential' && !c.status.revoked,
    );
    expect(valid.length).toBeGreaterThanOrEqual(1);
    // The removed backup key's credential was revoked with it.
    expect(held.body.credentials.some((c) => c.status.revoked)).toBe(true);

    await openView('Credentials', 'Your credentials');
    const table = page.getByRole('table', { name: 'Credentials issued to you' });
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(held.body.credentials.length);
    expect(await table.getByText('Revoked').count()).toBeGreaterThanOrEqual(1);
    await checkPage('portal-credentials');

    const credential = valid.at(-1)!;
    const qr = page.waitForResponse((r) => r.url().includes('/qr') && r.request().resourceType() === 'image');
    await page.locator(`a[href$="/credentials/${encodeURIComponent(credential.id)}"]`).click();
    await page.waitForURL(`**/t/default/account/credentials/${encodeURIComponent(credential.id)}`);
    await page.getByRole('heading', { name: 'Device binding credential' }).waitFor();
    const image = await qr;
    expect(image.status()).toBe(200);
    expect(image.headers()['content-type']).toMatch(/^image\/svg\+xml/);
    const img = page.locator('.credential-qr img');
    expect(await img.getAttribute('alt')).toMatch(/^QR code of your device binding credential/);
    await expect
      .poll(() =>
        img.evaluate((el) => {
          const image = el as unknown as { complete: boolean; naturalWidth: number };
          return image.complete && image.naturalWidth > 0;
        }),
      )
      .toBe(true);
    const detail = await api<{ jwt: string; credential: { credentialSubject: { id: string } } }>(
      `/api/me/credentials/${encodeURIComponent(credential.id)}`,
    );
    // The subject's claims in a readable list, the JWT itself behind a disclosure.
    const subjectId = detail.body.credential.credentialSubject.id;
    expect(await page.locator('dl.claims dd').filter({ hasText: subjectId }).count()).toBeGreaterThanOrEqual(
      1,
    );
    const raw = page.locator('details', { hasText: 'Signed credential (JWT)' });
    expect(await raw.locator('pre').isVisible()).toBe(false);
    await raw.locator('summary').click();
    expect(await raw.locator('pre').textContent()).toBe(detail.body.jwt);
    const download = page.getByRole('link', { name: 'Download' });
    expect(await download.getAttribute('download')).not.toBeNull();
    const file = await page.evaluate(
      async (href) => {
        const res = await fetch(href);
        return { status: res.status, disposition: res.headers.get('content-disposition') };
      },
      (await download.getAttribute('href'))!,
    );
    expect(file.status).toBe(200);
    expect(file.disposition).toMatch(/^attachment; filename="DeviceBindingCredential-.+\.json"$/);
    await checkPage('portal-credential');

    // A credential too large for a QR code: the API answers 422 and the page says so instead.
    const detailText =
      'This credential is 4000 characters long; a scannable QR code holds at most 2953. Download it instead.';
    await page.route('**/qr', (route) =>
      route.fulfill({
        status: 422,
        contentType: 'application/problem+json',
        body: JSON.stringify({ code: 'credential_too_large_for_qr', status: 422, detail: detailText }),
      }),
    );
    try {
      await page.reload();
      expect(await textOf('#credential-qr-problem')).toBe(detailText);
      expect(await page.locator('.credential-qr img').count()).toBe(0);
    } finally {
      await page.unroute('**/qr');
    }
  });

  it('lists recent activity, the sign-ins among it (Activity)', async () => {
    const activity = await api<{ items: Array<{ type: string; title: string }> }>(
      '/api/me/activity?limit=50',
    );
    expect(activity.status).toBe(200);
    const signIn = activity.body.items.find((item) => /sign.{0,3}in/i.test(item.type));
    expect(signIn, JSON.stringify(activity.body.items.map((i) => i.type))).toBeDefined();
    await openView('Activity', 'Recent activity');
    const list = page.getByRole('list', { name: 'Recent activity' });
    await list.waitFor();
    expect(await list.getByText(signIn!.title, { exact: true }).count()).toBeGreaterThanOrEqual(1);
    expect(await list.locator(':scope > li').count()).toBe(activity.body.items.length);
    await checkPage('portal-activity');
  });

  it('shows the DID document, its keys and where it is anchored (Your DID)', async () => {
    const mine = await api<{ did: string; document: { verificationMethod: Array<{ id: string }> } }>(
      '/api/me/did',
    );
    await openView('Your DID', 'Your DID');
    await page.getByRole('list', { name: 'Verification methods' }).waitFor();
    const owner = mine.body.document.verificationMethod.find((m) => m.id.endsWith('#controller'));
    expect(owner).toBeDefined();
    expect(await page.getByRole('list', { name: 'Verification methods' }).textContent()).toContain(
      '#controller',
    );
    const document = page.locator('details', { hasText: 'The whole DID document' });
    await document.locator('summary').click();
    expect(JSON.parse((await document.locator('pre').textContent()) ?? '')).toEqual(mine.body.document);
    expect(await page.locator('.badge', { hasText: /^Anchored on chain / }).count()).toBe(1);
    await checkPage('portal-did');
  });

  it('signs out from the overview, and the portal then sends the person to sign in', async () => {
    // The virtual authenticator stays silent now, or the sign-in page's passkey autofill would sign in again.
    await phone.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: phone.authenticatorId,
      enabled: false,
    });
    await openView('Overview', 'Overview');
    await tabTo(page.getByRole('button', { name: 'Sign out' }));
    await page.keyboard.press('Enter');
    await page.waitForURL('**/t/default/sign-in**');
    expect((await api('/auth/session')).status).toBe(401);
    await page.goto('/t/default/account/devices');
    await page.waitForURL('**/t/default/sign-in?return=*');
    expect(new URL(page.url()).searchParams.get('return')).toBe('/t/default/account/devices');
  });

  it('links to the admin console for a person who holds an admin role, and only then', async () => {
    const admin = new AuthClient(service.baseUrl, new SoftAuthenticator());
    const signedUp = await admin.signUp('portal-admin');
    expect(signedUp.status).toBe(201);
    const { id } = signedUp.body.account as { id: string };
    // What `npm run admin:grant` does.
    await service.service.store.db.account.update({ where: { id }, data: { roles: '["tenant-admin"]' } });
    const adminContext = await contextWithSession(browser, service.baseUrl, admin);
    try {
      const adminPage = await adminContext.newPage();
      const adminWatch = watchPage(adminPage);
      await adminPage.goto('/t/default/account');
      const link = adminPage.getByRole('link', { name: 'Open the admin console' });
      await link.waitFor();
      expect(await link.getAttribute('href')).toBe('/t/default/admin');
      expect(adminWatch.cspViolations).toEqual([]);
      expect(adminWatch.pageErrors).toEqual([]);
    } finally {
      await adminContext.close();
    }
  });

  it('reported no CSP violation or script error on any page', () => {
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });
});
