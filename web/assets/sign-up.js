/** Sign-up: username and optional display name, then a passkey on this device. */

import {
  accountPage,
  api,
  clearMessages,
  goAfterSignIn,
  showStatus,
  tenantPath,
  withBusy,
} from '/assets/common.js';
import { collectRiskSignals } from '/assets/risk-capture.js';
import { startRegistration } from '/assets/vendor/simplewebauthn/index.js';

const form = document.getElementById('sign-up-form');
const submit = document.getElementById('sign-up-submit');

form.addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const username = form.elements.username.value.trim();
  const displayName = form.elements.displayName.value.trim();
  withBusy(
    submit,
    async () => {
      showStatus('Preparing your passkey…');
      const { options } = await api(tenantPath('/auth/sign-up/options'), {
        method: 'POST',
        body: displayName ? { username, displayName } : { username },
      });
      showStatus('Follow your device’s prompt to create the passkey.');
      const response = await startRegistration({ optionsJSON: options });
      showStatus('Checking your new passkey…');
      // The device fingerprint and username typing start the person's risk history.
      const risk = await collectRiskSignals();
      const body = Object.keys(risk).length > 0 ? { response, risk } : { response };
      const result = await api(tenantPath('/auth/sign-up/verify'), { method: 'POST', body });
      showStatus('Your account is ready. Taking you to it…');
      goAfterSignIn(result, accountPage());
    },
    { redirect: false },
  );
});
