/**
 * GET /v1/audit-events and GET /v1/audit-events/verify (API.md "Audit"; verify checks the keyed chain
 * against the latest keyed anchor, db/audit-repo.ts). Reading the audit log is
 * itself an audited event (PCI DSS 10.2.1.3), appended BEFORE the data is returned: if the read
 * cannot be recorded, it does not happen.
 */
import type { Router, Request } from 'express';
import { createRouter } from '../router';
import type { AuditLog } from '../../db/audit-repo';
import { notFound } from '../../domain/errors';
import type { AuditEvent, AuditEventInput } from '../../security/audit';
import { listQuery, parse } from '../validation';

function publicEvent(e: AuditEvent) {
  return {
    id: e.id,
    at: e.at,
    actor: e.actor,
    action: e.action,
    resource: e.resource,
    outcome: e.outcome,
    sourceIp: e.sourceIp,
    hash: e.hash,
    prevHash: e.prevHash,
  };
}

function readEvent(req: Request, action: string, details: Record<string, unknown>): AuditEventInput {
  return {
    actor: req.auth!.sub,
    action,
    resource: 'audit-events',
    outcome: 'success',
    sourceIp: req.ip ?? null,
    details: { requestId: req.requestId, role: req.auth!.role, ...details },
  };
}

export function auditRoutes(deps: { audit: AuditLog }): Router {
  const r = createRouter();
  r.get('/verify', async (req, res) => {
    await deps.audit.append(readEvent(req, 'audit.verify', {}));
    res.locals.auditDone = true;
    const v = await deps.audit.verify();
    res.json({
      valid: v.valid,
      checked: v.checked,
      ...(v.firstBrokenId ? { firstBrokenId: v.firstBrokenId } : {}),
      ...(v.anchoredAt ? { anchoredAt: v.anchoredAt } : {}),
    });
  });
  r.get('/', async (req, res) => {
    const q = parse(listQuery, req.query);
    await deps.audit.append(readEvent(req, 'audit.list', { limit: q.limit, startingAfter: q.startingAfter }));
    res.locals.auditDone = true;
    const page = await deps.audit.list(q);
    if (!page) throw notFound('audit event');
    res.json({ data: page.data.map(publicEvent), hasMore: page.hasMore });
  });
  return r;
}
