/**
 * The portal and the console in Firefox (Debian's ESR over WebDriver BiDi): every view renders under
 * the strict CSP with no script error, and the console can be used from the keyboard. The behaviour
 * of each view is tested in Chromium (portal, console-*.browser.test.ts); this proves the same built
 * code runs in the other engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, hardwareAttestationEnv } from '../helpers/admin.ts';
import { startBrowserService } from '../helpers/browser.ts';
import { FIREFOX_PATH, Firefox, hasFirefox, KEY } from '../helpers/firefox.ts';

const PORTAL_VIEWS = ['', '/devices', '/security', '/sessions', '/credentials', '/activity'];
const CONSOLE_VIEWS = ['', '/people', '/audit', '/policy', '/clients', '/attestation', '/tenants'];

const firefoxInstalled = hasFirefox();
if (!firefoxInstalled) it.skip(`Firefox tests skipped: ${FIREFOX_PATH} not installed`, () => {});

describe.skipIf(!firefoxInstalled)('portal and console in Firefox', () => {
  let svc: Awaited<ReturnType<typeof startBrowserService>>;
  let firefox: Firefox;
  let username: string;
  const hw = hardwareAttestationEnv();

  beforeAll(async () => {
    const attestation = await hw;
    [svc, firefox] = await Promise.all([startBrowserService(attestation.env), Firefox.launch()]);
    const admin = await adminClient({ ...svc, url: svc.baseUrl }, attestation, 'tenant-admin');
    username = (await admin.call<{ account: { username: string } }>('GET', '/t/default/auth/session')).body
      .account.username;
    for (const [name, value] of admin.cookies) await firefox.setCookie(svc.baseUrl, name, value);
  }, 120_000);

  afterAll(async () => {
    await firefox?.close();
    await svc?.stop();
    (await hw).remove();
  });

  const visit = async (path: string) => {
    await firefox.goto(`${svc.baseUrl}${path}`);
    await firefox.waitFor(`document.querySelector('.view-title')?.textContent.trim()`);
    return firefox.evaluate<{ title: string; loadErrors: string[] }>(`({
      title: document.querySelector('.view-title').textContent.trim(),
      loadErrors: [...document.querySelectorAll('#app [role=alert]')].map((e) => e.textContent).filter(Boolean),
    })`);
  };

  it('renders every portal view with no CSP violation or script error', async () => {
    for (const view of PORTAL_VIEWS) {
      const { title, loadErrors } = await visit(`/t/default/account${view}`);
      expect(title, view).not.toBe('');
      expect(loadErrors, view).toEqual([]);
      expect(await firefox.report(), view).toEqual({ cspViolations: [], errors: [] });
    }
    await visit('/t/default/account');
    await firefox.waitFor(`document.body.textContent.includes(${JSON.stringify(username)})`);
  });

  it('renders every console view with no CSP violation or script error', async () => {
    for (const view of CONSOLE_VIEWS) {
      const { title, loadErrors } = await visit(`/t/default/admin${view}`);
      expect(title, view).not.toBe('');
      if (view !== '/tenants') expect(loadErrors, view).toEqual([]);
      expect(await firefox.report(), view).toEqual({ cspViolations: [], errors: [] });
    }
    expect(firefox.logErrors).toEqual([]);
  });

  it('moves through the console from the keyboard', async () => {
    await visit('/t/default/admin');
    // A view takes focus on its heading when it appears; the next Tab reaches the view's first control.
    expect(await firefox.evaluate('document.activeElement.className')).toBe('view-title');
    await firefox.press(KEY.Tab);
    expect(await firefox.evaluate('document.activeElement.id')).not.toBe('');
    // From the top of the page: the skip link, the header's links, then the console's navigation.
    await firefox.evaluate(`(document.querySelector('.skip-link').focus(), true)`);
    let label = '';
    for (let i = 0; i < 20 && label !== 'Audit log'; i++) {
      await firefox.press(KEY.Tab);
      label = await firefox.evaluate<string>('document.activeElement.textContent');
    }
    expect(label).toBe('Audit log');
    await firefox.press(KEY.Enter);
    await firefox.waitFor(`location.pathname.endsWith('/admin/audit')`);
    await firefox.waitFor(`document.activeElement?.classList.contains('view-title')`);
    expect(await firefox.evaluate('document.activeElement.textContent')).toMatch(/audit/i);
  });
});
