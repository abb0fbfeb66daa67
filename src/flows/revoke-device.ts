/**
 * Revoke a device: everything that trusted it stops trusting it. One flow, idempotent and resumable:
 * a `DeviceRevocation` row records each step's status, a re-run skips what is done, and a worker on
 * any instance resumes revocations left `running` (a crash, a restart, a delegate not yet mined).
 *
 *   contain: ONE transaction with the revocation row (all of it or none of it)
 *     mark_revoked         the device's trust state becomes `revoked`
 *     disable_passkeys     the passkeys registered from it are disabled
 *     end_sessions         sessions opened on it or with its passkeys end; the session end listeners
 *                          revoke their OIDC grants and tokens and queue back-channel logout, in this
 *                          same transaction
 *     revoke_credentials   the passkeys' DeviceBindingCredentials are revoked in the status list
 *   then, each recorded as it completes:
 *     verify_oidc_grants   no live grant or token is left in the ended sessions (revoked here if one is)
 *     revoke_delegate      the device's DID delegate is revoked on chain through the outbox; `pending`
 *                          until the job is mined, then `done` once the registry reads it invalid
 *     push_signals         CAEP session-revoked and credential-change SETs queued for every stream
 *     audit                the outcome is recorded once every other step is final
 *
 * Every instance sees the effect at once: sessions, grants, tokens, passkeys and status bits are rows
 * read on every request, uncached. The fan-out (devices.revoked) wakes the other instances' workers.
 */
import { getAddress } from 'ethers';
import { recordEvent } from '../audit/events.ts';
import { validDelegateTypes } from '../devices/delegates.ts';
import type { DeviceFanout } from '../devices/fanout.ts';
import { DeviceRegistry, type DeviceScope } from '../devices/registry.ts';
import { ConflictError, InvalidRequestError, NotFoundError, ServiceUnavailableError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { revokeGrant } from '../oidc/adapter.ts';
import { revokeGrantsOfEndedSessions } from '../oidc/revocation.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { DeviceSignals } from '../ssf/device-signals.ts';
import type { InitiatingEntity } from '../ssf/events.ts';
import type { EphemeralState } from '../state/types.ts';
import type { DeviceRevocation, RiskDevice } from '../store/generated/postgres/client.ts';
import type { Store, Tx } from '../store/index.ts';
import type { AccountFlowDeps } from './account-jobs.ts';
import { accountJobPrefix, chainRead } from './account-jobs.ts';
import { runDidOperation } from './did-operation.ts';

/** The steps, in the order they run and are shown. */
export const REVOCATION_STEPS = [
  'mark_revoked',
  'disable_passkeys',
  'end_sessions',
  'revoke_credentials',
  'verify_oidc_grants',
  'revoke_delegate',
  'push_signals',
  'audit',
] as const;
export type RevocationStepName = (typeof REVOCATION_STEPS)[number];

/** `pending` (not run, or waiting for the chain), `done`, `skipped` (nothing to do), `failed` (final). */
export type StepStatus = 'pending' | 'done' | 'skipped' | 'failed';
export interface StepRecord {
  status: StepStatus;
  at: string;
  detail?: Record<string, unknown>;
}
type Steps = Partial<Record<RevocationStepName, StepRecord>>;

/** Who asked: the person (their own device) or an admin. */
export type RevocationActor = { kind: 'person' | 'admin'; id: string };

/** Why the ending of a session is recorded as this. */
export const DEVICE_REVOKED_REASON = 'device_revoked';
/** The crash a test injects after a step (see `RunOptions.crashAfter`). */
export class SimulatedCrash extends Error {}

const FINAL: ReadonlySet<StepStatus> = new Set(['done', 'skipped', 'failed']);
/** A running revocation untouched this long is the worker's to resume. */
const LEASE_MS = 2_000;
const LOCK_TTL_MS = 30_000;
/** Delegate revocation jobs tried before the step fails. */
const MAX_DELEGATE_JOBS = 3;

/** What the follow-up steps work with. */
interface RevocationContext {
  revocation: DeviceRevocation;
  device: RiskDevice;
  steps: Steps;
  initiator: InitiatingEntity;
}

/** A step outcome. */
type Outcome = Omit<StepRecord, 'at'>;
type ContainStep = (deps: RevokeDeviceDeps, tx: Tx, ctx: RevocationContext) => Promise<Outcome>;
type FollowStep = (deps: RevokeDeviceDeps, ctx: RevocationContext) => Promise<Outcome>;

export interface RevokeDeviceDeps {
  store: Store;
  state: EphemeralState;
  sessions: Sessions;
  log: Logger;
  /** Revokes DeviceBindingCredentials (absent: the step is skipped). */
  credentials?: { revokeForPasskey(tenantId: string, passkeyId: string, tx?: Tx): Promise<number> };
  /** The chain side (absent: a device with a delegate fails that step). */
  chain?: AccountFlowDeps;
  /** Shared Signals (absent: skipped). */
  signals?: DeviceSignals;
  fanout?: DeviceFanout;
}

export interface RunOptions {
  /** Tests: throw SimulatedCrash right after this step (inside the transaction for contain steps). */
  crashAfter?: RevocationStepName;
}

// ---- The steps ----

const markRevoked: ContainStep = async (_deps, tx, { device }) => {
  const r = await tx.riskDevice.updateMany({
    where: { id: device.id, state: { not: 'revoked' } },
    data: { state: 'revoked', revokedAt: new Date() },
  });
  return { status: 'done', detail: { changed: r.count === 1 } };
};

const disablePasskeys: ContainStep = async (_deps, tx, { device }) => {
  const passkeys = await tx.passkey.findMany({
    where: { tenantId: device.tenantId, accountId: device.accountId, deviceId: device.id },
    select: { id: true },
  });
  const ids = passkeys.map((p) => p.id);
  if (ids.length === 0) return { status: 'skipped', detail: { passkeyIds: [] } };
  await tx.passkey.updateMany({ where: { id: { in: ids } }, data: { status: 'disabled' } });
  return { status: 'done', detail: { passkeyIds: ids } };
};

const endSessions: ContainStep = async (deps, tx, ctx) => {
  const { device } = ctx;
  const passkeyIds = passkeyIdsOf(ctx);
  const live = await tx.session.findMany({
    where: {
      tenantId: device.tenantId,
      accountId: device.accountId,
      endedAt: null,
      OR: [{ deviceId: device.id }, ...(passkeyIds.length > 0 ? [{ passkeyId: { in: passkeyIds } }] : [])],
    },
    select: { lineage: true },
  });
  let ended = await deps.sessions.endForDevice(device.id, DEVICE_REVOKED_REASON, tx);
  for (const id of passkeyIds) ended += await deps.sessions.endForPasskey(id, DEVICE_REVOKED_REASON, tx);
  const lineages = [...new Set(live.map((s) => s.lineage))];
  return { status: ended > 0 ? 'done' : 'skipped', detail: { ended, lineages } };
};

const revokeCredentials: ContainStep = async (deps, tx, ctx) => {
  if (!deps.credentials) return { status: 'skipped', detail: { reason: 'no_issuer' } };
  let revoked = 0;
  for (const id of passkeyIdsOf(ctx)) {
    revoked += await deps.credentials.revokeForPasskey(ctx.device.tenantId, id, tx);
  }
  return { status: revoked > 0 ? 'done' : 'skipped', detail: { revoked } };
};

const verifyOidcGrants: FollowStep = async (deps, ctx) =>
  deps.store.tx(async (tx) => {
    const lineages = lineagesOf(ctx);
    if (lineages.length === 0) return { status: 'skipped', detail: { links: 0 } };
    const tenantId = ctx.device.tenantId;
    // The end listener revoked them in the contain transaction; anything still live is revoked here.
    const live = await tx.oidcLink.findMany({
      where: { tenantId, lineage: { in: lineages }, revokedAt: null },
    });
    const relinked =
      live.length === 0
        ? 0
        : await revokeGrantsOfEndedSessions(
            tx,
            live.map((l) => ({
              id: l.id,
              tenantId,
              accountId: l.accountId,
              lineage: l.lineage,
              reason: DEVICE_REVOKED_REASON,
            })),
          );
    const links = await tx.oidcLink.findMany({
      where: { tenantId, lineage: { in: lineages } },
      select: { grantId: true },
    });
    const grantIds = [...new Set(links.map((l) => l.grantId))];
    // Any grant, code or token still stored for those grants goes too.
    const tokens =
      grantIds.length === 0
        ? 0
        : await tx.oidcPayload.count({ where: { tenantId, grantId: { in: grantIds } } });
    if (tokens > 0) for (const grantId of grantIds) await revokeGrant(tx, tenantId, grantId);
    return {
      status: 'done',
      detail: {
        links: links.length,
        revokedByListener: live.length === 0 && tokens === 0,
        revokedHere: relinked + tokens,
      },
    };
  });

const revokeDelegate: FollowStep = async (deps, ctx) => {
  const { device, revocation } = ctx;
  if (!device.delegateAddress) return { status: 'skipped', detail: { reason: 'no_delegate' } };
  const delegate = getAddress(device.delegateAddress);
  if (!deps.chain) return { status: 'failed', detail: { delegate, error: 'no chain connection' } };
  const chain = deps.chain;
  const account = await chain.accounts.get(device.tenantId, device.accountId);
  if (account.status !== 'active')
    return { status: 'skipped', detail: { delegate, reason: 'did_deactivated' } };
  const prefix = `${accountJobPrefix(account.id)}op:device-revocation:${revocation.id}:`;
  const jobs = await deps.store.db.chainJob.findMany({
    where: { idempotencyKey: { startsWith: prefix } },
    orderBy: { createdAt: 'asc' },
    select: { id: true, status: true, txHash: true, lastError: true },
  });
  const detail = { delegate, jobs: jobs.map((j) => ({ id: j.id, status: j.status, txHash: j.txHash })) };
  // The status API shows `pending` until the chain job is mined.
  if (jobs.some((j) => j.status === 'pending' || j.status === 'sent')) return { status: 'pending', detail };
  try {
    const valid = await chainRead(() => validDelegateTypes(chain.chain, account.address, delegate));
    if (valid.length === 0) return { status: 'done', detail };
    if (jobs.filter((j) => j.status === 'failed').length >= MAX_DELEGATE_JOBS) {
      return { status: 'failed', detail: { ...detail, error: jobs.at(-1)?.lastError ?? 'chain job failed' } };
    }
    // One delegate type per job: each meta-transaction is signed for the owner's current nonce.
    const job = await runDidOperation(chain, account, {
      operation: 'revokeDelegate',
      args: { delegateType: valid[0], delegate },
      idempotencyKey: `device-revocation:${revocation.id}:${valid[0]}#${jobs.length + 1}`,
    });
    return {
      status: 'pending',
      detail: { ...detail, jobs: [...detail.jobs, { id: job.id, status: job.status, txHash: job.txHash }] },
    };
  } catch (err) {
    // Another change of the DID in flight, or the chain down: try again on the next round.
    if (err instanceof ConflictError || err instanceof ServiceUnavailableError) {
      return { status: 'pending', detail: { ...detail, waiting: err.code } };
    }
    // A self-custody DID: only its owner can sign the revocation.
    if (err instanceof InvalidRequestError) {
      return { status: 'failed', detail: { ...detail, error: 'owner_signature_required' } };
    }
    throw err;
  }
};

const pushSignals: FollowStep = async (deps, ctx) => {
  if (!deps.signals) return { status: 'skipped', detail: { reason: 'no_streams' } };
  const { device, revocation } = ctx;
  const passkeyIds = passkeyIdsOf(ctx);
  const passkeys = await deps.store.db.passkey.findMany({
    where: { tenantId: device.tenantId, id: { in: passkeyIds } },
    select: { id: true, name: true, aaguid: true, transports: true },
  });
  const sent = await deps.signals.forDeviceRevocation({
    tenantId: device.tenantId,
    accountId: device.accountId,
    revocationId: revocation.id,
    initiator: ctx.initiator,
    reason: revocation.reason,
    lineages: lineagesOf(ctx),
    passkeys,
    atMs: revocation.createdAt.getTime(),
  });
  return {
    status: sent.jtis.length > 0 ? 'done' : 'skipped',
    detail: { streams: sent.streams, jtis: sent.jtis },
  };
};

// biome-ignore format: the pipeline reads as a table
const CONTAIN: ReadonlyArray<readonly [RevocationStepName, ContainStep]> = [
  ['mark_revoked',        markRevoked],
  ['disable_passkeys',    disablePasskeys],
  ['end_sessions',        endSessions],
  ['revoke_credentials',  revokeCredentials],
];
// biome-ignore format: the pipeline reads as a table
const FOLLOW: ReadonlyArray<readonly [RevocationStepName, FollowStep]> = [
  ['verify_oidc_grants',  verifyOidcGrants],
  ['revoke_delegate',     revokeDelegate],
  ['push_signals',        pushSignals],
];

function passkeyIdsOf(ctx: RevocationContext): string[] {
  return (ctx.steps.disable_passkeys?.detail?.passkeyIds as string[] | undefined) ?? [];
}

function lineagesOf(ctx: RevocationContext): string[] {
  return (ctx.steps.end_sessions?.detail?.lineages as string[] | undefined) ?? [];
}

const record = (outcome: Outcome): StepRecord => ({ ...outcome, at: new Date().toISOString() });

// ---- The status view ----

export interface RevocationView {
  id: string;
  tenantId: string;
  accountId: string;
  deviceId: string;
  status: string;
  reason: string | null;
  requestedBy: RevocationActor;
  createdAt: string;
  completedAt: string | null;
  steps: Array<{ name: RevocationStepName } & StepRecord>;
  /** The pushed SETs and how far each got. */
  deliveries: Array<{
    jti: string;
    streamId: string;
    status: string;
    attempts: number;
    lastError: string | null;
  }>;
}

// ---- The flow ----

export class DeviceRevocations {
  readonly registry: DeviceRegistry;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private urgent = false;
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(private readonly deps: RevokeDeviceDeps & { pollMs?: number }) {
    this.registry = new DeviceRegistry(deps.store);
  }

  /**
   * Revokes device `deviceId` in `scope` (a person: their own devices only; an admin: the tenant's),
   * or continues the revocation already made for it. 404 for a device out of scope.
   */
  async revoke(
    scope: DeviceScope,
    deviceId: string,
    input: { actor: RevocationActor; reason?: string },
    options: RunOptions = {},
  ): Promise<RevocationView> {
    const device = await this.registry.find(scope, deviceId);
    const existing = await this.deps.store.db.deviceRevocation.findFirst({
      where: { tenantId: device.tenantId, deviceId: device.id },
      orderBy: { createdAt: 'desc' },
    });
    if (existing?.status === 'failed') await this.retryFailed(existing);
    const id = existing?.id ?? (await this.contain(device, input, options));
    return this.run(id, options);
  }

  /** A failed revocation asked for again: its failed steps run anew (the done ones stay done). */
  private async retryFailed(row: DeviceRevocation): Promise<void> {
    const steps = JSON.parse(row.steps) as Steps;
    for (const name of REVOCATION_STEPS)
      if (steps[name]?.status === 'failed' || name === 'audit') delete steps[name];
    await this.deps.store.db.deviceRevocation.updateMany({
      where: { id: row.id, status: 'failed' },
      data: { status: 'running', completedAt: null, steps: JSON.stringify(steps) },
    });
  }

  /** The revocation's status with each step, in scope (404 otherwise: another tenant's, another person's). */
  async status(scope: DeviceScope, id: string): Promise<RevocationView> {
    const row = await this.deps.store.db.deviceRevocation.findFirst({
      where: { id, tenantId: scope.tenantId, ...(scope.accountId ? { accountId: scope.accountId } : {}) },
    });
    if (!row) throw new NotFoundError('No such revocation.');
    return this.view(row);
  }

  /** Whether session `id` (a token hash) has ended, e.g. because it was on the revoked device. */
  async sessionEnded(id: string): Promise<boolean> {
    const row = await this.deps.store.db.session.findUnique({ where: { id }, select: { endedAt: true } });
    return !row || row.endedAt !== null;
  }

  /** Runs the steps not yet final of revocation `id` (a re-run skips the rest). */
  async run(id: string, options: RunOptions = {}): Promise<RevocationView> {
    const db = this.deps.store.db;
    // One runner per revocation across instances; a second caller just reads the status.
    const lock = `device-revocation:${id}`;
    const held = await this.deps.state.setIfAbsent(lock, '1', LOCK_TTL_MS);
    try {
      if (held) await this.advance(id, options);
    } finally {
      if (held) await this.deps.state.delete(lock);
    }
    return this.view(await db.deviceRevocation.findUniqueOrThrow({ where: { id } }));
  }

  /** The contain transaction: the revocation row and the steps that must happen together. */
  private async contain(
    device: RiskDevice,
    input: { actor: RevocationActor; reason?: string },
    options: RunOptions,
  ): Promise<string> {
    const { store } = this.deps;
    const created = await store.tx(async (tx) => {
      // Two revocations of one device at once: the row lock orders them and the second finds the first.
      if (store.dialect === 'postgres') {
        await tx.$queryRaw`SELECT "id" FROM "RiskDevice" WHERE "id" = ${device.id} FOR UPDATE`;
      }
      const other = await tx.deviceRevocation.findFirst({
        where: { tenantId: device.tenantId, deviceId: device.id },
        select: { id: true },
      });
      if (other) return { id: other.id, fresh: false };
      const revocation = await tx.deviceRevocation.create({
        data: {
          tenantId: device.tenantId,
          accountId: device.accountId,
          deviceId: device.id,
          requestedBy: JSON.stringify(input.actor),
          reason: input.reason ?? null,
        },
      });
      const ctx: RevocationContext = { revocation, device, steps: {}, initiator: initiatorOf(input.actor) };
      for (const [name, step] of CONTAIN) {
        ctx.steps[name] = record(await step(this.deps, tx, ctx));
        if (options.crashAfter === name) throw new SimulatedCrash(`crash after ${name}`);
      }
      await tx.deviceRevocation.update({
        where: { id: revocation.id },
        data: { steps: JSON.stringify(ctx.steps) },
      });
      await recordEvent(tx, {
        tenantId: device.tenantId,
        accountId: device.accountId,
        type: 'device.revoked',
        actor: input.actor,
        detail: {
          deviceId: device.id,
          revocationId: revocation.id,
          ...(input.reason ? { reason: input.reason } : {}),
          passkeyIds: passkeyIdsOf(ctx),
          endedSessions: ctx.steps.end_sessions?.detail?.ended ?? 0,
          revokedCredentials: ctx.steps.revoke_credentials?.detail?.revoked ?? 0,
        },
      });
      return { id: revocation.id, fresh: true };
    });
    if (created.fresh) {
      await this.deps.fanout?.publish({
        tenantId: device.tenantId,
        accountId: device.accountId,
        deviceId: device.id,
        revocationId: created.id,
      });
    }
    return created.id;
  }

  /** Runs every step not yet final, recording each; the last records the outcome. */
  private async advance(id: string, options: RunOptions): Promise<void> {
    const db = this.deps.store.db;
    const revocation = await db.deviceRevocation.findUniqueOrThrow({ where: { id } });
    if (revocation.status !== 'running') return;
    const device = await db.riskDevice.findUniqueOrThrow({ where: { id: revocation.deviceId } });
    const ctx: RevocationContext = {
      revocation,
      device,
      steps: JSON.parse(revocation.steps) as Steps,
      initiator: initiatorOf(JSON.parse(revocation.requestedBy) as RevocationActor),
    };
    // A row whose contain steps are missing (written before a crash mid-way): run them now, together.
    if (CONTAIN.some(([name]) => !FINAL.has(ctx.steps[name]?.status ?? 'pending'))) {
      await this.deps.store.tx(async (tx) => {
        for (const [name, step] of CONTAIN) {
          if (!FINAL.has(ctx.steps[name]?.status ?? 'pending'))
            ctx.steps[name] = record(await step(this.deps, tx, ctx));
        }
        await tx.deviceRevocation.update({ where: { id }, data: { steps: JSON.stringify(ctx.steps) } });
      });
    }
    for (const [name, step] of FOLLOW) {
      if (FINAL.has(ctx.steps[name]?.status ?? 'pending')) continue;
      let outcome: Outcome;
      try {
        outcome = await step(this.deps, ctx);
      } catch (err) {
        // Unexpected (database, signing): left pending, the worker tries again.
        this.deps.log.warn(
          { err, revocationId: id, step: name },
          'device revocation step failed; will retry',
        );
        outcome = { status: 'pending', detail: { ...ctx.steps[name]?.detail, error: describe(err) } };
      }
      ctx.steps[name] = record(outcome);
      await db.deviceRevocation.update({ where: { id }, data: { steps: JSON.stringify(ctx.steps) } });
      if (options.crashAfter === name) throw new SimulatedCrash(`crash after ${name}`);
    }
    const others = REVOCATION_STEPS.filter((s) => s !== 'audit');
    if (!others.every((s) => FINAL.has(ctx.steps[s]?.status ?? 'pending'))) return;
    const failed = others.filter((s) => ctx.steps[s]?.status === 'failed');
    const status = failed.length > 0 ? 'failed' : 'completed';
    ctx.steps.audit = record({ status: 'done', detail: { outcome: status } });
    await this.deps.store.tx(async (tx) => {
      // Compare-and-set: of two runners finishing at once, one records the outcome.
      const done = await tx.deviceRevocation.updateMany({
        where: { id, status: 'running' },
        data: { status, steps: JSON.stringify(ctx.steps), completedAt: new Date() },
      });
      if (done.count !== 1) return;
      await recordEvent(tx, {
        tenantId: revocation.tenantId,
        accountId: revocation.accountId,
        type: status === 'completed' ? 'device.revocation_completed' : 'device.revocation_failed',
        actor: { kind: 'system' },
        detail: {
          deviceId: revocation.deviceId,
          revocationId: id,
          steps: Object.fromEntries(others.map((s) => [s, ctx.steps[s]?.status])),
          ...(failed.length > 0 ? { failed } : {}),
        },
      });
    });
  }

  private async view(row: DeviceRevocation): Promise<RevocationView> {
    const steps = JSON.parse(row.steps) as Steps;
    const jtis = (steps.push_signals?.detail?.jtis as string[] | undefined) ?? [];
    const deliveries =
      jtis.length === 0
        ? []
        : await this.deps.store.db.ssfDelivery.findMany({
            where: { tenantId: row.tenantId, jti: { in: jtis } },
            select: { jti: true, streamId: true, status: true, attempts: true, lastError: true },
            orderBy: { createdAt: 'asc' },
          });
    return {
      id: row.id,
      tenantId: row.tenantId,
      accountId: row.accountId,
      deviceId: row.deviceId,
      status: row.status,
      reason: row.reason,
      requestedBy: JSON.parse(row.requestedBy) as RevocationActor,
      createdAt: row.createdAt.toISOString(),
      completedAt: row.completedAt?.toISOString() ?? null,
      steps: REVOCATION_STEPS.map((name) => {
        const { detail, ...rest } = steps[name] ?? {
          status: 'pending' as const,
          at: row.createdAt.toISOString(),
        };
        // SET ids are listed under `deliveries`; the step shows how many.
        const shown =
          name === 'push_signals' && detail ? { ...detail, jtis: undefined, sets: jtis.length } : detail;
        return { name, ...rest, ...(shown ? { detail: shown } : {}) };
      }),
      deliveries,
    };
  }

  // ---- The worker: resumes running revocations on any instance ----

  /** Starts the worker: it resumes `running` revocations, woken by chain job changes and the fan-out. */
  async start(): Promise<void> {
    this.stopped = false;
    // A mined delegate job completes its revocation at once, whichever instance mined it.
    this.unsubscribe = await this.deps.state
      .subscribe('chain.jobs', (msg) => {
        if (/"status":"(confirmed|failed)"/.test(msg)) this.kick(50, true);
      })
      .catch(() => undefined);
    this.deps.fanout?.on(() => this.kick(LEASE_MS));
    this.schedule(0);
  }

  /**
   * Runs a round after `delayMs`. `now`: a chain job just settled, so revocations waiting for it are
   * taken without waiting out the lease (the per-revocation lock still keeps runners apart).
   */
  kick(delayMs = 0, now = false): void {
    if (now) this.urgent = true;
    if (!this.stopped) this.schedule(delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.running) return this.schedule(100);
      const leaseMs = this.urgent ? 0 : LEASE_MS;
      this.urgent = false;
      this.running = this.resumeRunning({ leaseMs })
        .then(() => undefined)
        .catch((err) => this.deps.log.warn({ err }, 'device revocation round failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.deps.pollMs ?? 1_000);
        });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * One round: every `running` revocation not touched within the lease is claimed (compare-and-set on
   * `updatedAt`) and advanced. Answers how many were advanced.
   */
  async resumeRunning(options: { leaseMs?: number } = {}): Promise<number> {
    const db = this.deps.store.db;
    const before = new Date(Date.now() - (options.leaseMs ?? LEASE_MS));
    const due = await db.deviceRevocation.findMany({
      where: { status: 'running', updatedAt: { lte: before } },
      orderBy: { updatedAt: 'asc' },
      take: 20,
    });
    let advanced = 0;
    for (const row of due) {
      const claimed = await db.deviceRevocation.updateMany({
        where: { id: row.id, status: 'running', updatedAt: row.updatedAt },
        data: { updatedAt: new Date() },
      });
      if (claimed.count !== 1) continue;
      await this.run(row.id).catch((err: unknown) =>
        this.deps.log.warn({ err, revocationId: row.id }, 'resuming a device revocation failed'),
      );
      advanced++;
    }
    return advanced;
  }
}

function initiatorOf(actor: RevocationActor): InitiatingEntity {
  return actor.kind === 'admin' ? 'admin' : 'user';
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}
