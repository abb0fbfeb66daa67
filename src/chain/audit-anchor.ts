/**
 * The AuditAnchor contract (contracts/AuditAnchor.sol) from the service's side: its artifact, the
 * `auditAnchor` chain job (payload schema and calldata), and the reads a verifier needs.
 *
 * A tenant is identified on chain by keccak256 of its id's UTF-8 bytes, so anchors name no tenant in
 * clear and any verifier holding the tenant id can find them.
 */
import {
  Contract,
  getAddress,
  Interface,
  isHexString,
  type JsonRpcApiProvider,
  keccak256,
  toUtf8Bytes,
  ZeroHash,
} from 'ethers';
import { z } from 'zod';
import { withTimeout } from '../util/timeout.ts';
import { loadArtifact } from './registry-artifact.ts';

/** The AuditAnchor artifact (compiled with the registry by `npm run compile`). */
export const auditAnchorArtifact = () => loadArtifact('AuditAnchor');

let iface: Interface | undefined;
/** The contract's ABI as an ethers Interface. */
export function auditAnchorInterface(): Interface {
  iface ??= new Interface(auditAnchorArtifact().abi);
  return iface;
}

/** The bytes32 a tenant is anchored under: keccak256(utf8(tenantId)). */
export function tenantKey(tenantId: string): string {
  return keccak256(toUtf8Bytes(tenantId));
}

/** Chain job kind that anchors one head. */
export const AUDIT_ANCHOR_KIND = 'auditAnchor';

const bytes32 = z
  .string()
  .refine((v) => isHexString(v, 32), 'must be 0x-prefixed 32-byte hex')
  .transform((v) => v.toLowerCase());

/** Payload of an `auditAnchor` job. */
export const auditAnchorPayload = z.strictObject({
  tenant: bytes32,
  seq: z
    .number()
    .int()
    .positive()
    .max(2 ** 53 - 1),
  head: bytes32.refine((v) => v !== ZeroHash, 'must not be zero'),
});
export type AuditAnchorPayload = z.output<typeof auditAnchorPayload>;

/** Calldata of `anchor(tenant, seq, head)`. */
export function encodeAnchorCall(p: AuditAnchorPayload): string {
  return auditAnchorInterface().encodeFunctionData('anchor', [p.tenant, p.seq, p.head]);
}

/** What the reads need of the chain connection. */
export interface AnchorReader {
  readonly provider: JsonRpcApiProvider;
  readonly auditAnchorAddress?: string | undefined;
}

function contractOf(chain: AnchorReader): Contract {
  if (!chain.auditAnchorAddress) throw new Error('no AuditAnchor contract is configured');
  return new Contract(getAddress(chain.auditAnchorAddress), auditAnchorInterface(), chain.provider);
}

/** The tenant's latest anchor on chain: seq 0 and a zero head when none. */
export async function readLatestAnchor(
  chain: AnchorReader,
  tenantId: string,
  timeoutMs = 10_000,
): Promise<{ seq: number; head: string }> {
  const [seq, head] = (await withTimeout(
    contractOf(chain).getFunction('latest')(tenantKey(tenantId)),
    timeoutMs,
    'the chain did not answer',
  )) as [bigint, string];
  return { seq: Number(seq), head: head.toLowerCase() };
}

/** The head anchored at `seq`, or null when that seq was not anchored. */
export async function readAnchorAt(
  chain: AnchorReader,
  tenantId: string,
  seq: number,
  timeoutMs = 10_000,
): Promise<string | null> {
  const head = (await withTimeout(
    contractOf(chain).getFunction('headAt')(tenantKey(tenantId), seq),
    timeoutMs,
    'the chain did not answer',
  )) as string;
  return head === ZeroHash ? null : head.toLowerCase();
}

/** The address allowed to anchor. */
export async function readAnchorKey(chain: AnchorReader, timeoutMs = 10_000): Promise<string> {
  const key = (await withTimeout(
    contractOf(chain).getFunction('anchorKey')(),
    timeoutMs,
    'the chain did not answer',
  )) as string;
  return getAddress(key);
}

/** A database hash (hex, no prefix) as the contract's bytes32. */
export const headToBytes32 = (hash: string): string => `0x${hash}`;
