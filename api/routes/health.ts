/** Liveness and readiness (no token). Readiness checks PostgreSQL and the Temporal connection. */
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Pool } from '../../db/pool';

export function healthRoutes(deps: { pool: Pool; temporal?: Client | undefined }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const checks: Record<string, 'ok' | 'unavailable'> = {};
    checks.database = await deps.pool.query('SELECT 1').then(
      () => 'ok' as const,
      () => 'unavailable' as const,
    );
    if (deps.temporal) {
      checks.temporal = await deps.temporal.workflowService.getSystemInfo({}).then(
        () => 'ok' as const,
        () => 'unavailable' as const,
      );
    }
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });
  return r;
}
