/**
 * Who may do what in the admin API, decided by Cedar.
 *
 * A request is `principal` = the signed-in `Admin` (their roles, and the tenant their session lives
 * in), `action` = one admin capability, `resource` = the `Tenant` acted on. The built-in policy set
 * gives each role its capabilities:
 *
 *   super-admin    every action, in every tenant (also the global ones: tenants, granting super-admin)
 *   tenant-admin   every tenant-scoped action, in its own tenant only
 *   auditor        the read-only actions (people, devices, sessions, risk, policies, settings, clients,
 *                  audit), in its own tenant only
 *   helpdesk       read people, devices and sessions; revoke a device; end a session; own tenant only
 *
 * Which role reaches which action is one table (`ADMIN_ACTIONS`): it becomes the schema's action
 * groups, and the four policies below only say "this role may do the actions of its group". Each
 * action also says whether it changes anything: changes need a recent hardware-bound sign-in (checked
 * by the HTTP edge, see `admin-auth.ts`), reads only a live session.
 *
 * The schema and the policies are validated with Cedar when first used (the service does it at start,
 * so a broken policy stops the service instead of refusing everyone), and decisions run against a
 * pre-parsed policy set.
 */
import type { EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { TrustgateError } from '../errors.ts';

/** The admin roles. */
export const ADMIN_ROLES = ['super-admin', 'tenant-admin', 'auditor', 'helpdesk'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

type TenantRole = Exclude<AdminRole, 'super-admin'>;

/**
 * Every admin capability: whether it is a change (needs a fresh `phrh` sign-in), and which tenant
 * roles hold it in their own tenant. super-admin holds every action everywhere; an action no tenant
 * role holds is super-admin only.
 */
export const ADMIN_ACTIONS = {
  ReadPeople: { write: false, roles: ['tenant-admin', 'auditor', 'helpdesk'] },
  ReadDevices: { write: false, roles: ['tenant-admin', 'auditor', 'helpdesk'] },
  ReadSessions: { write: false, roles: ['tenant-admin', 'auditor', 'helpdesk'] },
  RevokeDevice: { write: true, roles: ['tenant-admin', 'helpdesk'] },
  EndSession: { write: true, roles: ['tenant-admin', 'helpdesk'] },
  ManageRoles: { write: true, roles: ['tenant-admin'] },
  ReadRisk: { write: false, roles: ['tenant-admin', 'auditor'] },
  ReadPolicies: { write: false, roles: ['tenant-admin', 'auditor'] },
  ManagePolicy: { write: true, roles: ['tenant-admin'] },
  ReadSettings: { write: false, roles: ['tenant-admin', 'auditor'] },
  ManageSettings: { write: true, roles: ['tenant-admin'] },
  ReadClients: { write: false, roles: ['tenant-admin', 'auditor'] },
  ManageClients: { write: true, roles: ['tenant-admin'] },
  ReadAudit: { write: false, roles: ['tenant-admin', 'auditor'] },
  IssueCredentials: { write: true, roles: ['tenant-admin'] },
  ReadTenants: { write: false, roles: [] },
  ManageTenants: { write: true, roles: [] },
  /** Adding or removing the super-admin role (on top of `ManageRoles`). */
  GrantSuperAdmin: { write: true, roles: [] },
} as const satisfies Record<string, { write: boolean; roles: readonly TenantRole[] }>;

/** An admin capability (a Cedar action). */
export type AdminAction = keyof typeof ADMIN_ACTIONS;

/** Schema version; also names the pre-parsed policy set inside the wasm module. */
export const ADMIN_SCHEMA_VERSION = 'trustgate.admin.v1';

/** The action group of every admin action, and each tenant role's group. */
const ALL_GROUP = 'AnyAdminAction';
const GROUP_OF: Record<TenantRole, string> = {
  'tenant-admin': 'TenantAdminActions',
  auditor: 'AuditorActions',
  helpdesk: 'HelpdeskActions',
};

const ACTION_NAMES = Object.keys(ADMIN_ACTIONS) as AdminAction[];
const groupsOf = (action: AdminAction): string[] => [
  ALL_GROUP,
  ...(ADMIN_ACTIONS[action].roles as readonly TenantRole[]).map((r) => GROUP_OF[r]),
];

/** The schema in Cedar's schema syntax. */
export const ADMIN_SCHEMA = `// Trustgate admin schema (${ADMIN_SCHEMA_VERSION}).

entity Tenant;

// A signed-in person: their admin roles and the tenant their account (and session) belongs to.
entity Admin {
  roles: Set<String>,
  tenant: Tenant,
};

action "${ALL_GROUP}";
${Object.values(GROUP_OF)
  .map((g) => `action "${g}";`)
  .join('\n')}

${ACTION_NAMES.map(
  (a) =>
    `action "${a}" in [${groupsOf(a)
      .map((g) => `"${g}"`)
      .join(', ')}] appliesTo { principal: [Admin], resource: [Tenant] };`,
).join('\n')}
`;

/** The built-in policies, one per role, by id. */
export const ADMIN_POLICIES: Readonly<Record<AdminRole, string>> = {
  'super-admin': `@reason("Super-admins may do everything, in every tenant")
permit (principal, action in Action::"${ALL_GROUP}", resource)
when { principal.roles.contains("super-admin") };`,
  'tenant-admin': `@reason("Tenant admins administer their own tenant")
permit (principal, action in Action::"${GROUP_OF['tenant-admin']}", resource)
when { principal.roles.contains("tenant-admin") && principal.tenant == resource };`,
  auditor: `@reason("Auditors read their own tenant")
permit (principal, action in Action::"${GROUP_OF.auditor}", resource)
when { principal.roles.contains("auditor") && principal.tenant == resource };`,
  helpdesk: `@reason("Helpdesk reads people, ends their sessions and revokes their devices, in its own tenant")
permit (principal, action in Action::"${GROUP_OF.helpdesk}", resource)
when { principal.roles.contains("helpdesk") && principal.tenant == resource };`,
};

/** Who asks. */
export interface AdminPrincipal {
  accountId: string;
  /** Id of the tenant the account belongs to. */
  tenantId: string;
  roles: readonly string[];
}

/** Cedar's answer, with the policies that permitted it. */
export interface AdminDecision {
  allowed: boolean;
  reasons: string[];
}

/** 500 `admin_policy_error`: the built-in admin policies do not validate or evaluate (a bug). */
export class AdminPolicyError extends TrustgateError {
  constructor(detail: string) {
    super('admin_policy_error', 500, 'Admin policy error', detail);
  }
}

/** The roles stored on an account (a JSON array; anything else counts as none). */
export function rolesOf(stored: string): string[] {
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

const ACTION_ENTITIES: ReadonlyMap<string, EntityJson> = new Map(
  ACTION_NAMES.map((a): [string, EntityJson] => [
    a,
    {
      uid: { type: 'Action', id: a },
      attrs: {},
      parents: groupsOf(a).map((id) => ({ type: 'Action', id })),
    },
  ]),
);

export class AdminAuthorizer {
  #prepared = false;

  /** Validates the schema and the built-in policies; throws `AdminPolicyError` when they do not. */
  constructor() {
    const answer = cedar.validate({
      schema: ADMIN_SCHEMA,
      policies: { staticPolicies: { ...ADMIN_POLICIES } },
    });
    if (answer.type === 'failure') {
      throw new AdminPolicyError(answer.errors.map((e) => e.message).join('; '));
    }
    const problems = [...answer.validationErrors, ...answer.validationWarnings].map(
      (v) => `${v.policyId}: ${v.error.message}`,
    );
    if (problems.length > 0) throw new AdminPolicyError(problems.join('; '));
    this.#prepare();
  }

  /** Whether `principal` may perform `action` on the tenant `tenantId`. */
  decide(principal: AdminPrincipal, action: AdminAction, tenantId: string): AdminDecision {
    if (!Object.hasOwn(ADMIN_ACTIONS, action)) throw new AdminPolicyError(`unknown admin action ${action}`);
    const tenant: EntityUidJson = { type: 'Tenant', id: tenantId };
    const call = () =>
      cedar.statefulIsAuthorized({
        principal: { type: 'Admin', id: principal.accountId },
        action: { type: 'Action', id: action },
        resource: tenant,
        context: {},
        preparsedPolicySetId: ADMIN_SCHEMA_VERSION,
        // Without a schema at request time, the action entity carries its groups.
        entities: [
          {
            uid: { type: 'Admin', id: principal.accountId },
            attrs: {
              roles: [...principal.roles],
              tenant: { __entity: { type: 'Tenant', id: principal.tenantId } },
            },
            parents: [],
          },
          { uid: tenant, attrs: {}, parents: [] },
          ACTION_ENTITIES.get(action)!,
        ],
      });
    let answer = call();
    // The cache lives in the wasm instance; if it was ever rebuilt, prepare again once.
    if (answer.type === 'failure' && answer.errors.some((e) => /^preparsed .* not found/.test(e.message))) {
      this.#prepared = false;
      this.#prepare();
      answer = call();
    }
    if (answer.type === 'failure') throw new AdminPolicyError(answer.errors.map((e) => e.message).join('; '));
    const { decision, diagnostics } = answer.response;
    // A policy that failed to evaluate is skipped by Cedar: it can only have withheld a permit.
    if (diagnostics.errors.length > 0) {
      throw new AdminPolicyError(diagnostics.errors.map((e) => e.error.message).join('; '));
    }
    return { allowed: decision === 'allow', reasons: diagnostics.reason };
  }

  #prepare(): void {
    if (this.#prepared) return;
    const r = cedar.preparsePolicySet(ADMIN_SCHEMA_VERSION, { staticPolicies: { ...ADMIN_POLICIES } });
    if (r.type === 'failure') throw new AdminPolicyError(r.errors.map((e) => e.message).join('; '));
    this.#prepared = true;
  }
}

let shared: AdminAuthorizer | undefined;

/** The process's authorizer (validated on first call; the service calls it at start). */
export function adminAuthorizer(): AdminAuthorizer {
  shared ??= new AdminAuthorizer();
  return shared;
}
