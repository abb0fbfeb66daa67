/**
 * A person's devices in the console, each with a one-click "Revoke" (confirmed first): the admin API
 * starts the revocation cascade (`POST /api/admin/devices/:id/revoke`), and the device shows every
 * step of it live from `GET /api/admin/revocations/:id`, polled until each step is final, in an
 * ordered list inside a polite live region so that screen readers hear the progress.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, useAction, useApi } from '../lib/api.ts';
import {
  type Device,
  describePlace,
  deviceName,
  type Revocation,
  type RevocationStep,
  stepName,
} from '../lib/devices.ts';
import { Badge, Code, ConfirmButton, Time } from '../lib/ui.tsx';

export type { Device, Revocation };

/** How a step reads: `running` is the first step not yet final while the revocation runs. */
type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

const STATE_TONES: Record<StepState, 'good' | 'warn' | 'bad' | 'neutral'> = {
  pending: 'neutral',
  running: 'warn',
  done: 'good',
  skipped: 'good',
  failed: 'bad',
};

const STATE_WORDS: Record<StepState, string> = {
  pending: 'pending',
  running: 'running',
  done: 'done',
  skipped: 'done (nothing to do)',
  failed: 'failed',
};

function statesOf(revocation: Revocation): StepState[] {
  const running = revocation.status === 'running';
  const current = revocation.steps.findIndex((s) => s.status === 'pending');
  return revocation.steps.map((step, i) =>
    step.status === 'pending' && running && i === current ? 'running' : step.status,
  );
}

/** A short note on what a step did, where its detail says something an admin needs. */
function stepNote(step: RevocationStep): string | undefined {
  const d = step.detail ?? {};
  if (typeof d.error === 'string') return d.error;
  switch (step.name) {
    case 'disable_passkeys':
      return Array.isArray(d.passkeyIds) ? `${d.passkeyIds.length} passkey(s)` : undefined;
    case 'end_sessions':
      return typeof d.ended === 'number' ? `${d.ended} session(s) ended` : undefined;
    case 'revoke_credentials':
      return typeof d.revoked === 'number' ? `${d.revoked} credential(s) revoked` : undefined;
    case 'revoke_delegate': {
      if (d.reason === 'no_delegate') return 'no delegate key on this device';
      const jobs = Array.isArray(d.jobs) ? (d.jobs as Array<{ txHash?: string | null }>) : [];
      const tx = jobs.map((j) => j.txHash).find(Boolean);
      return tx ? `transaction ${tx.slice(0, 18)}…` : undefined;
    }
    case 'push_signals':
      return typeof d.sets === 'number' ? `${d.sets} signal(s) queued` : undefined;
    default:
      return undefined;
  }
}

function summary(revocation: Revocation, states: StepState[]): string {
  const final = states.filter((s) => s === 'done' || s === 'skipped' || s === 'failed').length;
  if (revocation.status === 'completed') return 'Revocation complete: every step is done.';
  if (revocation.status === 'failed') {
    const failed = states.filter((s) => s === 'failed').length;
    return `Revocation finished, but ${failed} step(s) failed. Revoke again to retry them.`;
  }
  return `Revoking: ${final} of ${states.length} steps done.`;
}

/** The live progress of revocation `id`; calls `onFinished` once every step is final. */
function RevocationProgress({ id, onFinished }: { id: string; onFinished: () => unknown }) {
  const [finished, setFinished] = useState(false);
  const loaded = useApi<Revocation>(`/api/admin/revocations/${id}`, { pollMs: finished ? undefined : 1000 });
  const revocation = loaded.data;
  const heading = useRef<HTMLHeadingElement>(null);
  // The Revoke button is gone once the revocation starts: keyboard focus moves to its progress.
  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    if (revocation && revocation.status !== 'running' && !finished) {
      setFinished(true);
      void onFinished();
    }
  }, [revocation, finished, onFinished]);
  const states = revocation ? statesOf(revocation) : [];
  return (
    <div class="revocation">
      <h4 tabIndex={-1} ref={heading}>
        Revocation
      </h4>
      <p class="revocation-summary">
        {revocation ? summary(revocation, states) : 'Starting the revocation…'}
      </p>
      <ol class="revocation-steps">
        {revocation?.steps.map((step, i) => {
          const state = states[i] ?? 'pending';
          const note = stepNote(step);
          return (
            <li key={step.name} class={`step step-${state}`} data-step={step.name}>
              <span class="step-name">{stepName(step.name, 'admin')}</span>{' '}
              <Badge tone={STATE_TONES[state]}>{STATE_WORDS[state]}</Badge>
              {note ? <span class="hint step-note"> {note}</span> : null}
            </li>
          );
        })}
      </ol>
    </div>
  );
}

const STATE_BADGES: Record<Device['state'], [string, 'good' | 'warn' | 'bad']> = {
  trusted: ['Trusted', 'good'],
  new: ['New', 'warn'],
  revoked: ['Revoked', 'bad'],
};

function DeviceItem({
  device,
  revocationId,
  canRevoke,
  onRevoke,
  onChange,
  busy,
}: {
  device: Device;
  revocationId: string | undefined;
  canRevoke: boolean;
  onRevoke: () => unknown;
  onChange: () => unknown;
  busy: boolean;
}) {
  const name = deviceName(device);
  const [label, tone] = STATE_BADGES[device.state];
  const place = describePlace(device.lastSeen);
  return (
    <li class="device">
      <div class="device-head">
        <h3>{name}</h3>
        <Badge tone={tone}>{label}</Badge>
      </div>
      <dl class="facts">
        <dt>First seen</dt>
        <dd>
          <Time value={device.firstSeenAt} />
        </dd>
        <dt>Last seen</dt>
        <dd>
          <Time value={device.lastSeen?.at ?? device.lastSeenAt} />
          {place ? ` in ${place}` : ''}
        </dd>
        <dt>Passkeys</dt>
        <dd>
          {device.passkeys.length === 0
            ? 'None'
            : device.passkeys
                .map((p) => `${p.name}${p.status === 'active' ? '' : ` (${p.status})`}`)
                .join(', ')}
        </dd>
        <dt>Attestation</dt>
        <dd>
          {[
            device.attestation.formats.join(', ') || 'none',
            device.attestation.trusted ? 'trusted' : 'not verified',
            device.attestation.hardwareBound ? 'hardware-bound' : 'not hardware-bound',
          ].join('; ')}
        </dd>
        <dt>DID delegate</dt>
        <dd>{device.delegate ? <Code>{device.delegate.address}</Code> : 'None'}</dd>
        {device.revokedAt ? (
          <>
            <dt>Revoked</dt>
            <dd>
              <Time value={device.revokedAt} />
            </dd>
          </>
        ) : null}
      </dl>
      {canRevoke && device.state !== 'revoked' && !revocationId ? (
        <div class="actions">
          <ConfirmButton
            label="Revoke"
            confirmLabel={`Revoke ${name} now`}
            busy={busy}
            onConfirm={onRevoke}
          />
          <p class="hint">
            Turns off its passkeys, ends its sessions and app access, and revokes its credentials and its key
            on the blockchain.
          </p>
        </div>
      ) : null}
      <div aria-live="polite" class="revocation-region">
        {revocationId ? <RevocationProgress id={revocationId} onFinished={onChange} /> : null}
      </div>
    </li>
  );
}

/**
 * A person's devices, each revocable when `canRevoke` (the admin's roles allow it); `onChange` runs
 * when a revocation has finished.
 */
export function DeviceList({
  devices,
  canRevoke,
  onChange,
}: {
  devices: Device[];
  canRevoke: boolean;
  onChange: () => unknown;
}) {
  const [revocations, setRevocations] = useState<Record<string, string>>({});
  const [busy, run] = useAction();
  if (devices.length === 0) return <p class="hint">No devices recorded for this person yet.</p>;
  const revoke = (device: Device) =>
    run(
      async () => {
        const revocation = await call<Revocation>(
          `/api/admin/devices/${encodeURIComponent(device.id)}/revoke`,
          'POST',
          {},
        );
        setRevocations((current) => ({ ...current, [device.id]: revocation.id }));
      },
      `Revocation of ${deviceName(device)} started: its progress is shown with the device.`,
    );
  return (
    <ul class="devices">
      {devices.map((device) => (
        <DeviceItem
          key={device.id}
          device={device}
          revocationId={revocations[device.id]}
          canRevoke={canRevoke}
          busy={busy}
          onRevoke={() => revoke(device)}
          onChange={onChange}
        />
      ))}
    </ul>
  );
}
