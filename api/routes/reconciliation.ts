/**
 * Reconciliation runs (API.md "Ledger and reconciliation"): POST /v1/reconciliation/runs
 * { provider, from, to } -> 202 { id, status: "running" } (admin only); GET /v1/reconciliation/runs
 * and /runs/:id (admin and auditor) -> the run with its discrepancies. Roles and the allowlist are
 * checked by the route group (api/rbac.ts), the Idempotency-Key by its middleware.
 */
import type { Router } from 'express';
import { z } from 'zod';
import { notFound } from '../../domain/errors';
import { PROVIDER_NAMES } from '../../domain/providers';
import type { ReconciliationService } from '../reconciliation-service';
import { createRouter } from '../router';
import { idString, listQuery, parse } from '../validation';

const rfc3339 = z.iso.datetime({ offset: true }).max(40);

export const StartRunBody = z
  .object({ provider: z.enum(PROVIDER_NAMES), from: rfc3339, to: rfc3339 })
  .strict();
const RunId = idString('rc');

export function reconciliationRoutes(deps: { reconciliation: ReconciliationService }): Router {
  const r = createRouter();
  r.post('/runs', async (req, res) => {
    const body = parse(StartRunBody, req.body);
    res.status(202).json(await deps.reconciliation.start({ ...body, actor: req.auth!.sub }));
  });
  r.get('/runs', async (req, res) => {
    res.json(await deps.reconciliation.list(parse(listQuery, req.query)));
  });
  r.get('/runs/:id', async (req, res) => {
    parse(z.object({}).strict(), req.query);
    const run = await deps.reconciliation.get(parse(RunId, req.params.id));
    if (!run) throw notFound('reconciliation run');
    res.json(run);
  });
  return r;
}
