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
      const result = await api(tenantPath('/auth/sign-up/verify'), { method: 'POST', body: { response } });
      showStatus('Your account is ready. Taking you to it…');
      goAfterSignIn(result, accountPage());
    },
    { redirect: false },
  );
});
