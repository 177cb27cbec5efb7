/**
 * Starts the merchant-webhook dispatcher (one per deployment) on the webhook task queue, after moving
 * a deployment off the earlier layout, where the dispatcher and one workflow per delivery ran on the
 * payments queue: those are terminated here. Nothing is lost by it: every delivery lives in the
 * database, and the new dispatcher starts by handing each endpoint's pending deliveries to that
 * endpoint's workflow on the webhook queue.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  wakeSignal,
  webhookDispatcherId,
  webhookDispatcherWorkflow,
  webhookEndpointWorkflowId,
} from '../workflows/webhook-delivery';

/** The workflow type of the earlier layout (one per delivery, on the payments queue). */
const LEGACY_DELIVERY = 'webhookDeliveryWorkflow';

export async function startWebhookDispatcher(
  client: Client,
  opts: { taskQueue: string; pollMs: number; workflowId?: string | undefined; retireLegacy?: boolean },
): Promise<{ retired: number; legacyError?: string }> {
  const workflowId = opts.workflowId ?? webhookDispatcherId();
  let retired = 0;
  let legacyError: string | undefined;
  const current = client.workflow.getHandle(workflowId);
  try {
    const d = await current.describe();
    if (d.status.name === 'RUNNING' && d.taskQueue !== opts.taskQueue) {
      await current.terminate(`the dispatcher moved to task queue ${opts.taskQueue}`);
      retired++;
    }
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  if (opts.retireLegacy) {
    const query = `WorkflowType = '${LEGACY_DELIVERY}' AND ExecutionStatus = 'Running'`;
    try {
      for await (const wf of client.workflow.list({ query })) {
        await client.workflow
          .getHandle(wf.workflowId, wf.runId)
          .terminate('deliveries moved to the webhook task queue')
          .catch(() => undefined);
        retired++;
      }
    } catch (err) {
      // Visibility without these filters: the operator terminates them instead (README); the
      // deliveries themselves are safe in the database either way.
      legacyError = err instanceof Error ? err.message : String(err);
    }
  }
  await client.workflow.start(webhookDispatcherWorkflow, {
    workflowId,
    taskQueue: opts.taskQueue,
    args: [{ pollMs: opts.pollMs }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return legacyError === undefined ? { retired } : { retired, legacyError };
}

/** Wakes an endpoint's workflow now (enabled again: held deliveries resume; deleted: it ends). */
export async function wakeEndpointWorkflow(client: Client, endpointId: string): Promise<void> {
  await client.workflow
    .getHandle(webhookEndpointWorkflowId(endpointId))
    .signal(wakeSignal)
    .catch(() => undefined);
}
