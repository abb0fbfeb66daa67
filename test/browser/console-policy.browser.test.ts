import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/cedar/default-policy.ts';
import {
  adminClient,
  type HardwareAttestation,
  hardwareAttestationEnv,
  SECURITY_KEY_AAGUID,
} from '../helpers/admin.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import {
  CHROMIUM_PATH,
  hasChromium,
  launchChromium,
  type PageWatch,
  screenshot,
  seriousAxeViolations,
  startBrowserService,
  watchPage,
} from '../helpers/browser.ts';
import { adminInBrowser, contextWithSession } from '../helpers/console.ts';
import type { TestService } from '../helpers/service.ts';

// The admin console's policy, apps, tenants and authenticators views in real Chromium, driven by an
// admin signed in with an attested security key (AAL3 / phrh, which every admin change needs). The
// policy editor shows Cedar's errors inline (the caret goes to one when it is selected), refuses to
// save an invalid draft, offers activation only after a replay of exactly the saved draft, and the
// activated version is what the API reports. Apps show a confidential client's secret once; tenants
// are for super-admins only. Every page is checked for CSP violations, script errors and serious
// axe-core violations, and photographed.
const chromium = hasChromium();
if (!chromium) it.skip(`browser tests skipped: ${CHROMIUM_PATH} not installed`, () => {});

const STEP_MS = 15_000;
const TEST_MS = 120_000;

/** A forbid that every sign-in without a hardware-bound passkey meets (here with a misspelt attribute). */
const forbidSyncedPasskeys = (attribute: string) => `
@id("security-key-sign-in")
@reason("Sign-ins need a hardware security key")
forbid (principal, action == Action::"SignIn", resource)
when { !context.assurance.${attribute} };
`;
const BROKEN = DEFAULT_POLICY + forbidSyncedPasskeys('phrhh');
const FIXED = DEFAULT_POLICY + forbidSyncedPasskeys('phrh');

describe.skipIf(!chromium)('admin console in Chromium: policy, apps, tenants, authenticators', () => {
  let svc: TestService & { baseUrl: string };
  let hw: HardwareAttestation;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    hw = await hardwareAttestationEnv();
    [svc, browser] = await Promise.all([
      startBrowserService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000' }),
      launchChromium(),
    ]);
  }, 120_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await svc?.destroy();
    hw?.remove();
  });

  /** A fresh admin (their security-key sign-in is fresh for five minutes) with a page in their session. */
  async function adminPage(roles: string | string[], username?: string) {
    const { admin, context } = await adminInBrowser(browser, svc, hw, roles, username ? { username } : {});
    contexts.push(context);
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    const watch = watchPage(page);
    return { admin, page, watch };
  }

  /** No CSP violation, no script error, no serious accessibility problem; then a screenshot. */
  async function checkPage(page: Page, watch: PageWatch, name?: string) {
    expect(watch.cspViolations, 'CSP violations').toEqual([]);
    expect(watch.pageErrors, 'script errors').toEqual([]);
    const violations = await seriousAxeViolations(page);
    expect(violations, `serious axe violations: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
    if (name) await screenshot(page, name);
  }

  /** The id of the focused element (the server's tsconfig has no DOM types: page code as strings). */
  const activeId = (page: Page) => page.evaluate('document.activeElement?.id') as Promise<string | undefined>;

  const statusText = (page: Page, pattern: RegExp) =>
    page.locator('#status').filter({ hasText: pattern }).waitFor();

  it(
    'edits the policy with inline errors, saves, simulates on real sign-ins and activates the draft',
    async () => {
      // Real sign-ins with synced passkeys (not hardware-bound) for the replay: allowed today.
      for (const name of ['replay-ann', 'replay-bob']) {
        const person = new AuthClient(svc.baseUrl);
        expect((await person.signUp(name)).status).toBe(201);
        expect((await person.signIn()).status).toBe(200);
      }
      const { admin, page, watch } = await adminPage('tenant-admin', 'policy-admin');
      await page.goto('/t/default/admin/policy');
      const editor = page.locator('#policy-text');
      await page.getByText('The policy is valid').waitFor();
      expect(await editor.inputValue()).toBe(DEFAULT_POLICY);
      await checkPage(page, watch);

      // Keyboard: from the view's heading, Tab reaches the editor.
      await page.locator('h2.view-title').focus();
      await page.keyboard.press('Tab');
      expect(await activeId(page)).toBe('policy-text');

      // A misspelt attribute: the error is listed under the editor with its position.
      await editor.fill(BROKEN);
      const errors = page.locator('#policy-text-errors');
      await errors.waitFor();
      const line = BROKEN.split('\n').findIndex((l) => l.includes('phrhh')) + 1;
      const validated = await admin.call<{ errors: Array<{ line: number; column: number }> }>(
        'POST',
        '/t/default/api/admin/policies/validate',
        { text: BROKEN },
      );
      const column = validated.body.errors[0]!.column;
      expect(validated.body.errors[0]!.line).toBe(line);
      const errorLink = errors.getByRole('link', { name: new RegExp(`^Line ${line}, column ${column}: `) });
      expect(await errorLink.textContent()).toMatch(/phrhh/);
      expect(await editor.getAttribute('aria-invalid')).toBe('true');
      expect((await editor.getAttribute('aria-describedby'))?.split(' ')).toContain('policy-text-errors');
      expect(await page.locator('.cedar-line-error').allTextContents()).toEqual([String(line)]);
      // An invalid draft cannot be saved, and nothing can be activated.
      expect(await page.getByRole('button', { name: 'Save draft' }).isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: /^Activate/ }).count()).toBe(0);
      await checkPage(page, watch, 'console-policy-error');

      // Selecting the error puts the caret at its line and column.
      await page.evaluate("document.getElementById('policy-text').setSelectionRange(0, 0)");
      await errorLink.click();
      const offset =
        BROKEN.split('\n')
          .slice(0, line - 1)
          .join('\n').length +
        1 +
        (column - 1);
      expect(await activeId(page)).toBe('policy-text');
      expect(await page.evaluate("document.getElementById('policy-text').selectionStart")).toBe(offset);
      expect(await page.locator('#policy-text-caret').textContent()).toBe(`Line ${line}, column ${column}`);
      // And with the keyboard: Tab from the editor reaches the error link, Enter follows it.
      await page.evaluate("document.getElementById('policy-text').setSelectionRange(0, 0)");
      let tabs = 0;
      while (
        (await page.evaluate("document.activeElement?.closest('#policy-text-errors') === null")) &&
        tabs < 5
      ) {
        await page.keyboard.press('Tab');
        tabs++;
      }
      expect(await page.evaluate('document.activeElement?.textContent')).toMatch(/phrhh/);
      await page.keyboard.press('Enter');
      expect(await page.evaluate("document.getElementById('policy-text').selectionStart")).toBe(offset);

      // Fixed: the list empties and the draft can be saved; it survives a reload (a step-up round trip).
      await editor.fill(FIXED);
      await errors.waitFor({ state: 'detached' });
      await page.getByText('The policy is valid').waitFor();
      expect(await editor.getAttribute('aria-invalid')).toBeNull();
      await page.reload();
      await page.getByText('Your unsaved changes from earlier in this tab were restored.').waitFor();
      expect(await editor.inputValue()).toBe(FIXED);
      await page.getByRole('button', { name: 'Save draft' }).click();
      await statusText(page, /Draft saved as version 1/);
      expect(await page.getByRole('button', { name: /^Activate/ }).count()).toBe(0);
      await page.getByText('Activation is offered once this draft has been simulated.').waitFor();

      // Simulate: the synced-passkey sign-ins go from allow to deny.
      await page.getByRole('button', { name: 'Simulate version 1' }).click();
      const counts = page.locator('table', {
        has: page.locator('caption', { hasText: 'Decisions on the last' }),
      });
      await counts.waitFor();
      const cell = async (row: string, col: number) =>
        Number(
          await counts
            .locator('tr', { has: page.locator(`th:text-is("${row}")`) })
            .locator('td')
            .nth(col)
            .textContent(),
        );
      expect(await cell('Deny', 1)).toBeGreaterThanOrEqual((await cell('Deny', 0)) + 4);
      const changed = page.locator('table', {
        has: page.locator('caption', { hasText: 'Attempts whose decision changes' }),
      });
      const annRows = changed.locator('tbody tr', { hasText: 'replay-ann' });
      expect(await annRows.count()).toBe(2);
      const annRow = (await annRows.first().locator('td').allTextContents()).join(' | ');
      expect(annRow).toMatch(/SignIn \| Allow \| Deny \| security-key-sign-in/);
      // The admin's own sign-up was with a security key: the forbid does not apply to it.
      expect(await changed.locator('tbody tr', { hasText: 'policy-admin' }).count()).toBe(0);
      await checkPage(page, watch, 'console-policy-simulation');

      // Activation is for exactly the simulated draft: an edit withdraws it, undoing the edit restores it.
      await editor.fill(`${FIXED}// one more line\n`);
      await page.getByRole('button', { name: 'Activate version 1' }).waitFor({ state: 'detached' });
      await editor.fill(FIXED);
      await page.getByRole('button', { name: 'Activate version 1' }).waitFor();

      // Activate (two steps), and the versions list and the API agree.
      await page.getByRole('button', { name: 'Activate version 1' }).click();
      await page.getByRole('button', { name: 'Confirm: activate version 1 now' }).click();
      await statusText(page, /Version 1 is now the active policy/);
      await page.getByText('Active: version 1').waitFor();
      const versionRow = page.locator('tr', { has: page.locator('td:text-is("1")') });
      expect(await versionRow.locator('.badge').textContent()).toBe('active');
      const listed = await admin.call<{ active: number; versions: Array<{ version: number; text: string }> }>(
        'GET',
        '/t/default/api/admin/policies',
      );
      expect(listed.body.active).toBe(1);
      expect(listed.body.versions.find((v) => v.version === 1)?.text).toBe(FIXED);
      expect(await editor.inputValue()).toBe(FIXED);
      await checkPage(page, watch);

      // Back to the default, so the other tests' sign-ins are decided as before.
      await page.getByRole('button', { name: 'Roll back' }).click();
      await page.getByRole('button', { name: 'Confirm: re-activate the previous version' }).click();
      await statusText(page, /Rolled back/);
      await page.getByText('Active: the default policy').waitFor();
      expect(
        (await admin.call<{ active: null }>('GET', '/t/default/api/admin/policies')).body.active,
      ).toBeNull();
    },
    TEST_MS,
  );

  it(
    'keeps the draft through a step-up round trip, and shows an auditor why they cannot save',
    async () => {
      // A tenant admin signed in with a synced passkey (AAL2): reads work, a change asks for a step-up.
      const synced = await adminClient({ ...svc, url: svc.baseUrl }, hw, 'tenant-admin', { hardware: false });
      const context = await contextWithSession(browser, svc.baseUrl, synced);
      contexts.push(context);
      context.setDefaultTimeout(STEP_MS);
      const page = await context.newPage();
      const watch = watchPage(page);
      await page.goto('/t/default/admin/policy');
      await page.getByText('The policy is valid').waitFor();
      await page.locator('#policy-text').fill(FIXED);
      await page.getByText('The policy is valid').waitFor();
      const saving = page.waitForResponse((r) => r.url().endsWith('/t/default/api/admin/policies'));
      await page.getByRole('button', { name: 'Save draft' }).click();
      expect((await saving).status()).toBe(401);
      await page.waitForURL('**/t/default/step-up?return=*');
      expect(new URL(page.url()).searchParams.get('return')).toBe('/t/default/admin/policy');
      // Back from the step-up page (here without stepping up): the draft is still there, unsaved.
      await page.goto('/t/default/admin/policy');
      await page.getByText('Your unsaved changes from earlier in this tab were restored.').waitFor();
      expect(await page.locator('#policy-text').inputValue()).toBe(FIXED);
      expect(
        (await synced.call<{ versions: unknown[] }>('GET', '/t/default/api/admin/policies')).body.versions,
      ).toHaveLength(1);
      await checkPage(page, watch);

      const auditor = await adminPage('auditor');
      await auditor.page.goto('/t/default/admin/policy');
      await auditor.page.getByText('Your roles (auditor) do not allow you to change the policy.').waitFor();
      await auditor.page.locator('#policy-text').fill(FIXED);
      await auditor.page.getByText('The policy is valid').waitFor();
      expect(await auditor.page.getByRole('button', { name: 'Save draft' }).isDisabled()).toBe(true);
      expect(await auditor.page.getByRole('button', { name: 'Roll back' }).count()).toBe(0);
      await checkPage(auditor.page, auditor.watch);
    },
    TEST_MS,
  );

  it(
    'creates a confidential app whose secret is shown once, and deletes it',
    async () => {
      const { admin, page, watch } = await adminPage('tenant-admin');
      await page.goto('/t/default/admin/clients');
      await page.getByLabel('Name').fill('Console test app');
      await page.getByLabel('Redirect URIs').fill('https://app.example.com/callback');
      await page.getByRole('button', { name: 'Create app' }).click();
      await page.getByRole('heading', { name: 'Console test app was created' }).waitFor();
      const secret = (await page.locator('#client-secret-once').textContent()) ?? '';
      expect(secret).toMatch(/^[A-Za-z0-9_-]{40,}$/);
      await page.getByText('It is shown only this once').waitFor();
      await page.getByRole('button', { name: 'Copy client secret' }).waitFor();
      const row = page.locator('tbody tr', { hasText: 'Console test app' });
      await row.waitFor();
      expect(await row.locator('.badge').textContent()).toBe('confidential');
      await checkPage(page, watch, 'console-clients');

      const listed = await admin.call<{
        clients: Array<{ client_id: string; client_name: string; public: boolean }>;
      }>('GET', '/t/default/api/admin/clients');
      const client = listed.body.clients.find((c) => c.client_name === 'Console test app');
      expect(client?.public).toBe(false);
      // The secret shown is the client's: the token endpoint accepts it (and refuses another one).
      const meta = (await (
        await fetch(`${svc.baseUrl}/t/default/.well-known/openid-configuration`)
      ).json()) as {
        token_endpoint: string;
      };
      const token = (secretTried: string) =>
        fetch(meta.token_endpoint, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${client!.client_id}:${secretTried}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'grant_type=authorization_code&code=nothing&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback',
        }).then(async (r) => ((await r.json()) as { error: string }).error);
      expect(await token(secret)).toBe('invalid_grant');
      expect(await token(`${secret}x`)).toBe('invalid_client');

      // Shown once: after a reload the secret is gone; the app is still listed.
      await page.reload();
      await row.waitFor();
      expect(await page.content()).not.toContain(secret);
      expect(await page.getByRole('heading', { name: 'Console test app was created' }).count()).toBe(0);

      // Delete (two steps): gone from the page and from the API.
      await page.getByRole('button', { name: 'Delete Console test app' }).click();
      await page.getByRole('button', { name: 'Confirm: delete Console test app' }).click();
      await row.waitFor({ state: 'detached' });
      const after = await admin.call<{ clients: Array<{ client_id: string }> }>(
        'GET',
        '/t/default/api/admin/clients',
      );
      expect(after.body.clients.map((c) => c.client_id)).not.toContain(client!.client_id);
      await checkPage(page, watch);
    },
    TEST_MS,
  );

  it(
    'creates an initial access token, shown once, that registers an app',
    async () => {
      const { page, watch } = await adminPage('tenant-admin');
      await page.goto('/t/default/admin/clients');
      await page.getByLabel('Valid for').selectOption({ label: '1 hour' });
      await page.getByRole('button', { name: 'Create initial access token' }).click();
      await page.getByRole('heading', { name: 'Initial access token created' }).waitFor();
      const token = (await page.locator('#initial-access-token-once').textContent()) ?? '';
      expect(token.length).toBeGreaterThan(20);
      await checkPage(page, watch);
      const meta = (await (
        await fetch(`${svc.baseUrl}/t/default/.well-known/openid-configuration`)
      ).json()) as {
        registration_endpoint: string;
      };
      const register = (bearer: string) =>
        fetch(meta.registration_endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
          body: JSON.stringify({ redirect_uris: ['https://dyn.example.com/cb'] }),
        }).then((r) => r.status);
      expect(await register(`${token}x`)).toBe(401);
      expect(await register(token)).toBe(201);
      await page.reload();
      await page.getByRole('button', { name: 'Create initial access token' }).waitFor();
      expect(await page.content()).not.toContain(token);
    },
    TEST_MS,
  );

  it(
    'lets a super-admin create a tenant, and tells a tenant admin that tenants need the super-admin role',
    async () => {
      const root = await adminPage(['super-admin']);
      await root.page.goto('/t/default/admin/tenants');
      await root.page.getByLabel('Slug').fill('acme-console');
      await root.page.getByLabel('Display name').fill('Acme Console');
      await root.page.getByRole('radio', { name: 'Trusted authenticators only' }).check();
      await root.page.getByRole('button', { name: 'Create tenant' }).click();
      await statusText(root.page, /Tenant acme-console was created/);
      const row = root.page.locator('tbody tr', { hasText: 'acme-console' });
      await row.waitFor();
      expect(await row.locator('.badge').textContent()).toBe('trusted only');
      expect(
        await row.getByRole('link', { name: 'Open the console of Acme Console' }).getAttribute('href'),
      ).toBe('/t/acme-console/admin');
      const listed = await root.admin.call<{ tenants: Array<{ slug: string; attestationPolicy: string }> }>(
        'GET',
        '/api/admin/tenants',
      );
      expect(listed.body.tenants.find((t) => t.slug === 'acme-console')?.attestationPolicy).toBe('trusted');
      // A taken slug is refused at the field.
      await root.page.getByLabel('Slug').fill('acme-console');
      await root.page.getByLabel('Display name').fill('Again');
      await root.page.getByRole('button', { name: 'Create tenant' }).click();
      await root.page.getByText('A tenant with this slug exists already.').waitFor();
      await checkPage(root.page, root.watch, 'console-tenants');

      const tenantAdmin = await adminPage('tenant-admin');
      await tenantAdmin.page.goto('/t/default/admin/tenants');
      await tenantAdmin.page.getByText('Managing tenants needs the super-admin role.').waitFor();
      expect(await tenantAdmin.page.getByRole('button', { name: 'Create tenant' }).count()).toBe(0);
      expect(await tenantAdmin.page.locator('#error').textContent()).toBe('');
      expect((await tenantAdmin.admin.call('GET', '/api/admin/tenants')).status).toBe(403);
      await checkPage(tenantAdmin.page, tenantAdmin.watch);
    },
    TEST_MS,
  );

  it(
    'switches the attestation policy to trusted and back, and lists the trusted roots and models seen',
    async () => {
      const { admin, page, watch } = await adminPage('tenant-admin');
      const policy = async () =>
        (await admin.call<{ attestationPolicy: string }>('GET', '/t/default/api/admin/settings')).body
          .attestationPolicy;
      await page.goto('/t/default/admin/attestation');
      const seen = page.locator('tbody tr', { hasText: SECURITY_KEY_AAGUID });
      await seen.waitFor();
      expect(await seen.locator('.badge').textContent()).toBe('trusted');
      const root = page.locator('tbody tr', { hasText: 'Trustgate Test Attestation Root' });
      expect(await root.first().locator('td').first().textContent()).toBe('packed');
      await checkPage(page, watch, 'console-attestation');

      await page.getByRole('radio', { name: /^Trusted authenticators only/ }).check();
      await page.getByRole('button', { name: 'Save settings' }).click();
      await statusText(page, /only trusted authenticators can register now/);
      expect(await policy()).toBe('trusted');
      await page.getByRole('radio', { name: /^Trusted authenticators only \(current\)/ }).waitFor();

      await page.getByRole('radio', { name: /^Any passkey/ }).check();
      await page.getByRole('button', { name: 'Save settings' }).click();
      await statusText(page, /any passkey can register now/);
      expect(await policy()).toBe('any');
      await checkPage(page, watch);
    },
    TEST_MS,
  );
});
