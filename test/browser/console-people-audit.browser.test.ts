/**
 * The admin console in real Chromium. A person signs up in their own browser with a passkey; an admin
 * (signed in at AAL3 with an attested security key) finds them, revokes their device with the keyboard
 * and watches the cascade finish, after which the person's session is over; an auditor is offered no
 * Revoke and no End session. The audit log shows the revocation live, verifies its chain, and names the
 * record a database edit broke. The dashboard's tiles, charts, map and number tables match its API; for
 * a deterministic map and histogram the test inserts RiskAttempt rows (cities, coordinates, scores,
 * outcomes) next to real sign-ins over HTTP.
 */
import { randomBytes } from 'node:crypto';
import { getAddress, Wallet } from 'ethers';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/audit/events.ts';
import { signWithManagedOwner } from '../../src/flows/registry-signing.ts';
import type { HardwareAttestation } from '../helpers/admin.ts';
import { hardwareAttestationEnv } from '../helpers/admin.ts';
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
  watchPage,
} from '../helpers/browser.ts';
import { adminInBrowser } from '../helpers/console.ts';
import type { TestService } from '../helpers/service.ts';

const chromium = hasChromium();
if (!chromium) it.skip(`browser tests skipped: ${CHROMIUM_PATH} not installed`, () => {});

const STEP_MS = 20_000;
const USERNAME = 'grace.hopper';
const DISPLAY_NAME = 'Grace Hopper';

interface DashboardBody {
  days: number;
  signIns: Array<{ day: string; allow: number; stepUp: number; deny: number; failure: number }>;
  decisions: { total: number; stepUpRate: number; denyRate: number };
  scores: Array<{ from: number; to: number; count: number }>;
  topReasons: Array<{ reason: string; label: string; count: number }>;
  locations: Array<{ city: string | null; count: number; denied: number; stepUp: number }>;
  totals: { activeSessions: number };
}

describe.skipIf(!chromium)(
  'admin console in Chromium: people, device revocation, audit log, dashboard',
  () => {
    let svc: TestService & { baseUrl: string };
    let hw: HardwareAttestation;
    let browser: Browser;
    let personContext: BrowserContext;
    let personPage: Page;
    let adminContext: BrowserContext;
    let admin: Awaited<ReturnType<typeof adminInBrowser>>['admin'];
    let consolePage: Page;
    let auditPage: Page;
    const watches = new Map<Page, PageWatch>();
    let accountId = '';
    let deviceId = '';
    let tenantId = '';

    const db = () => svc.service.store.db;

    beforeAll(async () => {
      hw = await hardwareAttestationEnv();
      [svc, browser] = await Promise.all([
        startBrowserService({ ...hw.env, AUTH_RATE_LIMIT_PER_MINUTE: '100000' }),
        launchChromium(),
      ]);
      tenantId = (await db().tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
      personContext = await browser.newContext({ baseURL: svc.baseUrl, locale: 'en-GB' });
      personContext.setDefaultTimeout(STEP_MS);
      personPage = await personContext.newPage();
      watches.set(personPage, watchPage(personPage));
      await addVirtualAuthenticator(personContext, personPage);
      ({ admin, context: adminContext } = await adminInBrowser(browser, svc, hw, 'tenant-admin'));
      adminContext.setDefaultTimeout(STEP_MS);
      consolePage = await adminContext.newPage();
      auditPage = await adminContext.newPage();
      for (const page of [consolePage, auditPage]) watches.set(page, watchPage(page));
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await svc?.destroy();
      hw?.remove();
    });

    /** No CSP violation, no script error, no serious accessibility problem; then a screenshot. */
    async function checkPage(page: Page, name: string) {
      const watch = watches.get(page)!;
      expect(watch.cspViolations, `CSP violations on ${name}`).toEqual([]);
      expect(watch.pageErrors, `script errors on ${name}`).toEqual([]);
      const violations = await seriousAxeViolations(page);
      expect(violations, `serious axe violations on ${name}: ${JSON.stringify(violations, null, 1)}`).toEqual(
        [],
      );
      await screenshot(page, name);
    }

    const sessionStatus = (page: Page) =>
      page.evaluate(() => fetch('/t/default/auth/session').then((r) => r.status));

    const focusedText = (page: Page) =>
      page.evaluate("document.activeElement?.textContent?.trim() ?? ''") as Promise<string>;

    /** The focused element's text once it matches `pattern` (focus moves after the page re-renders). */
    async function focusedTextMatching(page: Page, pattern: RegExp): Promise<string> {
      await page.waitForFunction(
        `${pattern}.test(document.activeElement?.textContent?.trim() ?? '')`,
        undefined,
        { timeout: 5_000 },
      );
      return focusedText(page);
    }

    it('a person signs up with a passkey in their own browser and is signed in', async () => {
      await personPage.goto('/t/default/sign-up');
      await personPage.getByLabel('Username').fill(USERNAME);
      await personPage.getByLabel('Display name').fill(DISPLAY_NAME);
      await personPage.getByRole('button', { name: 'Create account with a passkey' }).click();
      await personPage.waitForURL('**/t/default/account');
      expect(await sessionStatus(personPage)).toBe(200);
      const account = await db().account.findFirstOrThrow({ where: { tenantId, username: USERNAME } });
      accountId = account.id;
      const device = await db().riskDevice.findFirstOrThrow({ where: { tenantId, accountId } });
      deviceId = device.id;

      // The device holds a delegate key of the person's DID: revoking it has an on-chain step.
      const delegate = Wallet.createRandom().address;
      const { agent, chain, outbox } = svc.service;
      const identifier = await agent.didManagerGet({ did: account.did! });
      const op = await signWithManagedOwner(agent, chain, identifier.controllerKeyId!, {
        kind: 'addDelegate',
        payload: {
          identity: getAddress(account.address!),
          delegateType: 'sigAuth',
          delegate,
          validity: 86_400,
        },
      });
      const job = await outbox.enqueue({
        idempotencyKey: `test-delegate-${randomBytes(4).toString('hex')}`,
        ...op,
      });
      expect((await outbox.waitFor(job.id, 20_000)).status).toBe('confirmed');
      const linked = await personPage.evaluate(
        ([id, address]) =>
          fetch(`/t/default/api/me/devices/${id}`, {
            method: 'PATCH',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ delegateAddress: address }),
          }).then((r) => r.status),
        [deviceId, delegate] as const,
      );
      expect(linked).toBe(200);
    });

    it('offers an auditor the person’s devices and sessions to read, but no Revoke and no End session', async () => {
      const { context } = await adminInBrowser(browser, svc, hw, 'auditor');
      const page = await context.newPage();
      watches.set(page, watchPage(page));
      await page.goto(`/t/default/admin/people/${accountId}`);
      await page.getByRole('heading', { level: 2, name: DISPLAY_NAME }).waitFor();
      await page.locator('.devices > li h3').waitFor();
      await page.getByText('Your roles (auditor) do not allow you to revoke devices.').waitFor();
      await page.getByText('Your roles (auditor) do not allow you to end sessions.').waitFor();
      await page.locator('table', { hasText: 'AAL2' }).waitFor();
      expect(await page.getByRole('button', { name: 'Revoke', exact: true }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'End session' }).count()).toBe(0);
      await checkPage(page, 'console-person-auditor');
      await context.close();
    });

    it('shows the audit log, live, before anything is revoked', async () => {
      await auditPage.goto('/t/default/admin/audit');
      await auditPage.getByRole('heading', { name: 'Audit log' }).waitFor();
      await auditPage.locator(`tr[data-seq]`).first().waitFor();
      expect(await auditPage.locator('tr[data-seq] code', { hasText: /^device\.revoked$/ }).count()).toBe(0);
      const exportLink = auditPage.getByRole('link', { name: 'Export (JSON Lines)' });
      expect(await exportLink.getAttribute('href')).toBe('/t/default/api/admin/audit/export');
      await checkPage(auditPage, 'console-audit-empty');
    });

    it('finds the person, and revokes their device with the keyboard; the cascade runs to the end', async () => {
      await consolePage.goto('/t/default/admin/people');
      await consolePage.getByLabel('Search people').fill('grace');
      await consolePage.getByRole('button', { name: 'Search' }).click();
      await consolePage.getByRole('status').filter({ hasText: 'Showing 1 person' }).waitFor();
      expect(new URL(consolePage.url()).search).toBe('?q=grace');
      await checkPage(consolePage, 'console-people');
      await consolePage.getByRole('link', { name: DISPLAY_NAME }).click();
      await consolePage.waitForURL(`**/t/default/admin/people/${accountId}`);
      await consolePage.getByRole('heading', { level: 2, name: DISPLAY_NAME }).waitFor();
      const revoke = consolePage.getByRole('button', { name: 'Revoke', exact: true });
      await revoke.waitFor();
      expect(await consolePage.locator('.devices > li').count()).toBe(1);
      expect(await consolePage.locator('.devices > li .badge').first().textContent()).toBe('Trusted');
      await consolePage.locator('table', { hasText: 'AAL2' }).waitFor();
      await checkPage(consolePage, 'console-person');

      // Keyboard only: Tab from the link before it to Revoke, Enter to ask, Space to confirm.
      await consolePage.getByRole('link', { name: 'Audit records about this person' }).focus();
      await consolePage.keyboard.press('Tab');
      expect(await focusedText(consolePage)).toBe('Revoke');
      await consolePage.keyboard.press('Enter');
      const deviceName = await consolePage.locator('.devices > li h3').textContent();
      expect(await focusedTextMatching(consolePage, /^Revoke .+ now$/)).toBe(`Revoke ${deviceName} now`);
      const started = consolePage.waitForResponse(
        (r) => r.url().endsWith(`/api/admin/devices/${deviceId}/revoke`) && r.request().method() === 'POST',
      );
      // Every summary the live region shows, in order (read by the test, outside the page's CSP).
      await consolePage.evaluate(`window.seenSummaries = [];
        new MutationObserver(() => {
          const text = document.querySelector('.revocation-summary')?.textContent;
          if (text && window.seenSummaries.at(-1) !== text) window.seenSummaries.push(text);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });`);
      await consolePage.keyboard.press('Space');
      const answer = await started;
      expect(answer.status()).toBe(202);

      const region = consolePage.locator('.revocation-region[aria-live="polite"]');
      const steps = region.locator('ol.revocation-steps > li');
      await steps.nth(7).waitFor();
      expect(await focusedTextMatching(consolePage, /^Revocation$/)).toBe('Revocation');
      expect(await steps.count()).toBe(8);
      await region.getByText('Revocation complete: every step is done.').waitFor({ timeout: 30_000 });
      // It ran live: the delegate waited for the chain while the page showed the steps done so far.
      const delegateStep = (
        (await answer.json()) as { steps: Array<{ name: string; status: string }> }
      ).steps.find((step) => step.name === 'revoke_delegate');
      expect(delegateStep?.status).toBe('pending');
      const seen = (await consolePage.evaluate('window.seenSummaries')) as string[];
      expect(seen.at(-1)).toBe('Revocation complete: every step is done.');
      expect(seen.slice(0, -1).some((text) => /^Revoking: [1-7] of 8 steps done\.$/.test(text))).toBe(true);
      const states = await steps.locator('.badge').allTextContents();
      expect(states).toHaveLength(8);
      for (const state of states) expect(state).toMatch(/^done/);
      expect(await region.locator('[data-step="revoke_delegate"] .badge').textContent()).toBe('done');
      expect(await region.locator('[data-step="end_sessions"]').textContent()).toContain(
        '1 session(s) ended',
      );
      // The person's page follows: the device reads revoked and no session is left.
      await consolePage.locator('.devices > li .badge', { hasText: 'Revoked' }).waitFor();
      await consolePage.getByText('No live sessions.').waitFor();
      await checkPage(consolePage, 'console-revocation');
    });

    it('has ended the person’s session: the API refuses them and their account page sends them to sign in', async () => {
      expect(await sessionStatus(personPage)).toBe(401);
      await personPage.reload();
      await personPage.waitForURL('**/t/default/sign-in**');
      // Leave the sign-in page: its passkey autofill would go on writing failed sign-ins to the log.
      await personPage.goto('about:blank');
    });

    it('shows the revocation in the audit log without a reload, and pauses on request', async () => {
      const loads: string[] = [];
      auditPage.on('load', () => loads.push(auditPage.url()));
      const revoked = auditPage.locator('tr.audit-new', {
        has: auditPage.locator('code', { hasText: /^device\.revoked$/ }),
      });
      await revoked.waitFor();
      expect(await revoked.textContent()).toContain(`deviceId: ${deviceId}`);
      await auditPage.locator('tr[data-seq] code', { hasText: /^device\.revocation_completed$/ }).waitFor();
      expect(await auditPage.locator('#audit-news').textContent()).toMatch(/new record/);
      expect(loads).toEqual([]);

      // Paused, a new record stays out of the table until the admin resumes.
      const pause = auditPage.getByRole('button', { name: 'Pause live updates' });
      await pause.click();
      expect(await pause.getAttribute('aria-pressed')).toBe('true');
      const granted = await admin.call('PUT', admin.t(`/api/admin/people/${accountId}/roles`), {
        roles: ['auditor'],
      });
      expect(granted.status).toBe(200);
      // A burst larger than a page of the log: the live view reads back to what it showed, skipping none.
      for (let i = 0; i < 60; i++) await recordEvent(db(), { tenantId, type: 'test.burst', detail: { i } });
      const roles = auditPage.locator('tr[data-seq] code', { hasText: /^admin\.roles_changed$/ });
      const burst = auditPage.locator('tr.audit-new code', { hasText: /^test\.burst$/ });
      await auditPage.waitForTimeout(4_000);
      expect(await roles.count()).toBe(0);
      expect(await burst.count()).toBe(0);
      await pause.click();
      await roles.waitFor();
      expect(await burst.count()).toBe(60);
      expect(await auditPage.locator('tr.audit-new').count()).toBe(61);
      expect(await auditPage.locator('#audit-news').textContent()).toBe('61 new records.');
      await checkPage(auditPage, 'console-audit');
    });

    it('filters the log by type and by person', async () => {
      await auditPage.getByLabel('Record type').fill('device.revoked');
      await auditPage.getByRole('button', { name: 'Filter' }).click();
      await auditPage
        .getByRole('table', { name: 'Audit records matching the filters, newest first' })
        .waitFor();
      expect(new URL(auditPage.url()).search).toBe('?type=device.revoked');
      expect(await auditPage.locator('tr[data-seq] td:nth-child(3)').allTextContents()).toEqual([
        'device.revoked',
      ]);

      await auditPage.getByRole('button', { name: 'Clear filters' }).click();
      await auditPage.getByLabel('Person (account id)').fill(accountId);
      await auditPage.getByRole('button', { name: 'Filter' }).click();
      await auditPage.waitForURL(`**/admin/audit?account=${accountId}`);
      await auditPage.locator('tr[data-seq] code', { hasText: /^admin\.roles_changed$/ }).waitFor();
      const subjects = await auditPage.locator('tr[data-seq] td:nth-child(5)').allTextContents();
      expect(subjects.length).toBeGreaterThanOrEqual(4);
      for (const subject of subjects) expect(subject).toBe(`Person ${accountId.slice(0, 8)}`);
      expect(await auditPage.locator('tr[data-seq] code', { hasText: /^signup\.succeeded$/ }).count()).toBe(
        1,
      );
    });

    it('verifies the chain, then names the record a database edit broke', async () => {
      await auditPage.getByRole('button', { name: 'Verify the chain' }).click();
      const result = auditPage.locator('#verify-result');
      await result.waitFor();
      const head = await db().auditHead.findUniqueOrThrow({ where: { tenantId } });
      expect(await result.locator('.verify-headline').textContent()).toBe(
        `Verified The chain is intact up to record ${head.seq}.`,
      );
      expect(await result.textContent()).toContain(`record ${head.seq}: ${head.hash}`);
      await checkPage(auditPage, 'console-audit-verified');

      const record = await db().securityEvent.findFirstOrThrow({
        where: { tenantId, type: 'device.revoked', accountId },
      });
      await db().securityEvent.update({
        where: { id: record.id },
        data: { detail: JSON.stringify({ deviceId, revocationId: 'someone-else' }) },
      });
      await auditPage.getByRole('button', { name: 'Verify the chain' }).click();
      await result.locator('.verify-headline', { hasText: 'Broken' }).waitFor();
      expect(await result.locator('.verify-headline').textContent()).toBe(
        `Broken The chain is broken at record ${record.seq}: a record was changed after it was written.`,
      );
      expect(await result.textContent()).toContain(`Records 1 to ${record.seq! - 1} are intact.`);
      await checkPage(auditPage, 'console-audit-broken');
    });

    it('shows the dashboard: tiles, charts with their names, a circle per place and tables matching the API', async () => {
      // Real sign-ins over HTTP …
      for (let i = 0; i < 3; i++) {
        const client = new AuthClient(svc.baseUrl);
        expect((await client.signUp(`dash-${i}`)).status).toBe(201);
        expect((await client.signIn()).status).toBe(200);
      }
      // … and assessed attempts at known places, scores and outcomes.
      const now = Date.now();
      const attempts = [
        {
          city: 'Berlin',
          country: 'DE',
          lat: 52.52,
          lon: 13.405,
          outcome: 'success',
          decision: 'allow',
          score: 5,
        },
        {
          city: 'Berlin',
          country: 'DE',
          lat: 52.52,
          lon: 13.405,
          outcome: 'success',
          decision: 'allow',
          score: 12,
        },
        {
          city: 'Lagos',
          country: 'NG',
          lat: 6.455,
          lon: 3.394,
          outcome: 'step_up',
          decision: 'step_up',
          score: 55,
        },
        {
          city: 'Lima',
          country: 'PE',
          lat: -12.046,
          lon: -77.043,
          outcome: 'denied',
          decision: 'deny',
          score: 91,
        },
        {
          city: 'Sydney',
          country: 'AU',
          lat: -33.869,
          lon: 151.209,
          outcome: 'success',
          decision: 'allow',
          score: 33,
        },
      ];
      await db().riskAttempt.createMany({
        data: attempts.map((a, i) => ({
          ...a,
          tenantId,
          accountId,
          action: 'sign_in',
          at: new Date(now - i * 86_400_000),
          reasons: JSON.stringify(a.score > 50 ? ['impossible_travel'] : []),
        })),
      });
      const api = await admin.call<DashboardBody>('GET', admin.t('/api/admin/dashboard?days=30'));
      expect(api.status).toBe(200);
      const data = api.body;

      await consolePage.goto('/t/default/admin');
      await consolePage.getByRole('heading', { name: 'Dashboard' }).waitFor();
      expect(await consolePage.getByLabel('Time window').inputValue()).toBe('30');
      const tile = (id: string) => consolePage.locator(`#${id} .tile-value`).textContent();
      await consolePage.locator('#tile-sign-ins').waitFor();
      expect(await tile('tile-sign-ins')).toBe(String(data.decisions.total));
      expect(await tile('tile-active-sessions')).toBe(String(data.totals.activeSessions));
      const percent = (share: number) => `${Number((share * 100).toFixed(1))}%`;
      expect(await tile('tile-step-up-rate')).toBe(percent(data.decisions.stepUpRate));
      expect(await tile('tile-deny-rate')).toBe(percent(data.decisions.denyRate));

      for (const name of [
        'Sign-ins per day by outcome',
        'Step-up and deny rates per day',
        'Risk score distribution',
        'Most frequent risk reasons',
        'Map of sign-in locations',
      ]) {
        expect(await consolePage.getByRole('img', { name, exact: true }).count(), name).toBe(1);
      }
      const map = consolePage.getByRole('img', { name: 'Map of sign-in locations' });
      expect(await map.locator('circle.map-point').count()).toBe(data.locations.length);
      expect(data.locations.find((l) => l.city === 'Berlin')).toMatchObject({ count: 2 });
      expect(await map.locator('circle.map-point title').allTextContents()).toContain(
        'Berlin, DE: 2 sign-ins, 0 stepped up, 0 denied',
      );

      // The tables behind "Show the numbers" hold the API's numbers.
      const tableRows = async (chart: string) => {
        const figure = consolePage.locator('figure.chart', {
          has: consolePage.getByRole('img', { name: chart }),
        });
        await figure.locator('summary').click();
        return figure
          .locator('tbody tr')
          .evaluateAll((rows) =>
            rows.map((row) => [...row.querySelectorAll('th, td')].map((cell) => cell.textContent ?? '')),
          );
      };
      const perDay = await tableRows('Sign-ins per day by outcome');
      expect(perDay.map((r) => r.slice(1).map(Number))).toEqual(
        data.signIns.map((d) => [
          d.allow,
          d.stepUp,
          d.deny,
          d.failure,
          d.allow + d.stepUp + d.deny + d.failure,
        ]),
      );
      const scores = await tableRows('Risk score distribution');
      expect(scores).toEqual(data.scores.map((b) => [`${b.from}–${b.to}`, String(b.count)]));
      const places = await tableRows('Map of sign-in locations');
      expect(places.map((r) => Number(r[1])).sort()).toEqual(data.locations.map((l) => l.count).sort());
      const reasons = await tableRows('Most frequent risk reasons');
      expect(reasons.map((r) => Number(r[1]))).toEqual(data.topReasons.map((r) => r.count));
      await checkPage(consolePage, 'console-dashboard');

      // Another window reloads the numbers.
      const week = consolePage.waitForResponse((r) => r.url().includes('/api/admin/dashboard?days=7'));
      await consolePage.getByLabel('Time window').selectOption('7');
      expect((await week).status()).toBe(200);
      expect(new URL(consolePage.url()).search).toBe('?days=7');
    });
  },
);
