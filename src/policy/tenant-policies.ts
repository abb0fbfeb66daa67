/**
 * Tenants' Cedar policies, versioned: a draft is validated against the schema when uploaded (refused
 * with Cedar's messages and positions), an activation makes one version the tenant's policy (the
 * previous active one retires), and a rollback re-activates the previous version. A tenant without a
 * policy uses the default one. Compiled policies are cached by content hash; the active version is
 * re-read at most every two seconds, so an activation reaches every instance that quickly.
 */
import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError, TrustgateError } from '../errors.ts';
import type { TenantPolicy } from '../store/generated/postgres/client.ts';
import { isUniqueViolation, type Store } from '../store/index.ts';
import { DEFAULT_POLICY } from './cedar/default-policy.ts';
import { type CompiledPolicy, compilePolicy, type PolicyProblem } from './cedar/engine.ts';

const ACTIVE_CACHE_MS = 2_000;

/** 400 `invalid_policy`, with Cedar's errors (message, line, column) in `errors`. */
export class InvalidPolicyError extends TrustgateError {
  constructor(errors: PolicyProblem[]) {
    super('invalid_policy', 400, 'Invalid policy', errors[0]?.message ?? 'The policy does not validate.', {
      extensions: { errors },
    });
  }
}

const hashOf = (text: string) => createHash('sha256').update(text).digest('hex');

/** Compiles `text` or throws `InvalidPolicyError`. */
export function compileOrThrow(text: string): CompiledPolicy {
  const result = compilePolicy(text);
  if (!result.ok) throw new InvalidPolicyError(result.errors);
  return result.policy;
}

export class TenantPolicies {
  private readonly compiled = new Map<string, CompiledPolicy>();
  private readonly active = new Map<
    string,
    { policy: CompiledPolicy; version: number | null; readAtMs: number }
  >();
  private readonly defaultPolicy: CompiledPolicy;

  constructor(private readonly store: Store) {
    this.defaultPolicy = compileOrThrow(DEFAULT_POLICY);
  }

  /** The tenant's active policy (the default when none is active). */
  async activeFor(tenantId: string): Promise<{ policy: CompiledPolicy; version: number | null }> {
    const hit = this.active.get(tenantId);
    if (hit && Date.now() - hit.readAtMs < ACTIVE_CACHE_MS) return hit;
    const row = await this.store.db.tenantPolicy.findFirst({ where: { tenantId, status: 'active' } });
    const entry = {
      policy: row ? this.compiledOf(row.text, row.hash) : this.defaultPolicy,
      version: row?.version ?? null,
      readAtMs: Date.now(),
    };
    this.active.set(tenantId, entry);
    return entry;
  }

  /**
   * The policy a draft names: its `text`, a stored `version`, or (neither given) the active policy.
   */
  async resolve(tenantId: string, draft: { text?: string; version?: number }): Promise<CompiledPolicy> {
    if (draft.text) return this.compile(draft.text);
    if (draft.version) return this.compile((await this.get(tenantId, draft.version)).text);
    return (await this.activeFor(tenantId)).policy;
  }

  /** Compiles a policy text (drafts and simulations), cached by hash. */
  compile(text: string): CompiledPolicy {
    return this.compiledOf(text, hashOf(text));
  }

  private compiledOf(text: string, hash: string): CompiledPolicy {
    let policy = this.compiled.get(hash);
    if (!policy) {
      policy = compileOrThrow(text);
      if (this.compiled.size > 200) this.compiled.clear();
      this.compiled.set(hash, policy);
    }
    return policy;
  }

  /** Stores a validated draft as the next version. */
  async createDraft(tenantId: string, text: string, createdBy?: string): Promise<TenantPolicy> {
    // Refused with Cedar's errors before anything is stored; kept compiled for the activation.
    this.compile(text);
    for (let attempt = 0; attempt < 3; attempt++) {
      const last = await this.store.db.tenantPolicy.findFirst({
        where: { tenantId },
        orderBy: { version: 'desc' },
      });
      try {
        return await this.store.db.tenantPolicy.create({
          data: {
            tenantId,
            version: (last?.version ?? 0) + 1,
            text,
            hash: hashOf(text),
            createdBy: createdBy ?? null,
          },
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw new ConflictError(
      'policy_conflict',
      'Another policy version was created at the same time; try again.',
    );
  }

  async list(tenantId: string): Promise<TenantPolicy[]> {
    return this.store.db.tenantPolicy.findMany({
      where: { tenantId },
      orderBy: { version: 'desc' },
      take: 100,
    });
  }

  async get(tenantId: string, version: number): Promise<TenantPolicy> {
    const row = await this.store.db.tenantPolicy.findUnique({
      where: { tenantId_version: { tenantId, version } },
    });
    if (!row) throw new NotFoundError('No such policy version.');
    return row;
  }

  /** Makes `version` the tenant's policy; the previous active version retires. */
  async activate(tenantId: string, version: number): Promise<TenantPolicy> {
    const row = await this.get(tenantId, version);
    this.compile(row.text);
    const activated = await this.store.tx(async (tx) => {
      await tx.tenantPolicy.updateMany({
        where: { tenantId, status: 'active' },
        data: { status: 'retired' },
      });
      return tx.tenantPolicy.update({
        where: { id: row.id },
        data: { status: 'active', activatedAt: new Date() },
      });
    });
    this.active.delete(tenantId);
    return activated;
  }

  /** Re-activates the most recently activated version before the current one (or the default). */
  async rollback(tenantId: string): Promise<TenantPolicy | null> {
    const current = await this.store.db.tenantPolicy.findFirst({ where: { tenantId, status: 'active' } });
    if (!current)
      throw new ConflictError(
        'no_active_policy',
        'The tenant uses the default policy: nothing to roll back.',
      );
    const previous = await this.store.db.tenantPolicy.findFirst({
      where: { tenantId, status: 'retired', activatedAt: { not: null }, version: { not: current.version } },
      orderBy: { activatedAt: 'desc' },
    });
    if (previous) return this.activate(tenantId, previous.version);
    await this.store.db.tenantPolicy.update({ where: { id: current.id }, data: { status: 'retired' } });
    this.active.delete(tenantId);
    return null;
  }
}
