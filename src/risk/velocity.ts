/**
 * Velocity counters in the shared state (so they hold across instances): sliding-window logs of
 * failures per account, per IP address and per device fingerprint, and of the distinct accounts tried
 * from one address (credential stuffing and spraying). Memory state in simulation, Redis in production.
 */
import type { EphemeralState } from '../state/types.ts';
import { VELOCITY_RETENTION_MS, type VelocityHit } from './signals/velocity.ts';
import type { VelocityCounters } from './types.ts';

/** How long hits are remembered (the longest window any velocity rule reads). */
export const VELOCITY_MEMORY_MS = VELOCITY_RETENTION_MS;

const PREFIX = 'risk:v:';

export class StateVelocity implements VelocityCounters {
  constructor(
    private readonly state: EphemeralState,
    private readonly now: () => number = Date.now,
  ) {}

  count(key: string, windowMs: number): Promise<number> {
    return this.state.countHits(PREFIX + key, windowMs, this.now());
  }

  distinct(key: string, windowMs: number): Promise<number> {
    return this.state.countHits(`${PREFIX}d:${key}`, windowMs, this.now());
  }

  /** Records hits (see `velocityHits`): counts, and members of distinct sets. */
  async record(hits: readonly VelocityHit[]): Promise<void> {
    const at = this.now();
    await Promise.all(
      hits.map(async ({ key, member }) => {
        if (member === undefined) return void (await this.state.hit(PREFIX + key, VELOCITY_MEMORY_MS, at));
        // A member counts once per memory window (e.g. one account tried from an address).
        const fresh = await this.state.setIfAbsent(`${PREFIX}seen:${key}:${member}`, '1', VELOCITY_MEMORY_MS);
        if (fresh) await this.state.hit(`${PREFIX}d:${key}`, VELOCITY_MEMORY_MS, at);
      }),
    );
  }
}
