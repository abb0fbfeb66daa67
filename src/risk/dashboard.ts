/**
 * The admin console's risk dashboard: a tenant's scored attempts (`RiskAttempt`) over the last `days`
 * calendar days (UTC, today included), aggregated in the database:
 *
 *   signIns     per day, sign-ins only, by decision (allow, step up, deny) and refused factors (failure);
 *               every day of the window, zeros included
 *   decisions   every action: the same counts, the total, and the step-up and deny rates among decided
 *               attempts (failures never reached a decision)
 *   scores      decided attempts in 10 buckets of width 10 (the last one includes 100)
 *   topReasons  the 8 most frequent reason codes, each with its explanation
 *   locations   attempts by city and country where a location is known, top 200 by count
 *   totals      people, live sessions, devices in use and revoked
 *
 * Counting is `GROUP BY` throughout: Prisma `groupBy` where the column is grouped as stored (decision,
 * score, the reasons array as text, city), one raw query for the day (its expression is the only part
 * that differs between SQLite, where dates are ISO 8601 text, and PostgreSQL). Every query is scoped
 * to the tenant.
 */
import { Prisma } from '../store/generated/postgres/client.ts';
import type { Store } from '../store/index.ts';

/** Decided and failed counts. */
export interface DecisionCounts {
  allow: number;
  stepUp: number;
  deny: number;
  failure: number;
}

/** The dashboard's answer (see the module comment). */
export interface RiskDashboard {
  from: string;
  to: string;
  days: number;
  signIns: Array<{ day: string } & DecisionCounts>;
  decisions: DecisionCounts & { total: number; stepUpRate: number; denyRate: number };
  scores: Array<{ from: number; to: number; count: number }>;
  topReasons: Array<{ reason: string; label: string; count: number }>;
  locations: Array<{
    city: string | null;
    country: string;
    lat: number;
    lon: number;
    count: number;
    denied: number;
    stepUp: number;
  }>;
  totals: { people: number; activeSessions: number; devices: number; revokedDevices: number };
}

const DAY_MS = 86_400_000;
const TOP_REASONS = 8;
const TOP_LOCATIONS = 200;

const zero = (): DecisionCounts => ({ allow: 0, stepUp: 0, deny: 0, failure: 0 });

/** Adds `n` attempts with this decision and outcome to `counts` (other pairs are not counted). */
function add(counts: DecisionCounts, decision: string, outcome: string, n: number): void {
  if (decision === 'allow') counts.allow += n;
  else if (decision === 'step_up') counts.stepUp += n;
  else if (decision === 'deny') counts.deny += n;
  else if (outcome === 'failure') counts.failure += n;
}

function parseReasons(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The dashboard of `tenantId` for the `days` calendar days ending today (UTC) at `now`. `labelOf`
 * explains a reason code (signal or policy), or answers undefined to show the code itself.
 * `isPermit` says whether a reason is a policy permit: on an allowed attempt that is the rule that
 * let it through (e.g. the default `allow-operations`), not a risk reason, so it is not counted there.
 */
export async function riskDashboard(
  store: Store,
  input: {
    tenantId: string;
    days: number;
    now?: Date;
    labelOf: (reason: string) => string | undefined;
    isPermit?: (reason: string) => boolean;
  },
): Promise<RiskDashboard> {
  const { tenantId, days } = input;
  const to = input.now ?? new Date();
  const today = Date.UTC(to.getUTCFullYear(), to.getUTCMonth(), to.getUTCDate());
  const from = new Date(today - (days - 1) * DAY_MS);
  const window = { tenantId, at: { gte: from, lte: to } };
  const db = store.db;

  // Raw SQL sees the column as stored: in SQLite ISO 8601 text with an offset of +00:00 (compared as
  // text, so the bounds are written the same way), in PostgreSQL a timestamp without time zone holding
  // UTC (the bounds cast from UTC text, whatever the server's time zone).
  const postgres = store.dialect === 'postgres';
  const day = postgres ? Prisma.sql`to_char("at", 'YYYY-MM-DD')` : Prisma.sql`substr("at", 1, 10)`;
  const bound = (d: Date) =>
    postgres
      ? Prisma.sql`CAST(${d.toISOString().slice(0, 23)} AS timestamp)`
      : Prisma.sql`${d.toISOString().replace('Z', '+00:00')}`;
  const [perDay, byDecision, byScore, byReasons, byPlace, people, activeSessions, devices, revokedDevices] =
    await Promise.all([
      db.$queryRaw<Array<{ day: string; decision: string; outcome: string; n: bigint | number }>>`
        SELECT ${day} AS "day", "decision", "outcome", COUNT(*) AS "n" FROM "RiskAttempt"
        WHERE "tenantId" = ${tenantId} AND "action" = 'sign_in' AND "at" >= ${bound(from)} AND "at" <= ${bound(to)}
        GROUP BY 1, 2, 3`,
      db.riskAttempt.groupBy({ by: ['decision', 'outcome'], where: window, _count: { _all: true } }),
      db.riskAttempt.groupBy({
        by: ['score'],
        where: { ...window, decision: { not: '' } },
        _count: { _all: true },
      }),
      db.riskAttempt.groupBy({ by: ['reasons', 'decision'], where: window, _count: { _all: true } }),
      db.riskAttempt.groupBy({
        by: ['city', 'country', 'decision'],
        where: { ...window, country: { not: null }, lat: { not: null }, lon: { not: null } },
        _count: { _all: true },
        _avg: { lat: true, lon: true },
      }),
      db.account.count({ where: { tenantId } }),
      db.session.count({
        where: { tenantId, endedAt: null, idleExpiresAt: { gt: to }, absoluteExpiresAt: { gt: to } },
      }),
      db.riskDevice.count({ where: { tenantId, state: { not: 'revoked' } } }),
      db.riskDevice.count({ where: { tenantId, state: 'revoked' } }),
    ]);

  const byDay = new Map<string, DecisionCounts>();
  for (let i = 0; i < days; i++)
    byDay.set(new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10), zero());
  for (const row of perDay) {
    const counts = byDay.get(row.day);
    if (counts) add(counts, row.decision, row.outcome, Number(row.n));
  }
  const signIns = [...byDay].map(([key, counts]) => ({ day: key, ...counts }));

  const decided = zero();
  for (const row of byDecision) add(decided, row.decision, row.outcome, row._count._all);
  const decidedTotal = decided.allow + decided.stepUp + decided.deny;
  const rate = (n: number) => (decidedTotal === 0 ? 0 : n / decidedTotal);

  const scores = Array.from({ length: 10 }, (_, i) => ({
    from: i * 10,
    to: i === 9 ? 100 : i * 10 + 9,
    count: 0,
  }));
  for (const row of byScore) {
    const bucket = Math.min(9, Math.max(0, Math.floor(row.score / 10)));
    scores[bucket]!.count += row._count._all;
  }

  const reasonCounts = new Map<string, number>();
  for (const row of byReasons) {
    for (const reason of new Set(parseReasons(row.reasons))) {
      if (row.decision === 'allow' && input.isPermit?.(reason)) continue;
      reasonCounts.set(reason, (reasonCounts.get(reason) ?? 0) + row._count._all);
    }
  }
  const topReasons = [...reasonCounts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, TOP_REASONS)
    .map(([reason, count]) => ({ reason, label: input.labelOf(reason) ?? reason, count }));

  const places = new Map<string, RiskDashboard['locations'][number] & { latSum: number; lonSum: number }>();
  for (const row of byPlace) {
    const key = JSON.stringify([row.city, row.country]);
    const n = row._count._all;
    const place = places.get(key) ?? {
      city: row.city,
      country: row.country!,
      lat: 0,
      lon: 0,
      count: 0,
      denied: 0,
      stepUp: 0,
      latSum: 0,
      lonSum: 0,
    };
    place.count += n;
    place.latSum += (row._avg.lat ?? 0) * n;
    place.lonSum += (row._avg.lon ?? 0) * n;
    if (row.decision === 'deny') place.denied += n;
    if (row.decision === 'step_up') place.stepUp += n;
    places.set(key, place);
  }
  const locations = [...places.values()]
    .sort((a, b) => b.count - a.count || (a.city ?? '').localeCompare(b.city ?? ''))
    .slice(0, TOP_LOCATIONS)
    .map(({ latSum, lonSum, ...p }) => ({ ...p, lat: latSum / p.count, lon: lonSum / p.count }));

  return {
    from: from.toISOString(),
    to: to.toISOString(),
    days,
    signIns,
    decisions: {
      ...decided,
      total: decidedTotal + decided.failure,
      stepUpRate: rate(decided.stepUp),
      denyRate: rate(decided.deny),
    },
    scores,
    topReasons,
    locations,
    totals: { people, activeSessions, devices, revokedDevices },
  };
}
