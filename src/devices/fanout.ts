/**
 * The revocation fan-out: after a device revocation commits, every instance hears of it over the shared
 * state's pub/sub (Redis across instances, in process otherwise) and runs its local handlers.
 *
 * What must stop at once does not depend on this: sessions, OIDC grants and tokens, passkeys and status
 * bits are database rows read on every request, uncached, so the commit itself ends them everywhere.
 * The fan-out is for per-instance state that could lag behind the database: each instance's workers
 * (the Shared Signals push, the revocation worker) wake up at once instead of at their next poll, and
 * any cache keyed by device or account registers a handler here to drop its entries.
 * Delivery is at most once: a handler must be an optimisation or a cache drop, never the only path.
 */
import type { Logger } from '../log.ts';
import type { EphemeralState } from '../state/types.ts';

/** Channel of device revocations. */
export const DEVICE_REVOKED_CHANNEL = 'devices.revoked';

export interface DeviceRevokedMessage {
  tenantId: string;
  accountId: string;
  deviceId: string;
  revocationId: string;
}

export type DeviceRevokedHandler = (message: DeviceRevokedMessage) => void;

export class DeviceFanout {
  private readonly handlers: DeviceRevokedHandler[] = [];
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(private readonly deps: { state: EphemeralState; log: Logger }) {}

  /** Registers a local handler (called on this instance for every revocation, wherever it happened). */
  on(handler: DeviceRevokedHandler): void {
    this.handlers.push(handler);
  }

  async start(): Promise<void> {
    this.unsubscribe ??= await this.deps.state.subscribe(DEVICE_REVOKED_CHANNEL, (raw) => {
      let message: DeviceRevokedMessage;
      try {
        message = JSON.parse(raw) as DeviceRevokedMessage;
      } catch {
        return;
      }
      for (const handler of this.handlers) {
        try {
          handler(message);
        } catch (err) {
          this.deps.log.warn({ err }, 'a device revocation handler failed');
        }
      }
    });
  }

  /** Tells every instance (this one included); a failure is logged, never thrown (the commit stands). */
  async publish(message: DeviceRevokedMessage): Promise<void> {
    await this.deps.state
      .publish(DEVICE_REVOKED_CHANNEL, JSON.stringify(message))
      .catch((err: unknown) => this.deps.log.warn({ err }, 'could not publish a device revocation'));
  }

  async stop(): Promise<void> {
    const off = this.unsubscribe;
    this.unsubscribe = undefined;
    await off?.();
  }
}
