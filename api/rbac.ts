/**
 * The role matrix of API.md, enforced in ONE place. Each route group declares its resource class;
 * `allowed` decides from (role, class, method). Anything not allowed is 403 `authorization`.
 *
 *   | class    | service    | admin      | auditor |
 *   | business | read+write | read       | read    |   payments, refunds, vault, bank accounts, webhook endpoints
 *   | audit    | -          | read       | read    |   audit events, audit verification
 *   | admin    | -          | read+write | -       |   clients, operators, key rotation
 */
import type { NextFunction, Request, Response } from 'express';
import ipaddr from 'ipaddr.js';
import type { Role } from '../db/clients-repo';
import { AppError } from '../domain/errors';

export type ResourceClass = 'business' | 'audit' | 'admin';

const MATRIX: Readonly<Record<ResourceClass, Readonly<Record<Role, 'rw' | 'r' | '-'>>>> = {
  business: { service: 'rw', admin: 'r', auditor: 'r' },
  audit: { service: '-', admin: 'r', auditor: 'r' },
  admin: { service: '-', admin: 'rw', auditor: '-' },
};

const READ_METHODS = new Set(['GET', 'HEAD']);

export function allowed(role: Role, cls: ResourceClass, method: string): boolean {
  const a = MATRIX[cls][role];
  return a === 'rw' || (a === 'r' && READ_METHODS.has(method.toUpperCase()));
}

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

export function parseAllowlist(spec: string): Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((cidr) => ipaddr.parseCIDR(cidr));
}

export function ipAllowed(ip: string | undefined, list: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>): boolean {
  if (!ip || !ipaddr.isValid(ip)) return false;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress())
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  return list.some(([range, bits]) => range.kind() === addr.kind() && addr.match([range, bits] as never));
}

/** Route-group guard: role check, then (operators only) the source-address allowlist. */
export function requireAccess(cls: ResourceClass, allowlist: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const auth = req.auth;
    if (!auth) throw new AppError('authentication', 'unauthenticated', 'Authentication required');
    if (!allowed(auth.role, cls, req.method)) {
      throw new AppError('authorization', 'forbidden', 'Your role does not allow this request');
    }
    if ((auth.role === 'admin' || auth.role === 'auditor') && !ipAllowed(req.ip, allowlist)) {
      throw new AppError(
        'authorization',
        'source_not_allowed',
        'Requests from this address are not allowed for your role',
      );
    }
    next();
  };
}
