/**
 * The policy view (`/policy`): edit the tenant's Cedar policy, checked as you type, then save it as a
 * draft, replay the draft against recent real sign-in attempts (decisions before and after), and only
 * then activate it. Versions can be read, copied into the editor and rolled back; the risk weights are
 * shown. The unsaved draft and its progress live in sessionStorage, so a step-up round trip (every
 * change needs a fresh security-key sign-in) comes back to the same draft.
 */
import { redirectIfUnauthenticated, showStatus } from '@hosted/common';
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, tenantPath, useAction, useApi } from '../lib/api.ts';
import { CedarEditor, type CheckState, type SourceProblem } from '../lib/cedar-editor.tsx';
import { Badge, Button, Code, ConfirmButton, Load, Section, Table, Time, ViewTitle } from '../lib/ui.tsx';
import { type AdminMe, allowed, rolesReason, useAdminMe } from './admin-me.ts';
import './policy.css';

/** A stored policy version (`GET /api/admin/policies`). */
interface PolicyVersion {
  version: number;
  status: 'draft' | 'active' | 'retired';
  hash: string;
  createdAt: string;
  activatedAt: string | null;
  text: string;
}

interface PolicyList {
  active: number | null;
  versions: PolicyVersion[];
  defaultPolicy: string;
}

interface Validation {
  valid: boolean;
  errors: SourceProblem[];
  warnings: SourceProblem[];
}

type Outcome = 'allow' | 'step_up' | 'deny';

/** `POST /api/admin/policies/replay`. */
interface Replay {
  attempts: number;
  before: Record<Outcome, number>;
  after: Record<Outcome, number>;
  changed: Array<{
    id: string;
    at: string;
    accountId: string | null;
    username: string | null;
    operation: string;
    before: Outcome;
    after: Outcome;
    reasonsBefore: string[];
    reasonsAfter: string[];
  }>;
}

/** The draft and how far it got: saved as a version, replayed. Kept in sessionStorage. */
interface Draft {
  text: string;
  saved?: { version: number; text: string };
  replay?: { version: number; result: Replay };
}

/** How many recent attempts a simulation replays. */
const REPLAY_LAST = 1000;

const OUTCOMES: Array<[Outcome, string]> = [
  ['allow', 'Allow'],
  ['step_up', 'Step up'],
  ['deny', 'Deny'],
];
const outcomeLabel = (o: Outcome) => OUTCOMES.find(([key]) => key === o)?.[1] ?? o;
const outcomeTone = (o: Outcome) => (o === 'allow' ? 'good' : o === 'step_up' ? 'warn' : 'bad');

const draftKey = () => `trustgate.console.policy-draft:${tenantPath('')}`;

function loadDraft(): Draft | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(draftKey()) ?? 'null') as Draft | null;
    return stored && typeof stored.text === 'string' ? stored : undefined;
  } catch {
    return undefined;
  }
}

function storeDraft(draft: Draft | undefined): void {
  if (draft) sessionStorage.setItem(draftKey(), JSON.stringify(draft));
  else sessionStorage.removeItem(draftKey());
}

/** The text the active policy has (the default when no version is active). */
function activeText(list: PolicyList): string {
  return list.versions.find((v) => v.version === list.active)?.text ?? list.defaultPolicy;
}

/**
 * Validates `text` 400 ms after it last changed, or at once with `checkNow`; answers for stale texts
 * are dropped.
 */
function useValidation(text: string) {
  const [result, setResult] = useState<(Validation & { text: string }) | undefined>(undefined);
  const [failure, setFailure] = useState<{ text: string; message: string } | undefined>(undefined);
  const sequence = useRef(0);

  const check = async (value: string) => {
    const mine = ++sequence.current;
    if (value.trim() === '') {
      setResult({ text: value, valid: false, warnings: [], errors: [{ message: 'The policy is empty.' }] });
      return;
    }
    try {
      const answer = await call<Validation>('/api/admin/policies/validate', 'POST', { text: value });
      if (mine !== sequence.current) return;
      setResult({ ...answer, text: value });
      setFailure(undefined);
    } catch (err) {
      if (mine !== sequence.current || redirectIfUnauthenticated(err)) return;
      setFailure({ text: value, message: err instanceof Error ? err.message : String(err) });
    }
  };

  useEffect(() => {
    const timer = setTimeout(() => void check(text), 400);
    return () => clearTimeout(timer);
  }, [text]);

  const current = result?.text === text ? result : undefined;
  const failed = failure?.text === text ? failure.message : undefined;
  return {
    /** The answer for `text`, once there. */
    current,
    /** The last answer, maybe for an earlier text: shown while the next check runs. */
    last: result,
    state: (result ? (result.valid ? 'valid' : 'invalid') : 'idle') as CheckState,
    checking: !current && !failed,
    failure: failed,
    checkNow: () => check(text),
  };
}

export function PolicyView() {
  const list = useApi<PolicyList>('/api/admin/policies');
  const me = useAdminMe();
  return (
    <>
      <ViewTitle>Policy</ViewTitle>
      <p>
        The tenant’s Cedar policy decides every sign-in and sensitive action: allow, ask for a step-up, or
        deny. Edit a draft, replay it against recent real attempts to see what would change, then activate it.
      </p>
      <Load loaded={list} label="the policy">
        {(data) => <PolicyWorkbench list={data} reload={list.reload} me={me.data} />}
      </Load>
      <RiskWeights />
    </>
  );
}

function PolicyWorkbench({
  list,
  reload,
  me,
}: {
  list: PolicyList;
  reload: () => Promise<void>;
  me?: AdminMe;
}) {
  const base = activeText(list);
  const [initial] = useState(loadDraft);
  const [draft, setDraft] = useState<Draft>(initial ?? { text: base });
  const restored = initial !== undefined && initial.text !== base;
  const [viewing, setViewing] = useState<number | undefined>(undefined);
  const [busy, run] = useAction();
  const validation = useValidation(draft.text);
  const canManage = allowed(me, 'ManagePolicy');

  // Keep the work in this tab across a step-up round trip; nothing to keep when it is the active text.
  useEffect(() => {
    storeDraft(draft.text === base && !draft.saved ? undefined : draft);
  }, [draft, base]);

  // When the active policy changes under an untouched editor, follow it.
  const previousBase = useRef(base);
  useEffect(() => {
    if (previousBase.current === base) return;
    setDraft((d) => (d.text === previousBase.current ? { text: base } : d));
    previousBase.current = base;
  }, [base]);

  const edit = (text: string) => setDraft((d) => ({ text, saved: d.saved, replay: d.replay }));
  const saved = draft.saved && draft.saved.text === draft.text ? draft.saved : undefined;
  const replay = saved && draft.replay?.version === saved.version ? draft.replay.result : undefined;
  const checked = validation.current;

  const saveBlocker = !canManage
    ? rolesReason(me, 'change the policy')
    : validation.failure
      ? `The policy could not be checked: ${validation.failure}`
      : validation.checking
        ? 'Checking the policy…'
        : !checked?.valid
          ? 'Fix the errors above before saving.'
          : saved
            ? `Saved as version ${saved.version}.`
            : draft.text === base
              ? 'Nothing to save: this is the active policy.'
              : undefined;

  const save = () =>
    run(async () => {
      try {
        const row = await call<PolicyVersion>('/api/admin/policies', 'POST', { text: draft.text });
        setDraft({ text: draft.text, saved: { version: row.version, text: draft.text } });
        showStatus(`Draft saved as version ${row.version}. Simulate it before activating.`);
      } finally {
        await reload();
      }
    });

  const simulate = (version: number) =>
    run(async () => {
      const result = await call<Replay>('/api/admin/policies/replay', 'POST', { version, last: REPLAY_LAST });
      setDraft((d) => ({ ...d, replay: { version, result } }));
      showStatus(
        `Simulated version ${version} on ${result.attempts} attempts: ${result.changed.length} decision${result.changed.length === 1 ? '' : 's'} change.`,
      );
    });

  const activate = (version: number) =>
    run(async () => {
      await call(`/api/admin/policies/${version}/activate`, 'POST', {});
      setDraft({ text: draft.text });
      storeDraft(undefined);
      await reload();
    }, `Version ${version} is now the active policy (on every instance within 2 seconds).`);

  const rollback = () =>
    run(async () => {
      await call('/api/admin/policies/rollback', 'POST', {});
      await reload();
    }, 'Rolled back to the previous policy.');

  const viewed = list.versions.find((v) => v.version === viewing);

  return (
    <>
      <Section
        title="Edit the policy"
        actions={
          <span class="policy-active">
            Active: {list.active === null ? 'the default policy' : `version ${list.active}`}
          </span>
        }
      >
        {restored && !draft.saved && draft.text !== base ? (
          <p class="policy-restored">Your unsaved changes from earlier in this tab were restored.</p>
        ) : null}
        <CedarEditor
          id="policy-text"
          label="Policy (Cedar)"
          hint="Checked against the schema as you type. Select an error to go to it."
          value={draft.text}
          onInput={edit}
          errors={validation.last?.errors ?? []}
          warnings={validation.last?.warnings ?? []}
          state={validation.state}
          checking={validation.checking}
        />
        {validation.failure ? (
          <p class="field-error">The policy could not be checked: {validation.failure}</p>
        ) : null}
        <div class="actions">
          <Button variant="secondary" onClick={() => void validation.checkNow()}>
            Check now
          </Button>
          <Button
            busy={busy}
            disabled={saveBlocker !== undefined}
            onClick={save}
            aria-describedby="save-blocker"
          >
            Save draft
          </Button>
          {draft.text !== base ? (
            <Button variant="secondary" onClick={() => setDraft({ text: base })}>
              Discard changes
            </Button>
          ) : null}
        </div>
        <p class="hint" id="save-blocker">
          {saveBlocker ?? 'Saving stores the draft as a new version; it does not change any decision yet.'}
        </p>
      </Section>

      <Section title="Simulate and activate">
        {saved ? (
          <>
            <p>
              Version {saved.version} is saved. Replay it against the last {REPLAY_LAST} recorded attempts to
              see which decisions would change.
            </p>
            <div class="actions">
              <Button busy={busy} onClick={() => simulate(saved.version)}>
                Simulate version {saved.version}
              </Button>
            </div>
            {replay ? <ReplayResult replay={replay} version={saved.version} /> : null}
            {replay ? (
              canManage ? (
                <div class="actions">
                  <ConfirmButton
                    label={`Activate version ${saved.version}`}
                    confirmLabel={`Confirm: activate version ${saved.version} now`}
                    busy={busy}
                    onConfirm={() => activate(saved.version)}
                  />
                </div>
              ) : (
                <p class="hint">{rolesReason(me, 'activate a policy')}</p>
              )
            ) : (
              <p class="hint">Activation is offered once this draft has been simulated.</p>
            )}
          </>
        ) : (
          <p class="hint">
            Save the draft first. Then simulate it on recent attempts; activation is offered after the
            simulation.
          </p>
        )}
      </Section>

      <Section
        title="Versions"
        actions={
          list.active !== null && canManage ? (
            <ConfirmButton
              label="Roll back"
              confirmLabel="Confirm: re-activate the previous version"
              busy={busy}
              onConfirm={rollback}
            />
          ) : null
        }
      >
        {list.active === null && list.versions.length > 0 ? (
          <p>No version is active: the tenant uses the default policy.</p>
        ) : null}
        <Table
          caption="Policy versions, newest first"
          head={['Version', 'Status', 'Created', 'Activated', 'Hash', 'Text']}
          rows={list.versions.length}
          empty="No versions yet: the tenant uses the default policy."
        >
          {list.versions.map((v) => (
            <tr key={v.version}>
              <td>{v.version}</td>
              <td>
                <Badge tone={v.status === 'active' ? 'good' : v.status === 'draft' ? 'warn' : 'neutral'}>
                  {v.status}
                </Badge>
              </td>
              <td>
                <Time value={v.createdAt} />
              </td>
              <td>
                <Time value={v.activatedAt} />
              </td>
              <td>
                <code title={v.hash}>{v.hash.slice(0, 12)}</code>
              </td>
              <td>
                <Button
                  variant="secondary"
                  aria-expanded={viewing === v.version ? 'true' : 'false'}
                  aria-controls="policy-version-text"
                  onClick={() => setViewing(viewing === v.version ? undefined : v.version)}
                >
                  {viewing === v.version ? 'Hide' : 'View'} version {v.version}
                </Button>
              </td>
            </tr>
          ))}
        </Table>
        <div id="policy-version-text">
          {viewed ? (
            <>
              <h3>Version {viewed.version}</h3>
              <label for="policy-version-source">Text of version {viewed.version}</label>
              <textarea
                id="policy-version-source"
                class="policy-source"
                readOnly
                rows={16}
                wrap="off"
                spellcheck={false}
                value={viewed.text}
              />
              <div class="actions">
                <Button variant="secondary" onClick={() => setDraft({ text: viewed.text })}>
                  Copy version {viewed.version} into the editor
                </Button>
              </div>
            </>
          ) : null}
        </div>
      </Section>
    </>
  );
}

/** Decisions before and after, and the attempts whose decision changes. */
function ReplayResult({ replay, version }: { replay: Replay; version: number }) {
  if (replay.attempts === 0) {
    return <p class="hint">No recorded attempts to replay yet: nothing would change.</p>;
  }
  const delta = (o: Outcome) => {
    const d = replay.after[o] - replay.before[o];
    return d === 0 ? 'no change' : d > 0 ? `+${d}` : `−${-d}`;
  };
  return (
    <div class="policy-replay">
      <Table
        caption={`Decisions on the last ${replay.attempts} attempts: active policy and version ${version}`}
        head={['Decision', 'Now (active)', `With version ${version}`, 'Change']}
        rows={OUTCOMES.length}
      >
        {OUTCOMES.map(([o, label]) => (
          <tr key={o}>
            <th scope="row">{label}</th>
            <td>{replay.before[o]}</td>
            <td>{replay.after[o]}</td>
            <td>{delta(o)}</td>
          </tr>
        ))}
      </Table>
      <Table
        caption={`Attempts whose decision changes (${replay.changed.length})`}
        head={['When', 'Who', 'Operation', 'Before', 'After', 'Reasons']}
        rows={replay.changed.length}
        empty="No decision changes."
      >
        {replay.changed.map((c) => {
          const reasons = c.after === 'allow' ? c.reasonsBefore : c.reasonsAfter;
          return (
            <tr key={c.id}>
              <td>
                <Time value={c.at} />
              </td>
              <td>
                {c.accountId ? (
                  <a href={tenantPath(`/admin/people/${encodeURIComponent(c.accountId)}`)}>
                    {c.username ?? 'Person without a username'}
                  </a>
                ) : (
                  'Unknown person'
                )}
              </td>
              <td>{c.operation}</td>
              <td>
                <Badge tone={outcomeTone(c.before)}>{outcomeLabel(c.before)}</Badge>
              </td>
              <td>
                <Badge tone={outcomeTone(c.after)}>{outcomeLabel(c.after)}</Badge>
              </td>
              <td>
                {reasons.length > 0
                  ? reasons.map((r, i) => (
                      <span key={r}>
                        {i > 0 ? ', ' : ''}
                        <Code>{r}</Code>
                      </span>
                    ))
                  : '—'}
              </td>
            </tr>
          );
        })}
      </Table>
    </div>
  );
}

/** The tenant's risk weights, read-only. */
function RiskWeights() {
  const weights = useApi<{ weights: Record<string, number> }>('/api/admin/risk/weights');
  return (
    <Section title="Risk weights">
      <Load loaded={weights} label="the risk weights">
        {(data) => {
          const entries = Object.entries(data.weights);
          return (
            <Table
              caption="Weights by signal or reason code (1 when absent; 0 mutes it)"
              head={['Signal or reason', 'Weight']}
              rows={entries.length}
              empty="No weights set: every signal and reason counts once (weight 1)."
            >
              {entries.map(([name, weight]) => (
                <tr key={name}>
                  <td>
                    <code>{name}</code>
                  </td>
                  <td>{weight}</td>
                </tr>
              ))}
            </Table>
          );
        }}
      </Load>
    </Section>
  );
}
