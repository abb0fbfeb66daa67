/**
 * Adds a passkey to the signed-in person's account: creation options from the API, the browser's
 * WebAuthn prompt (SimpleWebAuthn), then the API checks and stores the new passkey. Used by the
 * Security view and by the overview's "add a passkey now" notice after a recovery.
 */
import { showStatus } from '@hosted/common';
import { type PublicKeyCredentialCreationOptionsJSON, startRegistration } from '@hosted/simplewebauthn';
import { call } from '../lib/api.ts';
import type { Passkey } from './types.ts';

/** Creates a passkey named `name` (the server picks one when none is given); says how it goes. */
export async function addPasskey(name: string | undefined): Promise<Passkey> {
  const { options } = await call<{ options: PublicKeyCredentialCreationOptionsJSON }>(
    '/api/me/passkeys/options',
    'POST',
    {},
  );
  showStatus('Follow your device’s prompt to create the passkey.');
  const response = await startRegistration({ optionsJSON: options });
  showStatus('Checking your new passkey…');
  const created = await call<Passkey>('/api/me/passkeys', 'POST', name ? { response, name } : { response });
  showStatus(`Passkey “${created?.name ?? name ?? 'new passkey'}” added.`);
  return created;
}
