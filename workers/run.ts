import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { backoffMs, retryWithBackoff } from '../domain/backoff';

/**
 * Shutdown bounds for every worker: on SIGTERM, in-flight activities get 10 s to finish before they
 * are cancelled, and after 30 s (the longest activity start-to-close timeout) the worker gives up
 * waiting. An abandoned provider call is safe: its retry syncs with the provider before resending
 * (activities/card-activities.ts), under the same idempotency key.
 */
export const WORKER_SHUTDOWN = { shutdownGraceTime: '10 seconds', shutdownForceTime: '30 seconds' } as const;

/** SDK-internal logs at WARN and above only; Settle's own logs go through security/logger.ts. */
export function installRuntime(): void {
  Runtime.install({ logger: new DefaultLogger('WARN') });
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

/**
 * Runs a worker until SIGINT/SIGTERM (the SDK installs the signal handlers and drains), then cleans
 * up. Given a factory, a worker that FAILS (as opposed to one asked to stop) is logged and replaced
 * after a backoff (1 s, 2 s, ... 30 s), so a transient fault does not take the process down.
 */
export async function runUntilSignal(
  worker: Worker | (() => Promise<Worker>),
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
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for (let failures = 0; ;) {
      try {
        const w = typeof worker === 'function' ? await worker() : worker;
        await w.run();
        return;
      } catch (err) {
        if (typeof worker !== 'function' || stopping) throw err;
        failures++;
        report('worker failed; replacing it')(err);
        await new Promise((r) => setTimeout(r, backoffMs(failures)));
      }
    }
  } finally {
    stopping = true;
    void started; // cancelled above: a start event still retrying must not hold the stop up
    // Before cleanup: the pool the audit log writes through is closed by it.
    await retryWithBackoff(event('process.stop'), { attempts: 3, onError: report('audit process.stop') });
    await cleanup();
  }
}
