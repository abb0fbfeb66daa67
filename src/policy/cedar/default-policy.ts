/**
 * The policy a tenant starts with. Risk bands come from `context.risk.level` (low < 30,
 * medium 30-69, high >= 70, see `riskLevel`); the raw score is `context.risk.score` for tenants that
 * want their own thresholds.
 *
 *   - low risk: allow;
 *   - medium risk: step up to multi-factor (AAL2);
 *   - high risk: step up to a fresh phishing-resistant, hardware-bound sign-in (`phrh`), or deny
 *     when the person has no hardware-bound passkey to step up with;
 *   - a new device with more risk (score >= 45): as high risk (a passkey sign-in already meets the
 *     medium band's multi-factor step-up, so only this catches a stolen synced passkey);
 *   - a revoked device, or impossible travel from a device that is not one of theirs: deny;
 *   - factor enrolment or removal from a device that is not one of theirs: deny;
 *   - recovery is never asked for a step-up it cannot give (medium risk allows it; high risk denies);
 *   - admin changes: multi-factor within the last 15 minutes, whatever the risk (admin actions
 *     themselves need step-up).
 */

/** The default policy, in Cedar. */
export const DEFAULT_POLICY = `// Trustgate default policy (calibrated with \`npm run eval:risk\`).
// Operations are permitted unless a forbid applies; the Require* checks then decide the step-up.

@id("allow-operations")
@reason("Operations are allowed unless a rule forbids them")
permit (principal, action in Action::"AnyOperation", resource);

@id("deny-revoked-device")
@reason("The device was revoked")
forbid (principal, action in Action::"AnyOperation", resource)
when { context.device.state == "revoked" };

// A device seen to be new (device.new), not merely one that sent no fingerprint.
@id("deny-impossible-travel-new-device")
@reason("Impossible travel from a device that is not one of the person's")
forbid (principal, action in Action::"AnyOperation", resource)
when {
  context.risk.reasons.contains("travel.impossible") &&
  context.risk.reasons.contains("device.new")
};

@id("deny-high-risk-without-hardware-key")
@reason("High risk, and no hardware-bound passkey to step up with")
forbid (principal, action in Action::"AnyOperation", resource)
when { context.risk.level == "high" && !principal.enrolled.phrh };

// A new device plus at least one more substantive signal is treated like high risk: a passkey
// sign-in already meets the medium band's multi-factor step-up, so only this catches a stolen
// synced passkey used from elsewhere.
@id("deny-new-device-more-risk-without-hardware-key")
@reason("A new device with more risk, and no hardware-bound passkey to step up with")
forbid (principal, action in Action::"AnyOperation", resource)
when { context.risk.reasons.contains("device.new") && context.risk.score >= 45 && !principal.enrolled.phrh };

// Factor changes only from one of the person's devices.
@id("deny-factor-change-from-new-device")
@reason("Factors can be changed only from one of the person's devices")
forbid (principal, action in [Action::"EnrolFactor", Action::"RemoveFactor"], resource)
when { context.device.state == "new" };

// High risk: a phishing-resistant, hardware-bound factor, proved in the last 5 minutes.
@id("high-risk-hardware-key")
@reason("High risk: sign in again with a hardware-bound passkey")
@max_age("300")
permit (principal, action == Action::"RequirePhrh", resource)
when { context.risk.level == "high" };

@id("new-device-more-risk-hardware-key")
@reason("A new device with more risk: sign in again with a hardware-bound passkey")
@max_age("300")
permit (principal, action == Action::"RequirePhrh", resource)
when { context.risk.reasons.contains("device.new") && context.risk.score >= 45 };

// Not for recovery: a person recovering has lost their passkeys and has no second factor type to
// step up with (a TOTP code and a recovery code are both something you have); high-risk recovery
// is refused by the forbids above.
@id("medium-risk-mfa")
@reason("Medium risk: multi-factor authentication is required")
permit (principal, action == Action::"RequireMfa", resource)
when { context.risk.level == "medium" && context.operation != Operation::"Recover" };

@id("admin-write-fresh-mfa")
@reason("Admin changes need multi-factor authentication in the last 15 minutes")
@max_age("900")
permit (principal, action == Action::"RequireMfa", resource)
when { context.operation == Operation::"AdminWrite" };
`;
