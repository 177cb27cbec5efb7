import net from 'node:net';
import { DefaultLogger, Runtime, type NativeConnection, type Worker } from '@temporalio/worker';
import { createAuditLog } from '../db/audit-repo';
import type { Pool } from '../db/pool';
import { backoffMs, retryWithBackoff } from '../domain/backoff';
import type { Logger } from '../security/logger';
import type { Tracing } from '../observability/tracing';
import { signalReady } from '../config/ready';
import { fetchExposition, startMetricsServer } from '../observability/metrics';

/**
 * Shutdown bounds for every worker: on SIGTERM, in-flight activities get 10 s to finish before they
 * are cancelled, and after 30 s (the longest activity start-to-close timeout) the worker gives up
 * waiting. An abandoned provider call is safe: its retry syncs with the provider before resending
 * (activities/card-activities.ts), under the same idempotency key.
 */
export const WORKER_SHUTDOWN = { shutdownGraceTime: '10 seconds', shutdownForceTime: '30 seconds' } as const;

/** A port nothing listens on at this moment (the SDK's exporter cannot bind port 0 and say which). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * SDK-internal logs at WARN and above only; Settle's own logs go through security/logger.ts.
 *
 * With `metrics`, the SDK's own worker metrics (task slots, poll and schedule-to-start latencies,
 * sticky cache, ...; `temporal_…`, Prometheus-style names: `_total`, `_seconds`) are exported by its
 * Prometheus exporter on a free loopback port of its own, which the process's `/metrics` forwards
 * (serveWorker): one scrape target per process, no second port to configure. The SDK offers no
 * supported way to feed prom-client directly (its buffered exporter is experimental). Returns the
 * exporter's URL.
 */
export async function installRuntime(metrics = false): Promise<string | undefined> {
  if (!metrics) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    return undefined;
  }
  // Another process may take the probed port before the exporter binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    const bindAddress = `127.0.0.1:${await freeLoopbackPort()}`;
    try {
      Runtime.install({
        logger: new DefaultLogger('WARN'),
        telemetryOptions: {
          metrics: {
            prometheus: {
              bindAddress,
              countersTotalSuffix: true,
              unitSuffix: true,
              useSecondsForDurations: true,
            },
          },
        },
      });
      // Starts the exporter now: a failed bind surfaces here, not at the first connection.
      Runtime.instance();
      return `http://${bindAddress}/metrics`;
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test(String(err))) throw err;
    }
  }
}

/** Process start/stop go to the audit trail (PCI DSS 10.2.1.6) when a sink is given. */
export interface LifecycleAudit {
  append(e: {
    actor: string;
    action: string;
    resource: string;
    outcome: 'success' | 'failure';
  }): Promise<unknown>;
}

/** A worker that ran this long before failing was healthy: the next replacement waits 1 s again. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * The factory for runUntilSignal: hands out `first` (built before readiness was signalled, so a bad
 * configuration still fails the start), then a new worker from `build` for every replacement.
 */
export function firstThenBuild(first: Worker, build: () => Promise<Worker>): () => Promise<Worker> {
  let pending: Worker | undefined = first;
  return async () => {
    const w = pending ?? (await build());
    pending = undefined;
    return w;
  };
}

/**
 * Runs a worker until SIGINT/SIGTERM (the SDK installs the signal handlers and drains), then cleans
 * up. A worker that FAILS (as opposed to one asked to stop), e.g. when PostgreSQL or Temporal is
 * briefly away, is logged and replaced from `worker` after a backoff (1 s, 2 s, ... 30 s, back to 1 s
 * after a healthy minute), so a transient fault never takes the process down.
 */
export async function runUntilSignal(
  worker: () => Promise<Worker>,
  cleanup: () => Promise<void>,
  lifecycle?: { audit: LifecycleAudit; name: string; onError?: (err: unknown, what: string) => void },
): Promise<void> {
  const event = (action: string) => () =>
    lifecycle
      ? lifecycle.audit.append({
          actor: `system:${lifecycle.name}`,
          action,
          resource: `process:${lifecycle.name}:${process.pid}`,
          outcome: 'success',
        })
      : Promise.resolve();
  const report = (what: string) => (err: unknown) => lifecycle?.onError?.(err, what);
  // In the background: the worker polls while a restarting database catches up with the event.
  let stopping = false;
  const started = retryWithBackoff(event('process.start'), {
    onError: report('audit process.start'),
    cancelled: () => stopping,
  });
  // A signal during a backoff ends the wait at once: nothing is running that would need draining.
  let wake: () => void = () => undefined;
  const stop = () => {
    stopping = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for (let failures = 0; !stopping;) {
      const startedAt = Date.now();
      try {
        const w = await worker();
        // Asked to stop while it was being built: the SDK's signal handling never saw this one, so it
        // is started and stopped at once (which also releases its hold on the connection).
        if (stopping) await w.runUntil(Promise.resolve());
        else await w.run();
        return;
      } catch (err) {
        if (stopping) throw err;
        failures = Date.now() - startedAt > HEALTHY_AFTER_MS ? 1 : failures + 1;
        report('worker failed; replacing it')(err);
        await new Promise<void>((r) => {
          if (stopping) return r();
          const t = setTimeout(r, backoffMs(failures));
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    }
  } finally {
    stopping = true;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    void started; // cancelled above: a start event still retrying must not hold the stop up
    // Before cleanup: the pool the audit log writes through is closed by it.
    await retryWithBackoff(event('process.stop'), { attempts: 3, onError: report('audit process.stop') });
    await cleanup();
  }
}

/**
 * The tail every worker process shares: the first worker is built before readiness is signalled, a
 * failed one is replaced (runUntilSignal), and on a signal the process's own extras stop, then the
 * Temporal connection and the pool.
 */
export async function serveWorker(opts: {
  name: 'payment-worker' | 'card-worker' | 'webhook-worker';
  /** How the start and stop lines name the process ("payment worker"). */
  label: string;
  build: () => Promise<Worker>;
  log: Logger;
  startedFields: Record<string, unknown>;
  pool: Pool;
  connection: NativeConnection;
  /** Started once the process is ready (the card worker's CVC sweeper); stopped first. */
  afterReady?: () => { stop(): Promise<void> };
  /**
   * `/metrics` on 127.0.0.1:`port` (0: none), with the Temporal SDK's exposition at `temporal`
   * (installRuntime's URL) appended.
   */
  metrics?: { port: number; temporal?: string | undefined };
  /** Traces (observability/tracing.ts), when on: flushed last, after the work has stopped. */
  tracing?: Tracing | undefined;
}): Promise<void> {
  const { log, pool, connection } = opts;
  const first = await opts.build();
  const temporal = opts.metrics?.temporal;
  const metrics =
    opts.metrics && opts.metrics.port > 0
      ? await startMetricsServer({
          port: opts.metrics.port,
          more: temporal ? () => fetchExposition(temporal) : undefined,
          onError: (err) =>
            log.error({ err, port: opts.metrics?.port }, 'metrics port unavailable; not serving metrics'),
        })
      : undefined;
  log.info({ ...opts.startedFields, metricsPort: metrics?.port ?? null }, `${opts.label} started`);
  signalReady(opts.name);
  const extra = opts.afterReady?.();
  await runUntilSignal(
    firstThenBuild(first, opts.build),
    async () => {
      await extra?.stop();
      await metrics?.close();
      await connection.close();
      await pool.end();
      await opts.tracing?.shutdown();
      log.info(`${opts.label} stopped`);
    },
    { audit: createAuditLog(pool), name: opts.name, onError: (err, what) => log.error({ err }, what) },
  );
}
