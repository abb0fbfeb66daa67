/**
 * Revocation reaches apps. When a Trustgate session lineage ends (sign-out, a factor change, recovery,
 * a suspected clone, a revoked device, a timeout), in the same transaction:
 *   - every grant made in it is deleted with its codes, access and refresh tokens (refresh fails,
 *     introspection answers `active: false`, userinfo refuses the token);
 *   - the provider's session for that browser is deleted (no silent SSO from it);
 *   - its links are marked for back-channel logout.
 * The `LogoutDelivery` worker then sends each client its logout token (OpenID Connect Back-Channel
 * Logout 1.0), retrying with backoff; the marks are rows, so a crash or another instance picks them up.
 */
import type { Logger } from '../log.ts';
import type { EndedSession } from '../sessions/sessions.ts';
import type { Store, Tx } from '../store/index.ts';
import { PollingWorker } from '../util/polling-worker.ts';
import { revokeGrant } from './adapter.ts';
import type { TenantProviders } from './provider.ts';

/** Ends the OIDC side of ended Trustgate sessions (a `Sessions.onEnd` listener). */
export async function revokeGrantsOfEndedSessions(tx: Tx, ended: EndedSession[]): Promise<number> {
  const lineages = [...new Set(ended.map((s) => s.lineage))];
  const links = await tx.oidcLink.findMany({ where: { lineage: { in: lineages }, revokedAt: null } });
  const nowMs = Date.now();
  for (const link of links) {
    await revokeGrant(tx, link.tenantId, link.grantId);
    await tx.oidcPayload.deleteMany({
      where: { tenantId: link.tenantId, model: 'Session', uid: link.sessionUid },
    });
  }
  if (links.length > 0) {
    await tx.oidcLink.updateMany({
      where: { id: { in: links.map((l) => l.id) }, revokedAt: null },
      data: { revokedAt: new Date(nowMs), logoutPending: true, nextAttemptAt: new Date(nowMs) },
    });
  }
  return links.length;
}

/** Attempts before a logout token is given up (about a day of backoff). */
const MAX_ATTEMPTS = 12;
const BATCH = 20;

export class LogoutDelivery {
  constructor(
    private readonly deps: {
      store: Store;
      providers: TenantProviders;
      log: Logger;
      pollMs?: number;
    },
  ) {
    this.worker = new PollingWorker(() => this.round(), {
      pollMs: deps.pollMs ?? 2000,
      log: deps.log,
      name: 'back-channel logout',
    });
  }

  private readonly worker: PollingWorker;

  start(): void {
    this.worker.start();
  }

  /** Runs a round soon (new work was committed here or announced by another instance). */
  kick(): void {
    this.worker.kick();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  /** One round: claims due deliveries (a compare-and-set on `nextAttemptAt`) and sends them. */
  async round(): Promise<number> {
    const db = this.deps.store.db;
    const now = new Date();
    const due = await db.oidcLink.findMany({
      where: { logoutPending: true, nextAttemptAt: { lte: now } },
      orderBy: { nextAttemptAt: 'asc' },
      take: BATCH,
    });
    let sent = 0;
    for (const link of due) {
      const backoffMs = Math.min(2 ** link.logoutAttempts * 5_000, 3_600_000);
      const claimed = await db.oidcLink.updateMany({
        where: { id: link.id, logoutPending: true, nextAttemptAt: link.nextAttemptAt },
        data: { nextAttemptAt: new Date(Date.now() + backoffMs), logoutAttempts: { increment: 1 } },
      });
      if (claimed.count !== 1) continue;
      try {
        const { provider } = await this.deps.providers.byTenantId(link.tenantId);
        const client = (await provider.Client.find(link.clientId)) as
          | { backchannelLogoutUri?: string; backchannelLogout(sub: string, sid: string): Promise<void> }
          | undefined;
        if (client?.backchannelLogoutUri) {
          await client.backchannelLogout(link.accountId, link.sid ?? '');
          sent++;
        }
        await db.oidcLink.update({
          where: { id: link.id },
          data: { logoutPending: false, logoutError: null },
        });
      } catch (err) {
        const message = describeDeliveryError(err);
        const giveUp = link.logoutAttempts + 1 >= MAX_ATTEMPTS;
        await db.oidcLink.update({
          where: { id: link.id },
          data: { logoutError: message, ...(giveUp ? { logoutPending: false } : {}) },
        });
        this.deps.log.warn(
          { clientId: link.clientId, attempts: link.logoutAttempts + 1, giveUp, message },
          'back-channel logout failed',
        );
      }
    }
    return sent;
  }
}

/**
 * Why a delivery failed, for the link row and the log: the message with its causes (fetch reports
 * only "fetch failed"; the refused address or the timeout is in `cause`).
 */
export function describeDeliveryError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return (parts.join(': ') || String(err)).slice(0, 500);
}
