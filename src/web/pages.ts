/**
 * The hosted pages people use to sign up, sign in, step up, enrol factors and recover: one render
 * function per page. Each returns a complete HTML document; the page's module script
 * (`web/assets/<page>.js`) calls the JSON API and fills in what belongs to the person. Nothing about
 * the person is rendered on the server, so these documents are the same for everyone.
 */
import type { WebEntry } from './app-build.ts';
import { html, type PageTenant, pagePath, renderPage } from './layout.ts';

/** What every page needs. */
export interface PageContext {
  tenant: PageTenant;
}

/** A page that sends the person on afterwards (sign-in, step-up). */
export interface ReturningPageContext extends PageContext {
  /** Validated same-origin path to go to afterwards (see `safeReturnPath`). */
  returnTo: string;
}

const BASE = 'https://trustgate.invalid';

/**
 * `value` when it is a same-origin path that is safe to send a person to, else undefined.
 *
 * The rules (also enforced by the browser script, `web/assets/common.js`): a string of at most 2048
 * characters that starts with one `/` (`//host` is a network-path reference to another origin); no
 * backslash anywhere (browsers read `/\host` as `//host`); no control characters or whitespace (which
 * browsers strip, so `/\t/host` would become `//host`); and it must still resolve to this origin with a
 * path that does not start with `//` once dot segments are removed (`/.//host`).
 */
export function safeReturnPath(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined;
  if (!value.startsWith('/') || value.startsWith('//')) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u0020\u007f-\u009f\\]/.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return undefined;
  }
  if (url.origin !== BASE || url.pathname.startsWith('//')) return undefined;
  return value;
}

/** Where people go after signing in when nothing else was asked for: their account page. */
export const accountPath = (tenant: string) => pagePath(tenant, 'account');

/** `/t/{tenant}/sign-up`: username and optional display name, then a passkey is created. */
export function renderSignUp({ tenant }: PageContext): string {
  return renderPage({
    tenant,
    title: 'Create your account',
    script: 'sign-up.js',
    current: 'sign-up',
    body: html`<p>You sign in to ${tenant.displayName} with a passkey: your device’s screen lock or a security key. There is no password to remember or to steal.</p>
<form id="sign-up-form" class="stack">
<div class="field">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required minlength="3" maxlength="64" aria-describedby="username-hint">
<p id="username-hint" class="hint">3 to 64 characters: letters, digits and . _ - @ +. Other people may see it.</p>
</div>
<div class="field">
<label for="display-name">Display name <span class="optional">(optional)</span></label>
<input id="display-name" name="displayName" type="text" autocomplete="name" maxlength="64">
</div>
<div class="actions"><button type="submit" id="sign-up-submit">Create account with a passkey</button></div>
</form>
<p>Already have an account? <a href="${pagePath(tenant.slug, 'sign-in')}">Sign in</a>.</p>`,
  });
}

/** `/t/{tenant}/sign-in`: passkey sign-in (button and conditional UI in the username field). */
export function renderSignIn({ tenant, returnTo }: ReturningPageContext): string {
  return renderPage({
    tenant,
    title: 'Sign in',
    script: 'sign-in.js',
    current: 'sign-in',
    data: { return: returnTo },
    body: html`<form id="sign-in-form" class="stack">
<div class="field">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username webauthn" autocapitalize="none" spellcheck="false" aria-describedby="username-hint">
<p id="username-hint" class="hint">Pick your passkey from the suggestions, or use the button.</p>
</div>
<div class="actions"><button type="submit" id="passkey-sign-in">Sign in with a passkey</button></div>
</form>
<ul class="links">
<li><a href="${pagePath(tenant.slug, 'recover')}">Lost your passkeys? Recover your account with a recovery code</a></li>
<li><a href="${pagePath(tenant.slug, 'sign-up')}">New here? Create an account</a></li>
</ul>`,
  });
}

/** `/t/{tenant}/step-up`: confirm with a passkey or an authenticator code, then go back. */
export function renderStepUp({ tenant, returnTo }: ReturningPageContext): string {
  return renderPage({
    tenant,
    title: 'Confirm it’s you',
    script: 'step-up.js',
    data: { return: returnTo },
    body: html`<p>What you asked to do changes how you sign in or who can use your account, so it needs a recent, strong sign-in. Confirm with one of your factors and we’ll take you back to where you were.</p>
<p>Your session now: <strong id="session-level">checking…</strong></p>
<section class="card" aria-labelledby="step-up-passkey-heading">
<h2 id="step-up-passkey-heading">With a passkey</h2>
<div class="actions"><button type="button" id="step-up-passkey">Confirm with a passkey</button></div>
</section>
<section class="card" id="step-up-totp" aria-labelledby="step-up-totp-heading" hidden>
<h2 id="step-up-totp-heading">With your authenticator app</h2>
<form id="step-up-totp-form" class="stack">
<div class="field">
<label for="step-up-code">6-digit code from your authenticator app</label>
<input id="step-up-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
</div>
<div class="actions"><button type="submit">Confirm with the code</button></div>
</form>
</section>
<p><a id="step-up-cancel" href="${returnTo}">Cancel and go back</a></p>`,
  });
}

/** `/t/{tenant}/totp`: authenticator app enrolment (QR code, key, confirmation code). */
export function renderTotp({ tenant }: PageContext): string {
  return renderPage({
    tenant,
    title: 'Set up an authenticator app',
    script: 'totp.js',
    body: html`<p>An authenticator app shows a new 6-digit code every 30 seconds. You can use a code to confirm it’s you when your passkey isn’t at hand.</p>
<div class="actions" id="totp-start-actions"><button type="button" id="totp-start">Start set-up</button></div>
<section class="card" id="totp-setup" aria-labelledby="totp-scan-heading" hidden>
<h2 id="totp-scan-heading" tabindex="-1">1. Scan this QR code with the app</h2>
<div id="totp-qr" class="qr"></div>
<p>Can’t scan it? Enter this key in the app instead:</p>
<p><code id="totp-secret" class="long secret"></code></p>
<h2>2. Enter the code the app shows</h2>
<form id="totp-confirm-form" class="stack">
<div class="field">
<label for="totp-code">6-digit code</label>
<input id="totp-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
</div>
<div class="actions"><button type="submit">Confirm</button></div>
</form>
</section>
<section class="card" id="totp-done" aria-labelledby="totp-done-heading" hidden>
<h2 id="totp-done-heading" tabindex="-1">Your authenticator app is set up</h2>
<p>From now on you can confirm it’s you with a code from the app.</p>
</section>
<p><a href="${accountPath(tenant.slug)}">Back to your account</a></p>`,
  });
}

/** `/t/{tenant}/recovery-codes`: generate a new set and show it once. */
export function renderRecoveryCodes({ tenant }: PageContext): string {
  return renderPage({
    tenant,
    title: 'Recovery codes',
    script: 'recovery-codes.js',
    body: html`<p>Each recovery code lets you into your account once if you lose all your passkeys. Getting new codes makes all your old ones stop working.</p>
<p id="recovery-remaining"></p>
<div class="actions" id="generate-actions"><button type="button" id="generate-codes">Generate new recovery codes</button></div>
<section class="card" id="codes-section" aria-labelledby="codes-heading" hidden>
<h2 id="codes-heading" tabindex="-1">Your new recovery codes</h2>
<p>Save them somewhere safe now, for example in a password manager or on paper. They are shown only once.</p>
<ol id="recovery-codes" class="codes"></ol>
<div class="field checkbox">
<input id="codes-saved" name="saved" type="checkbox">
<label for="codes-saved">I have saved them</label>
</div>
<div class="actions"><button type="button" id="codes-done" disabled>Done</button></div>
</section>
<p><a href="${accountPath(tenant.slug)}">Back to your account</a></p>`,
  });
}

/** `/t/{tenant}/recover`: sign in with username and a recovery code, then enrol a new passkey. */
export function renderRecover({ tenant }: PageContext): string {
  return renderPage({
    tenant,
    title: 'Recover your account',
    script: 'recover.js',
    current: 'recover',
    body: html`<p>Lost your passkeys? Sign in with your username and one of the recovery codes you saved. Each code works once.</p>
<form id="recover-form" class="stack">
<div class="field">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64">
</div>
<div class="field">
<label for="recovery-code">Recovery code</label>
<input id="recovery-code" name="code" type="text" autocomplete="off" autocapitalize="none" spellcheck="false" required maxlength="64">
</div>
<div class="actions"><button type="submit">Recover my account</button></div>
</form>
<section class="card notice" id="recover-next" aria-labelledby="recover-next-heading" hidden>
<h2 id="recover-next-heading" tabindex="-1">You’re in. Now add a new passkey</h2>
<p>You signed in with a recovery code, which works only once. Create a passkey on this device so that you can sign in next time, then get new recovery codes.</p>
<div class="actions"><button type="button" id="enrol-passkey">Create a passkey</button></div>
<p><a href="${accountPath(tenant.slug)}">Go to your account</a></p>
</section>
<p><a href="${pagePath(tenant.slug, 'sign-in')}">Back to sign-in</a></p>`,
  });
}

/** `/t/{tenant}/account/…`: the people's portal (built app, `web/app/portal/`). */
export function renderPortal({ tenant }: PageContext, app: WebEntry): string {
  return renderPage({ tenant, title: 'Your account', current: 'account', app, body: html`` });
}

/** `/t/{tenant}/admin/…`: the admin console (built app, `web/app/console/`). */
export function renderConsole({ tenant }: PageContext, app: WebEntry): string {
  return renderPage({ tenant, title: 'Admin console', current: 'admin', app, body: html`` });
}
