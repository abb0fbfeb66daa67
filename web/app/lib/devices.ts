/**
 * Devices and their revocation as the portal (`/api/me/devices`) and the console
 * (`/api/admin/people/:id/devices`) both read them (src/devices/registry.ts `DeviceView`,
 * src/flows/revoke-device.ts `RevocationView`), and the words for them: a device's name and place,
 * and each step of the revocation cascade for a person and for an admin.
 */

/** A device: where it signed in from, its trust state, its passkeys and DID delegate. */
export interface Device {
  id: string;
  label: string | null;
  state: 'trusted' | 'new' | 'revoked';
  /** Portal only: the device this session runs on. */
  current?: boolean;
  firstSeenAt: string;
  lastSeenAt: string;
  lastSeen: { at: string; city: string | null; country: string | null } | null;
  attestation: {
    passkeys: number;
    formats: string[];
    models: string[];
    trusted: boolean;
    hardwareBound: boolean;
  };
  passkeys: Array<{ id: string; name: string; status: string; modelName?: string | null }>;
  delegate: { address: string } | null;
  revokedAt: string | null;
}

/** A step of the cascade: `pending` (not run yet, or waiting for the chain) until final. */
export interface RevocationStep {
  name: string;
  status: 'pending' | 'done' | 'skipped' | 'failed';
  at: string;
  detail?: Record<string, unknown>;
}

/** A revocation: `running` until every step is final, then `completed` or `failed`. */
export interface Revocation {
  id: string;
  deviceId: string;
  status: 'running' | 'completed' | 'failed';
  createdAt?: string;
  completedAt?: string | null;
  steps: RevocationStep[];
}

/** Each step of the cascade, in the order it runs: for the person, and for an admin. */
const STEPS: Record<string, { person: string; admin: string }> = {
  mark_revoked: { person: 'Mark the device as revoked', admin: 'Mark the device as revoked' },
  disable_passkeys: { person: 'Turn off the passkeys on it', admin: 'Turn off the passkeys made on it' },
  end_sessions: { person: 'Sign it out everywhere', admin: 'End its sessions' },
  revoke_credentials: { person: 'Revoke the credentials it holds', admin: 'Revoke its device credentials' },
  verify_oidc_grants: {
    person: 'Cut off the apps it signed in to',
    admin: 'Check that no app still has access through those sessions',
  },
  revoke_delegate: {
    person: 'Remove its key from your DID on the chain',
    admin: 'Revoke its key on the blockchain (DID delegate)',
  },
  push_signals: { person: 'Tell the apps that listen for it', admin: 'Tell connected apps (Shared Signals)' },
  audit: { person: 'Record it in the audit log', admin: 'Record the outcome in the audit log' },
};

/** A revocation step in the words of `reader`. */
export const stepName = (name: string, reader: 'person' | 'admin') =>
  STEPS[name]?.[reader] ?? name.replace(/_/g, ' ');

/** "Lisbon, Portugal", "Portugal", or undefined when nothing is known. */
export function describePlace(place: Device['lastSeen']): string | undefined {
  if (!place) return undefined;
  const parts = [place.city, place.country].filter((part): part is string => Boolean(part));
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** A device's name: the one given to it, else what its passkeys say, else a neutral one. */
export function deviceName(device: Device): string {
  if (device.label) return device.label;
  const model = device.attestation.models[0];
  return model ? `Device with ${model}` : 'Unnamed device';
}
