/**
 * The console's gate: a person with no admin role sees one plain sentence instead of views that would
 * all be refused; an admin sees who they are and whether changes are possible now (a hardware-bound
 * proof from the last five minutes), with a way to get one.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HardwareAttestation, hardwareAttestationEnv } from '../helpers/admin.ts';
import {
  CHROMIUM_PATH,
  hasChromium,
  launchChromium,
  screenshot,
  seriousAxeViolations,
  startBrowserService,
  watchPage,
} from '../helpers/browser.ts';
import { adminInBrowser } from '../helpers/console.ts';

const chromium = hasChromium();
if (!chromium) it.skip(`browser tests skipped: ${CHROMIUM_PATH} not installed`, () => {});

describe.skipIf(!chromium)('the console gate in Chromium', () => {
  let svc: Awaited<ReturnType<typeof startBrowserService>>;
  let browser: Browser;
  let hw: HardwareAttestation;

  beforeAll(async () => {
    hw = await hardwareAttestationEnv();
    [svc, browser] = await Promise.all([startBrowserService(hw.env), launchChromium()]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
    hw?.remove();
  });

  it('tells a person without an admin role, and shows no console', async () => {
    const { context } = await adminInBrowser(browser, svc, hw, []);
    const page = await context.newPage();
    const watch = watchPage(page);
    await page.goto('/t/default/admin/people');
    await page.getByRole('heading', { name: 'No administrator role here' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Console' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Go to your account' }).getAttribute('href')).toBe(
      '/t/default/account',
    );
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await context.close();
  });

  it('shows an admin with a fresh security-key proof that changes are allowed, counting down', async () => {
    const { admin, context } = await adminInBrowser(browser, svc, hw, 'tenant-admin');
    const page = await context.newPage();
    await page.goto('/t/default/admin');
    const banner = page.getByRole('region', { name: 'Your administrator session' });
    await banner.getByText('Changes allowed').waitFor();
    const username = (await admin.session()).body.account.username as string;
    expect(await banner.textContent()).toContain(`Signed in as ${username}, tenant-admin.`);
    expect(await banner.textContent()).toMatch(/counts for ([0-4]:[0-5]\d|5:00) more/);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'console-gate-fresh');
    // The gate loads the admin's roles once; the views under it (the policy view uses them) share it.
    const asked: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/t/default/api/admin/me') asked.push(request.url());
    });
    await page.goto('/t/default/admin/policy');
    await page.getByRole('button', { name: 'Check now' }).waitFor();
    expect(asked).toHaveLength(1);
    await context.close();
  });

  it('tells an admin without a hardware-bound sign-in that the console is read-only, with a way to confirm', async () => {
    const { context } = await adminInBrowser(browser, svc, hw, 'auditor', { hardware: false });
    const page = await context.newPage();
    await page.goto('/t/default/admin/audit');
    const banner = page.getByRole('region', { name: 'Your administrator session' });
    await banner.getByText('Read-only for now').waitFor();
    expect(await banner.textContent()).toContain('Changes need a sign-in with a hardware security key.');
    const href = await banner
      .getByRole('link', { name: 'Confirm with your security key' })
      .getAttribute('href');
    expect(href).toBe(`/t/default/step-up?return=${encodeURIComponent('/t/default/admin/audit')}`);
    // The views still work for reading.
    await page.getByRole('heading', { name: /audit/i, level: 2 }).first().waitFor();
    await context.close();
  });
});
