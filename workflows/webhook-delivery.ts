/**
 * Merchant webhook delivery (API.md "Webhooks"), on the webhook task queue only: the dispatcher is
 * started there and its children and activities inherit that queue, so no webhook task ever waits
 * behind (or in front of) a payment's.
 *
 * webhookDispatcherWorkflow (id `webhook-dispatcher`, one per deployment):
 *   on each run, first makes sure every endpoint with pending deliveries has its workflow (deliveries
 *   left by an earlier version, a re-enabled endpoint); then loops: activity dispatchWebhookEvents
 *   claims undispatched outbox events and, in ONE transaction, creates their deliveries and marks them
 *   dispatched; then wakes the workflow of each endpoint that got some (starting it if none runs).
 *   The activity's result is in history before any start or signal, so a crash in between only
 *   replays them. Sleeps `pollMs` when idle; continues-as-new every 200 rounds.
 *
 * webhookEndpointWorkflow (id `webhook-endpoint-<we id>`, one per endpoint):
 *   loop: claimWebhookDeliveries returns the deliveries this endpoint may attempt NOW (none while it
 *   is disabled or its circuit breaker is open; one trial when half-open; else up to its concurrency,
 *   due first), and runs them in parallel, one deliverWebhook each (the activity applies the retry
 *   schedule and the breaker in the database). With nothing to do it sleeps until the next due time,
 *   or until the dispatcher's `wake` signal. Ends when the endpoint is deleted; continues-as-new when
 *   its history grows. One endpoint's backlog is one workflow: it never holds other endpoints' tasks.
 *   No compensation: the delivery log (webhook_deliveries/_attempts) records every attempt.
 */
import {
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  condition,
  continueAsNew,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createWebhookActivities } from '../activities/webhook-activities';
import * as options from './activity-options';

type Acts = ReturnType<typeof createWebhookActivities>;
const dispatchActs = proxyActivities<Acts>(options.webhookDispatch);
const attemptActs = proxyActivities<Acts>(options.webhookAttempt);

/** Sent by the dispatcher when new deliveries exist for the endpoint. */
export const wakeSignal = defineSignal('wake');

export const webhookEndpointWorkflowId = (endpointId: string) => `webhook-endpoint-${endpointId}`;

/** Shortest sleep between two claims: a clock skew between worker and database never spins. */
const MIN_WAIT_MS = 100;

/**
 * Worker Versioning: AUTO_UPGRADE for both webhook workflows (the webhook worker's default behaviour,
 * workers/versioning.ts). They are loops that live as long as
 * their endpoint (the dispatcher: as long as the deployment) and continue-as-new onto the same
 * version when pinned, so a pinned old build would never drain. Each iteration's work is an activity
 * reading the database, and their histories are short (continue-as-new every <5000 events): a change
 * to a loop goes behind patched(), and the deploy gate replays the running ones before a ramp.
 */

export async function webhookEndpointWorkflow(a: { endpointId: string }): Promise<void> {
  let woken = false;
  setHandler(wakeSignal, () => {
    woken = true;
  });
  while (!workflowInfo().continueAsNewSuggested && workflowInfo().historyLength < 5000) {
    // Reset BEFORE the claim: a wake that arrives while it runs is not lost.
    woken = false;
    const c = await dispatchActs.claimWebhookDeliveries({ endpointId: a.endpointId });
    if (c.state === 'deleted') return;
    if (c.state !== 'due') {
      await condition(() => woken, Math.max(MIN_WAIT_MS, c.waitMs));
      continue;
    }
    await Promise.all(
      c.deliveryIds.map((deliveryId) =>
        // Our own side failed (DB) even after the activity's retries: the delivery stays pending.
        attemptActs.deliverWebhook({ deliveryId }).catch(() => undefined),
      ),
    );
  }
  await continueAsNew<typeof webhookEndpointWorkflow>(a);
}

export const webhookDispatcherId = (suffix?: string) =>
  suffix ? `webhook-dispatcher-${suffix}` : 'webhook-dispatcher';

/**
 * Wakes an endpoint's workflow, starting it if none runs (it ends only when its endpoint is deleted).
 * `known`: endpoints this run already started or woke, signalled directly (fewer history events).
 */
async function wake(endpointId: string, known: Set<string>): Promise<void> {
  const workflowId = webhookEndpointWorkflowId(endpointId);
  const signal = () => getExternalWorkflowHandle(workflowId).signal(wakeSignal);
  if (known.has(endpointId)) {
    try {
      return await signal();
    } catch {
      // It ended meanwhile: start it again below.
    }
  }
  known.add(endpointId);
  try {
    await startChild(webhookEndpointWorkflow, {
      workflowId,
      args: [{ endpointId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // Running: tell it. If it ended meanwhile (endpoint deleted) there is nothing to wake.
    await signal().catch(() => undefined);
  }
}

export async function webhookDispatcherWorkflow(a: { pollMs: number }): Promise<void> {
  const known = new Set<string>();
  const wakeAll = (ids: string[]) => Promise.all(ids.map((id) => wake(id, known)));
  await wakeAll(await dispatchActs.pendingWebhookEndpoints());
  for (let round = 0; round < 200 && !workflowInfo().continueAsNewSuggested; round++) {
    const r = await dispatchActs.dispatchWebhookEvents({ limit: 100 });
    await wakeAll(r.endpointIds);
    if (r.events === 0) await sleep(a.pollMs);
  }
  await continueAsNew<typeof webhookDispatcherWorkflow>({ pollMs: a.pollMs });
}
