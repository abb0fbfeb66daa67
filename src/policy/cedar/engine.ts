/**
 * A tenant's Cedar policy as a decision: allow, step up, or deny, each with the ids of the policies
 * that determined it.
 *
 * Cedar answers permit or deny, so the three-way decision is a short, ordered run of queries on one
 * principal, resource and context:
 *
 *   1. the operation (`Action::"SignIn"`, …): a forbid that applies → deny (its ids are the reasons);
 *      no permit → deny `no_permit`;
 *   2. `Action::"RequirePhrh"`, then `"RequirePhr"`, then `"RequireMfa"`: the first one permitted whose
 *      requirement the session does not already meet → step up (`maxAgeS` from the permits'
 *      `@max_age("…")`, the smallest wins, else the compile-time default);
 *   3. otherwise → allow (reasons: the operation's permits).
 *
 * A check is skipped without asking Cedar when no policy can permit it, or when the session already
 * meets it with the strictest `@max_age` any of its permits carries: the answer could not change the
 * outcome. A policy that fails at evaluation (Cedar skips it) is read as applying when that is
 * stricter: a failed forbid denies, a failed step-up permit asks for its step-up.
 *
 * `compilePolicy` parses and validates against the schema (`schema.ts`) and reports Cedar's messages
 * with line and column. Policies are named by `@id("…")`, else `policy<N>` (N counts from 0 in source
 * order, as Cedar does); `@reason("…")` is kept for display. The only state is the wasm module's cache
 * of pre-parsed policy sets, keyed by content hash, so compiling the same text twice shares one entry.
 */
import { createHash } from 'node:crypto';
import type {
  AuthorizationAnswer,
  CedarValueJson,
  DetailedError,
  EntityJson,
  EntityUidJson,
  PolicyJson,
  Response,
} from '@cedar-policy/cedar-wasm/nodejs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { TrustgateError } from '../../errors.ts';
import { type AssuranceRequirement, meets } from '../../factors/assurance.ts';
import type { Decision } from '../decision.ts';
import {
  type PersonInput,
  type PolicyContext,
  personEntity,
  type ResourceInput,
  resourceEntity,
} from './context.ts';
import {
  ACTION_GROUPS,
  OPERATIONS,
  type Operation,
  POLICY_SCHEMA,
  POLICY_SCHEMA_VERSION,
  STEP_UPS,
  type StepUpAction,
} from './schema.ts';

/** A problem Cedar (or the engine) found in a policy text; positions are 1-based, in UTF-16 units. */
export interface PolicyProblem {
  message: string;
  /** Cedar's hint, e.g. "did you mean `geo`?". */
  help?: string;
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  /** The policy it is in, when known (`@id` or `policy<N>`). */
  policyId?: string;
}

/** One policy of a compiled set, for display and explanations. */
export interface PolicyInfo {
  id: string;
  effect: 'permit' | 'forbid';
  /** Its `@reason("…")` annotation. */
  reason?: string;
  /** Its `@max_age("…")` annotation, in seconds. */
  maxAgeS?: number;
  /** Line where the policy (with its annotations) starts. */
  line: number;
}

/** What `decide` needs: the operation, who, on what, and the context from `buildContext`. */
export interface DecideInput {
  action: Operation;
  person: PersonInput;
  resource: ResourceInput;
  context: PolicyContext;
}

/** A validated policy set, ready to decide. */
export interface CompiledPolicy {
  /** Content hash of the schema version and the policies (stable across processes). */
  readonly hash: string;
  /** The policies by id, in source order. */
  readonly policies: ReadonlyMap<string, PolicyInfo>;
  /** Cedar's validation warnings (e.g. a policy that can never apply). */
  readonly warnings: readonly PolicyProblem[];
  decide(input: DecideInput): Decision;
}

/** Options of `compilePolicy`. */
export interface CompileOptions {
  /** `maxAgeS` of a step-up whose permits carry no `@max_age`. Default: none (no freshness asked). */
  defaultMaxAgeS?: number;
  /**
   * Check every request against the schema before evaluating it (about 1.8x slower). Off by default:
   * the policies are validated at compile time and `context.ts` builds requests of the schema's shape
   * (its tests prove it with this on); a policy that still met an ill-typed value fails to evaluate
   * and is read as applying where that is stricter.
   */
  validateRequests?: boolean;
}

/** `compilePolicy`'s answer: a policy, or every error found (with positions where Cedar gave them). */
export type CompileResult =
  | { ok: true; policy: CompiledPolicy; warnings: PolicyProblem[] }
  | { ok: false; errors: PolicyProblem[] };

/** 500 `policy_error`: Cedar refused a request the engine built (a bug, never a client's mistake). */
export class PolicyEvaluationError extends TrustgateError {
  constructor(detail: string) {
    super('policy_error', 500, 'Policy evaluation failed', detail);
  }
}

/** Reason of a deny when no policy permits the operation. */
export const NO_PERMIT = 'no_permit';

/** Prefix of a reason naming a policy that failed at evaluation and was read as applying. */
export const POLICY_ERROR_PREFIX = 'policy_error:';

/** Largest policy text accepted (UTF-8 bytes). */
export const MAX_POLICY_BYTES = 256 * 1024;

/** Longest `@max_age` accepted: 30 days. */
const MAX_AGE_LIMIT_S = 30 * 86_400;

interface ParsedPolicy extends PolicyInfo {
  text: string;
  /** Offset of `text` in the source (UTF-16 units). */
  offset: number;
  /** Actions its scope can match. */
  actions: ReadonlySet<string>;
}

/**
 * Parses and validates a tenant's policy text against the Trustgate schema. Nothing is cached in the
 * wasm module until the returned policy first decides.
 */
export function compilePolicy(text: string, options: CompileOptions = {}): CompileResult {
  const { defaultMaxAgeS } = options;
  if (defaultMaxAgeS !== undefined && !(Number.isInteger(defaultMaxAgeS) && defaultMaxAgeS >= 0)) {
    throw new RangeError('defaultMaxAgeS must be a whole number of seconds');
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) {
    return { ok: false, errors: [{ message: `a policy may be at most ${MAX_POLICY_BYTES / 1024} KiB` }] };
  }
  const split = splitPolicies(text);
  if (!split.ok) return split;
  const parsed: ParsedPolicy[] = [];
  const errors: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  const byId = new Map<string, ParsedPolicy>();
  for (const [i, part] of split.parts.entries()) {
    const json = cedar.policyToJson(part.text);
    if (json.type === 'failure') {
      errors.push(...json.errors.map((e) => problem(e, text, part.text, part.offset)));
      continue;
    }
    const policy = describe(json.json, `policy${i}`, part, text, errors, warnings);
    if (byId.has(policy.id)) {
      errors.push({
        message: `duplicate policy id \`${policy.id}\``,
        policyId: policy.id,
        ...at(text, part.offset),
      });
      continue;
    }
    byId.set(policy.id, policy);
    parsed.push(policy);
  }

  // Validate even when annotations were wrong, so that one upload reports every problem.
  const staticPolicies = Object.fromEntries(parsed.map((p) => [p.id, p.text]));
  const validation = cedar.validate({ schema: POLICY_SCHEMA, policies: { staticPolicies } });
  if (validation.type === 'failure') {
    return {
      ok: false,
      errors: sortByPosition([...errors, ...validation.errors.map((e) => problem(e, text))]),
    };
  }
  const located = (policyId: string, e: DetailedError): PolicyProblem => {
    const p = byId.get(policyId);
    return { ...problem(e, text, p?.text, p?.offset), policyId };
  };
  errors.push(...once(validation.validationErrors.map((v) => located(v.policyId, v.error))));
  if (errors.length > 0) return { ok: false, errors: sortByPosition(errors) };
  warnings.push(...once(validation.validationWarnings.map((v) => located(v.policyId, v.error))));
  for (const w of validation.otherWarnings) warnings.push(problem(w, text));
  if (!parsed.some((p) => p.effect === 'permit' && OPERATIONS.some((o) => p.actions.has(o)))) {
    warnings.push({ message: 'no policy permits any operation: every request will be denied' });
  }
  const policy = new CedarPolicy(parsed, staticPolicies, options, sortByPosition(warnings));
  return { ok: true, policy, warnings: [...policy.warnings] };
}

const OPERATION_SET: ReadonlySet<string> = new Set(OPERATIONS);

const GROUPS: Readonly<Record<string, readonly string[]>> = {
  [ACTION_GROUPS.operations]: OPERATIONS,
  [ACTION_GROUPS.stepUps]: STEP_UPS.map((s) => s.action),
};

class CedarPolicy implements CompiledPolicy {
  readonly hash: string;
  readonly policies: ReadonlyMap<string, PolicyInfo>;
  readonly warnings: readonly PolicyProblem[];
  readonly #staticPolicies: Record<string, string>;
  readonly #effects: ReadonlyMap<string, 'permit' | 'forbid'>;
  readonly #maxAges: ReadonlyMap<string, number>;
  /**
   * Per step-up check: whether any permit can match it, and the strictest freshness any of them can
   * ask (the requirement with it, met by a session, cannot lead to a step-up).
   */
  readonly #stepUps: ReadonlyArray<{
    action: StepUpAction;
    requirement: AssuranceRequirement;
    reachable: boolean;
    strictest: AssuranceRequirement;
  }>;
  readonly #defaultMaxAgeS: number | undefined;
  readonly #validateRequests: boolean;
  #prepared = false;

  constructor(
    parsed: readonly ParsedPolicy[],
    staticPolicies: Record<string, string>,
    options: CompileOptions,
    warnings: PolicyProblem[],
  ) {
    this.#staticPolicies = staticPolicies;
    this.hash = createHash('sha256')
      .update(JSON.stringify([POLICY_SCHEMA_VERSION, Object.entries(staticPolicies)]))
      .digest('base64url');
    this.policies = new Map(
      parsed.map(({ id, effect, reason, maxAgeS, line }) => [id, { id, effect, reason, maxAgeS, line }]),
    );
    this.warnings = warnings;
    this.#effects = new Map(parsed.map((p) => [p.id, p.effect]));
    this.#maxAges = new Map(parsed.flatMap((p) => (p.maxAgeS === undefined ? [] : [[p.id, p.maxAgeS]])));
    this.#defaultMaxAgeS = options.defaultMaxAgeS;
    this.#validateRequests = options.validateRequests === true;
    this.#stepUps = STEP_UPS.map(({ action, requirement }) => {
      const permits = parsed.filter((p) => p.effect === 'permit' && p.actions.has(action));
      const ages = permits.flatMap((p) => p.maxAgeS ?? options.defaultMaxAgeS ?? []);
      const strictest = ages.length > 0 ? { ...requirement, maxAgeS: Math.min(...ages) } : requirement;
      return { action, requirement, reachable: permits.length > 0, strictest };
    });
  }

  decide(input: DecideInput): Decision {
    if (!OPERATION_SET.has(input.action)) {
      throw new PolicyEvaluationError(`unknown operation ${JSON.stringify(input.action)}`);
    }
    const { context } = input;
    const request = {
      principal: { type: 'Person', id: input.person.id },
      resource: resourceUid(input.resource),
      context: { operation: { __entity: { type: 'Operation', id: input.action } }, ...context.record },
      entities: [personEntity(input.person), resourceEntity(input.resource)],
    };

    const operation = this.#ask(input.action, request);
    const forbids = operation.diagnostics.reason.filter((id) => this.#effects.get(id) === 'forbid');
    const failedForbids = this.#failed(operation, 'forbid');
    if (operation.decision === 'deny' || failedForbids.length > 0) {
      const reasons = [...forbids, ...failedForbids];
      return { outcome: 'deny', reasons: reasons.length > 0 ? reasons : [NO_PERMIT] };
    }

    for (const check of this.#stepUps) {
      if (!check.reachable) continue;
      if (meets(context.assurance, context.authTimeMs ?? -Infinity, check.strictest, context.nowMs)) continue;
      const answer = this.#ask(check.action, request);
      // A permit that failed to evaluate might have asked for this step-up: ask for it.
      const failedPermits = this.#failed(answer, 'permit');
      if (answer.decision === 'deny' && failedPermits.length === 0) continue;
      const permits = answer.decision === 'allow' ? answer.diagnostics.reason : [];
      const determining = [...permits, ...failedPermits];
      const required = { ...check.requirement, ...this.#maxAge(determining) };
      if (meets(context.assurance, context.authTimeMs ?? -Infinity, required, context.nowMs)) continue;
      return { outcome: 'step_up', required, reasons: determining };
    }
    return { outcome: 'allow', reasons: operation.diagnostics.reason };
  }

  #maxAge(permits: readonly string[]): { maxAgeS?: number } {
    let maxAgeS: number | undefined;
    for (const reason of permits) {
      const age = this.#maxAges.get(
        reason.startsWith(POLICY_ERROR_PREFIX) ? reason.slice(POLICY_ERROR_PREFIX.length) : reason,
      );
      if (age !== undefined && (maxAgeS === undefined || age < maxAgeS)) maxAgeS = age;
    }
    maxAgeS ??= this.#defaultMaxAgeS;
    return maxAgeS === undefined ? {} : { maxAgeS };
  }

  #failed(response: Response, effect: 'permit' | 'forbid'): string[] {
    return response.diagnostics.errors
      .map((e) => e.policyId)
      .filter((id) => this.#effects.get(id) === effect)
      .map((id) => `${POLICY_ERROR_PREFIX}${id}`);
  }

  #ask(
    action: string,
    request: {
      principal: EntityUidJson;
      resource: EntityUidJson;
      context: Record<string, CedarValueJson>;
      entities: EntityJson[];
    },
  ): Response {
    if (!this.#prepared) this.#prepare();
    // Without the schema Cedar does not know the action groups: the action entity carries them.
    const schema = this.#validateRequests
      ? { preparsedSchemaName: POLICY_SCHEMA_VERSION, validateRequest: true }
      : { entities: [...request.entities, ACTION_ENTITIES.get(action)!] };
    const call = () =>
      cedar.statefulIsAuthorized({
        ...request,
        action: { type: 'Action', id: action },
        preparsedPolicySetId: this.hash,
        ...schema,
      });
    let answer: AuthorizationAnswer = call();
    // The cache lives in the wasm instance; if it was ever rebuilt, prepare again once.
    if (answer.type === 'failure' && answer.errors.some((e) => /^preparsed .* not found/.test(e.message))) {
      this.#prepare();
      answer = call();
    }
    if (answer.type === 'failure') {
      throw new PolicyEvaluationError(answer.errors.map((e) => e.message).join('; '));
    }
    return answer.response;
  }

  #prepare(): void {
    const answers = [cedar.preparsePolicySet(this.hash, { staticPolicies: this.#staticPolicies })];
    if (this.#validateRequests) answers.push(cedar.preparseSchema(POLICY_SCHEMA_VERSION, POLICY_SCHEMA));
    for (const r of answers) {
      if (r.type === 'failure') throw new PolicyEvaluationError(r.errors.map((e) => e.message).join('; '));
    }
    this.#prepared = true;
  }
}

const ACTION_ENTITIES: ReadonlyMap<string, EntityJson> = new Map(
  Object.entries(GROUPS).flatMap(([group, members]) =>
    members.map((id): [string, EntityJson] => [
      id,
      { uid: { type: 'Action', id }, attrs: {}, parents: [{ type: 'Action', id: group }] },
    ]),
  ),
);

function resourceUid(resource: ResourceInput): EntityUidJson {
  return resource.type === 'App'
    ? { type: 'App', id: resource.clientId }
    : { type: 'Tenant', id: resource.id };
}

/** Splits the text into its policies, in source order, each with its offset in the text. */
function splitPolicies(
  text: string,
): { ok: true; parts: Array<{ text: string; offset: number }> } | { ok: false; errors: PolicyProblem[] } {
  const answer = cedar.policySetTextToParts(text);
  if (answer.type === 'failure')
    return { ok: false, errors: sortByPosition(answer.errors.map((e) => problem(e, text))) };
  if (answer.policy_templates.length > 0) {
    return {
      ok: false,
      errors: answer.policy_templates.map((t) => ({
        message: 'templates (`?principal`, `?resource`) are not supported: write static policies',
        ...at(text, Math.max(0, text.indexOf(t))),
      })),
    };
  }
  // Cedar returns the policies sorted by their generated ids (`policy0`, `policy1`, `policy10`, …,
  // compared as strings): undo that to recover source order.
  const ids = answer.policies.map((_, i) => `policy${i}`).sort();
  const ordered: string[] = [];
  for (const [k, id] of ids.entries()) ordered[Number(id.slice('policy'.length))] = answer.policies[k]!;
  const parts: Array<{ text: string; offset: number }> = [];
  let cursor = 0;
  for (const part of ordered) {
    const offset = text.indexOf(part, cursor);
    parts.push({ text: part, offset: Math.max(0, offset) });
    if (offset >= 0) cursor = offset + part.length;
  }
  return { ok: true, parts };
}

/** Reads a policy's id, effect, annotations and the actions its scope can match; checks annotations. */
function describe(
  json: PolicyJson,
  defaultId: string,
  part: { text: string; offset: number },
  source: string,
  errors: PolicyProblem[],
  warnings: PolicyProblem[],
): ParsedPolicy {
  const annotations: Record<string, string | null> = json.annotations ?? {};
  const where = at(source, part.offset);
  const rawId = annotations.id;
  const id = typeof rawId === 'string' && rawId.trim() !== '' ? rawId : defaultId;
  if ('id' in annotations && id === defaultId) {
    errors.push({ message: '`@id` needs a non-empty value, e.g. @id("deny-revoked-device")', ...where });
  }
  const reason = typeof annotations.reason === 'string' ? annotations.reason : undefined;
  let maxAgeS: number | undefined;
  if ('max_age' in annotations) {
    const raw = annotations.max_age ?? '';
    const n = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
    if (Number.isNaN(n) || n > MAX_AGE_LIMIT_S) {
      errors.push({
        message: `\`@max_age\` must be a number of seconds from 0 to ${MAX_AGE_LIMIT_S}, e.g. @max_age("300")`,
        policyId: id,
        ...where,
      });
    } else {
      maxAgeS = n;
    }
  }
  const actions = scopeActions(json);
  if (json.effect === 'permit' && json.action.op === 'All') {
    errors.push({
      message:
        'a permit must name its actions (e.g. `action in Action::"AnyOperation"`): an unconstrained ' +
        'action would also match every step-up check and demand the strongest step-up on every request',
      policyId: id,
      ...where,
    });
  }
  if (maxAgeS !== undefined && (json.effect === 'forbid' || !STEP_UPS.some((s) => actions.has(s.action)))) {
    warnings.push({
      message: '`@max_age` only applies to permits of step-up checks: ignored here',
      policyId: id,
      ...where,
    });
    maxAgeS = undefined;
  }
  return {
    id,
    effect: json.effect,
    reason,
    maxAgeS,
    line: where.line,
    text: part.text,
    offset: part.offset,
    actions,
  };
}

function scopeActions(json: PolicyJson): Set<string> {
  const c = json.action;
  if (c.op === 'All') return new Set(Object.values(GROUPS).flat());
  const uids = 'entities' in c ? c.entities : 'entity' in c ? [c.entity] : [];
  const actions = new Set<string>();
  for (const uid of uids) {
    const { id } = '__entity' in uid ? uid.__entity : uid;
    for (const a of GROUPS[id] ?? [id]) actions.add(a);
  }
  return actions;
}

/** Converts a Cedar error; its byte offsets are relative to `part` (at `partOffset`), else to `source`. */
function problem(e: DetailedError, source: string, part = source, partOffset = 0): PolicyProblem {
  const out: PolicyProblem = { message: e.message };
  const loc = e.sourceLocations?.[0];
  // Parse errors carry their hint ("expected …") as the location's label.
  const help = e.help ?? loc?.label;
  if (help) out.help = help;
  if (loc) {
    const bytes = Buffer.from(part, 'utf8');
    const start = partOffset + bytes.subarray(0, loc.start).toString('utf8').length;
    const end = partOffset + bytes.subarray(0, loc.end).toString('utf8').length;
    const s = at(source, start);
    const f = at(source, end);
    Object.assign(out, { line: s.line, column: s.column, endLine: f.line, endColumn: f.column });
  }
  return out;
}

function at(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = source.indexOf('\n'); i !== -1 && i < offset; i = source.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Cedar reports a problem once per action a policy's scope matches: keep the first of each. */
function once(problems: PolicyProblem[]): PolicyProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = JSON.stringify([p.policyId, p.line, p.column, p.message.replace(/Action::"[^"]*"/g, '')]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortByPosition(problems: PolicyProblem[]): PolicyProblem[] {
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
