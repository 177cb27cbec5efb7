import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';

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

/** Runs a worker until SIGINT/SIGTERM (the SDK installs the signal handlers and drains), then cleans up. */
export async function runUntilSignal(
  worker: Worker,
  cleanup: () => Promise<void>,
  lifecycle?: { audit: LifecycleAudit; name: string },
): Promise<void> {
  const event = (action: string) =>
    lifecycle?.audit.append({
      actor: `system:${lifecycle.name}`,
      action,
      resource: `process:${lifecycle.name}:${process.pid}`,
      outcome: 'success',
    });
  await event('process.start');
  try {
    await worker.run();
  } finally {
    // Before cleanup: the pool the audit log writes through is closed by it.
    await Promise.resolve(event('process.stop')).catch(() => undefined);
    await cleanup();
  }
}
