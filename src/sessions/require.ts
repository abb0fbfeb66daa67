/**
 * Step-up demands, answered the RFC 9470 way: `401` with
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="…", max_age=…`, and a
 * problem body carrying the same requirement so the hosted pages can send the person to step up.
 */

import { TrustgateError } from '../errors.ts';
import { AAL_ACR, type AssuranceRequirement, meets } from '../factors/assurance.ts';
import type { ActiveSession } from './sessions.ts';

/** Sensitive changes (removing a factor, regenerating recovery codes) need a recent AAL2 proof. */
export const RECENT_AAL2: AssuranceRequirement = { aal: 2, maxAgeS: 5 * 60 };

export class InsufficientAssuranceError extends TrustgateError {
  constructor(
    required: AssuranceRequirement,
    detail = 'This action needs a stronger or more recent sign-in.',
  ) {
    const acr = required.acr ?? AAL_ACR[required.aal ?? 1];
    const challenge = [
      'Bearer error="insufficient_user_authentication"',
      `error_description="${detail.replace(/["\\]/g, '')}"`,
      `acr_values="${acr}"`,
      ...(required.maxAgeS !== undefined ? [`max_age=${required.maxAgeS}`] : []),
    ].join(', ');
    super('insufficient_user_authentication', 401, 'Step-up required', detail, {
      headers: { 'WWW-Authenticate': challenge },
      extensions: {
        required: {
          acr_values: acr,
          ...(required.maxAgeS !== undefined ? { max_age: required.maxAgeS } : {}),
        },
      },
    });
  }
}

/** Throws the RFC 9470 challenge unless `session` meets `need` now. */
export function requireAssurance(
  session: ActiveSession,
  need: AssuranceRequirement,
  nowMs = Date.now(),
): void {
  if (!meets(session.assurance, session.authTimeMs, need, nowMs)) {
    throw new InsufficientAssuranceError(need);
  }
}
