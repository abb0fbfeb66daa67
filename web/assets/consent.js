/**
 * Consent and unmet-assurance pages of an app's sign-in request: allow, deny, or go back to the app.
 * The server answers where to go next (the provider's resume address on this origin), which then
 * redirects to the app.
 */

import { api, clearMessages, showStatus, tenantPath, withBusy } from '/assets/common.js';

const uid = document.body.dataset.interaction;

function follow(result) {
  const next = new URL(result.location, window.location.href);
  if (next.origin !== window.location.origin) throw new Error('unexpected redirect target');
  showStatus('Taking you back to the app…');
  window.location.assign(next.href);
}

function bind(id, path, body) {
  const button = document.getElementById(id);
  if (!button) return;
  button.addEventListener('click', () => {
    clearMessages();
    withBusy(
      button,
      async () =>
        follow(
          await api(tenantPath(`/interaction/${encodeURIComponent(uid)}${path}`), { method: 'POST', body }),
        ),
      { redirect: false },
    );
  });
}

bind('consent-allow', '/consent', {});
bind('consent-deny', '/abort', { reason: 'denied' });
bind('unmet-cancel', '/abort', { reason: 'unmet' });
