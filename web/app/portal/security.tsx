/**
 * How you sign in (`/account/security`): your passkeys (add, rename, remove), your authenticator app
 * and your recovery codes. Removing a factor needs a recent strong sign-in: the API then answers 401
 * insufficient_user_authentication and the person is sent to step up and back here.
 */
import { showStatus, tenantPath } from '@hosted/common';
import { useState } from 'preact/hooks';
import { call, useAction, useApi } from '../lib/api.ts';
import { Button, ConfirmButton, Field, Load, Section, Time, ViewTitle } from '../lib/ui.tsx';
import { passkeyTraits } from './describe.ts';
import { addPasskey } from './passkey-enrol.ts';
import type { Factors, Passkey } from './types.ts';

function PasskeyItem({
  passkey,
  index,
  reload,
}: {
  passkey: Passkey;
  index: number;
  reload: () => Promise<void>;
}) {
  const [name, setName] = useState(passkey.name);
  const [renaming, runRename] = useAction();
  const [removing, runRemove] = useAction();
  const inputId = `passkey-name-${index}`;
  const path = `/api/me/passkeys/${encodeURIComponent(passkey.id)}`;
  return (
    <li class="item passkey" data-passkey-id={passkey.id}>
      <h3>{passkey.name}</h3>
      <p class="meta">{passkeyTraits(passkey)}</p>
      <p class="meta">
        Added <Time value={passkey.createdAt} /> · Last used <Time value={passkey.lastUsedAt} />
      </p>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const wanted = name.trim();
          void runRename(async () => {
            await call(path, 'PATCH', { name: wanted });
            showStatus(`Passkey renamed to “${wanted}”.`);
            await reload();
          });
        }}
      >
        <label for={inputId}>New name for “{passkey.name}”</label>
        <input
          id={inputId}
          name="name"
          type="text"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
          maxLength={64}
          required
          autocomplete="off"
        />
        <Button type="submit" busy={renaming} aria-label={`Rename passkey “${passkey.name}”`}>
          Rename
        </Button>
      </form>
      <div class="actions">
        <ConfirmButton
          label={`Remove passkey “${passkey.name}”`}
          confirmLabel={`Yes, remove “${passkey.name}”`}
          busy={removing}
          onConfirm={() =>
            runRemove(async () => {
              await call(path, 'DELETE');
              showStatus(`Passkey “${passkey.name}” removed.`);
              await reload();
            })
          }
        />
      </div>
      <p class="hint">Once removed, you can’t sign in with it any more.</p>
    </li>
  );
}

function Passkeys({ factors, reload }: { factors: Factors; reload: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [adding, runAdd] = useAction();
  // Only usable passkeys: a revoked device's passkeys stay in the list as disabled.
  const passkeys = factors.passkeys.filter((p) => p.status === 'active');
  return (
    <Section title="Passkeys">
      <p>A passkey signs you in with your device’s screen lock or a security key. Nobody can phish it.</p>
      <ul id="passkey-list" class="items">
        {passkeys.length > 0 ? (
          passkeys.map((passkey, index) => (
            <PasskeyItem key={passkey.id} passkey={passkey} index={index} reload={reload} />
          ))
        ) : (
          <li class="empty">You have no passkeys. Add one to sign in without a code.</li>
        )}
      </ul>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void runAdd(async () => {
            await addPasskey(name.trim() || undefined);
            setName('');
            await reload();
          });
        }}
      >
        <Field
          id="new-passkey-name"
          label={
            <>
              Name for a new passkey <span class="optional">(optional)</span>
            </>
          }
        >
          <input
            id="new-passkey-name"
            name="name"
            type="text"
            maxLength={64}
            autocomplete="off"
            value={name}
            onInput={(event) => setName(event.currentTarget.value)}
          />
        </Field>
        <div class="actions">
          <Button type="submit" id="add-passkey" busy={adding}>
            Add a passkey
          </Button>
        </div>
      </form>
    </Section>
  );
}

function AuthenticatorApp({ factors, reload }: { factors: Factors; reload: () => Promise<void> }) {
  const [busy, run] = useAction();
  const on = factors.totp.enrolled && factors.totp.confirmed;
  return (
    <Section title="Authenticator app">
      <p id="totp-status">
        {on ? 'On. You can confirm it’s you with a code from your authenticator app.' : 'Not set up.'}
      </p>
      <div class="actions">
        {on ? (
          <ConfirmButton
            label="Remove the authenticator app"
            confirmLabel="Yes, remove the authenticator app"
            busy={busy}
            onConfirm={() =>
              run(async () => {
                await call('/api/me/totp', 'DELETE');
                await reload();
              }, 'Authenticator app removed.')
            }
          />
        ) : (
          <a class="button" href={tenantPath('/totp')}>
            Set up an authenticator app
          </a>
        )}
      </div>
    </Section>
  );
}

function RecoveryCodes({ factors }: { factors: Factors }) {
  const remaining = factors.recoveryCodes.remaining;
  return (
    <Section title="Recovery codes">
      <p id="recovery-status">
        {remaining > 0
          ? `${remaining} unused recovery codes left.`
          : 'You have no recovery codes. Get some so you can get back in if you lose your passkeys.'}
      </p>
      <div class="actions">
        <a class="button" href={tenantPath('/recovery-codes')}>
          Get new recovery codes
        </a>
      </div>
    </Section>
  );
}

/** The security view. */
export function SecurityView() {
  const loaded = useApi<Factors>('/api/me/factors');
  return (
    <>
      <ViewTitle>Security</ViewTitle>
      <Load loaded={loaded} label="how you sign in">
        {(factors) => (
          <>
            <Passkeys factors={factors} reload={loaded.reload} />
            <AuthenticatorApp factors={factors} reload={loaded.reload} />
            <RecoveryCodes factors={factors} />
          </>
        )}
      </Load>
    </>
  );
}
