/**
 * Recovery: username and a recovery code sign the person in (the session then asks for a new
 * passkey), then they create a passkey on this device.
 */

import {
  accountPage,
  api,
  clearMessages,
  focusOn,
  goTo,
  showStatus,
  tenantPath,
  withBusy,
} from '/assets/common.js';
import { collectRiskSignals } from '/assets/risk-capture.js';
import { startRegistration } from '/assets/vendor/simplewebauthn/index.js';

const form = document.getElementById('recover-form');
const next = document.getElementById('recover-next');
const enrol = document.getElementById('enrol-passkey');

form.addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const username = form.elements.username.value.trim();
  const code = form.elements.code.value.trim();
  withBusy(
    form.querySelector('button[type="submit"]'),
    async () => {
      const risk = await collectRiskSignals();
      const body = Object.keys(risk).length > 0 ? { username, code, risk } : { username, code };
      await api(tenantPath('/auth/recovery'), { method: 'POST', body });
      form.elements.code.value = '';
      form.hidden = true;
      next.hidden = false;
      showStatus('You’re signed in with a recovery code. Add a new passkey now.');
      focusOn(document.getElementById('recover-next-heading'));
    },
    { redirect: false },
  );
});

enrol.addEventListener('click', () => {
  clearMessages();
  withBusy(enrol, async () => {
    const { options } = await api(tenantPath('/api/me/passkeys/options'), { method: 'POST', body: {} });
    showStatus('Follow your device’s prompt to create the passkey.');
    const response = await startRegistration({ optionsJSON: options });
    showStatus('Checking your new passkey…');
    await api(tenantPath('/api/me/passkeys'), { method: 'POST', body: { response } });
    showStatus('Your new passkey is ready. Taking you to your account…');
    goTo(accountPage());
  });
});
