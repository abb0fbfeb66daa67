import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_FAILURE_WINDOW_MS,
  assessVelocity,
  FINGERPRINT_FAILURE_WINDOW_MS,
  IP_FAILURE_WINDOW_MS,
  ipBucket,
  SPRAYING_WINDOW_MS,
  STUFFING_WINDOW_MS,
  scaledPoints,
  VELOCITY_POINTS,
  VELOCITY_RETENTION_MS,
  velocityHits,
  velocityKeys,
  velocitySignal,
} from '../../src/risk/signals/velocity.ts';
import type {
  AssessmentContext,
  Contribution,
  RiskAttempt,
  Skip,
  VelocityCounters,
} from '../../src/risk/types.ts';

const MIN = 60_000;
const THUMB = 'f'.repeat(32);
const fingerprint = { thumbmark: THUMB, components: { canvas: 'ab' } };

/** Counters answering from a table keyed by `key@windowMs`; every read is logged. */
class FakeCounters implements VelocityCounters {
  readonly reads: string[] = [];
  private readonly table = new Map<string, number>();

  set(key: string, windowMs: number, value: number): this {
    this.table.set(`${key}@${windowMs}`, value);
    return this;
  }

  async count(key: string, windowMs: number): Promise<number> {
    this.reads.push(`count ${key}@${windowMs}`);
    return this.table.get(`${key}@${windowMs}`) ?? 0;
  }

  async distinct(key: string, windowMs: number): Promise<number> {
    this.reads.push(`distinct ${key}@${windowMs}`);
    return this.table.get(`${key}@${windowMs}`) ?? 0;
  }
}

const attempt: Pick<RiskAttempt, 'personKey' | 'ip' | 'fingerprint'> = {
  personKey: 'acct-1',
  ip: '203.0.113.7',
  fingerprint,
};
const accountKey = 'fail:account:acct-1';
const ipKey = 'fail:ip:203.0.113.7';
const fpKey = `fail:fp:${THUMB}`;
const accountsKey = 'accounts:ip:203.0.113.7';

const isSkip = (r: Contribution[] | Skip): r is Skip => 'skipped' in r;
const found = async (counters: VelocityCounters, a = attempt) => {
  const result = await assessVelocity(a, counters);
  if (isSkip(result)) throw new Error(`skipped: ${result.skipped}`);
  return result;
};
const pointsOf = (list: Contribution[], reason: string) => list.find((c) => c.reason === reason)?.points;

describe('velocity keys and windows are shared with the engine', () => {
  it('builds the documented keys', () => {
    expect(velocityKeys.accountFailures('acct-1')).toBe(accountKey);
    expect(velocityKeys.ipFailures('203.0.113.7')).toBe(ipKey);
    expect(velocityKeys.fingerprintFailures(THUMB)).toBe(fpKey);
    expect(velocityKeys.accountsFromIp('203.0.113.7')).toBe(accountsKey);
  });

  it('exports the windows: 15 min for failures, 1 h for stuffing, 24 h for spraying', () => {
    expect([ACCOUNT_FAILURE_WINDOW_MS, IP_FAILURE_WINDOW_MS, FINGERPRINT_FAILURE_WINDOW_MS]).toEqual([
      15 * MIN,
      15 * MIN,
      15 * MIN,
    ]);
    expect(STUFFING_WINDOW_MS).toBe(60 * MIN);
    expect(SPRAYING_WINDOW_MS).toBe(24 * 60 * MIN);
    expect(VELOCITY_RETENTION_MS).toBe(SPRAYING_WINDOW_MS);
  });

  it('counts IPv6 per /64 and IPv4-mapped addresses as IPv4', () => {
    expect(ipBucket('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(ipBucket('2001:db8:1:2::1')).toBe(ipBucket('2001:db8:1:2:ffff::9'));
    expect(ipBucket('2001:db8:1:3::1')).not.toBe(ipBucket('2001:db8:1:2::1'));
    expect(ipBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(ipBucket(' 203.0.113.7 ')).toBe('203.0.113.7');
    expect(ipBucket('not-an-ip')).toBe('not-an-ip');
  });

  it('lists the hits to record: the account under the address always, failures only on failure', () => {
    expect(velocityHits(attempt, 'success')).toEqual([{ key: accountsKey, member: 'acct-1' }]);
    expect(velocityHits(attempt, 'failure')).toEqual([
      { key: accountsKey, member: 'acct-1' },
      { key: accountKey },
      { key: ipKey },
      { key: fpKey },
    ]);
    expect(velocityHits({ ip: '203.0.113.7', fingerprint: 'junk' }, 'failure')).toEqual([{ key: ipKey }]);
  });

  it('scales points from the base at the threshold, per extra count, up to the cap', () => {
    const scale = { threshold: 3, base: 30, perExtra: 10, max: 70 };
    expect(scaledPoints(2, scale)).toBeUndefined();
    expect(scaledPoints(3, scale)).toBe(30);
    expect(scaledPoints(5, scale)).toBe(50);
    expect(scaledPoints(1000, scale)).toBe(70);
    expect(scaledPoints(Number.NaN, scale)).toBeUndefined();
  });
});

describe('velocity.account_failures: 3 or more failures on the account in 15 min', () => {
  it.each([
    [0, undefined],
    [2, undefined],
    [3, 30],
    [4, 40],
    [7, 70],
    [500, 70],
  ])('%i failures → %s points', async (failures, points) => {
    const counters = new FakeCounters().set(accountKey, ACCOUNT_FAILURE_WINDOW_MS, failures);
    const list = await found(counters);
    expect(pointsOf(list, 'velocity.account_failures')).toBe(points);
  });

  it('explains itself with the count and the window', async () => {
    const list = await found(new FakeCounters().set(accountKey, ACCOUNT_FAILURE_WINDOW_MS, 3));
    expect(list).toEqual([
      {
        signal: 'velocity',
        reason: 'velocity.account_failures',
        points: VELOCITY_POINTS.accountFailures.base,
        evidence: { failures: 3, windowMinutes: 15 },
      },
    ]);
  });

  it('reads failures within 15 min only (an older burst does not count)', async () => {
    const counters = new FakeCounters().set(accountKey, 60 * MIN, 50);
    expect(await found(counters)).toEqual([]);
  });
});

describe('velocity.ip_failures: 10 or more failures from the address in 15 min', () => {
  it.each([
    [9, undefined],
    [10, 20],
    [15, 30],
    [1000, 60],
  ])('%i failures → %s points', async (failures, points) => {
    const list = await found(new FakeCounters().set(ipKey, IP_FAILURE_WINDOW_MS, failures));
    expect(pointsOf(list, 'velocity.ip_failures')).toBe(points);
  });

  it('names the address bucket in the evidence', async () => {
    const list = await found(new FakeCounters().set(ipKey, IP_FAILURE_WINDOW_MS, 10));
    expect(list[0]?.evidence).toEqual({ ip: '203.0.113.7', failures: 10, windowMinutes: 15 });
  });
});

describe('velocity.fingerprint_failures: 5 or more failures from one device fingerprint in 15 min', () => {
  it.each([
    [4, undefined],
    [5, 30],
    [6, 35],
    [100, 70],
  ])('%i failures → %s points', async (failures, points) => {
    const list = await found(new FakeCounters().set(fpKey, FINGERPRINT_FAILURE_WINDOW_MS, failures));
    expect(pointsOf(list, 'velocity.fingerprint_failures')).toBe(points);
  });

  it('does not read a fingerprint counter for a missing or malformed fingerprint', async () => {
    for (const fp of [undefined, 'junk', { thumbmark: 'nope', components: {} }]) {
      const counters = new FakeCounters();
      await found(counters, { ...attempt, fingerprint: fp });
      expect(counters.reads.some((r) => r.includes('fail:fp:'))).toBe(false);
    }
  });
});

describe('velocity.stuffing: 5 or more accounts from one address in 1 h, with failures', () => {
  const stuffing = (accounts: number, failures: number) =>
    new FakeCounters()
      .set(accountsKey, STUFFING_WINDOW_MS, accounts)
      .set(ipKey, STUFFING_WINDOW_MS, failures)
      .set(accountsKey, SPRAYING_WINDOW_MS, accounts)
      .set(ipKey, SPRAYING_WINDOW_MS, failures);

  it.each([
    [4, 4, undefined],
    [5, 5, 40],
    [5, 3, 40],
    [8, 8, 55],
    [50, 50, 80],
  ])('%i accounts with %i failures → %s points', async (accounts, failures, points) => {
    const list = await found(stuffing(accounts, failures));
    expect(pointsOf(list, 'velocity.stuffing')).toBe(points);
  });

  it('spares a busy shared address where many sign in and few fail (an office NAT)', async () => {
    const list = await found(stuffing(40, 3));
    expect(list).toEqual([]);
  });

  it('explains itself with accounts, failures and the window', async () => {
    const list = await found(stuffing(6, 6));
    expect(list).toEqual([
      {
        signal: 'velocity',
        reason: 'velocity.stuffing',
        points: 45,
        evidence: { ip: '203.0.113.7', accounts: 6, failures: 6, windowMinutes: 60 },
      },
    ]);
  });
});

describe('velocity.spraying: many accounts from one address in 24 h, few failures each', () => {
  const day = (accounts: number, failures: number) =>
    new FakeCounters()
      .set(accountsKey, SPRAYING_WINDOW_MS, accounts)
      .set(ipKey, SPRAYING_WINDOW_MS, failures);

  it.each([
    [19, 19, undefined],
    [20, 20, 30],
    [25, 60, 35],
    [100, 150, 60],
  ])('%i accounts with %i failures → %s points', async (accounts, failures, points) => {
    const list = await found(day(accounts, failures));
    expect(pointsOf(list, 'velocity.spraying')).toBe(points);
  });

  it('is not spraying when each account takes many guesses, or few accounts fail', async () => {
    expect(await found(day(30, 200))).toEqual([]);
    expect(await found(day(30, 5))).toEqual([]);
  });

  it('is not reported twice: a burst that is stuffing is not also spraying', async () => {
    const counters = day(30, 30).set(accountsKey, STUFFING_WINDOW_MS, 30).set(ipKey, STUFFING_WINDOW_MS, 30);
    const list = await found(counters);
    expect(list.map((c) => c.reason)).toEqual(['velocity.stuffing']);
  });
});

describe('velocity: rules combine, and missing inputs or counters never lower risk', () => {
  it('reports every rule that fires', async () => {
    const counters = new FakeCounters()
      .set(accountKey, ACCOUNT_FAILURE_WINDOW_MS, 3)
      .set(ipKey, IP_FAILURE_WINDOW_MS, 12)
      .set(fpKey, FINGERPRINT_FAILURE_WINDOW_MS, 5)
      .set(accountsKey, STUFFING_WINDOW_MS, 5)
      .set(ipKey, STUFFING_WINDOW_MS, 12);
    const list = await found(counters);
    expect(list.map((c) => c.reason)).toEqual([
      'velocity.account_failures',
      'velocity.ip_failures',
      'velocity.fingerprint_failures',
      'velocity.stuffing',
    ]);
  });

  it('reads nothing and finds nothing without account, address or fingerprint', async () => {
    const counters = new FakeCounters();
    expect(await assessVelocity({}, counters)).toEqual([]);
    expect(counters.reads).toEqual([]);
  });

  it('skips no_counters only when there are no counters', async () => {
    expect(await assessVelocity(attempt, undefined)).toEqual({ signal: 'velocity', skipped: 'no_counters' });
  });

  it('skips counters_unavailable when the counters fail (sync or async), without throwing', async () => {
    const rejecting: VelocityCounters = {
      count: () => Promise.reject(new Error('redis down')),
      distinct: async () => 0,
    };
    const throwing: VelocityCounters = {
      count: () => {
        throw new Error('redis down');
      },
      distinct: async () => 0,
    };
    for (const counters of [rejecting, throwing]) {
      expect(await assessVelocity(attempt, counters)).toEqual({
        signal: 'velocity',
        skipped: 'counters_unavailable',
      });
    }
  });

  it('reads nonsense counts (negative, NaN, strings) as zero', async () => {
    const weird: VelocityCounters = {
      count: async () => Number.NaN,
      distinct: async () => '99' as unknown as number,
    };
    expect(await assessVelocity(attempt, weird)).toEqual([]);
    const negative: VelocityCounters = { count: async () => -5, distinct: async () => -5 };
    expect(await assessVelocity(attempt, negative)).toEqual([]);
  });

  it('takes per-rule overrides of thresholds and points', async () => {
    const counters = new FakeCounters().set(accountKey, ACCOUNT_FAILURE_WINDOW_MS, 2);
    const result = await assessVelocity(attempt, counters, {
      points: { accountFailures: { threshold: 2, base: 50 } },
    });
    expect(result).toMatchObject([{ reason: 'velocity.account_failures', points: 50 }]);
  });

  it('runs as the registered signal on ctx.velocity', async () => {
    const counters = new FakeCounters().set(accountKey, ACCOUNT_FAILURE_WINDOW_MS, 3);
    const ctx: AssessmentContext = {
      attempt: { tenantId: 't', action: 'sign_in', at: 0, ...attempt },
      history: { attempts: [], devices: [], typing: { model: null, samples: 0 } },
      velocity: counters,
    };
    expect(velocitySignal.name).toBe('velocity');
    expect(await velocitySignal.evaluate(ctx)).toMatchObject([{ reason: 'velocity.account_failures' }]);
    const none = { ...ctx, velocity: undefined as unknown as VelocityCounters };
    expect(await velocitySignal.evaluate(none)).toEqual({ signal: 'velocity', skipped: 'no_counters' });
  });
});
