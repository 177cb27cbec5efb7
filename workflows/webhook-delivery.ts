/**
 * Merchant webhook delivery (API.md "Webhooks").
 *
 * webhookDispatcherWorkflow (id `webhook-dispatcher`, one per deployment):
 *   loop: activity dispatchWebhookEvents claims undispatched outbox events and, in ONE transaction,
 *   creates their deliveries (unique per event x endpoint) and marks them dispatched; then starts a
 *   child webhookDeliveryWorkflow per delivery with the deterministic id `webhook-delivery-<dlv id>`
 *   (REJECT_DUPLICATE, ABANDON). The activity's result is in history before any child starts, so a
 *   crash between the two only replays the starts: no event is lost, and an id already started is
 *   never started twice. Sleeps `pollMs` when idle; continues-as-new every 200 rounds.
 *
 * webhookDeliveryWorkflow (id `webhook-delivery-<dlv id>`):
 *   attempt 1 at once; after a failure (non-2xx, timeout, connection error) wait
 *   initialBackoffMs * 2^(n-1), capped at maxBackoffMs, and try again until an attempt would start
 *   more than retryForMs after the first one (default 25 h: the contract asks for >= 24 h). Every
 *   attempt signs the SAME event (same id): at-least-once, de-duplicable by the receiver.
 *   No compensation: the delivery log (webhook_deliveries/_attempts) records every attempt.
 */
import {
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  continueAsNew,
  proxyActivities,
  sleep,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createWebhookActivities } from '../activities/webhook-activities';
import * as options from './activity-options';

export interface DeliverySchedule {
  initialBackoffMs: number;
  maxBackoffMs: number;
  retryForMs: number;
}

export const DEFAULT_DELIVERY_SCHEDULE: DeliverySchedule = {
  initialBackoffMs: 30_000,
  maxBackoffMs: 4 * 60 * 60 * 1000,
  retryForMs: 25 * 60 * 60 * 1000,
};

type Acts = ReturnType<typeof createWebhookActivities>;
const dispatchActs = proxyActivities<Acts>(options.webhookDispatch);
const attemptActs = proxyActivities<Acts>(options.webhookAttempt);

export interface DeliveryOutcome {
  deliveryId: string;
  status: 'succeeded' | 'failed' | 'gone';
  attempts: number;
}

export const backoffFor = (s: DeliverySchedule, attempt: number) =>
  Math.min(s.initialBackoffMs * 2 ** (attempt - 1), s.maxBackoffMs);

export async function webhookDeliveryWorkflow(a: {
  deliveryId: string;
  schedule?: DeliverySchedule | undefined;
}): Promise<DeliveryOutcome> {
  const s = a.schedule ?? DEFAULT_DELIVERY_SCHEDULE;
  const first = Date.now();
  for (let attempt = 1; ; attempt++) {
    const backoff = backoffFor(s, attempt);
    const last = Date.now() + backoff - first > s.retryForMs;
    let ok: boolean;
    try {
      const r = await attemptActs.attemptWebhookDelivery({
        deliveryId: a.deliveryId,
        attempt,
        at: new Date().toISOString(),
        nextAttemptAt: last ? null : new Date(Date.now() + backoff).toISOString(),
      });
      if (r.gone) return { deliveryId: a.deliveryId, status: 'gone', attempts: attempt };
      // Refused by the SSRF guard (security/url-guard.ts): permanent, already logged as failed.
      if (r.final) return { deliveryId: a.deliveryId, status: 'failed', attempts: attempt };
      ok = r.ok;
    } catch {
      // Our own side failed (DB) even after the activity's retries: counts as a failed attempt.
      ok = false;
    }
    if (ok) return { deliveryId: a.deliveryId, status: 'succeeded', attempts: attempt };
    if (last) return { deliveryId: a.deliveryId, status: 'failed', attempts: attempt };
    await sleep(backoff);
  }
}

export const webhookDispatcherId = (suffix?: string) =>
  suffix ? `webhook-dispatcher-${suffix}` : 'webhook-dispatcher';

export async function webhookDispatcherWorkflow(a: {
  pollMs: number;
  schedule?: DeliverySchedule | undefined;
}): Promise<void> {
  for (let round = 0; round < 200; round++) {
    const r = await dispatchActs.dispatchWebhookEvents({ limit: 100 });
    for (const deliveryId of r.deliveryIds) {
      try {
        await startChild(webhookDeliveryWorkflow, {
          workflowId: `webhook-delivery-${deliveryId}`,
          args: [{ deliveryId, schedule: a.schedule }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    if (r.events === 0) await sleep(a.pollMs);
  }
  await continueAsNew<typeof webhookDispatcherWorkflow>(a);
}
