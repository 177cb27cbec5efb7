/**
 * The role matrix of API.md, enforced in ONE place. Each route group declares its resource class;
 * `allowed` decides from (role, class, method). Anything not allowed is 403 `authorization`.
 *
 *   | class    | service    | admin      | auditor |
 *   | business | read+write | read       | read    |   payments, refunds, vault, bank accounts, webhook endpoints
 *   | ledger   | read (own) | read       | read    |   ledger entries and balances
 *   | audit    | -          | read       | read    |   audit events, audit verification
 *   | reconciliation | -    | read+write | read    |   reconciliation runs
 *   | admin    | -          | read+write | -       |   clients, operators, key rotation
 */
import type { NextFunction, Request, Response } from 'express';
import ipaddr from 'ipaddr.js';
import type { Role } from '../db/clients-repo';
import { AppError } from '../domain/errors';

export type ResourceClass = 'business' | 'ledger' | 'audit' | 'reconciliation' | 'admin';

const MATRIX: Readonly<Record<ResourceClass, Readonly<Record<Role, 'rw' | 'r' | '-'>>>> = {
  business: { service: 'rw', admin: 'r', auditor: 'r' },
  // A service reads only its own merchant's ledger: the routes scope every read by its client id.
  ledger: { service: 'r', admin: 'r', auditor: 'r' },
  audit: { service: '-', admin: 'r', auditor: 'r' },
  reconciliation: { service: '-', admin: 'rw', auditor: 'r' },
  admin: { service: '-', admin: 'rw', auditor: '-' },
};

const READ_METHODS = new Set(['GET', 'HEAD']);

export function allowed(role: Role, cls: ResourceClass, method: string): boolean {
  const a = MATRIX[cls][role];
  return a === 'rw' || (a === 'r' && READ_METHODS.has(method.toUpperCase()));
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
