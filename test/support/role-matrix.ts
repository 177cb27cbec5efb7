/**
 * API.md's role matrix as the tests read it, written independently of api/rbac.ts: which resource
 * class a route belongs to, what each role may do there, and so which credentials a test that wants
 * to get PAST authorization (to probe input handling) must send. One table for every test that walks
 * all routes: a new route group is classified here once.
 */
import type { Role } from '../../db/clients-repo';

export type Cls = 'public' | 'self' | 'business' | 'ledger' | 'reconciliation' | 'audit' | 'admin';

export const CONTRACT: Record<Exclude<Cls, 'public' | 'self'>, Record<Role, 'rw' | 'r' | '-'>> = {
  business: { service: 'rw', admin: 'r', auditor: 'r' },
  ledger: { service: 'r', admin: 'r', auditor: 'r' },
  reconciliation: { service: '-', admin: 'rw', auditor: 'r' },
  audit: { service: '-', admin: 'r', auditor: 'r' },
  admin: { service: '-', admin: 'rw', auditor: '-' },
};

/** The class of a route path (Express pattern or concrete path); undefined: not in the contract. */
export function classify(path: string): Cls | undefined {
  if (['/healthz', '/readyz', '/openapi.json', '/.well-known/jwks.json'].includes(path)) return 'public';
  if (/^\/v1\/auth\/(token|login|mfa)$/.test(path)) return 'public';
  if (/^\/webhooks\//.test(path)) return 'public';
  if (path === '/v1/auth/logout') return 'self';
  if (/^\/v1\/(vault|payments|refunds|bank-accounts|webhook-endpoints|events|disputes)(\/|$)/.test(path))
    return 'business';
  if (/^\/v1\/ledger\//.test(path)) return 'ledger';
  if (/^\/v1\/reconciliation\//.test(path)) return 'reconciliation';
  if (/^\/v1\/audit-events(\/|$)/.test(path)) return 'audit';
  if (/^\/v1\/(clients|operators|signing-keys)(\/|$)/.test(path)) return 'admin';
  return undefined;
}

/**
 * The role whose token reaches a route's handler for `method`: the service where the contract lets it,
 * else admin; undefined for public routes. Matched case-insensitively, so a probe of `/V1/...` is
 * sent with the credentials of the route it imitates (and must then be 404, not 403).
 */
export function roleToReach(method: string, path: string): Role | undefined {
  const cls = classify(path.replace(/^\/v1\//i, '/v1/').toLowerCase());
  if (!cls || cls === 'public') return undefined;
  if (cls === 'self') return 'service';
  const read = method === 'GET' || method === 'HEAD';
  const may = (r: Role) => CONTRACT[cls][r] === 'rw' || (read && CONTRACT[cls][r] === 'r');
  return may('service') ? 'service' : 'admin';
}
