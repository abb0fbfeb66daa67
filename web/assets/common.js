/**
 * Shared helpers of the hosted pages: JSON API calls that read problem+json errors, the live regions
 * for messages, same-origin return paths, and where to send the person when the API says "sign in" or
 * "step up".
 */

/** The tenant of this page (from `<body data-tenant>`). */
export const tenant = document.body.dataset.tenant ?? 'default';

/** Path of `rest` under this page's tenant (`rest` starts with `/`). */
export const tenantPath = (rest) => `/t/${encodeURIComponent(tenant)}${rest}`;

/** An error answer of the API, with the problem's `code` and a `detail` fit to show. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code ?? 'unknown';
    this.problem = problem ?? {};
  }
}

/**
 * Calls the JSON API: same-origin credentials, JSON bodies (`{}` when there is none) on everything but
 * GET. Resolves with the parsed body (undefined for 204); rejects with ApiError.
 */
export async function api(path, { method = 'GET', body } = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json, application/problem+json' },
  };
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, {
      code: 'network_error',
      detail: 'Could not reach the server. Check your connection and try again.',
    });
  }
  if (res.status === 204) return undefined;
  const type = res.headers.get('content-type') ?? '';
  const data = /json/.test(type) ? await res.json().catch(() => undefined) : undefined;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

const statusRegion = () => document.getElementById('status');
const errorRegion = () => document.getElementById('error');

/** Shows a status message (polite live region) and clears any error. */
export function showStatus(text) {
  errorRegion().textContent = '';
  statusRegion().textContent = text;
}

/** Shows an error message (alert region) and clears the status. */
export function showError(text) {
  statusRegion().textContent = '';
  errorRegion().textContent = text;
}

/** Clears both message regions. */
export function clearMessages() {
  statusRegion().textContent = '';
  errorRegion().textContent = '';
}

const BASE = 'https://trustgate.invalid';

/**
 * `value` when it is a same-origin path safe to send a person to, else undefined. The same rules as
 * the server's `safeReturnPath` (src/web/pages.ts): one leading `/`, no backslash, no control
 * characters or whitespace, and still this origin with no `//` path once normalized.
 */
export function safeReturnPath(value) {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined;
  if (!value.startsWith('/') || value.startsWith('//')) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u0020\u007f-\u009f\\]/.test(value)) return undefined;
  let url;
  try {
    url = new URL(value, BASE);
  } catch {
    return undefined;
  }
  if (url.origin !== BASE || url.pathname.startsWith('//')) return undefined;
  return value;
}

/** The account page: where people go when nothing else was asked for. */
export const accountPage = () => tenantPath('/account');

/**
 * Where to go afterwards: the page's `return` query parameter if the browser also finds it safe and
 * the server agreed (`<body data-return>`), else the account page.
 */
export function returnTarget() {
  const fromQuery = safeReturnPath(new URLSearchParams(location.search).get('return') ?? undefined);
  const fromServer = safeReturnPath(document.body.dataset.return);
  return fromQuery && fromQuery === fromServer ? fromQuery : accountPage();
}

/** Navigates to the same-origin `path` (refusing anything else, which goes to the account page). */
export function goTo(path) {
  const safe = safeReturnPath(path) ?? accountPage();
  const url = new URL(safe, location.origin);
  location.assign(url.origin === location.origin ? url.href : accountPage());
}

/** This page's path and query, as the `return` of a step-up or sign-in. */
export const herePath = () => `${location.pathname}${location.search}`;

/** Sends the person to the step-up page, coming back here afterwards. */
export function goToStepUp() {
  location.assign(`${tenantPath('/step-up')}?return=${encodeURIComponent(herePath())}`);
}

/**
 * Where to go after a sign-in answer: the step-up page first when the server's risk decision asked for
 * more (`next: 'step_up'`), then `target`.
 */
export function goAfterSignIn(result, target) {
  if (result?.next === 'step_up') {
    showStatus('One more step: confirm it’s you.');
    location.assign(
      `${tenantPath('/step-up')}?return=${encodeURIComponent(safeReturnPath(target) ?? accountPage())}`,
    );
    return;
  }
  goTo(target);
}

/** Sends the person to sign in, coming back here afterwards. */
export function goToSignIn() {
  location.assign(`${tenantPath('/sign-in')}?return=${encodeURIComponent(herePath())}`);
}

/**
 * For pages that need a session: on 401 `insufficient_user_authentication` go to step-up, on any
 * other 401 go to sign-in. Returns true when it navigated away.
 */
export function redirectIfUnauthenticated(err) {
  if (!(err instanceof ApiError) || err.status !== 401) return false;
  if (err.code === 'insufficient_user_authentication') {
    showStatus('This needs you to confirm it’s you. Taking you there…');
    goToStepUp();
  } else {
    showStatus('Your session has ended. Taking you to sign in…');
    goToSignIn();
  }
  return true;
}

/** Whether `err` is a WebAuthn ceremony that was aborted on purpose (another one replaced it). */
export function isAborted(err) {
  return err?.name === 'AbortError' || err?.code === 'ERROR_CEREMONY_ABORTED';
}

/** A message fit to show for any error of a page action. */
export function describeError(err) {
  if (err instanceof ApiError) return err.message;
  switch (err?.name) {
    case 'NotAllowedError':
      return 'The passkey request was cancelled or timed out. Try again when you are ready.';
    case 'InvalidStateError':
      return 'This device already holds a passkey for this account.';
    case 'SecurityError':
      return 'Passkeys cannot be used on this address. Check that you are on the right site.';
    case 'NotSupportedError':
      return 'This browser or device cannot create that kind of passkey.';
    default:
      if (typeof window.PublicKeyCredential === 'undefined') return 'This browser does not support passkeys.';
      return 'Something went wrong. Try again.';
  }
}

/** Shows `err` unless it was an aborted ceremony or a redirect to sign-in/step-up took over. */
export function reportError(err, { redirect = true } = {}) {
  if (isAborted(err)) return;
  if (redirect && redirectIfUnauthenticated(err)) return;
  showError(describeError(err));
}

/**
 * Runs `action` with `button` disabled and marked busy, so a double click sends one request.
 * Errors go to `reportError`.
 */
export async function withBusy(button, action, options) {
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    await action();
  } catch (err) {
    reportError(err, options);
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}

/** Creates an element with attributes and children (strings become text nodes, never markup). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A date as people read it (`—` when there is none). */
export function formatDate(value) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '—';
  return date.toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });
}

/** The session's assurance, e.g. "AAL2, phishing-resistant". */
export function describeLevel(session) {
  if (!session) return 'not signed in';
  const parts = [`AAL${session.aal}`];
  if (session.phrh) parts.push('phishing-resistant, hardware-bound');
  else if (session.phr) parts.push('phishing-resistant');
  return parts.join(', ');
}

/** Reads the signed-in session, or undefined when there is none (401). */
export async function currentSession() {
  try {
    return await api(tenantPath('/auth/session'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

/** Moves keyboard focus to `element` (a heading with tabindex=-1) after it appears. */
export function focusOn(element) {
  if (element) element.focus();
}
