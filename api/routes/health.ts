/** Liveness and readiness (no token). Readiness checks PostgreSQL and the Temporal connection. */
import type { Router } from 'express';
import { createRouter } from '../router';
import type { Client } from '@temporalio/client';
import type { Pool } from '../../db/pool';

const PROBE_MS = 2000;

function probe(check: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), PROBE_MS);
  });
  return Promise.race([check(), timeout])
    .then(
      () => 'ok' as const,
      () => 'unavailable' as const,
    )
    .finally(() => clearTimeout(timer));
}

export function healthRoutes(deps: { pool: Pool; temporal?: Client | undefined }): Router {
  const r = createRouter();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const checks: Record<string, 'ok' | 'unavailable'> = {};
    // Each check is bounded: a dependency that hangs is as unavailable as one that refuses.
    const [database, temporal] = await Promise.all([
      probe(() => deps.pool.query('SELECT 1')),
      deps.temporal
        ? probe(() =>
            deps.temporal!.connection.withDeadline(Date.now() + PROBE_MS, () =>
              deps.temporal!.workflowService.getSystemInfo({}),
            ),
          )
        : undefined,
    ]);
    checks.database = database;
    if (temporal) checks.temporal = temporal;
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });
  return r;
}
