/**
 * Audits HTTP traffic into the hash chain (PCI DSS 10.2.1): every mutating request (object creation
 * and deletion, admin actions, credential changes), every authentication/authorization failure and
 * rate-limit hit (invalid access attempts), and every read of card data or of the audit log.
 * Routes refine an event through `res.locals.audit` (e.g. the operator a login was for) or take over
 * entirely with `res.locals.auditDone` when they append before answering (audit-log reads).
 */
import type { NextFunction, Request, Response } from 'express';
import type { AuditLog } from '../../db/audit-repo';
import type { AuditEventInput } from '../../security/audit';
import type { Logger } from '../../security/logger';
import { scrubCardNumbers } from '../../security/redaction';

export interface AuditOverride {
  actor?: string;
  action?: string;
  resource?: string;
  details?: Record<string, unknown>;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Reads that are themselves auditable events: card data (vault) and the audit log. */
const AUDITED_READS = [/^\/v1\/vault(\/|$)/, /^\/v1\/audit-events(\/|$)/];

/** Ids in paths become `:id` in the action, so actions group by operation; the resource keeps them. */
const ID_SEGMENT = /^[a-z]{2,5}_[0-9A-Za-z]{8,64}$/;

export function actionOf(method: string, path: string): string {
  return `${method} ${path
    .split('/')
    .map((s) => (ID_SEGMENT.test(s) ? ':id' : s))
    .join('/')}`;
}

export function shouldAudit(method: string, path: string, status: number): boolean {
  return (
    MUTATING.has(method) ||
    status === 401 ||
    status === 403 ||
    status === 429 ||
    AUDITED_READS.some((re) => re.test(path))
  );
}

/** The 10.2.2 fields of one HTTP request, after the response is known. */
export function httpAuditEvent(req: Request, res: Response): AuditEventInput {
  const path = scrubCardNumbers(req.originalUrl.split('?')[0] ?? '/');
  const o = (res.locals.audit ?? {}) as AuditOverride;
  return {
    actor: o.actor ?? req.auth?.sub ?? 'anonymous',
    action: o.action ?? actionOf(req.method, path),
    resource: o.resource ?? path,
    outcome: res.statusCode < 400 ? 'success' : 'failure',
    sourceIp: req.ip ?? null,
    details: {
      status: res.statusCode,
      requestId: req.requestId,
      ...(req.auth ? { role: req.auth.role } : {}),
      ...(req.auth?.sid ? { sessionId: req.auth.sid } : {}),
      ...o.details,
    },
  };
}

export function auditTrail(deps: { audit: AuditLog; logger: Logger }) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.on('finish', () => {
      if (res.locals.auditDone) return;
      const path = req.originalUrl.split('?')[0] ?? '/';
      if (!shouldAudit(req.method, path, res.statusCode) && !res.locals.audit) return;
      deps.audit.append(httpAuditEvent(req, res)).catch((err: unknown) => {
        // The response is already sent; an audit write failure must be loud for operations.
        deps.logger.error({ err, requestId: req.requestId }, 'audit append failed');
      });
    });
    next();
  };
}
