/**
 * Your devices (`/account/devices`): each one you signed in from, with its name, place, last use, trust
 * state, what its passkeys' attestation proves and which passkeys it holds. Rename one; revoke a lost
 * one, which turns off its passkeys, signs it out, revokes its credentials and its key on your DID,
 * and tells the apps: the progress of that cascade is shown step by step until it is done.
 */
import { goTo, showStatus, tenantPath } from '@hosted/common';
import { useEffect, useState } from 'preact/hooks';
import { call, useAction, useApi } from '../lib/api.ts';
import { describePlace, deviceName, stepName } from '../lib/devices.ts';
import { Badge, Button, ConfirmButton, Load, Section, Time, ViewTitle } from '../lib/ui.tsx';
import { describeAttestation, stepState } from './describe.ts';
import type { Device, Revocation } from './types.ts';

const STATES = {
  trusted: { tone: 'good', text: 'Trusted' },
  new: { tone: 'warn', text: 'New' },
  revoked: { tone: 'bad', text: 'Revoked' },
} as const;

/** How often the revocation's progress is read while it runs. */
const POLL_MS = 1000;

/** The progress of revocation `id` of `name`, read until it is completed or failed. */
function RevocationProgress({
  id,
  name,
  onFinished,
}: {
  id: string;
  name: string;
  onFinished: () => unknown;
}) {
  const [running, setRunning] = useState(true);
  const [retrying, retry] = useAction();
  const loaded = useApi<Revocation>(
    `/api/me/revocations/${encodeURIComponent(id)}`,
    running ? { pollMs: POLL_MS } : {},
  );
  const revocation = loaded.data;
  const status = revocation?.status;
  useEffect(() => {
    if (status === undefined) return;
    setRunning(status === 'running');
    if (status !== 'running') onFinished();
  }, [status, onFinished]);
  const final = revocation?.steps.filter((s) => s.status !== 'pending').length ?? 0;
  const total = revocation?.steps.length ?? 0;
  const summary = !revocation
    ? `Revoking “${name}”…`
    : revocation.status === 'completed'
      ? `“${name}” is revoked: every step is done.`
      : revocation.status === 'failed'
        ? `Revoking “${name}” did not finish: a step failed. Try again.`
        : `Revoking “${name}”: ${final} of ${total} steps finished.`;
  return (
    <Section title={`Revoking “${name}”`} id="revocation">
      <p
        role="status"
        aria-live="polite"
        id="revocation-summary"
        data-status={revocation?.status ?? 'running'}
      >
        {summary}
      </p>
      {loaded.error && !revocation ? (
        <p class="error" role="alert">
          Could not read the progress: {loaded.error.message}
        </p>
      ) : null}
      {revocation ? (
        <ol class="steps" aria-label="Steps of the revocation">
          {revocation.steps.map((step) => (
            <li key={step.name} class={`step step-${step.status}`} data-step={step.name}>
              {stepName(step.name, 'person')}: <strong>{stepState(step.status)}</strong>
            </li>
          ))}
        </ol>
      ) : null}
      {revocation?.status === 'failed' ? (
        <div class="actions">
          <Button
            busy={retrying}
            onClick={() =>
              retry(async () => {
                // Asking again re-runs the failed steps; the done ones stay done.
                await call(`/api/me/devices/${encodeURIComponent(revocation.deviceId)}/revoke`, 'POST', {});
                await loaded.reload();
              })
            }
          >
            Try again
          </Button>
        </div>
      ) : null}
    </Section>
  );
}

function DeviceItem({
  device,
  reload,
  onRevoking,
}: {
  device: Device;
  reload: () => Promise<void>;
  onRevoking: (revocation: Revocation, name: string) => void;
}) {
  const name = deviceName(device);
  const [label, setLabel] = useState(device.label ?? '');
  const [renaming, runRename] = useAction();
  const [revoking, runRevoke] = useAction();
  const inputId = `device-name-${device.id}`;
  const place = describePlace(device.lastSeen);
  const state = STATES[device.state];
  const active = device.passkeys.filter((p) => p.status === 'active');
  return (
    <li class="item device" data-device-id={device.id}>
      <h3>
        {name} <Badge tone={state.tone}>{state.text}</Badge>
        {device.current ? (
          <>
            {' '}
            <Badge tone="neutral">This device</Badge>
          </>
        ) : null}
      </h3>
      <dl class="facts">
        <dt>Last seen</dt>
        <dd>
          <Time value={device.lastSeen?.at ?? device.lastSeenAt} />
          {place ? ` in ${place}` : ''}
        </dd>
        <dt>First seen</dt>
        <dd>
          <Time value={device.firstSeenAt} />
        </dd>
        <dt>Its passkeys</dt>
        <dd>
          {active.length > 0 ? active.map((p) => `“${p.name}”`).join(', ') : 'None in use'}
          <p class="hint">{describeAttestation(device.attestation)}</p>
        </dd>
        {device.delegate ? (
          <>
            <dt>Key on your DID</dt>
            <dd>
              <code class="long">{device.delegate.address}</code>
            </dd>
          </>
        ) : null}
        {device.revokedAt ? (
          <>
            <dt>Revoked</dt>
            <dd>
              <Time value={device.revokedAt} />
            </dd>
          </>
        ) : null}
      </dl>
      {device.state === 'revoked' ? null : (
        <>
          <form
            class="inline"
            onSubmit={(event) => {
              event.preventDefault();
              const wanted = label.trim();
              void runRename(async () => {
                await call(`/api/me/devices/${encodeURIComponent(device.id)}`, 'PATCH', { label: wanted });
                showStatus(`Device renamed to “${wanted}”.`);
                await reload();
              });
            }}
          >
            <label for={inputId}>Name for “{name}”</label>
            <input
              id={inputId}
              type="text"
              value={label}
              onInput={(event) => setLabel(event.currentTarget.value)}
              maxLength={64}
              required
              autocomplete="off"
            />
            <Button type="submit" busy={renaming} aria-label={`Rename device “${name}”`}>
              Rename
            </Button>
          </form>
          {device.current ? (
            <p class="hint warning" id={`revoke-warning-${device.id}`}>
              This is the device you are using now: revoking it signs you out here too.
            </p>
          ) : null}
          <div class="actions">
            <ConfirmButton
              label={`Revoke “${name}”`}
              confirmLabel={device.current ? 'Yes, revoke it and sign me out' : `Yes, revoke “${name}”`}
              busy={revoking}
              onConfirm={() =>
                runRevoke(async () => {
                  const revocation = await call<Revocation>(
                    `/api/me/devices/${encodeURIComponent(device.id)}/revoke`,
                    'POST',
                    {},
                  );
                  if (device.current) {
                    // This session ended with the device: nothing more to show here.
                    showStatus('This device is revoked and you are signed out.');
                    goTo(tenantPath('/sign-in'));
                    return;
                  }
                  onRevoking(revocation, name);
                })
              }
            />
          </div>
        </>
      )}
    </li>
  );
}

/** The devices view. */
export function DevicesView() {
  const loaded = useApi<{ devices: Device[] }>('/api/me/devices');
  const [revoking, setRevoking] = useState<{ id: string; name: string } | undefined>(undefined);
  return (
    <>
      <ViewTitle>Your devices</ViewTitle>
      <p>
        The devices you signed in from. Lost one, or see one you don’t know? Revoke it: its passkeys stop
        working, it is signed out everywhere, and the apps you use are told.
      </p>
      {revoking ? (
        <RevocationProgress
          key={revoking.id}
          id={revoking.id}
          name={revoking.name}
          onFinished={loaded.reload}
        />
      ) : null}
      <Load loaded={loaded} label="your devices">
        {({ devices }) =>
          devices.length > 0 ? (
            <ul id="device-list" class="items card">
              {devices.map((device) => (
                <DeviceItem
                  key={device.id}
                  device={device}
                  reload={loaded.reload}
                  onRevoking={(revocation, name) => {
                    setRevoking({ id: revocation.id, name });
                    void loaded.reload();
                  }}
                />
              ))}
            </ul>
          ) : (
            <p class="hint">No device is known yet.</p>
          )
        }
      </Load>
    </>
  );
}
