/**
 * `GET /t/:tenant/api/me/activity?limit=N`: the signed-in person's recent security activity in plain
 * language, newest first (sentences from `audit/plain-language.ts`). Three sources, all of this account
 * in this tenant only:
 *
 *   - their audit events (`SecurityEvent` with their account id), each sign-in, step-up, recovery or
 *     refusal joined with its scored attempt (`RiskAttempt`: place, new device, reasons) and device label;
 *   - refused factors on their account (scored attempts with outcome `failure`: a sign-in, step-up or
 *     recovery whose key or code was refused), which the audit log records without an account if at all;
 *   - chain jobs that changed their DID.
 *
 * A sign-in the decision point held for a step-up, and the step-up that completed it, read as one line.
 */
import { z } from 'zod';
import {
  type ActivityItem,
  type AttemptFacts,
  type DescribeContext,
  describeDidOperation,
  describeEvent,
  type EventFacts,
} from '../../audit/plain-language.ts';
import { accountJobPrefix } from '../../flows/account-jobs.ts';
import type { RiskAttempt } from '../../store/generated/postgres/client.ts';
import type { Store } from '../../store/index.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface MeActivityRouteDeps {
  store: Store;
  edge: SessionEdge;
}

/** A scored attempt is the one of an event when it came at most this long before it. */
const ATTEMPT_BEFORE_MS = 2 * 60_000;
/** A step-up completes a held sign-in when it follows within this time. */
const STEP_UP_WITHIN_MS = 15 * 60_000;
/** Extra events read so that folding sign-ins into their step-ups still fills the page. */
const FOLD_SLACK = 20;

/** The activity type of a refused factor (a scored attempt with outcome `failure`), by its action. */
const FAILED: Readonly<Record<string, string>> = {
  sign_in: 'signin.failed',
  step_up: 'stepup.failed',
  recover: 'recovery.failed',
};

/** The scored attempt's action for an event type (`RiskAttempt.action`). */
function attemptActionOf(type: string): string | undefined {
  switch (type) {
    case 'signup.succeeded':
    case 'signin.succeeded':
    case 'sign_in.denied':
    case 'sign_up.denied':
      return 'sign_in';
    case 'stepup.succeeded':
    case 'step_up.denied':
      return 'step_up';
    case 'recovery.used':
    case 'recover.denied':
      return 'recover';
    case 'factor.enrol.denied':
    case 'factor.remove.denied':
    case 'session.end.denied':
      return 'sensitive_action';
    default:
      return undefined;
  }
}

function parseObject(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function reasonsOf(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

type AttemptRow = Pick<RiskAttempt, 'id' | 'action' | 'at' | 'city' | 'country' | 'reasons' | 'deviceId'>;

function factsOf(row: AttemptRow, ctx: DescribeContext): AttemptFacts {
  const reasons = reasonsOf(row.reasons);
  return {
    city: row.city,
    country: row.country,
    newDevice: reasons.includes('device.new'),
    reasons,
    device: row.deviceId ? (ctx.devices.get(row.deviceId)?.label ?? null) : null,
  };
}

const activitySchema = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        at: z.string(),
        type: z.string(),
        title: z.string(),
        detail: z.string().nullable(),
        tone: z.enum(['info', 'warn', 'danger']),
        place: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'MyActivity' });

export function meActivityRoutes(deps: MeActivityRouteDeps): Route[] {
  const { edge } = deps;
  const db = deps.store.db;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/activity',
      operationId: 'getMyActivity',
      summary: 'My recent security activity in plain language, newest first.',
      tags: ['identity'],
      params: tenantParams,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(30).meta({ description: 'Items (1-100).' }),
      }),
      responses: {
        200: { description: '`{ items }`.', schema: activitySchema },
        400: { description: 'invalid_request: `limit` is not an integer from 1 to 100.' },
        401: { description: 'No session.' },
      },
      handler: async ({ req, res, params, query }) => {
        const { account } = await edge.require(req, res, params.tenant);
        const mine = { tenantId: account.tenantId, accountId: account.id };
        const [events, failures, jobs, passkeys, devices] = await Promise.all([
          db.securityEvent.findMany({
            where: mine,
            orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
            take: query.limit + FOLD_SLACK,
            select: { id: true, type: true, detail: true, actor: true, createdAt: true },
          }),
          db.riskAttempt.findMany({
            where: { ...mine, action: { in: Object.keys(FAILED) }, outcome: 'failure' },
            orderBy: [{ at: 'desc' }, { id: 'desc' }],
            take: query.limit,
          }),
          db.chainJob.findMany({
            where: {
              tenantId: account.tenantId,
              idempotencyKey: { startsWith: accountJobPrefix(account.id) },
            },
            orderBy: { createdAt: 'desc' },
            take: query.limit,
          }),
          db.passkey.findMany({ where: mine, select: { id: true, name: true, hardwareBound: true } }),
          db.riskDevice.findMany({ where: mine, select: { id: true, label: true } }),
        ]);
        const ctx: DescribeContext = {
          passkeys: new Map(passkeys.map((p) => [p.id, p])),
          devices: new Map(devices.map((d) => [d.id, d])),
        };

        // The scored attempts of the events' period, to join each event with its own.
        const oldest = events.at(-1)?.createdAt;
        const attempts = oldest
          ? await db.riskAttempt.findMany({
              where: {
                ...mine,
                decision: { not: '' },
                at: { gte: new Date(oldest.getTime() - ATTEMPT_BEFORE_MS), lte: events[0]!.createdAt },
              },
              orderBy: { at: 'desc' },
              take: 1_000,
              select: {
                id: true,
                action: true,
                at: true,
                city: true,
                country: true,
                reasons: true,
                deviceId: true,
              },
            })
          : [];
        const used = new Set<string>();
        const facts: EventFacts[] = events.map((e) => {
          const action = attemptActionOf(e.type);
          const at = e.createdAt.getTime();
          // The latest unclaimed attempt of the same action just before the event.
          const match = action
            ? attempts.find(
                (a) =>
                  !used.has(a.id) &&
                  a.action === action &&
                  a.at.getTime() <= at &&
                  a.at.getTime() >= at - ATTEMPT_BEFORE_MS,
              )
            : undefined;
          if (match) used.add(match.id);
          return {
            id: e.id,
            type: e.type,
            at: e.createdAt,
            detail: parseObject(e.detail) ?? {},
            actor: parseObject(e.actor),
            ...(match ? { attempt: factsOf(match, ctx) } : {}),
          };
        });

        // Newest first: a step-up followed by (older) the sign-in it completed become one line.
        const shown: EventFacts[] = [];
        let stepUp: EventFacts | undefined;
        for (const event of facts) {
          if (event.type === 'stepup.succeeded') {
            stepUp = event;
          } else if (event.type === 'signin.succeeded') {
            const held = event.detail.decision === 'step_up';
            if (stepUp && held && stepUp.at.getTime() - event.at.getTime() <= STEP_UP_WITHIN_MS) {
              stepUp.completes = event.attempt ?? {
                city: null,
                country: null,
                newDevice: false,
                reasons: [],
                device: null,
              };
              stepUp = undefined;
              continue;
            }
            stepUp = undefined;
          }
          shown.push(event);
        }

        const items: ActivityItem[] = [
          ...shown.map((e) => describeEvent(e, ctx)),
          ...failures.map((a) =>
            describeEvent(
              {
                id: a.id,
                type: FAILED[a.action]!,
                at: a.at,
                detail: {},
                actor: null,
                attempt: factsOf(a, ctx),
              },
              ctx,
            ),
          ),
          ...jobs.map(describeDidOperation),
        ];
        items.sort((a, b) => b.at.localeCompare(a.at) || b.id.localeCompare(a.id));
        return { items: items.slice(0, query.limit) };
      },
    }),
  ];
}
