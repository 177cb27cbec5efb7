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
import { scrubCardNumbers, scrubRequestValue } from '../../security/redaction';
import { stringProblem } from './input-gate';

export interface AuditOverride {
  actor?: string;
  action?: string;
  resource?: string;
  details?: Record<string, unknown>;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Mounted on the route groups whose reads are themselves auditable events (card data, the audit
 * log). The decision follows the route Express matched, never the text of the path: routing is
 * case-sensitive and strict, so a path that reaches these routers is spelled one way only.
 */
export function auditedRead(_req: Request, res: Response, next: NextFunction): void {
  res.locals.auditedRead = true;
  next();
}

/** Ids in paths become `:id` in the action, so actions group by operation; the resource keeps them. */
const ID_SEGMENT = /^[a-z]{2,5}_[0-9A-Za-z]{8,64}$/;

export function actionOf(method: string, path: string): string {
  return `${method} ${path
    .split('/')
    .map((s) => (ID_SEGMENT.test(s) ? ':id' : s))
    .join('/')}`;
}

export function shouldAudit(method: string, auditedReadRoute: boolean, status: number): boolean {
  return MUTATING.has(method) || status === 401 || status === 403 || status === 429 || auditedReadRoute;
}

/**
 * The path as text for the trail: percent-decoded when that gives clean text (so an encoded card
 * number is seen by the scrubber), else kept encoded; card numbers masked either way.
 */
function pathForAudit(originalUrl: string): string {
  const raw = originalUrl.split('?')[0] ?? '/';
  let text = raw;
  try {
    const decoded = decodeURIComponent(raw);
    if (!stringProblem(decoded)) text = decoded;
  } catch {
    // Undecodable: the raw (ASCII) form is stored.
  }
  return scrubCardNumbers(text, 'strict');
}

/**
 * The 10.2.2 fields of one HTTP request, after the response is known. Routes copy client-sent text
 * (a client id, the username of a failed login) into the actor, resource and details: all of it is
 * masked with the strict scan, the one API input is refused by.
 */
export function httpAuditEvent(req: Request, res: Response): AuditEventInput {
  const path = pathForAudit(req.originalUrl);
  const o = (res.locals.audit ?? {}) as AuditOverride;
  return {
    actor: scrubCardNumbers(o.actor ?? req.auth?.sub ?? 'anonymous', 'strict'),
    action: scrubCardNumbers(o.action ?? actionOf(req.method, path), 'strict'),
    resource: scrubCardNumbers(o.resource ?? path, 'strict'),
    outcome: res.statusCode < 400 ? 'success' : 'failure',
    sourceIp: req.ip ?? null,
    details: {
      status: res.statusCode,
      requestId: req.requestId,
      ...(req.auth ? { role: req.auth.role } : {}),
      ...(req.auth?.sid ? { sessionId: req.auth.sid } : {}),
      ...(o.details && (scrubRequestValue(o.details) as Record<string, unknown>)),
    },
  };
}

export function auditTrail(deps: { audit: AuditLog; logger: Logger }) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.on('finish', () => {
      if (res.locals.auditDone) return;
      const read = res.locals.auditedRead === true;
      if (!shouldAudit(req.method, read, res.statusCode) && !res.locals.audit) return;
      deps.audit.append(httpAuditEvent(req, res)).catch((err: unknown) => {
        // The response is already sent; an audit write failure must be loud for operations.
        deps.logger.error({ err, requestId: req.requestId }, 'audit append failed');
      });
    });
    next();
  };
}
