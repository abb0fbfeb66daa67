/**
 * `DeviceBindingCredential`: this passkey belongs to this person.
 *
 * - the subject is the owner's DID (so the owner can present it, holder binding holds);
 * - `device.id` names the passkey as a DID URL on the owner's DID, `<did>#passkey-<id>`;
 * - `device` carries the attestation summary: format, AAGUID, model, trusted or not, hardware-bound,
 *   synced; never the WebAuthn credential id or the person's name for the device;
 * - no expiry: it holds until the passkey is removed (or the device revoked), which revokes it through
 *   the Bitstring Status List.
 */
import { authenticatorSummary, type CredentialDraft } from './credential-draft.ts';

export const DEVICE_BINDING_CREDENTIAL = 'DeviceBindingCredential';

/** The DID URL of a passkey on its owner's DID. */
export const passkeyDidUrl = (did: string, passkeyId: string) => `${did}#passkey-${passkeyId}`;

export interface DeviceBindingInput {
  did: string;
  passkey: Parameters<typeof authenticatorSummary>[0] & { id: string; createdAt: Date };
  now?: Date;
}

export function deviceBindingDraft(input: DeviceBindingInput): CredentialDraft {
  const { did, passkey } = input;
  return {
    type: DEVICE_BINDING_CREDENTIAL,
    credentialSubject: {
      id: did,
      device: {
        id: passkeyDidUrl(did, passkey.id),
        type: 'WebAuthnAuthenticator',
        ...authenticatorSummary(passkey),
        registeredAt: passkey.createdAt.toISOString(),
      },
    },
    validFrom: input.now ?? new Date(),
  };
}
