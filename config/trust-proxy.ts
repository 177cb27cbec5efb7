/**
 * SETTLE_TRUST_PROXY's rule, checked when a process parses its configuration (config/shapes.ts).
 */
import ipaddr from 'ipaddr.js';

/** The shortest prefixes a trusted-proxy range may have: anything wider is a catch-all in disguise. */
const MIN_PROXY_PREFIX = { ipv4: 8, ipv6: 32 } as const;
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Why a SETTLE_TRUST_PROXY value is unsafe or unreadable, or undefined when it is fine. Accepted:
 * `false`, a hop count (1-10), or a list of proxy-addr entries (loopback, linklocal, uniquelocal,
 * addresses, CIDRs with a prefix of at least /8 for IPv4 and /32 for IPv6; an IPv4-mapped range is
 * judged as the IPv4 range it maps). `true` or a wide range would make every client a trusted
 * proxy, free to choose the source address that the admin allowlist and the audit log see.
 */
export function trustProxyProblem(v: string): string | undefined {
  if (v === 'false') return undefined;
  if (v === 'true') return "true trusts every hop; give a hop count or the proxies' CIDRs";
  if (/^\d+$/.test(v)) return Number(v) >= 1 && Number(v) <= 10 ? undefined : 'hop count must be 1-10';
  for (const raw of v.split(',')) {
    const entry = raw.trim();
    if (PROXY_NAMES.has(entry)) continue;
    const [host = '', prefix, ...rest] = entry.split('/');
    const literal = ipaddr.IPv4.isValidFourPartDecimal(host) || ipaddr.IPv6.isValid(host);
    if (rest.length || !literal) return `${JSON.stringify(entry)} is not an address or CIDR`;
    let addr = ipaddr.parse(host);
    let bits = addr.kind() === 'ipv4' ? 32 : 128;
    if (prefix !== undefined) {
      if (/^\d{1,3}$/.test(prefix)) bits = Number(prefix);
      else if (addr.kind() === 'ipv4' && ipaddr.IPv4.isValidFourPartDecimal(prefix))
        bits = ipaddr.IPv4.parse(prefix).prefixLengthFromSubnetMask() ?? -1;
      else bits = -1;
      if (bits < 0 || bits > (addr.kind() === 'ipv4' ? 32 : 128))
        return `${JSON.stringify(entry)} has an invalid prefix`;
    }
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
      addr = (addr as ipaddr.IPv6).toIPv4Address();
      bits -= 96;
    }
    const min = MIN_PROXY_PREFIX[addr.kind()];
    if (bits < min) return `${JSON.stringify(entry)} is wider than /${min}: that trusts nearly everyone`;
  }
  return undefined;
}
