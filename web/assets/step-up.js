/**
 * Step-up: confirm with a passkey (any of this account's) or, when one is set up, an authenticator app
 * code; then go back to the page that asked (`return`, a same-origin path checked here and on the server).
 */

import {
  ApiError,
  api,
  clearMessages,
  currentSession,
  describeLevel,
  goTo,
  goToSignIn,
  reportError,
  returnTarget,
  showStatus,
  tenantPath,
  withBusy,
} from '/assets/common.js';
import { startAuthentication } from '/assets/vendor/simplewebauthn/index.js';

const level = document.getElementById('session-level');
const passkeyButton = document.getElementById('step-up-passkey');
const totpSection = document.getElementById('step-up-totp');
const totpForm = document.getElementById('step-up-totp-form');
const cancel = document.getElementById('step-up-cancel');
const target = returnTarget();
cancel.setAttribute('href', target);

function done(result) {
  level.textContent = describeLevel(result?.session);
  showStatus('Confirmed. Taking you back…');
  goTo(target);
}

passkeyButton.addEventListener('click', () => {
  clearMessages();
  withBusy(
    passkeyButton,
    async () => {
      const { options } = await api(tenantPath('/auth/step-up/passkey/options'), {
        method: 'POST',
        body: {},
      });
      showStatus('Follow your device’s prompt to use your passkey.');
      const response = await startAuthentication({ optionsJSON: options });
      showStatus('Checking your passkey…');
      done(await api(tenantPath('/auth/step-up/passkey/verify'), { method: 'POST', body: { response } }));
    },
    { redirect: false },
  );
});

totpForm.addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const code = totpForm.elements.code.value.replace(/\s+/g, '');
  withBusy(
    totpForm.querySelector('button[type="submit"]'),
    async () => {
      done(await api(tenantPath('/auth/step-up/totp'), { method: 'POST', body: { code } }));
    },
    { redirect: false },
  );
});

async function load() {
  const current = await currentSession();
  if (!current) {
    goToSignIn();
    return;
  }
  level.textContent = `${describeLevel(current.session)}; signed in with ${current.session.amr.join(', ') || '—'}`;
  try {
    const factors = await api(tenantPath('/api/me/factors'));
    if (factors?.totp?.enrolled && factors.totp.confirmed) totpSection.hidden = false;
  } catch (err) {
    // Without the factor list the passkey is still offered; only a lost session matters here.
    if (err instanceof ApiError && err.status === 401 && err.code !== 'insufficient_user_authentication') {
      goToSignIn();
    }
  }
}

load().catch((err) => reportError(err, { redirect: false }));
