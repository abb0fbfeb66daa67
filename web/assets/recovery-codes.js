/** Recovery codes: generate a new set (old codes stop working), show it once, confirm it was saved. */
import {
  accountPage,
  api,
  clearMessages,
  focusOn,
  goTo,
  reportError,
  showStatus,
  tenantPath,
  withBusy,
} from '/assets/common.js';

const remaining = document.getElementById('recovery-remaining');
const generate = document.getElementById('generate-codes');
const generateActions = document.getElementById('generate-actions');
const section = document.getElementById('codes-section');
const list = document.getElementById('recovery-codes');
const saved = document.getElementById('codes-saved');
const done = document.getElementById('codes-done');
/** Whether a set existed before (its codes stop working when a new one is made). */
let hadCodes = false;

generate.addEventListener('click', () => {
  clearMessages();
  withBusy(generate, async () => {
    const { codes } = await api(tenantPath('/api/me/recovery-codes'), { method: 'POST', body: {} });
    list.replaceChildren(
      ...codes.map((code) => {
        const item = document.createElement('li');
        const text = document.createElement('code');
        text.textContent = code;
        item.append(text);
        return item;
      }),
    );
    section.hidden = false;
    generateActions.hidden = true;
    remaining.textContent = `You have ${codes.length} unused recovery codes.`;
    showStatus(
      `${codes.length} new recovery codes are ready.${hadCodes ? ' Your old codes no longer work.' : ''}`,
    );
    hadCodes = true;
    focusOn(document.getElementById('codes-heading'));
  });
});

saved.addEventListener('change', () => {
  done.disabled = !saved.checked;
});

done.addEventListener('click', () => {
  if (!saved.checked) return;
  list.replaceChildren();
  showStatus('Recovery codes saved.');
  goTo(accountPage());
});

api(tenantPath('/api/me/factors'))
  .then((factors) => {
    const count = factors?.recoveryCodes?.remaining ?? 0;
    hadCodes = count > 0;
    remaining.textContent =
      count > 0 ? `You have ${count} unused recovery codes.` : 'You have no recovery codes yet.';
  })
  .catch((err) => reportError(err));
