/**
 * The policy a tenant starts with. Risk bands come from `context.risk.level` (low < 30,
 * medium 30-69, high >= 70, see `riskLevel`); the raw score is `context.risk.score` for tenants that
 * want their own thresholds.
 *
 *   - low risk: allow;
 *   - medium risk: step up to multi-factor (AAL2);
 *   - high risk: step up to a fresh phishing-resistant, hardware-bound sign-in (`phrh`), or deny
 *     when the person has no hardware-bound passkey to step up with;
 *   - a revoked device, or impossible travel from a device that is not one of theirs: deny;
 *   - admin changes: multi-factor within the last 15 minutes, whatever the risk (admin actions
 *     themselves need step-up).
 */

/** The default policy, in Cedar. */
export const DEFAULT_POLICY = `// Trustgate default policy.
// Operations are permitted unless a forbid applies; the Require* checks then decide the step-up.

@id("allow-operations")
@reason("Operations are allowed unless a rule forbids them")
permit (principal, action in Action::"AnyOperation", resource);

@id("deny-revoked-device")
@reason("The device was revoked")
forbid (principal, action in Action::"AnyOperation", resource)
when { context.device.state == "revoked" };

@id("deny-impossible-travel-new-device")
@reason("Impossible travel from a device that is not one of the person's")
forbid (principal, action in Action::"AnyOperation", resource)
when {
  context.risk.reasons.contains("travel.impossible") &&
  context.device.state == "new"
};

@id("deny-high-risk-without-hardware-key")
@reason("High risk, and no hardware-bound passkey to step up with")
forbid (principal, action in Action::"AnyOperation", resource)
when { context.risk.level == "high" && !principal.enrolled.phrh };

// High risk: a phishing-resistant, hardware-bound factor, proved in the last 5 minutes.
@id("high-risk-hardware-key")
@reason("High risk: sign in again with a hardware-bound passkey")
@max_age("300")
permit (principal, action == Action::"RequirePhrh", resource)
when { context.risk.level == "high" };

@id("medium-risk-mfa")
@reason("Medium risk: multi-factor authentication is required")
permit (principal, action == Action::"RequireMfa", resource)
when { context.risk.level == "medium" };

@id("admin-write-fresh-mfa")
@reason("Admin changes need multi-factor authentication in the last 15 minutes")
@max_age("900")
permit (principal, action == Action::"RequireMfa", resource)
when { context.operation == Operation::"AdminWrite" };
`;
