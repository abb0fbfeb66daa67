/**
 * Sign-in with a passkey: the button asks for any passkey of this site (discoverable credentials), and
 * where the browser supports it the username field offers passkeys as autofill suggestions
 * (conditional UI). Starting the button's ceremony aborts the autofill one (SimpleWebAuthn keeps one
 * ceremony at a time), so an aborted autofill request is not an error. The verify request carries
 * the attempt's risk signals (device fingerprint, username typing; risk-capture.js) when there are any.
 */

import {
  api,
  clearMessages,
  goAfterSignIn,
  isAborted,
  reportError,
  returnTarget,
  showStatus,
  tenantPath,
} from '/assets/common.js';
import { collectRiskSignals } from '/assets/risk-capture.js';
import { browserSupportsWebAuthnAutofill, startAuthentication } from '/assets/vendor/simplewebauthn/index.js';

const form = document.getElementById('sign-in-form');
const button = document.getElementById('passkey-sign-in');
/** True while the button's ceremony runs: autofill must not start then (it would abort it). */
let modalActive = false;

async function signIn(useBrowserAutofill) {
  const { options } = await api(tenantPath('/auth/passkey/options'), { method: 'POST', body: {} });
  if (useBrowserAutofill && modalActive) return false;
  if (!useBrowserAutofill) showStatus('Follow your device’s prompt to use your passkey.');
  const response = await startAuthentication({ optionsJSON: options, useBrowserAutofill });
  showStatus('Checking your passkey…');
  const risk = await collectRiskSignals();
  const body = Object.keys(risk).length > 0 ? { response, risk } : { response };
  const result = await api(tenantPath('/auth/passkey/verify'), { method: 'POST', body });
  showStatus('Signed in. Taking you on…');
  goAfterSignIn(result, returnTarget());
  return true;
}

async function startAutofill() {
  if (!(await browserSupportsWebAuthnAutofill())) return;
  try {
    await signIn(true);
  } catch (err) {
    if (!isAborted(err)) reportError(err, { redirect: false });
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearMessages();
  modalActive = true;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    await signIn(false);
  } catch (err) {
    reportError(err, { redirect: false });
    modalActive = false;
    // Offer the autofill suggestions again for the next attempt.
    startAutofill();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
});

startAutofill();
