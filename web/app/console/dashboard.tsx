/**
 * The console's dashboard: the tenant's sign-ins over a chosen window (7, 14, 30 or 90 days) from
 * `GET /api/admin/dashboard?days=N`: summary tiles, sign-ins per day by outcome, the step-up and deny
 * rates, the risk score distribution, the most frequent risk reasons and a map of where people signed
 * in from. Each chart has its numbers in a table as well.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useApi } from '../lib/api.ts';
import { HorizontalBarChart, percent, RateChart, StackedBarChart } from '../lib/charts.tsx';
import { Field, Load, Section, ViewTitle } from '../lib/ui.tsx';
import { type MapLocation, WorldMap } from '../lib/world-map.tsx';
import './console.css';

/** Sign-ins of one day, by outcome. */
interface DaySignIns {
  day: string;
  allow: number;
  stepUp: number;
  deny: number;
  failure: number;
}

/** What `GET /api/admin/dashboard` answers. */
export interface Dashboard {
  from: string;
  to: string;
  days: number;
  signIns: DaySignIns[];
  decisions: {
    allow: number;
    stepUp: number;
    deny: number;
    failure: number;
    total: number;
    stepUpRate: number;
    denyRate: number;
  };
  scores: Array<{ from: number; to: number; count: number }>;
  topReasons: Array<{ reason: string; label: string; count: number }>;
  locations: MapLocation[];
  totals: { people: number; activeSessions: number; devices: number; revokedDevices: number };
}

/** The windows the selector offers, in days. */
export const WINDOWS = [7, 14, 30, 90] as const;
const DEFAULT_WINDOW = 30;

function windowFromUrl(): number {
  const days = Number(new URLSearchParams(location.search).get('days'));
  return (WINDOWS as readonly number[]).includes(days) ? days : DEFAULT_WINDOW;
}

const dayDate = (day: string) => new Date(`${day}T00:00:00Z`);
const shortDay = (day: string) =>
  dayDate(day).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
const longDay = (day: string) =>
  dayDate(day).toLocaleDateString(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  });

/** Sign-ins of a day that reached a decision (a refused factor never does). */
const decided = (d: DaySignIns) => d.allow + d.stepUp + d.deny;

const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

function Tile(props: { id: string; label: string; value: ComponentChildren; hint?: string }) {
  return (
    <div class="tile" id={props.id}>
      <dt>{props.label}</dt>
      <dd>
        <span class="tile-value">{props.value}</span>
        {props.hint ? <span class="tile-hint">{props.hint}</span> : null}
      </dd>
    </div>
  );
}

function Tiles({ data }: { data: Dashboard }) {
  const { decisions, totals } = data;
  return (
    <dl class="tiles">
      <Tile
        id="tile-sign-ins"
        label="Sign-ins"
        value={decisions.total.toLocaleString()}
        hint={`Every assessed attempt (sign-in, step-up, recovery); ${count(decisions.failure, 'failed factor')}`}
      />
      <Tile
        id="tile-step-up-rate"
        label="Step-up rate"
        value={percent(decisions.stepUpRate)}
        hint={`${count(decisions.stepUp, 'decided attempt')} asked for more proof`}
      />
      <Tile
        id="tile-deny-rate"
        label="Deny rate"
        value={percent(decisions.denyRate)}
        hint={`${count(decisions.deny, 'decided attempt')} refused`}
      />
      <Tile
        id="tile-active-sessions"
        label="Active sessions"
        value={totals.activeSessions.toLocaleString()}
        hint={`${count(totals.people, 'person', 'people')}; ${count(totals.devices, 'device')} in use, ${totals.revokedDevices.toLocaleString()} revoked`}
      />
    </dl>
  );
}

function Charts({ data }: { data: Dashboard }) {
  const { decisions } = data;
  // The days shown, first to last (`to` is the window's exclusive end).
  const first = data.signIns[0]?.day ?? data.from.slice(0, 10);
  const last = data.signIns.at(-1)?.day ?? first;
  const period = `from ${longDay(first)} to ${longDay(last)}`;
  const labels = data.signIns.map((d) => shortDay(d.day));
  const rowNames = data.signIns.map((d) => longDay(d.day));
  const rate = (pick: (d: DaySignIns) => number) =>
    data.signIns.map((d) => (decided(d) === 0 ? 0 : pick(d) / decided(d)));
  const sum = (pick: (d: DaySignIns) => number) => data.signIns.reduce((n, d) => n + pick(d), 0);
  const signIns = {
    allow: sum((d) => d.allow),
    stepUp: sum((d) => d.stepUp),
    deny: sum((d) => d.deny),
    failure: sum((d) => d.failure),
  };
  const scored = data.scores.reduce((sum, b) => sum + b.count, 0);
  const busiest = data.scores.reduce<(typeof data.scores)[number] | undefined>(
    (best, b) => (b.count > (best?.count ?? 0) ? b : best),
    undefined,
  );
  const places = data.locations.filter((l) => Number.isFinite(l.lat) && Number.isFinite(l.lon));
  return (
    <>
      <Section title="Sign-ins per day">
        <StackedBarChart
          title="Sign-ins per day by outcome"
          description={
            `${count(signIns.allow + signIns.stepUp + signIns.deny + signIns.failure, 'sign-in')} ${period}: ` +
            `${signIns.allow} allowed, ${signIns.stepUp} allowed after a step-up, ${signIns.deny} denied, ` +
            `${signIns.failure} failed (a factor was refused).`
          }
          labels={labels}
          rowNames={rowNames}
          firstColumn="Day"
          tableCaption="Sign-ins per day by outcome"
          series={[
            { label: 'Allowed', tone: 'allow', values: data.signIns.map((d) => d.allow) },
            { label: 'Stepped up', tone: 'step-up', values: data.signIns.map((d) => d.stepUp) },
            { label: 'Denied', tone: 'deny', values: data.signIns.map((d) => d.deny) },
            { label: 'Failed', tone: 'failure', values: data.signIns.map((d) => d.failure) },
          ]}
        />
      </Section>
      <Section title="Step-up and deny rates">
        <RateChart
          title="Step-up and deny rates per day"
          description={
            `Share of each day’s decided sign-ins that had to step up or were denied, ${period}. Over the ` +
            `whole window, of every decided attempt: ${percent(decisions.stepUpRate)} stepped up, ` +
            `${percent(decisions.denyRate)} denied.`
          }
          labels={labels}
          rowNames={rowNames}
          firstColumn="Day"
          tableCaption="Step-up and deny rates per day"
          series={[
            {
              label: 'Step-up rate',
              tone: 'step-up',
              marker: 'dashed-square',
              values: rate((d) => d.stepUp),
            },
            { label: 'Deny rate', tone: 'deny', marker: 'solid-circle', values: rate((d) => d.deny) },
          ]}
        />
      </Section>
      <Section title="Risk scores">
        <StackedBarChart
          title="Risk score distribution"
          description={
            `Risk scores of ${count(scored, 'decided attempt')} in ${data.scores.length} bands from 0 to 100` +
            (busiest ? `; the most are in ${busiest.from}–${busiest.to} (${busiest.count}).` : '.')
          }
          labels={data.scores.map((b) => `${b.from}–${b.to}`)}
          firstColumn="Score"
          tableCaption="Decided attempts by risk score"
          series={[{ label: 'Attempts', tone: 'neutral', values: data.scores.map((b) => b.count) }]}
        />
      </Section>
      <Section title="Top risk reasons">
        <HorizontalBarChart
          title="Most frequent risk reasons"
          description={
            data.topReasons.length === 0
              ? `No sign-in gave a risk reason ${period}.`
              : `The reasons the risk engine gave most often ${period}: ` +
                data.topReasons.map((r) => `${r.label} (${r.count})`).join(', ') +
                '.'
          }
          items={data.topReasons.map((r) => ({ label: r.label || r.reason, value: r.count }))}
          tableCaption="Risk reasons by number of attempts"
          head={['Reason', 'Attempts']}
          empty="No risk reasons in this window."
        />
      </Section>
      <Section title="Where people signed in from">
        <WorldMap
          title="Map of sign-in locations"
          description={
            places.length === 0
              ? `No sign-in with a known location ${period}.`
              : `Attempts from ${count(places.length, 'place')} ${period}, the most from ` +
                `${[...places].sort((a, b) => b.count - a.count)[0]?.city ?? 'an unknown city'}.`
          }
          locations={places}
        />
      </Section>
    </>
  );
}

/** The dashboard view (`/admin`). */
export function DashboardView() {
  const [days, setDays] = useState(windowFromUrl);
  const loaded = useApi<Dashboard>(`/api/admin/dashboard?days=${days}`);
  const choose = (value: number) => {
    setDays(value);
    history.replaceState(null, '', `${location.pathname}?days=${value}`);
  };
  return (
    <>
      <ViewTitle>Dashboard</ViewTitle>
      <form class="dashboard-window" onSubmit={(event) => event.preventDefault()}>
        <Field label="Time window" id="dashboard-days" hint="Sign-ins and risk in the last days, up to now.">
          <select
            id="dashboard-days"
            aria-describedby="dashboard-days-hint"
            value={String(days)}
            onChange={(event) => choose(Number((event.target as HTMLSelectElement).value))}
          >
            {WINDOWS.map((d) => (
              <option key={d} value={String(d)}>
                Last {d} days
              </option>
            ))}
          </select>
        </Field>
      </form>
      <Load loaded={loaded} label="the dashboard">
        {(data) => (
          <div aria-busy={loaded.loading ? 'true' : undefined}>
            <Tiles data={data} />
            <Charts data={data} />
          </div>
        )}
      </Load>
    </>
  );
}
