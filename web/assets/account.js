/**
 * The account page: who I am (DID), how strongly this session is signed in, my passkeys (add, rename,
 * remove), my authenticator app, my recovery codes, where I'm signed in, and sign-out. Changes that
 * need a recent strong sign-in answer 401 insufficient_user_authentication: the person is sent to the
 * step-up page and comes back here to try again.
 */

import {
  api,
  clearMessages,
  currentSession,
  describeLevel,
  el,
  formatDate,
  goTo,
  goToSignIn,
  reportError,
  showStatus,
  tenantPath,
  withBusy,
} from '/assets/common.js';
import { startRegistration } from '/assets/vendor/simplewebauthn/index.js';

const $ = (id) => document.getElementById(id);

function renderIdentity({ account, session }) {
  $('account-username').textContent = account.username ?? '—';
  $('account-display-name').textContent = account.displayName || '—';
  $('account-did').textContent = account.did ?? '—';
  $('session-level').textContent = describeLevel(session);
  $('session-amr').textContent = session.amr?.length ? session.amr.join(', ') : '—';
  $('session-auth-time').textContent = formatDate(session.authTime);
  $('enrol-notice').hidden = !session.mustEnrolPasskey;
}

function passkeyTraits(passkey) {
  const traits = [];
  traits.push(passkey.modelName || 'Unknown model');
  if (passkey.hardwareBound) traits.push('hardware-bound');
  else if (passkey.backupEligible) traits.push('synced');
  if (passkey.attestationTrusted) traits.push('attested');
  return traits.join(' · ');
}

function passkeyItem(passkey, index) {
  const inputId = `passkey-name-${index}`;
  const renameForm = el(
    'form',
    { class: 'inline' },
    el('label', { for: inputId, text: `New name for “${passkey.name}”` }),
    el('input', {
      id: inputId,
      name: 'name',
      type: 'text',
      value: passkey.name,
      maxlength: 64,
      required: true,
      autocomplete: 'off',
    }),
    el('button', { type: 'submit', 'aria-label': `Rename passkey “${passkey.name}”`, text: 'Rename' }),
  );
  renameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearMessages();
    const name = renameForm.elements.name.value.trim();
    withBusy(renameForm.querySelector('button'), async () => {
      await api(tenantPath(`/api/me/passkeys/${encodeURIComponent(passkey.id)}`), {
        method: 'PATCH',
        body: { name },
      });
      showStatus(`Passkey renamed to “${name}”.`);
      await loadFactors();
    });
  });

  const confirmBox = el('div', { class: 'confirm', hidden: true });
  const remove = el('button', {
    type: 'button',
    class: 'danger',
    'aria-label': `Remove passkey “${passkey.name}”`,
    'aria-expanded': 'false',
    text: 'Remove',
  });
  const yes = el('button', { type: 'button', class: 'danger', text: `Yes, remove “${passkey.name}”` });
  const no = el('button', { type: 'button', class: 'secondary', text: 'Keep it' });
  confirmBox.append(
    el('p', { text: `Remove “${passkey.name}”? You can’t sign in with it afterwards.` }),
    yes,
    no,
  );
  remove.addEventListener('click', () => {
    confirmBox.hidden = false;
    remove.setAttribute('aria-expanded', 'true');
    yes.focus();
  });
  no.addEventListener('click', () => {
    confirmBox.hidden = true;
    remove.setAttribute('aria-expanded', 'false');
    remove.focus();
  });
  yes.addEventListener('click', () => {
    clearMessages();
    withBusy(yes, async () => {
      await api(tenantPath(`/api/me/passkeys/${encodeURIComponent(passkey.id)}`), { method: 'DELETE' });
      showStatus(`Passkey “${passkey.name}” removed.`);
      await loadFactors();
    });
  });

  return el(
    'li',
    { class: 'item passkey', 'data-passkey-id': passkey.id },
    el('h3', { text: passkey.name }),
    el('p', { class: 'meta', text: passkeyTraits(passkey) }),
    el(
      'p',
      { class: 'meta' },
      `Added ${formatDate(passkey.createdAt)} · Last used ${formatDate(passkey.lastUsedAt)}`,
    ),
    renameForm,
    el('div', { class: 'actions' }, remove),
    confirmBox,
  );
}

function renderFactors(factors) {
  const list = $('passkey-list');
  // Only usable passkeys (the list may also hold disabled ones).
  const passkeys = factors.passkeys.filter((p) => p.status === undefined || p.status === 'active');
  list.replaceChildren(
    ...(passkeys.length
      ? passkeys.map(passkeyItem)
      : [el('li', { class: 'empty', text: 'You have no passkeys. Add one to sign in without a code.' })]),
  );
  const totpOn = Boolean(factors.totp?.enrolled && factors.totp?.confirmed);
  $('totp-status').textContent = totpOn
    ? 'On. You can confirm it’s you with a code from your authenticator app.'
    : 'Not set up.';
  $('totp-enrol').hidden = totpOn;
  $('totp-remove').hidden = !totpOn;
  const remaining = factors.recoveryCodes?.remaining ?? 0;
  $('recovery-status').textContent =
    remaining > 0
      ? `${remaining} unused recovery codes left.`
      : 'You have no recovery codes. Get some so you can get back in if you lose your passkeys.';
}

function sessionItem(session) {
  const where = [session.userAgent || 'Unknown browser', session.ip].filter(Boolean).join(' · ');
  const item = el(
    'li',
    { class: 'item session' },
    el('h3', { text: session.current ? 'This session' : 'Another session' }),
    el('p', { class: 'meta', text: where }),
    el(
      'p',
      { class: 'meta' },
      `Started ${formatDate(session.createdAt)} · Last active ${formatDate(session.lastSeenAt)} · AAL${session.aal}`,
    ),
  );
  if (!session.current) {
    const end = el('button', {
      type: 'button',
      class: 'secondary',
      'aria-label': `End the session started ${formatDate(session.createdAt)}`,
      text: 'End session',
    });
    end.addEventListener('click', () => {
      clearMessages();
      withBusy(end, async () => {
        await api(tenantPath(`/api/me/sessions/${encodeURIComponent(session.id)}`), { method: 'DELETE' });
        showStatus('Session ended.');
        await loadSessions();
      });
    });
    item.append(el('div', { class: 'actions' }, end));
  }
  return item;
}

async function loadFactors() {
  renderFactors(await api(tenantPath('/api/me/factors')));
}

async function loadSessions() {
  const { sessions } = await api(tenantPath('/api/me/sessions'));
  $('session-list').replaceChildren(...sessions.map(sessionItem));
}

async function refreshSession() {
  const current = await currentSession();
  if (!current) {
    goToSignIn();
    return false;
  }
  renderIdentity(current);
  return true;
}

async function addPasskey(button, name) {
  clearMessages();
  await withBusy(button, async () => {
    const { options } = await api(tenantPath('/api/me/passkeys/options'), { method: 'POST', body: {} });
    showStatus('Follow your device’s prompt to create the passkey.');
    const response = await startRegistration({ optionsJSON: options });
    showStatus('Checking your new passkey…');
    const created = await api(tenantPath('/api/me/passkeys'), {
      method: 'POST',
      body: name ? { response, name } : { response },
    });
    $('new-passkey-name').value = '';
    showStatus(`Passkey “${created?.name ?? name ?? 'new passkey'}” added.`);
    await Promise.all([loadFactors(), refreshSession()]);
  });
}

$('add-passkey-form').addEventListener('submit', (event) => {
  event.preventDefault();
  addPasskey($('add-passkey'), $('new-passkey-name').value.trim() || undefined);
});

$('enrol-passkey-now').addEventListener('click', () => {
  addPasskey($('enrol-passkey-now'), undefined);
});

$('totp-remove').addEventListener('click', () => {
  clearMessages();
  withBusy($('totp-remove'), async () => {
    await api(tenantPath('/api/me/totp'), { method: 'DELETE' });
    showStatus('Authenticator app removed.');
    await loadFactors();
  });
});

$('sign-out').addEventListener('click', () => {
  clearMessages();
  withBusy($('sign-out'), async () => {
    await api(tenantPath('/auth/sign-out'), { method: 'POST', body: {} });
    showStatus('Signed out.');
    goTo(tenantPath('/sign-in'));
  });
});

async function load() {
  if (!(await refreshSession())) return;
  await Promise.all([loadFactors(), loadSessions()]);
}

load().catch((err) => reportError(err));
