/**
 * Firefox for browser tests, driven over WebDriver BiDi (the W3C protocol Firefox speaks natively).
 * Playwright drives only its own patched Firefox builds; Debian's `firefox-esr` is refused by its
 * BiDi channel (it sends commands ESR does not know), so this is a small client of the standard
 * protocol: enough to set a cookie, navigate, evaluate, press keys and collect errors.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

/** Where Debian installs Firefox ESR (`apt-get install -y firefox-esr`); CI's `.ci/run` installs it. */
export const FIREFOX_PATH = '/usr/lib/firefox-esr/firefox-esr';

/** Whether the Firefox suite can run on this machine. */
export const hasFirefox = () => existsSync(FIREFOX_PATH);

// Quiet, offline, no first-run pages.
const PREFS: Record<string, string | number | boolean> = {
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutwelcome.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.disabledForTesting': true,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'extensions.update.enabled': false,
  'remote.prefs.recommended': true,
};

/** What the page reported: CSP violations and uncaught errors (from a preload script and the log). */
export interface FirefoxReport {
  cspViolations: string[];
  errors: string[];
}

/** One Firefox with one tab. */
export class Firefox {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** `log.entryAdded` errors (JavaScript errors and console errors). */
  readonly logErrors: string[] = [];
  private context = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: WebSocket,
    private readonly profile: string,
  ) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.id !== undefined) {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.type === 'error') waiter?.reject(new Error(`${message.error}: ${message.message}`));
        else waiter?.resolve(message.result);
      } else if (message.method === 'log.entryAdded' && message.params.level === 'error') {
        this.logErrors.push(String(message.params.text));
      }
    });
  }

  /** Starts headless Firefox with a fresh profile and opens a BiDi session on its tab. */
  static async launch(): Promise<Firefox> {
    const profile = mkdtempSync(join(tmpdir(), 'trustgate-firefox-'));
    writeFileSync(
      join(profile, 'user.js'),
      Object.entries(PREFS)
        .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`)
        .join('\n'),
    );
    const child = spawn(
      FIREFOX_PATH,
      ['--headless', '--no-remote', '--remote-debugging-port=0', '--profile', profile, 'about:blank'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' } },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`Firefox did not start:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk;
        const match = /WebDriver BiDi listening on (ws:\/\/[^\s]+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stderr!.on('data', onData);
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`Firefox exited (${code}):\n${output}`)));
    });
    const socket = new WebSocket(`${url}/session`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const firefox = new Firefox(child, socket, profile);
    await firefox.send('session.new', { capabilities: { alwaysMatch: { acceptInsecureCerts: false } } });
    await firefox.send('session.subscribe', { events: ['log.entryAdded'] });
    await firefox.send('script.addPreloadScript', {
      functionDeclaration: `() => {
        window.__report = { cspViolations: [], errors: [] };
        document.addEventListener('securitypolicyviolation', (e) =>
          window.__report.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
        window.addEventListener('error', (e) => window.__report.errors.push(String(e.message)));
        window.addEventListener('unhandledrejection', (e) => window.__report.errors.push(String(e.reason)));
      }`,
    });
    const tree = (await firefox.send('browsingContext.getTree', {})) as {
      contexts: Array<{ context: string }>;
    };
    firefox.context = tree.contexts[0]!.context;
    return firefox;
  }

  /** Sends one BiDi command and waits for its result. */
  send(method: string, params: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Sets a cookie for `origin` (an http origin such as `http://localhost:1234`). */
  async setCookie(origin: string, name: string, value: string): Promise<void> {
    await this.send('storage.setCookie', {
      cookie: {
        name,
        value: { type: 'string', value },
        domain: new URL(origin).hostname,
        path: '/',
        httpOnly: true,
        secure: false,
        sameSite: 'lax',
      },
    });
  }

  /** Loads `url` and waits for the load event. */
  async goto(url: string): Promise<void> {
    await this.send('browsingContext.navigate', { context: this.context, url, wait: 'complete' });
  }

  /** Evaluates `expression` in the page and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = (await this.send('script.evaluate', {
      expression: `JSON.stringify((() => (${expression}))())`,
      target: { context: this.context },
      awaitPromise: false,
    })) as { type: string; result?: { value?: string }; exceptionDetails?: { text: string } };
    if (result.type === 'exception') throw new Error(`page threw: ${result.exceptionDetails?.text}`);
    const text = result.result?.value;
    return (text === undefined ? undefined : JSON.parse(text)) as T;
  }

  /** Polls `expression` until it is truthy (or throws after `timeoutMs`). */
  async waitFor(expression: string, timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await this.evaluate<boolean>(`Boolean(${expression})`)) return;
      if (Date.now() > until) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Presses `key` (a WebDriver key value: 'Tab' is \\uE004, 'Enter' \\uE007) `times` times. */
  async press(key: string, times = 1): Promise<void> {
    const actions = [];
    for (let i = 0; i < times; i++)
      actions.push({ type: 'keyDown', value: key }, { type: 'keyUp', value: key });
    await this.send('input.performActions', {
      context: this.context,
      actions: [{ type: 'key', id: 'keyboard', actions }],
    });
  }

  /** What the page's preload script collected since it loaded. */
  report(): Promise<FirefoxReport> {
    return this.evaluate<FirefoxReport>('window.__report');
  }

  /** Ends the session and the browser, and removes the profile. */
  async close(): Promise<void> {
    try {
      await Promise.race([this.send('session.end', {}), new Promise((r) => setTimeout(r, 2000))]);
    } catch {}
    this.socket.close();
    this.child.kill('SIGTERM');
    await new Promise((resolve) => {
      if (this.child.exitCode !== null) resolve(undefined);
      else this.child.once('exit', resolve);
      setTimeout(resolve, 5000);
    });
    rmSync(this.profile, { recursive: true, force: true });
  }
}

/** WebDriver key values. */
export const KEY = { Tab: '\uE004', Enter: '\uE007' } as const;
