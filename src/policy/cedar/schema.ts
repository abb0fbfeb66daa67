/**
 * The Cedar schema every tenant policy is validated against, and the names the engine and the
 * context builder share with it.
 *
 * A request is `principal` = the `Person`, `action` = what is attempted (an operation) or one of the
 * step-up checks, `resource` = the `App` (by client id) or the `Tenant`, and one context record with
 * risk, assurance, device, geolocation and time. The step-up checks (`RequirePhrh`, `RequirePhr`,
 * `RequireMfa`) see the same request; `context.operation` tells them which operation is attempted,
 * as an enumerated entity so that a misspelt operation fails validation instead of never matching.
 *
 * Policies are stored per version of this schema: when it changes, bump `POLICY_SCHEMA_VERSION` and
 * re-validate stored policies before activating them.
 */

/** Version of the schema text below; also names its pre-parsed copy inside the wasm module. */
export const POLICY_SCHEMA_VERSION = 'trustgate.policy.v1';

/** Operations a policy permits or forbids (Cedar actions, members of `Action::"AnyOperation"`). */
export const OPERATIONS = [
  'SignIn',
  'StepUp',
  'Recover',
  'EnrolFactor',
  'RemoveFactor',
  'AccessApp',
  'AdminRead',
  'AdminWrite',
] as const;

/** An operation a policy decides on. */
export type Operation = (typeof OPERATIONS)[number];

/**
 * The step-up checks (members of `Action::"AnyStepUp"`), strongest first: the order the engine asks
 * them in, and what each one asks for when a policy permits it.
 */
export const STEP_UPS = [
  { action: 'RequirePhrh', requirement: { aal: 3, acr: 'phrh' } },
  { action: 'RequirePhr', requirement: { aal: 2, acr: 'phr' } },
  { action: 'RequireMfa', requirement: { aal: 2 } },
] as const;

/** A step-up check's action name. */
export type StepUpAction = (typeof STEP_UPS)[number]['action'];

/** Action groups policies use in their scope. */
export const ACTION_GROUPS = { operations: 'AnyOperation', stepUps: 'AnyStepUp' } as const;

const quoted = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/** The schema in Cedar's schema syntax. */
export const POLICY_SCHEMA = `// Trustgate policy schema (${POLICY_SCHEMA_VERSION}).

entity Tenant;

// The person attempting the operation. enrolled: which kinds of factor they could step up with.
entity Person {
  tenant: String,
  roles: Set<String>,
  enrolled: { mfa: Bool, phr: Bool, phrh: Bool },
};

// A relying party (OIDC client).
entity App {
  clientId: String,
  firstParty: Bool,
};

entity Operation enum [${quoted(OPERATIONS)}];

type RequestContext = {
  // The operation attempted (also seen by the step-up checks).
  operation: Operation,
  // score 0-100; level "low" (< 30), "medium" (30-69) or "high" (>= 70); reasons are the risk
  // engine's reason codes, e.g. "geo.new_country", "travel.impossible".
  risk: { score: Long, reasons: Set<String>, level: String },
  // What the session (or the attempt) has proved: aal 1-3, RFC 8176 amr values.
  assurance: { aal: Long, amr: Set<String>, phr: Bool, phrh: Bool },
  // state: "trusted" (a registered device of the person), "new" (not one of theirs) or "revoked";
  // known: seen before for this person; attested: its authenticator's attestation is trusted.
  device: { state: String, known: Bool, attested: Bool },
  // ISO 3166-1 alpha-2 country, "" when unknown; newCountry: not seen before for this person.
  geo: { country: String, newCountry: Bool },
  // In the tenant's time zone: hour 0-23, weekday 1 (Monday) - 7 (Sunday).
  time: { hour: Long, weekday: Long },
};

action ${ACTION_GROUPS.operations};
action ${ACTION_GROUPS.stepUps};

action ${quoted(OPERATIONS)} in [${ACTION_GROUPS.operations}] appliesTo {
  principal: [Person],
  resource: [App, Tenant],
  context: RequestContext,
};

action ${quoted(STEP_UPS.map((s) => s.action))} in [${ACTION_GROUPS.stepUps}] appliesTo {
  principal: [Person],
  resource: [App, Tenant],
  context: RequestContext,
};
`;
