/**
 * The authenticators view (`/attestation`): the tenant's attestation policy (any passkey, or trusted
 * authenticators only) and step-up window, saved with `PATCH /api/admin/settings`; the attestation
 * roots the service trusts, the FIDO metadata it has loaded, and the authenticator models seen in this
 * tenant (`GET /api/admin/authenticators`).
 */
import { useEffect, useState } from 'preact/hooks';
import { call, useAction, useApi } from '../lib/api.ts';
import { Badge, Button, Choices, Code, Field, Load, Section, Table, Time, ViewTitle } from '../lib/ui.tsx';
import { type AdminMe, allowed, rolesReason, useAdminMe } from './admin-me.ts';
import './console-forms.css';

type AttestationPolicy = 'any' | 'trusted';

/** `GET/PATCH /api/admin/settings`. */
interface Settings {
  slug: string;
  displayName: string;
  attestationPolicy: AttestationPolicy;
  stepUpWindowSeconds: number;
}

/** `GET /api/admin/authenticators`. */
interface Authenticators {
  attestationPolicy: AttestationPolicy;
  roots: Array<{ fmt: string; subject: string; issuer: string; notAfter: string; sha256: string }>;
  metadata: { loaded: boolean; entries: number; nextUpdate: string | null; stale?: boolean };
  seen: Array<{
    aaguid: string;
    model: string | null;
    passkeys: number;
    /** Every passkey of the model has a trusted attestation (`trustedPasskeys` of them do). */
    trusted: boolean;
    hardwareBound: boolean;
    trustedPasskeys?: number;
    hardwareBoundPasskeys?: number;
  }>;
}

const POLICIES: Array<{ value: AttestationPolicy; label: string; explanation: string }> = [
  {
    value: 'any',
    label: 'Any passkey',
    explanation:
      'Every passkey can be registered, synced ones included. A passkey whose attestation is not trusted reaches at most AAL2; only trusted, hardware-bound ones reach AAL3.',
  },
  {
    value: 'trusted',
    label: 'Trusted authenticators only',
    explanation:
      'Only authenticators whose attestation chains to a trusted root below (security keys, TPMs) can be registered. People with synced passkeys cannot sign up or add them; passkeys already registered keep working.',
  },
];

export function AttestationView() {
  const settings = useApi<Settings>('/api/admin/settings');
  const authenticators = useApi<Authenticators>('/api/admin/authenticators');
  const me = useAdminMe();
  return (
    <>
      <ViewTitle>Authenticators</ViewTitle>
      <p>
        Which authenticators people may register, and which ones Trustgate trusts to be hardware-bound (their
        attestation chains to a root it trusts).
      </p>
      <Section title="Sign-in settings">
        <Load loaded={settings} label="the settings">
          {(data) => (
            <SettingsForm
              settings={data}
              me={me.data}
              onSaved={async () => {
                await Promise.all([settings.reload(), authenticators.reload()]);
              }}
            />
          )}
        </Load>
      </Section>
      <Load loaded={authenticators} label="the trusted authenticators">
        {(data) => <TrustedAuthenticators data={data} />}
      </Load>
    </>
  );
}

function SettingsForm({
  settings,
  me,
  onSaved,
}: {
  settings: Settings;
  me?: AdminMe;
  onSaved: () => Promise<void>;
}) {
  const [policy, setPolicy] = useState(settings.attestationPolicy);
  const [minutes, setMinutes] = useState(String(Math.round(settings.stepUpWindowSeconds / 60)));
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [busy, run] = useAction();
  const canManage = allowed(me, 'ManageSettings');

  // Follow the saved settings when they change (after a save, or another admin's).
  useEffect(() => {
    setPolicy(settings.attestationPolicy);
    setMinutes(String(Math.round(settings.stepUpWindowSeconds / 60)));
  }, [settings.attestationPolicy, settings.stepUpWindowSeconds]);

  const submit = async (event: Event) => {
    event.preventDefault();
    const value = Number(minutes);
    if (!Number.isInteger(value) || value < 1 || value > 1440) {
      setProblem('Give a whole number of minutes from 1 to 1440 (a day).');
      document.getElementById('step-up-window')?.focus();
      return;
    }
    setProblem(undefined);
    await run(
      async () => {
        await call('/api/admin/settings', 'PATCH', {
          attestationPolicy: policy,
          stepUpWindowSeconds: value * 60,
        });
        await onSaved();
      },
      policy === 'trusted'
        ? 'Saved: only trusted authenticators can register now.'
        : 'Saved: any passkey can register now.',
    );
  };

  return (
    <form class="console-form stack" onSubmit={submit} noValidate>
      <Choices
        legend="Which authenticators can be registered"
        name="attestation"
        value={policy}
        onChange={setPolicy}
        disabled={!canManage}
        options={POLICIES.map((p) => ({
          value: p.value,
          label: `${p.label}${settings.attestationPolicy === p.value ? ' (current)' : ''}`,
          hint: p.explanation,
        }))}
      />
      <Field
        id="step-up-window"
        label="Step-up window (minutes)"
        hint="How long a step-up counts before the session drops back to the level it had."
        error={problem}
      >
        <input
          type="number"
          id="step-up-window"
          min={1}
          max={1440}
          step={1}
          value={minutes}
          disabled={!canManage}
          aria-invalid={problem ? 'true' : undefined}
          aria-describedby={['step-up-window-hint', problem ? 'step-up-window-error' : undefined]
            .filter(Boolean)
            .join(' ')}
          onInput={(e) => setMinutes(e.currentTarget.value)}
        />
      </Field>
      {canManage ? (
        <div class="actions">
          <Button type="submit" busy={busy}>
            Save settings
          </Button>
        </div>
      ) : (
        <p class="hint">{rolesReason(me, 'change these settings')}</p>
      )}
    </form>
  );
}

function TrustedAuthenticators({ data }: { data: Authenticators }) {
  return (
    <>
      <Section title="Authenticator models seen here">
        <Table
          caption="Authenticator models people of this tenant registered passkeys with"
          captionHidden
          head={['Model', 'AAGUID', 'Passkeys', 'Attestation', 'Hardware-bound']}
          rows={data.seen.length}
          empty="No passkeys registered yet."
        >
          {data.seen.map((s) => (
            <tr key={s.aaguid}>
              <td>{s.model ?? 'Unknown model'}</td>
              <td>
                <Code>{s.aaguid}</Code>
              </td>
              <td>{s.passkeys}</td>
              <td>
                <Badge tone={s.trusted ? 'good' : s.trustedPasskeys ? 'warn' : 'neutral'}>
                  {s.trusted
                    ? 'trusted'
                    : s.trustedPasskeys
                      ? `${s.trustedPasskeys} of ${s.passkeys} trusted`
                      : 'not trusted'}
                </Badge>
              </td>
              <td>
                {s.hardwareBound
                  ? 'yes'
                  : s.hardwareBoundPasskeys
                    ? `${s.hardwareBoundPasskeys} of ${s.passkeys}`
                    : 'no'}
              </td>
            </tr>
          ))}
        </Table>
      </Section>
      <Section title="Trusted attestation roots">
        <Table
          caption="Root certificates an attestation must chain to, to be trusted"
          captionHidden
          head={['Format', 'Subject', 'Issuer', 'Valid until', 'SHA-256']}
          rows={data.roots.length}
          empty="No attestation roots are configured: no authenticator is trusted, and nobody reaches AAL3."
        >
          {data.roots.map((r) => (
            <tr key={r.sha256}>
              <td>
                <code>{r.fmt}</code>
              </td>
              <td>{r.subject}</td>
              <td>{r.issuer === r.subject ? 'self-signed' : r.issuer}</td>
              <td class="nowrap">
                <Time value={r.notAfter} />
                {Date.parse(r.notAfter) < Date.now() ? (
                  <>
                    {' '}
                    <Badge tone="bad">expired</Badge>
                  </>
                ) : null}
              </td>
              <td>
                <code title={r.sha256}>{r.sha256.slice(0, 16)}…</code>
              </td>
            </tr>
          ))}
        </Table>
        <h3>FIDO metadata</h3>
        {data.metadata.loaded ? (
          <dl class="facts">
            <dt>Entries</dt>
            <dd>{data.metadata.entries}</dd>
            <dt>Next update</dt>
            <dd>
              <Time value={data.metadata.nextUpdate} />
              {data.metadata.stale ? (
                <>
                  {' '}
                  <Badge tone="warn">overdue: refresh the metadata BLOB</Badge>
                </>
              ) : null}
            </dd>
          </dl>
        ) : (
          <p class="hint">
            No FIDO metadata (MDS) is loaded: models are trusted only through the roots above.
          </p>
        )}
      </Section>
    </>
  );
}
