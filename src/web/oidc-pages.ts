/**
 * The hosted pages of OpenID Connect: consent for third-party apps, the page shown when an app asks
 * for more assurance than the person's authenticators can give, RP-initiated logout (confirm and done),
 * and the provider's error page. Same shell, CSP and escaping as every other page.
 */
import { html, type PageTenant, renderPage, SafeHtml } from './layout.ts';

/** What each scope means to a person, in the consent page's words. */
const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are: an account identifier',
  did: 'Know your DID, the portable identifier that is the same at every app',
  profile: 'See your name and username',
  offline_access: 'Stay connected while you are away (until you sign out or revoke it)',
  assurance: 'Receive a signed credential about how strongly you signed in',
  'vc:issue': 'Issue verifiable credentials on this organisation’s behalf',
};

export interface ConsentPage {
  tenant: PageTenant;
  uid: string;
  clientName: string;
  clientUri?: string;
  scopes: string[];
}

/** `/t/{tenant}/interaction/{uid}` for a third-party app: what it asks for, allow or deny. */
export function renderConsent(page: ConsentPage): string {
  const items = page.scopes.map((s) => html`<li>${SCOPE_TEXT[s] ?? s}</li>`);
  return renderPage({
    tenant: page.tenant,
    title: `Allow ${page.clientName}?`,
    script: 'consent.js',
    data: { interaction: page.uid },
    body: html`<section class="card" aria-labelledby="consent-heading">
<h2 id="consent-heading">${page.clientName} would like to</h2>
<ul id="consent-scopes">${items}</ul>
${page.clientUri ? html`<p>About this app: <a href="${page.clientUri}" rel="noopener noreferrer">${page.clientUri}</a></p>` : ''}
<p>You can revoke this later by signing out of this session.</p>
<div class="actions">
<button type="button" id="consent-allow">Allow</button>
<button type="button" id="consent-deny" class="secondary">Deny</button>
</div>
</section>`,
  });
}

/** Shown when an app asks for an `acr` the person's session did not reach after a step-up. */
export function renderUnmet(page: {
  tenant: PageTenant;
  uid: string;
  clientName: string;
  needs: string;
  stepUpHref: string;
}): string {
  return renderPage({
    tenant: page.tenant,
    title: 'A stronger sign-in is needed',
    script: 'consent.js',
    data: { interaction: page.uid },
    body: html`<section class="card" aria-labelledby="unmet-heading">
<h2 id="unmet-heading">${page.clientName} asks for ${page.needs}</h2>
<p>The authenticator you confirmed with does not reach that level. Use a hardware security key or a device-bound passkey with a trusted attestation, or go back to the app.</p>
<div class="actions">
<a class="button" id="unmet-retry" href="${page.stepUpHref}">Try another authenticator</a>
<button type="button" id="unmet-cancel" class="secondary">Go back to the app</button>
</div>
</section>`,
  });
}

/** RP-initiated logout: confirm (the provider's form carries its anti-forgery token). */
export function renderLogout(page: { tenant: PageTenant; form: string }): string {
  return renderPage({
    tenant: page.tenant,
    title: 'Sign out?',
    body: html`${new SafeHtml(page.form)}
<p>You will be signed out of Trustgate and of the apps you used with this session.</p>
<div class="actions">
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>
</div>`,
  });
}

/** After a logout with no (or no registered) return address. */
export function renderLoggedOut(page: { tenant: PageTenant; clientName?: string | undefined }): string {
  return renderPage({
    tenant: page.tenant,
    title: 'You are signed out',
    body: html`<p>${page.clientName ? `You signed out of ${page.clientName} and Trustgate.` : 'You signed out of Trustgate.'}</p>
<p><a href="/t/${page.tenant.slug}/sign-in">Sign in again</a></p>`,
  });
}

/** The provider's error page (an authorization request that cannot go back to the app). */
export function renderOidcError(page: {
  tenant: PageTenant;
  error: string;
  description?: string | undefined;
}): string {
  return renderPage({
    tenant: page.tenant,
    title: 'This sign-in request cannot continue',
    body: html`<section class="card" aria-labelledby="oidc-error-heading">
<h2 id="oidc-error-heading">The app’s request was refused</h2>
<p>Error code: <code id="oidc-error-code">${page.error}</code></p>
${page.description ? html`<p id="oidc-error-description">${page.description}</p>` : ''}
<p>Go back to the app and try again. If it keeps happening, tell the app’s support team the code above.</p>
</section>`,
  });
}
