import ipaddr from 'ipaddr.js';

/** IPv6 global unicast (RFC 4291): every public IPv6 address lies in 2000::/3. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Why `address` (an IP literal) is not a public unicast address — its range
 * as ipaddr.js names it (`loopback`, `private`, `linkLocal`, `uniqueLocal`,
 * `carrierGradeNat`, `multicast`, `unspecified`, `reserved`, …) — or
 * undefined when it is one.
 *
 * ipaddr.js (the classification Express's proxy-addr relies on) keeps the
 * IANA special-purpose tables; hand-written CIDR lists are where SSRF guards
 * usually have holes. On top of it: an IPv4-mapped IPv6 address is judged as
 * the IPv4 address it carries; the other IPv6 forms that embed an IPv4
 * address (NAT64, 6to4, Teredo) are refused, since where they lead cannot be
 * known here; and an IPv6 address must be global unicast (2000::/3).
 */
export function nonPublicRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'invalid';
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') {
    const range = (parsed as ipaddr.IPv4).range();
    return range === 'unicast' ? undefined : range;
  }
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return nonPublicRange(v6.toIPv4Address().toString());
  const range = v6.range();
  if (range !== 'unicast') return range;
  return v6.match(GLOBAL_UNICAST_V6) ? undefined : 'not global unicast';
}
