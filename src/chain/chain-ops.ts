/**
 * Every kind of chain job the outbox sends: the ERC-1056 registry operations (registry-ops.ts) and the
 * audit anchor (audit-anchor.ts). One place maps a job to its target contract and calldata.
 */
import { TrustgateError } from '../errors.ts';
import {
  AUDIT_ANCHOR_KIND,
  type AuditAnchorPayload,
  auditAnchorPayload,
  encodeAnchorCall,
} from './audit-anchor.ts';
import { encodeRegistryCall, isSignedOp, parseRegistryOp, type RegistryOp } from './registry-ops.ts';

/** An anchor job's operation. */
export interface AuditAnchorOp {
  kind: typeof AUDIT_ANCHOR_KIND;
  payload: AuditAnchorPayload;
}

/** Any operation a chain job carries. */
export type ChainOp = RegistryOp | AuditAnchorOp;

/** The contracts jobs go to. */
export interface ChainTargets {
  readonly registryAddress: string;
  readonly auditAnchorAddress?: string | undefined;
}

/** Validates a job's kind and payload; 400 `invalid_request` naming each problem. */
export function parseChainOp(kind: string, payload: unknown): ChainOp {
  if (kind !== AUDIT_ANCHOR_KIND) return parseRegistryOp(kind, payload);
  const result = auditAnchorPayload.safeParse(payload);
  if (!result.success) {
    throw new TrustgateError('invalid_request', 400, 'Invalid request', `Invalid ${kind} payload.`, {
      extensions: {
        errors: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      },
    });
  }
  return { kind: AUDIT_ANCHOR_KIND, payload: result.data };
}

/** Whether `op` is a registry meta-transaction (checked against the chain before it is enqueued). */
export function isSignedChainOp(op: ChainOp): op is Extract<RegistryOp, { kind: `${string}Signed` }> {
  return op.kind !== AUDIT_ANCHOR_KIND && isSignedOp(op);
}

/** The contract and calldata of `op`; throws when its contract is not configured. */
export function chainCallOf(op: ChainOp, targets: ChainTargets): { to: string; data: string } {
  if (op.kind === AUDIT_ANCHOR_KIND) {
    if (!targets.auditAnchorAddress) throw new Error('no AuditAnchor contract is configured');
    return { to: targets.auditAnchorAddress, data: encodeAnchorCall(op.payload) };
  }
  return { to: targets.registryAddress, data: encodeRegistryCall(op) };
}
