import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDevicePayload, VOLATILE_COMPONENTS } from '../../src/risk/device/fingerprint.ts';
import { parseTyping, usernamePhrase } from '../../src/risk/keystroke/features.ts';
import {
  CHROMIUM_PATH,
  hasChromium,
  launchChromium,
  type PageWatch,
  startBrowserService,
  watchPage,
} from '../helpers/browser.ts';
import type { TestService } from '../helpers/service.ts';

// The sign-in page's risk capture in real Chromium under the service's strict CSP: ThumbmarkJS served
// from node_modules computes a fingerprint, the username field's typing is recorded, and what
// collectRiskSignals returns is what the server's parsers accept.
const chromium = hasChromium();
if (!chromium) it.skip(`browser tests skipped: ${CHROMIUM_PATH} not installed`, () => {});

const USERNAME = 'ada.Lovelace';
const COLLECT = `import('/assets/risk-capture.js').then((m) => m.collectRiskSignals())`;

interface Collected {
  device?: { thumbmark: string; components: Record<string, string>; hints?: unknown };
  typing?: { keys: Array<{ key: string; down: number; up: number }> };
}

describe.skipIf(!chromium)('risk capture on the sign-in page in Chromium', () => {
  let service: TestService & { baseUrl: string };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;

  beforeAll(async () => {
    [service, browser] = await Promise.all([startBrowserService(), launchChromium()]);
    context = await browser.newContext({ baseURL: service.baseUrl, locale: 'en-GB' });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    watch = watchPage(page);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await service?.destroy();
  });

  async function typeUsername(text: string) {
    const field = page.getByLabel('Username');
    await field.click();
    await field.pressSequentially(text, { delay: 60 });
  }

  it('serves the ThumbmarkJS ESM build and nothing else from its vendor folder', async () => {
    const module = await fetch(`${service.baseUrl}/assets/vendor/thumbmarkjs/thumbmark.esm.js`);
    expect(module.status).toBe(200);
    expect(module.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    for (const path of [
      'thumbmark.cjs',
      'thumbmark.esm.js.map',
      'thumbmark.esm.d.ts',
      '',
      '../package.json',
    ]) {
      const res = await fetch(`${service.baseUrl}/assets/vendor/thumbmarkjs/${path}`);
      expect(res.status, path).toBe(404);
    }
  });

  it('returns a fingerprint and a typing the server accepts, with no CSP violation', async () => {
    await page.goto('/t/default/sign-in');
    await typeUsername(USERNAME);
    const collected = (await page.evaluate(COLLECT)) as Collected;

    const device = parseDevicePayload(collected.device);
    expect(device.ok, JSON.stringify(device)).toBe(true);
    if (!device.ok) return;
    expect(device.device.thumbmark).toMatch(/^[0-9a-f]{32}$/);
    const names = Object.keys(device.device.components);
    expect(names.length).toBeGreaterThanOrEqual(5);
    expect(names).toEqual(expect.arrayContaining(['canvas', 'system.platform', 'hardware.videocard']));
    for (const name of names) {
      expect(
        VOLATILE_COMPONENTS.some((v) => name === v || name.startsWith(`${v}.`)),
        name,
      ).toBe(false);
    }
    for (const hash of Object.values(device.device.components)) expect(hash).toMatch(/^[0-9a-f]{16}$/);

    const typing = parseTyping(collected.typing, usernamePhrase(USERNAME));
    expect(typing.ok, JSON.stringify(typing)).toBe(true);
    expect(collected.typing?.keys.map((k) => k.key).join('')).toBe(USERNAME);
    // Exactly the payload features.ts parses: nothing but key, down and up.
    expect(Object.keys(collected.typing?.keys[0] ?? {}).sort()).toEqual(['down', 'key', 'up']);

    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });

  it('gives the same thumbmark on a reload', async () => {
    const first = (await page.evaluate(COLLECT)) as Collected;
    await page.reload();
    const second = (await page.evaluate(COLLECT)) as Collected;
    expect(second.device?.thumbmark).toBe(first.device?.thumbmark);
    expect(second.device?.components).toEqual(first.device?.components);
  });

  it('sends no typing after a correction, and starts over when the field is focused again', async () => {
    await page.goto('/t/default/sign-in');
    await typeUsername('ada.x');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('Lovelace', { delay: 60 });
    expect(((await page.evaluate(COLLECT)) as Collected).typing).toBeUndefined();

    await page.getByLabel('Username').fill('');
    await page.getByRole('heading').first().click();
    await typeUsername(USERNAME);
    const typing = ((await page.evaluate(COLLECT)) as Collected).typing;
    expect(parseTyping(typing, usernamePhrase(USERNAME)).ok).toBe(true);
    expect(watch.cspViolations).toEqual([]);
  });
});
