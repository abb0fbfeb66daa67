/**
 * Which IP addresses an outbound fetch may connect to: globally routable unicast only.
 *
 * Refused: loopback, private (RFC 1918), link-local (incl. 169.254.169.254 cloud metadata), unique-local,
 * CGNAT, multicast, broadcast, unspecified, reserved and documentation ranges, and every IPv6 form that
 * embeds or tunnels an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4, Teredo),
 * because the embedded IPv4 address could be any of the above. Anything ipaddr.js does not call
 * `unicast` is refused, so a range it learns about later is refused too.
 */
import ipaddr from 'ipaddr.js';

/** True when `host` is an IPv4 or IPv6 literal (IPv6 with or without brackets). */
export function isIpLiteral(host: string): boolean {
  return ipaddr.isValid(unbracket(host));
}

/** True when `address` (an IP literal) is a public unicast address we may connect to. */
export function isPublicAddress(address: string): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(unbracket(address));
  } catch {
    return false;
  }
  return parsed.range() === 'unicast';
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
