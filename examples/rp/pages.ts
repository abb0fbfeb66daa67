/**
 * The example app's pages: plain HTML forms, one stylesheet, no script at all (so the CSP can say
 * `default-src 'none'`). Every interpolated value is escaped by the `html` tag.
 */
import type { CredentialCheck } from './assurance-credential.ts';
import type { Flash, RpSession, SignedInUser } from './sessions.ts';

class Markup {
  constructor(readonly value: string) {}
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function render(value: unknown): string {
  if (value instanceof Markup) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function html(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Markup(out);
}

function layout(appName: string, title: string, session: RpSession, body: Markup): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title === appName ? appName : `${title} · ${appName}`}</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header><p class="brand">${appName} <span>signs in with Trustgate</span></p></header>
<main>
<h1>${title}</h1>
${message(session.flash)}
${body}
</main>
</body>
</html>
`.value;
}

function message(flash: Flash | undefined): Markup {
  if (!flash) return html``;
  return flash.kind === 'error'
    ? html`<p id="message" class="message error" role="alert">${flash.text}</p>`
    : html`<p id="message" class="message" role="status">${flash.text}</p>`;
}

const csrfField = (session: RpSession) => html`<input type="hidden" name="csrf" value="${session.csrf}">`;

/** `/`: sign in, or a link to the profile when signed in. */
export function homePage(session: RpSession, appName: string): string {
  const body = session.user
    ? html`<p>You are signed in as <strong>${displayName(session.user)}</strong>.</p>
<p><a href="/profile">Go to your profile</a></p>`
    : html`<p>${appName} lets you in with your Trustgate account: a passkey, no password.</p>
<form method="post" action="/login">
${csrfField(session)}
<button type="submit">Sign in with Trustgate</button>
</form>`;
  return layout(appName, appName, session, body);
}

/** `/profile`: what the ID token said, the app's own verdict on the credential, the sensitive action. */
export function profilePage(session: RpSession, user: SignedInUser, appName: string): string {
  const authTime = user.authTime ? new Date(user.authTime * 1000).toISOString() : '—';
  const done = session.sensitiveActionAt
    ? html`<p id="sensitive-done">Last done at ${new Date(session.sensitiveActionAt).toISOString()}.</p>`
    : html``;
  const body = html`<section aria-labelledby="id-heading">
<h2 id="id-heading">What Trustgate said about you</h2>
<dl>
<dt>Subject (sub)</dt><dd id="profile-sub"><code>${user.sub}</code></dd>
<dt>DID</dt><dd id="profile-did"><code>${user.did ?? '—'}</code></dd>
<dt>Authentication level (acr)</dt><dd id="profile-acr">${user.acr ?? '—'}</dd>
<dt>Methods (amr)</dt><dd id="profile-amr">${user.amr.length > 0 ? user.amr.join(', ') : '—'}</dd>
<dt>Signed in at (auth_time)</dt><dd id="profile-auth-time">${authTime}</dd>
</dl>
</section>
<section aria-labelledby="credential-heading">
<h2 id="credential-heading">Assurance credential</h2>
${credentialView(user.credential)}
</section>
<section aria-labelledby="sensitive-heading">
<h2 id="sensitive-heading">Sensitive action</h2>
<p>This needs a fresh sign-in with a phishing-resistant, hardware-bound authenticator (<code>acr=phrh</code>, within 5 minutes).</p>
${done}
<form method="post" action="/sensitive-action">
${csrfField(session)}
<button type="submit">Do the sensitive action</button>
</form>
</section>
<section aria-labelledby="sign-out-heading">
<h2 id="sign-out-heading">Leave</h2>
<form method="post" action="/logout">
${csrfField(session)}
<button type="submit" class="secondary">Sign out</button>
</form>
</section>`;
  return layout(appName, `Hello, ${displayName(user)}`, session, body);
}

function credentialView(check: CredentialCheck): Markup {
  switch (check.status) {
    case 'absent':
      return html`<p id="credential-status">No credential</p>
<p>Trustgate sent no <code>assurance_credential</code> with this sign-in.</p>`;
    case 'unchecked':
      return html`<p id="credential-status">Not checked</p>
<p id="credential-reason">${check.reason}</p>`;
    case 'invalid':
      return html`<p id="credential-status" class="error">Not valid</p>
<p id="credential-reason">${check.reason}</p>
${check.issuer ? html`<p>Issuer: <code>${check.issuer}</code></p>` : ''}`;
    case 'verified': {
      const c = check.claims;
      return html`<p id="credential-status">Verified by this app against the chain</p>
<dl id="credential-details">
<dt>Issuer</dt><dd><code>${check.issuer}</code></dd>
<dt>Subject</dt><dd><code>${check.subject}</code></dd>
<dt>Level</dt><dd>${c.aal !== undefined ? `AAL${c.aal}` : '—'}${c.acr ? `, acr ${c.acr}` : ''}${
        c.phishingResistant ? ', phishing-resistant' : ''
      }</dd>
<dt>Methods</dt><dd>${c.amr?.join(', ') ?? '—'}</dd>
<dt>Proved at</dt><dd>${c.authTime ?? '—'}</dd>
<dt>Valid until</dt><dd>${check.validUntil ?? '—'}</dd>
</dl>`;
    }
  }
}

/** An error page (bad request to the app itself). */
export function errorPage(session: RpSession, appName: string, title: string, text: string): string {
  return layout(appName, title, session, html`<p>${text}</p><p><a href="/">Back to the start</a></p>`);
}

const displayName = (user: SignedInUser) => user.name ?? user.username ?? user.sub;
