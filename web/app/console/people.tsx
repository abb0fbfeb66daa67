/**
 * People and their devices in the console: a search over the tenant's people (`GET /api/admin/people`,
 * username prefix or exact DID, newest first, paged by cursor), and a person's page: profile, roles and
 * factors, devices with one-click revocation (device-revocation.tsx), live sessions that an admin can
 * end, and their recent risk assessments. What the admin's roles do not allow (revoking, ending a
 * session, reading risk) is not offered, and the page says why.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { call, useAction, useApi } from '../lib/api.ts';
import {
  Badge,
  Button,
  Code,
  ConfirmButton,
  Field,
  Load,
  Section,
  Table,
  Time,
  ViewTitle,
} from '../lib/ui.tsx';
import { allowed, rolesReason, useAdminMe } from './admin-me.ts';
import { type Device, DeviceList } from './device-revocation.tsx';
import { consolePath, personPath } from './paths.ts';
import './console.css';

/** A person as the admin API lists them. */
export interface Person {
  id: string;
  did: string | null;
  username: string;
  displayName: string | null;
  status: string;
  custody: string;
  roles: string[];
  createdAt: string;
}

interface PeoplePage {
  people: Person[];
  next: string | null;
}

/** A person with the summary of their factors, devices and sessions. */
interface PersonDetail extends Person {
  factors: {
    passkeys: number;
    hardwareBoundPasskeys: number;
    disabledPasskeys: number;
    totp: boolean;
    recoveryCodesLeft: number;
  };
  devices: { total: number; revoked: number };
  liveSessions: number;
}

interface SessionRow {
  id: string;
  aal: number;
  acr: string;
  amr: string[];
  authTime: string;
  createdAt: string;
  lastSeenAt: string;
  userAgent: string | null;
  ip: string | null;
  deviceId: string | null;
}

interface Assessment {
  id: string;
  action: string;
  at: string;
  outcome: string;
  decision: string;
  score: number;
  reasons: string[];
  ip: string | null;
  country: string | null;
  city: string | null;
}

const PAGE_SIZE = 25;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function StatusBadge({ status }: { status: string }) {
  return <Badge tone={status === 'active' ? 'good' : 'bad'}>{status}</Badge>;
}

function Roles({ roles }: { roles: string[] }) {
  if (roles.length === 0) return <span class="hint">No admin role</span>;
  return (
    <span class="badges">
      {roles.map((role) => (
        <Badge key={role} tone="neutral">
          {role}
        </Badge>
      ))}
    </span>
  );
}

const peoplePath = (q: string, cursor?: string) =>
  `/api/admin/people?limit=${PAGE_SIZE}` +
  (q ? `&q=${encodeURIComponent(q)}` : '') +
  (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');

/** The search and its results (`/admin/people`); the query is kept in the address (`?q=`). */
export function PeopleView() {
  const [text, setText] = useState(() => new URLSearchParams(location.search).get('q') ?? '');
  const [q, setQ] = useState(text.trim());
  const loaded = useApi<PeoplePage>(peoplePath(q));
  const [more, setMore] = useState<PeoplePage | undefined>(undefined);
  const [busy, run] = useAction();

  const search = (event: Event) => {
    event.preventDefault();
    const query = text.trim();
    setMore(undefined);
    setQ(query);
    history.replaceState(
      null,
      '',
      query ? `${location.pathname}?q=${encodeURIComponent(query)}` : location.pathname,
    );
  };
  const showMore = (next: string) =>
    run(async () => {
      const page = await call<PeoplePage>(peoplePath(q, next), 'GET');
      setMore((before) => ({ people: [...(before?.people ?? []), ...page.people], next: page.next }));
    });

  return (
    <>
      <ViewTitle>People and devices</ViewTitle>
      <search>
        <form class="search-form" onSubmit={search}>
          <Field
            label="Search people"
            id="people-q"
            hint="The start of a username, or a whole DID. Leave empty to list everyone, newest first."
          >
            <input
              id="people-q"
              type="search"
              value={text}
              autocomplete="off"
              spellcheck={false}
              aria-describedby="people-q-hint"
              onInput={(event) => setText((event.target as HTMLInputElement).value)}
            />
          </Field>
          <div class="actions">
            <Button type="submit">Search</Button>
          </div>
        </form>
      </search>
      <Load loaded={loaded} label="people">
        {(first) => {
          const people = [...first.people, ...(more?.people ?? [])];
          const next = more ? more.next : first.next;
          return (
            <section class="card" aria-labelledby="people-results">
              <h2 id="people-results">{q ? `People matching “${q}”` : 'Everyone'}</h2>
              <p role="status" class="hint">
                {people.length === 0
                  ? 'No one found.'
                  : `Showing ${plural(people.length, 'person', 'people')}${next ? ', more below' : ''}.`}
              </p>
              <Table
                caption={q ? `People whose username starts with “${q}”` : 'People, newest first'}
                captionHidden
                head={['Person', 'Username', 'Roles', 'Status', 'Joined']}
                rows={people.length}
                empty="Try another username, or the whole DID."
              >
                {people.map((person) => (
                  <tr key={person.id}>
                    <td>
                      <a href={personPath(person.id)}>{person.displayName || person.username}</a>
                    </td>
                    <td>{person.username}</td>
                    <td>
                      <Roles roles={person.roles} />
                    </td>
                    <td>
                      <StatusBadge status={person.status} />
                    </td>
                    <td>
                      <Time value={person.createdAt} />
                    </td>
                  </tr>
                ))}
              </Table>
              {next ? (
                <div class="actions">
                  <Button variant="secondary" busy={busy} onClick={() => showMore(next)}>
                    Show more people
                  </Button>
                </div>
              ) : null}
            </section>
          );
        }}
      </Load>
    </>
  );
}

function Fact({ term, children }: { term: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </>
  );
}

function Profile({ person }: { person: PersonDetail }) {
  const { factors } = person;
  const factorList = [
    `${plural(factors.passkeys, 'passkey')} (${factors.hardwareBoundPasskeys} hardware-bound` +
      (factors.disabledPasskeys ? `, ${factors.disabledPasskeys} disabled` : '') +
      ')',
    factors.totp ? 'authenticator app on' : 'no authenticator app',
    `${plural(factors.recoveryCodesLeft, 'recovery code')} left`,
  ];
  return (
    <Section title="Profile">
      <dl class="facts">
        <Fact term="Username">{person.username}</Fact>
        <Fact term="Display name">{person.displayName || '—'}</Fact>
        <Fact term="DID">{person.did ? <Code>{person.did}</Code> : '—'}</Fact>
        <Fact term="Status">
          <StatusBadge status={person.status} />
        </Fact>
        <Fact term="Key custody">{person.custody}</Fact>
        <Fact term="Admin roles">
          <Roles roles={person.roles} />
        </Fact>
        <Fact term="Sign-in factors">{factorList.join('; ')}</Fact>
        <Fact term="Devices">
          {plural(person.devices.total, 'device')}
          {person.devices.revoked ? ` (${person.devices.revoked} revoked)` : ''}
        </Fact>
        <Fact term="Live sessions">{person.liveSessions}</Fact>
        <Fact term="Joined">
          <Time value={person.createdAt} />
        </Fact>
        <Fact term="Account id">
          <Code>{person.id}</Code>
        </Fact>
      </dl>
      <p>
        <a href={consolePath(`/audit?account=${encodeURIComponent(person.id)}`)}>
          Audit records about this person
        </a>
      </p>
    </Section>
  );
}

function Sessions({
  sessions,
  canEnd,
  onEnded,
}: {
  sessions: SessionRow[];
  canEnd: boolean;
  onEnded: () => unknown;
}) {
  const [busy, run] = useAction();
  const end = (id: string) =>
    run(async () => {
      await call(`/api/admin/sessions/${encodeURIComponent(id)}/end`, 'POST', {});
      await onEnded();
    }, 'Session ended.');
  return (
    <Table
      caption="Live sessions, newest first"
      captionHidden
      head={[
        'Started',
        'Last active',
        'Assurance',
        'Methods',
        'Browser',
        'IP address',
        ...(canEnd ? ['Action'] : []),
      ]}
      rows={sessions.length}
      empty="No live sessions."
    >
      {sessions.map((s) => (
        <tr key={s.id}>
          <td>
            <Time value={s.createdAt} />
          </td>
          <td>
            <Time value={s.lastSeenAt} />
          </td>
          <td>
            AAL{s.aal} <span class="hint">({s.acr})</span>
          </td>
          <td>{s.amr.join(', ') || '—'}</td>
          <td class="user-agent">{s.userAgent ?? '—'}</td>
          <td>{s.ip ?? '—'}</td>
          {canEnd ? (
            <td>
              <ConfirmButton
                label="End session"
                confirmLabel="End this session"
                busy={busy}
                onConfirm={() => end(s.id)}
              />
            </td>
          ) : null}
        </tr>
      ))}
    </Table>
  );
}

const OUTCOME_TONES: Record<string, 'good' | 'warn' | 'bad' | 'neutral'> = {
  success: 'good',
  step_up: 'warn',
  denied: 'bad',
  failure: 'bad',
};

function Assessments({ assessments }: { assessments: Assessment[] }) {
  return (
    <Table
      caption="Recent risk assessments, newest first"
      captionHidden
      head={['Time', 'Action', 'Outcome', 'Score', 'Reasons', 'Place', 'IP address']}
      rows={assessments.length}
      empty="No assessed sign-ins yet."
    >
      {assessments.map((a) => (
        <tr key={a.id}>
          <td>
            <Time value={a.at} />
          </td>
          <td>{a.action.replace(/_/g, ' ')}</td>
          <td>
            <Badge tone={OUTCOME_TONES[a.outcome] ?? 'neutral'}>{a.outcome.replace(/_/g, ' ')}</Badge>
          </td>
          <td>{a.score}</td>
          <td>
            {a.reasons.length ? (
              <span class="reasons">
                {a.reasons.map((r) => (
                  <code key={r}>{r}</code>
                ))}
              </span>
            ) : (
              '—'
            )}
          </td>
          <td>{[a.city, a.country].filter(Boolean).join(', ') || '—'}</td>
          <td>{a.ip ?? '—'}</td>
        </tr>
      ))}
    </Table>
  );
}

/** A person's page (`/admin/people/:id`). */
export function PersonView({ params }: { params: Record<string, string> }) {
  const id = encodeURIComponent(params.id ?? '');
  const me = useAdminMe().data;
  const canReadRisk = allowed(me, 'ReadRisk');
  const person = useApi<PersonDetail>(`/api/admin/people/${id}`);
  const sessions = useApi<{ sessions: SessionRow[] }>(`/api/admin/people/${id}/sessions`);
  const devices = useApi<{ devices: Device[] }>(`/api/admin/people/${id}/devices`);
  const risk = useApi<{ assessments: Assessment[] }>(
    canReadRisk ? `/api/admin/risk/assessments?account=${id}&limit=20` : undefined,
  );
  const refresh = () => Promise.all([person.reload(), sessions.reload(), devices.reload(), risk.reload()]);
  const name = person.data ? person.data.displayName || person.data.username : undefined;
  return (
    <>
      <ViewTitle>{name ?? 'Person'}</ViewTitle>
      <p>
        <a href={consolePath('/people')}>Back to people</a>
      </p>
      <Load loaded={person} label="this person">
        {(data) => <Profile person={data} />}
      </Load>
      <Section title="Devices">
        {allowed(me, 'RevokeDevice') ? null : <p class="hint">{rolesReason(me, 'revoke devices')}</p>}
        <Load loaded={devices} label="their devices">
          {(data) => (
            <DeviceList devices={data.devices} canRevoke={allowed(me, 'RevokeDevice')} onChange={refresh} />
          )}
        </Load>
      </Section>
      <Section title="Sessions">
        {allowed(me, 'EndSession') ? null : <p class="hint">{rolesReason(me, 'end sessions')}</p>}
        <Load loaded={sessions} label="their sessions">
          {(data) => (
            <Sessions sessions={data.sessions} canEnd={allowed(me, 'EndSession')} onEnded={refresh} />
          )}
        </Load>
      </Section>
      <Section title="Recent risk assessments">
        {canReadRisk ? (
          <Load loaded={risk} label="their risk assessments">
            {(data) => <Assessments assessments={data.assessments} />}
          </Load>
        ) : (
          <p class="hint">{rolesReason(me, 'read risk assessments')}</p>
        )}
      </Section>
    </>
  );
}
