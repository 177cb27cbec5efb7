/**
 * SSRF guard for outbound requests to merchant-supplied URLs (merchant webhook endpoints).
 *
 * Pure checks, no I/O: `checkTargetUrl` vets the URL itself (scheme, credentials, port, and the host
 * when it is an IP literal); `checkTargetAddress` vets one resolved address. The caller resolves the
 * hostname, refuses if ANY address is refused, and connects to the vetted address (pinned), so a DNS
 * answer that changes between the check and the connect cannot reach an internal host.
 *
 * Addresses are classified with ipaddr.js `range()`: only the `unicast` class (public, globally
 * routable) is allowed. Everything else is refused: loopback, RFC 1918, link-local (cloud metadata
 * 169.254.169.254), CGNAT, unique-local fc00::/7, multicast, unspecified, broadcast, reserved /
 * documentation / benchmarking, and IPv6 forms that embed an IPv4 address (NAT64, 6to4, Teredo)
 * because the embedded address may be an internal one. IPv4-mapped IPv6 (::ffff:a.b.c.d) and the
 * deprecated IPv4-compatible form (::a.b.c.d, any of ::/96 but :: and ::1) are judged by their IPv4
 * address.
 */
import ipaddr from 'ipaddr.js';

export interface UrlPolicy {
  /** Plain http (default false: https only; tests and local development opt in). */
  allowHttp: boolean;
  /** Loopback, private and every other non-public address (default false; local receivers only). */
  allowPrivateTargets: boolean;
  /** When given, only these ports (explicit or the scheme's default) are allowed. */
  allowedPorts?: readonly number[] | undefined;
}

export const STRICT_URL_POLICY: UrlPolicy = { allowHttp: false, allowPrivateTargets: false };

/** From the parsed SETTLE_WEBHOOK_ALLOW_HTTP / _PRIVATE (config/shapes.ts). */
export const urlPolicyFromConfig = (c: {
  SETTLE_WEBHOOK_ALLOW_HTTP: 'true' | 'false';
  SETTLE_WEBHOOK_ALLOW_PRIVATE: 'true' | 'false';
}): UrlPolicy => ({
  allowHttp: c.SETTLE_WEBHOOK_ALLOW_HTTP === 'true',
  allowPrivateTargets: c.SETTLE_WEBHOOK_ALLOW_PRIVATE === 'true',
});

export type Verdict = { ok: true } | { ok: false; reason: string };

export type UrlVerdict =
  | {
      ok: true;
      url: URL;
      /** Hostname without IPv6 brackets. */
      host: string;
      /** The host is an IP literal (already vetted here: no resolution needed). */
      ipLiteral: boolean;
      port: number;
    }
  | { ok: false; reason: string };

/**
 * The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or deprecated IPv4-compatible (::a.b.c.d,
 * RFC 4291 2.5.5.1) IPv6 address. ipaddr.js files the latter under `unicast`, yet stacks that still
 * honour it route `::7f00:1` to 127.0.0.1. `::` and `::1` keep their own IPv6 meaning.
 */
function embeddedIPv4(addr: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (addr.isIPv4MappedAddress()) return addr.toIPv4Address();
  const p = addr.parts;
  const compatible = p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || (p[7] ?? 0) > 1);
  if (!compatible) return undefined;
  const [hi, lo] = [p[6] ?? 0, p[7] ?? 0];
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** The ipaddr.js class of an address, judging IPv6 forms that embed IPv4 by the IPv4 part. */
export function classifyAddress(ip: string): string {
  if (!ipaddr.isValid(ip)) return 'invalid';
  const addr = ipaddr.parse(ip);
  const v4 = addr.kind() === 'ipv6' ? embeddedIPv4(addr as ipaddr.IPv6) : undefined;
  return (v4 ?? addr).range();
}

export function checkTargetAddress(ip: string, policy: UrlPolicy): Verdict {
  // Only canonical dotted-quad / IPv6 text: resolver answers are canonical; odd forms are refused.
  if (!ipaddr.IPv4.isValidFourPartDecimal(ip) && !ipaddr.IPv6.isValid(ip)) {
    return { ok: false, reason: 'not an IP address' };
  }
  const range = classifyAddress(ip);
  if (range === 'unicast' || policy.allowPrivateTargets) return { ok: true };
  return { ok: false, reason: `resolves to a non-public address (${range})` };
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

export function checkTargetUrl(raw: string, policy: UrlPolicy): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return { ok: false, reason: policy.allowHttp ? 'must be an http(s) URL' : 'must be an https URL' };
  }
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials' };
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol]!;
  if (policy.allowedPorts && !policy.allowedPorts.includes(port)) {
    return { ok: false, reason: `port ${port} is not allowed` };
  }
  // WHATWG URL parsing already normalizes IPv4 shorthands (0x7f.1, 2130706433) to dotted quads.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) return { ok: false, reason: 'must have a host' };
  const ipLiteral = ipaddr.IPv4.isValidFourPartDecimal(host) || ipaddr.IPv6.isValid(host);
  if (ipLiteral) {
    const v = checkTargetAddress(host, policy);
    if (!v.ok) return { ok: false, reason: v.reason.replace('resolves to', 'is') };
  }
  return { ok: true, url, host, ipLiteral, port };
}
