/**
 * The risk engine: runs every registered signal on an attempt and the person's history, and scores
 * what they found. The table below is the one place signals are registered: adding a signal is one
 * file under `signals/` and one line here. A signal that throws is skipped with the reason `error`
 * (it never lowers risk, and never takes sign-in down).
 */

import type { AsnLookup } from './geo/asn.ts';
import type { GeoLookup } from './geo/geolocation.ts';
import { usernamePhrase } from './keystroke/features.ts';
import { classifyAddress } from './net/address.ts';
import type { CidrMatcher } from './net/cidr-list.ts';
import { type Assessment, type RiskWeights, score } from './scorer.ts';
import { deviceSignal } from './signals/device.ts';
import { geolocationSignal } from './signals/geolocation.ts';
import { impossibleTravelSignal } from './signals/impossible-travel.ts';
import { networkSignal } from './signals/network.ts';
import { timeOfDaySignal } from './signals/time-of-day.ts';
import { typingRhythm } from './signals/typing-rhythm.ts';
import { velocitySignal } from './signals/velocity.ts';
import type {
  AssessmentContext,
  Contribution,
  PersonHistory,
  RiskAttempt,
  Signal,
  Skip,
  VelocityCounters,
} from './types.ts';

/** The data the signals consult (each optional: a missing service makes its signal skip). */
export interface RiskServices {
  geo?: GeoLookup;
  asn?: AsnLookup;
  deny?: readonly CidrMatcher[];
  allow?: readonly CidrMatcher[];
  /** Speed above which travel is impossible (km/h). */
  maxSpeedKmh?: number;
}

/** Every signal, in the order their contributions are shown. */
export function signalTable(services: RiskServices): Signal[] {
  // biome-ignore format: the registry reads as a table
  return [
    deviceSignal,
    { name: 'geo',     evaluate: (c) => withGeo(services, 'geo', (geo) => geolocationSignal(c.attempt, { history: c.history.attempts, geo })) },
    { name: 'travel',  evaluate: (c) => travelOf(services, c) },
    { name: 'network', evaluate: (c) => networkSignal(c.attempt, { ...(services.asn ? { asn: services.asn } : {}), deny: services.deny ?? [], allow: services.allow ?? [] }) },
    velocitySignal,
    timeOfDaySignal,
    { name: 'typing',  evaluate: typingOf },
  ];
}

function withGeo(
  services: RiskServices,
  signal: string,
  run: (geo: GeoLookup) => Contribution[] | Skip,
): Contribution[] | Skip {
  return services.geo ? run(services.geo) : { signal, skipped: 'not_configured' };
}

/**
 * Travel is not judged from hosting networks: a VPN's exit says nothing about where the person is
 * (the network signal scores the hosting network itself).
 */
function travelOf(services: RiskServices, c: AssessmentContext): Contribution[] | Skip {
  if (c.network?.hosting) return { signal: 'travel', skipped: 'hosting_network' };
  return withGeo(services, 'travel', (geo) =>
    impossibleTravelSignal(
      c.attempt,
      { history: c.history.attempts, geo },
      { ...(services.maxSpeedKmh ? { maxSpeedKmh: services.maxSpeedKmh } : {}) },
    ),
  );
}

function typingOf(c: AssessmentContext): Contribution[] | Skip {
  if (!c.history.username) return { signal: 'typing', skipped: 'no_phrase' };
  const model = c.history.typing.model as Parameters<typeof typingRhythm>[1]['model'];
  const result = typingRhythm(
    c.attempt,
    { model, samples: c.history.typing.samples },
    { phrase: usernamePhrase(c.history.username) },
  );
  return 'skipped' in result ? result : [result];
}

export class RiskEngine {
  readonly signals: Signal[];

  constructor(
    private readonly services: RiskServices,
    signals?: Signal[],
  ) {
    this.signals = signals ?? signalTable(services);
  }

  /** Assesses `attempt` against `history`, scoring with the tenant's `weights`. */
  async assess(
    attempt: RiskAttempt,
    history: PersonHistory,
    velocity: VelocityCounters,
    weights: RiskWeights = {},
  ): Promise<Assessment & { context: Pick<AssessmentContext, 'geo' | 'network'> }> {
    const ctx: AssessmentContext = { attempt, history, velocity, ...this.derive(attempt.ip) };
    const contributions: Contribution[] = [];
    const skipped: Skip[] = [];
    const results = await Promise.all(
      this.signals.map(async (signal) => {
        try {
          return await signal.evaluate(ctx);
        } catch {
          return { signal: signal.name, skipped: 'error' } satisfies Skip;
        }
      }),
    );
    for (const result of results) {
      if (Array.isArray(result)) contributions.push(...result);
      else skipped.push(result);
    }
    return {
      ...score(contributions, skipped, weights),
      context: { ...(ctx.geo ? { geo: ctx.geo } : {}), ...(ctx.network ? { network: ctx.network } : {}) },
    };
  }

  /** Facts of the address, looked up once: location and network. */
  private derive(ip: string | undefined): Pick<AssessmentContext, 'geo' | 'network'> {
    if (!ip) return {};
    const address = classifyAddress(ip);
    if (address.kind !== 'public') return {};
    const geo = this.services.geo?.lookup(address.address);
    const asn = this.services.asn?.lookup(address.address);
    const denied = (this.services.deny ?? []).some((l) => l.match(address.address) !== undefined);
    const allowed = (this.services.allow ?? []).some((l) => l.match(address.address) !== undefined);
    return {
      ...(geo ? { geo } : {}),
      network: {
        ...(asn ? { asn: asn.asn, org: asn.org } : {}),
        hosting: asn?.hosting ?? false,
        denied,
        allowed,
      },
    };
  }
}
