/**
 * Signal `network`: what kind of network the attempt comes from, and what the operator's lists say.
 *
 * - `network.denied`: the address is in a deny list (e.g. Tor exits, a threat feed). One contribution
 *   however many lists match, so overlapping feeds do not add up.
 * - `network.allowed`: the address is in an allow list. 0 points and nothing else changes: an allowed
 *   network never lowers other signals' risk (a compromised office machine is still compromised). The
 *   contribution is there so the tenant's policy can see it and decide.
 * - `network.hosting`: the address belongs to a hosting/datacenter/cloud AS. People sign in from homes,
 *   offices and phones; scripts, proxies and rented VPNs sign in from datacenters.
 * - Skips: `no_ip`, `malformed_ip`, `private_address` (no list matched a non-public address),
 *   `asn_unknown` (a public address the ASN data does not cover, so hosting could not be judged),
 *   `not_configured` (no ASN data and no lists).
 */
import type { AsnLookup, AsnRecord } from '../geo/asn.ts';
import { classifyAddress } from '../net/address.ts';
import type { CidrMatch, CidrMatcher } from '../net/cidr-list.ts';
import type { Contribution, RiskAttempt, Skip } from '../types.ts';

const SIGNAL = 'network';

/** Default points (0-100, before tenant weights). */
export const NETWORK_POINTS = {
  /**
   * Hosting/datacenter network: common for attackers and automation, but also for corporate VPNs and
   * privacy services, so moderate.
   */
  hosting: 30,
  /** The operator listed this network as hostile: near-certain refusal territory. */
  denied: 90,
  /** Allow-listed: evidence only, never a discount. */
  allowed: 0,
} as const;

/** Tuning of the network signal. */
export interface NetworkSignalOptions {
  /** Overrides of `NETWORK_POINTS` (`allowed` stays 0 whatever is passed: it must never lower risk). */
  points?: Partial<Record<'hosting' | 'denied', number>>;
}

/** What the signal reads besides the attempt; every part is optional. */
export interface NetworkSignalInput {
  asn?: AsnLookup;
  deny?: readonly CidrMatcher[];
  allow?: readonly CidrMatcher[];
}

/** Judges the attempt's network: deny and allow lists, and hosting ASNs. */
export function networkSignal(
  attempt: RiskAttempt,
  { asn, deny = [], allow = [] }: NetworkSignalInput,
  options: NetworkSignalOptions = {},
): Contribution[] | Skip {
  const points = { ...NETWORK_POINTS, ...options.points, allowed: 0 };
  if (!attempt.ip) return skip('no_ip');
  const address = classifyAddress(attempt.ip);
  if (address.kind === 'malformed') return skip('malformed_ip');
  if (!asn && deny.length === 0 && allow.length === 0) return skip('not_configured');

  const network = address.kind === 'public' ? asn?.lookup(address.address) : undefined;
  const contributions: Contribution[] = [];
  const denied = matches(deny, address.address);
  if (denied.length > 0) {
    contributions.push(listContribution('network.denied', points.denied, denied, network));
  }
  const allowed = matches(allow, address.address);
  if (allowed.length > 0) {
    contributions.push(listContribution('network.allowed', points.allowed, allowed, network));
  }
  if (network?.hosting) {
    contributions.push({
      signal: SIGNAL,
      reason: 'network.hosting',
      points: points.hosting,
      evidence: { asn: network.asn, org: network.org },
    });
  }
  if (contributions.length > 0) return contributions;
  if (address.kind === 'non_public') return skip('private_address');
  if (asn && !network) return skip('asn_unknown');
  return [];
}

function matches(lists: readonly CidrMatcher[], ip: string): CidrMatch[] {
  const found: CidrMatch[] = [];
  for (const list of lists) {
    const match = list.match(ip);
    if (match) found.push(match);
  }
  return found;
}

function listContribution(
  reason: string,
  points: number,
  found: readonly CidrMatch[],
  network: AsnRecord | undefined,
): Contribution {
  const [first] = found as [CidrMatch, ...CidrMatch[]];
  const evidence: Record<string, unknown> = { list: first.list, entry: first.entry, line: first.line };
  if (found.length > 1) evidence.lists = found.map((match) => match.list);
  if (network) {
    evidence.asn = network.asn;
    evidence.org = network.org;
  }
  return { signal: SIGNAL, reason, points, evidence };
}

function skip(skipped: string): Skip {
  return { signal: SIGNAL, skipped };
}
