/**
 * The tenant's audit log, live: the newest records (`GET /api/admin/audit`, filtered by type and
 * person) polled every few seconds with new ones appearing on top, a pause so the table holds still
 * while an admin reads it, older pages on demand, the chain's verification (`GET
 * /api/admin/audit/verify`: how far it is intact, its head, the on-chain anchors, or exactly where it
 * breaks) and the export as JSON Lines.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, resolve, useAction, useApi } from '../lib/api.ts';
import { Badge, Button, Code, Field, Section, Table, Time, ViewTitle } from '../lib/ui.tsx';
import { personPath } from './paths.ts';
import './console.css';

/** A record as the audit API shows it. */
export interface AuditRecord {
  seq: number;
  prevHash: string;
  hash: string;
  type: string;
  accountId: string | null;
  actor: { kind?: string; id?: string } | null;
  detail: unknown;
  ip: string | null;
  createdAt: string;
}

interface AuditPage {
  records: AuditRecord[];
  next: number | null;
}

/** An anchored head, checked against the chain. */
interface Anchor {
  seq: number;
  status: string;
  head: string;
  txHash: string | null;
  blockNumber: number | null;
  anchoredAt: string | null;
  onChain: 'matches' | 'differs' | 'not_found' | 'unchecked';
}

/** What `GET /api/admin/audit/verify` answers. */
export interface Verification {
  ok: boolean;
  records: number;
  anchorsChecked: number;
  anchorsUnavailable?: string;
  firstBroken?: { seq: number; reason: string; detail: string };
  head: { seq: number; hash: string } | null;
  anchors: Anchor[];
}

/** How often the live view asks for new records. */
export const POLL_MS = 3_000;
const PAGE_SIZE = 50;

interface Filters {
  type: string;
  account: string;
}

function filtersFromUrl(): Filters {
  const query = new URLSearchParams(location.search);
  return { type: query.get('type') ?? '', account: query.get('account') ?? '' };
}

function listPath(filters: Filters, before?: number): string {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (filters.type) query.set('type', filters.type);
  if (filters.account) query.set('account', filters.account);
  if (before !== undefined) query.set('before', String(before));
  return `/api/admin/audit?${query}`;
}

/** Who did it, in words: the person themselves, an admin, an app or the system. */
function actorOf(record: AuditRecord) {
  const actor = record.actor;
  if (!actor || actor.kind === 'person') return record.accountId ? 'The person' : '—';
  if (actor.kind === 'admin' && actor.id)
    return <a href={personPath(actor.id)}>Admin {actor.id.slice(0, 8)}</a>;
  if (actor.kind === 'client') return `App ${actor.id ?? ''}`.trim();
  if (actor.kind === 'system') return 'Trustgate';
  return actor.kind ?? '—';
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The detail as `key: value` pairs, short enough for a table cell: long values clipped, lists and
 * nested objects counted (the export and the API have them whole).
 */
export function detailSummary(detail: unknown, max = 140): string {
  if (detail === null || detail === undefined) return '—';
  if (typeof detail !== 'object') return clip(String(detail), max);
  const parts = Object.entries(detail as Record<string, unknown>).map(([key, value]) => {
    if (Array.isArray(value))
      return `${key}: ${value.length === 1 ? clip(String(value[0]), 40) : `${value.length} items`}`;
    if (value !== null && typeof value === 'object') return `${key}: {${Object.keys(value).length} fields}`;
    return `${key}: ${clip(String(value), 40)}`;
  });
  return clip(parts.join('; ') || '—', max);
}

function RecordRow({ record, fresh }: { record: AuditRecord; fresh: boolean }) {
  return (
    <tr class={fresh ? 'audit-new' : undefined} data-seq={record.seq}>
      <th scope="row">
        {record.seq}
        {fresh ? (
          <>
            {' '}
            <Badge tone="warn">new</Badge>
          </>
        ) : null}
      </th>
      <td>
        <Time value={record.createdAt} />
      </td>
      <td>
        <code>{record.type}</code>
      </td>
      <td>{actorOf(record)}</td>
      <td>
        {record.accountId ? (
          <a href={personPath(record.accountId)}>Person {record.accountId.slice(0, 8)}</a>
        ) : (
          '—'
        )}
      </td>
      <td class="audit-detail">{detailSummary(record.detail)}</td>
      <td>
        <code title={record.hash}>{record.hash.slice(0, 12)}</code>
      </td>
    </tr>
  );
}

const BREAK_REASONS: Record<string, string> = {
  missing_record: 'a record is missing (deleted)',
  prev_hash_mismatch: 'a record does not follow the one before it (reordered or spliced)',
  hash_mismatch: 'a record was changed after it was written',
  anchor_mismatch: 'the log differs from the head anchored on the blockchain (rewritten with new hashes)',
  truncated: 'records at the end were deleted',
  head_mismatch: 'the stored chain head does not match the last record',
};

const ON_CHAIN: Record<Anchor['onChain'], [string, 'good' | 'warn' | 'bad' | 'neutral']> = {
  matches: ['matches the log', 'good'],
  differs: ['differs from the log', 'bad'],
  not_found: ['not on chain yet', 'warn'],
  unchecked: ['not checked', 'neutral'],
};

function Anchors({ anchors }: { anchors: Anchor[] }) {
  return (
    <Table
      caption="Latest on-chain anchors of the chain head"
      head={['Record', 'Status', 'Transaction', 'Block', 'Anchored', 'On-chain check']}
      rows={anchors.length}
      empty="No head has been anchored on chain yet."
    >
      {anchors.map((anchor) => {
        const [words, tone] = ON_CHAIN[anchor.onChain];
        return (
          <tr key={anchor.seq}>
            <td>{anchor.seq}</td>
            <td>{anchor.status}</td>
            <td>{anchor.txHash ? <Code>{anchor.txHash}</Code> : '—'}</td>
            <td>{anchor.blockNumber ?? '—'}</td>
            <td>
              <Time value={anchor.anchoredAt} />
            </td>
            <td>
              <Badge tone={tone}>{words}</Badge>
            </td>
          </tr>
        );
      })}
    </Table>
  );
}

function VerifyResult({ result }: { result: Verification }) {
  const broken = result.firstBroken;
  return (
    <div class={`verify-result ${broken ? 'verify-broken' : 'verify-ok'}`} id="verify-result">
      {broken ? (
        <>
          <p class="verify-headline">
            <Badge tone="bad">Broken</Badge> The chain is broken at record {broken.seq}:{' '}
            {BREAK_REASONS[broken.reason] ?? broken.reason}.
          </p>
          <p>
            {result.records > 0
              ? `Records 1 to ${result.records} are intact.`
              : 'No record before it could be verified.'}{' '}
            <span class="hint">
              Verifier: <code>{broken.reason}</code>, {broken.detail}.
            </span>
          </p>
        </>
      ) : (
        <p class="verify-headline">
          <Badge tone="good">Verified</Badge> The chain is intact up to record {result.records}.
        </p>
      )}
      <dl class="facts">
        <dt>Verified up to record</dt>
        <dd>{result.records}</dd>
        <dt>Chain head</dt>
        <dd>
          {result.head ? <Code>{`record ${result.head.seq}: ${result.head.hash}`}</Code> : 'No records yet'}
        </dd>
        <dt>Anchors compared with the chain</dt>
        <dd>{result.anchorsChecked}</dd>
      </dl>
      {result.anchorsUnavailable ? (
        <p class="hint">On-chain anchors were not checked: {result.anchorsUnavailable}.</p>
      ) : null}
      <Anchors anchors={result.anchors} />
    </div>
  );
}

function Verify() {
  const [busy, run] = useAction();
  const [result, setResult] = useState<Verification | undefined>(undefined);
  const verify = () =>
    run(async () => {
      setResult(undefined);
      setResult(await call<Verification>('/api/admin/audit/verify', 'GET'));
    });
  return (
    <Section
      title="Chain verification"
      actions={
        <Button busy={busy} onClick={verify}>
          Verify the chain
        </Button>
      }
    >
      <p class="hint">
        Recomputes every record’s hash and link from the first record on, and compares the heads anchored on
        the blockchain: an edit, a deletion or a reordering shows where it happened.
      </p>
      <div aria-live="polite">
        {busy ? <p class="hint">Verifying…</p> : null}
        {result ? <VerifyResult result={result} /> : null}
      </div>
    </Section>
  );
}

function FilterForm({ filters, onApply }: { filters: Filters; onApply: (filters: Filters) => void }) {
  const [type, setType] = useState(filters.type);
  const [account, setAccount] = useState(filters.account);
  return (
    <form
      class="audit-filters"
      onSubmit={(event) => {
        event.preventDefault();
        onApply({ type: type.trim(), account: account.trim() });
      }}
    >
      <Field label="Record type" id="audit-type" hint="Exact type, e.g. device.revoked.">
        <input
          id="audit-type"
          value={type}
          autocomplete="off"
          spellcheck={false}
          aria-describedby="audit-type-hint"
          onInput={(event) => setType((event.target as HTMLInputElement).value)}
        />
      </Field>
      <Field label="Person (account id)" id="audit-account" hint="Records about this person.">
        <input
          id="audit-account"
          value={account}
          autocomplete="off"
          spellcheck={false}
          aria-describedby="audit-account-hint"
          onInput={(event) => setAccount((event.target as HTMLInputElement).value)}
        />
      </Field>
      <div class="actions">
        <Button type="submit">Filter</Button>
        {filters.type || filters.account ? (
          <Button
            variant="secondary"
            onClick={() => {
              setType('');
              setAccount('');
              onApply({ type: '', account: '' });
            }}
          >
            Clear filters
          </Button>
        ) : null}
      </div>
    </form>
  );
}

/** Pages of older records read to close the gap after a burst, before giving up on completeness. */
const CATCH_UP_PAGES = 10;

/**
 * The records of `page` not `known` yet and, when the whole page is new (a burst bigger than a page
 * since the last poll), those on the older pages down to the first known one: no record is skipped.
 * `complete` is false when the gap was too large to close or a page could not be read.
 */
async function newRecordsSince(
  page: AuditPage,
  known: ReadonlySet<number>,
  filters: Filters,
): Promise<{ added: AuditRecord[]; complete: boolean }> {
  const added = page.records.filter((r) => !known.has(r.seq));
  let before = added.length === page.records.length ? page.next : null;
  try {
    for (let pages = 0; before !== null; pages++) {
      if (pages === CATCH_UP_PAGES) return { added, complete: false };
      const older = await call<AuditPage>(listPath(filters, before), 'GET');
      const fresh = older.records.filter((r) => !known.has(r.seq));
      added.push(...fresh);
      before = fresh.length === older.records.length ? older.next : null;
    }
  } catch {
    return { added, complete: false };
  }
  return { added, complete: true };
}

/** The live log: merges each poll's new records into what is shown, newest first. */
function Log({ filters }: { filters: Filters }) {
  const [paused, setPaused] = useState(false);
  const live = useApi<AuditPage>(paused ? undefined : listPath(filters), { pollMs: POLL_MS });
  const [rows, setRows] = useState<AuditRecord[]>([]);
  const [fresh, setFresh] = useState<ReadonlySet<number>>(new Set());
  const [next, setNext] = useState<number | null>(null);
  const [news, setNews] = useState('');
  const shown = useRef<AuditRecord[] | undefined>(undefined);
  const [busy, run] = useAction();

  useEffect(() => {
    const page = live.data;
    if (!page) return;
    const current = shown.current;
    if (!current) {
      shown.current = page.records;
      setRows(page.records);
      setNext(page.next);
      return;
    }
    const known = new Set(current.map((r) => r.seq));
    if (page.records.every((r) => known.has(r.seq))) return;
    let stale = false;
    void newRecordsSince(page, known, filters).then(({ added, complete }) => {
      // A later poll (or a newer catch-up) supersedes this one.
      if (stale || shown.current !== current) return;
      const merged = [...added, ...current].sort((a, b) => b.seq - a.seq);
      shown.current = merged;
      setRows(merged);
      setFresh(new Set(added.map((r) => r.seq)));
      const count = added.length === 1 ? '1 new record.' : `${added.length} new records.`;
      setNews(complete ? count : `${count} Even more arrived: reload the page to see every one.`);
    });
    return () => {
      stale = true;
    };
  }, [live.data, filters]);

  const older = (before: number) =>
    run(async () => {
      const page = await call<AuditPage>(listPath(filters, before), 'GET');
      const merged = [...(shown.current ?? []), ...page.records];
      shown.current = merged;
      setRows(merged);
      setNext(page.next);
    });

  return (
    <>
      <div class="audit-live">
        <Button
          variant="secondary"
          aria-pressed={paused ? 'true' : 'false'}
          onClick={() => setPaused(!paused)}
        >
          Pause live updates
        </Button>
        <p class="hint">
          {paused
            ? 'Paused: new records are not added until you resume.'
            : `Live: new records appear at the top (checked every ${POLL_MS / 1000} seconds).`}
        </p>
        <p aria-live="polite" id="audit-news">
          {news}
        </p>
      </div>
      {live.error && !live.data ? (
        <p class="error" role="alert">
          Could not load the audit log: {live.error.message}
        </p>
      ) : !shown.current ? (
        <p class="hint">Loading…</p>
      ) : (
        <div class="audit-table">
          <Table
            caption={
              filters.type || filters.account
                ? 'Audit records matching the filters, newest first'
                : 'Audit records, newest first'
            }
            head={['Record', 'Time', 'Type', 'Actor', 'Subject', 'Detail', 'Hash']}
            rows={rows.length}
            empty="No audit records match."
          >
            {rows.map((record) => (
              <RecordRow key={record.seq} record={record} fresh={fresh.has(record.seq)} />
            ))}
          </Table>
        </div>
      )}
      {next !== null && shown.current ? (
        <div class="actions">
          <Button variant="secondary" busy={busy} onClick={() => older(next)}>
            Show older records
          </Button>
        </div>
      ) : null}
    </>
  );
}

/** The audit view (`/admin/audit`); the filters are kept in the address (`?type=&account=`). */
export function AuditView() {
  const [filters, setFilters] = useState(filtersFromUrl);
  const apply = (chosen: Filters) => {
    const query = new URLSearchParams();
    if (chosen.type) query.set('type', chosen.type);
    if (chosen.account) query.set('account', chosen.account);
    history.replaceState(null, '', `${location.pathname}${query.size ? `?${query}` : ''}`);
    setFilters(chosen);
  };
  return (
    <>
      <ViewTitle>Audit log</ViewTitle>
      <Section
        title="Records"
        actions={
          <a class="button secondary" href={resolve('/api/admin/audit/export')} download>
            Export (JSON Lines)
          </a>
        }
      >
        <FilterForm filters={filters} onApply={apply} />
        <Log key={`${filters.type}\n${filters.account}`} filters={filters} />
      </Section>
      <Verify />
    </>
  );
}
