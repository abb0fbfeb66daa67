/** Authenticator app (TOTP) enrolment: get a secret, show it as a QR code and as text, confirm a code. */
import {
  api,
  clearMessages,
  focusOn,
  reportError,
  showStatus,
  tenantPath,
  withBusy,
} from '/assets/common.js';

const start = document.getElementById('totp-start');
const startActions = document.getElementById('totp-start-actions');
const setup = document.getElementById('totp-setup');
const qrBox = document.getElementById('totp-qr');
const secretText = document.getElementById('totp-secret');
const confirmForm = document.getElementById('totp-confirm-form');
const doneSection = document.getElementById('totp-done');

/** base64 of a string's UTF-8 bytes (btoa alone only takes Latin-1). */
function base64Utf8(text) {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

start.addEventListener('click', () => {
  clearMessages();
  withBusy(start, async () => {
    const { secret, qrSvg } = await api(tenantPath('/api/me/totp'), { method: 'POST', body: {} });
    const img = document.createElement('img');
    img.alt = 'QR code to scan with your authenticator app; the same key is written out below.';
    img.width = 200;
    img.height = 200;
    img.src = `data:image/svg+xml;base64,${base64Utf8(qrSvg)}`;
    qrBox.replaceChildren(img);
    secretText.textContent = secret;
    setup.hidden = false;
    startActions.hidden = true;
    showStatus('Scan the QR code, then enter the code your app shows.');
    focusOn(document.getElementById('totp-scan-heading'));
  });
});

confirmForm.addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  const code = confirmForm.elements.code.value.replace(/\s+/g, '');
  withBusy(confirmForm.querySelector('button[type="submit"]'), async () => {
    await api(tenantPath('/api/me/totp/confirm'), { method: 'POST', body: { code } });
    setup.hidden = true;
    qrBox.replaceChildren();
    secretText.textContent = '';
    doneSection.hidden = false;
    showStatus('Your authenticator app is set up.');
    focusOn(document.getElementById('totp-done-heading'));
  });
});

// Signed in? Already set up? (A second enrolment is refused; removing the app comes first.)
api(tenantPath('/api/me/factors'))
  .then((factors) => {
    if (factors?.totp?.enrolled && factors.totp.confirmed) {
      startActions.hidden = true;
      showStatus(
        'Your authenticator app is already set up. To use another one, remove it on your account page first.',
      );
    }
  })
  .catch((err) => reportError(err));
