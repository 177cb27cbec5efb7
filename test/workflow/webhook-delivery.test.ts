/**
 * webhookEndpointWorkflow on the time-skipping server, with fake activities typed from
 * createWebhookActivities: it attempts what the claim admits (all of it, in parallel), attempts
 * NOTHING while the claim says the breaker is open or the endpoint disabled, sleeps durably for the
 * wait the claim gives (minutes here, in no real time), and ends when its endpoint is deleted.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClaimResult } from '../../db/webhook-deliveries-repo';
import type { createWebhookActivities } from '../../activities/webhook-activities';
import { webhookEndpointWorkflow } from '../../workflows/webhook-delivery';
import { createTimeSkippingEnv, runTestWorker, teardownTimeSkippingEnv } from '../support/temporal-test-env';

type Acts = ReturnType<typeof createWebhookActivities>;
jest.setTimeout(60_000);

const MINUTE = 60 * 1000;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
}, 120_000);
afterAll(async () => {
  await teardownTimeSkippingEnv(env);
});

test('attempts what the claim admits, waits out an open breaker and a disabled endpoint, ends on delete', async () => {
  const claims: ClaimResult[] = [
    { state: 'due', deliveryIds: ['dlv_a', 'dlv_b'], waitMs: 0 },
    { state: 'open', deliveryIds: [], waitMs: 5 * MINUTE },
    { state: 'disabled', deliveryIds: [], waitMs: 10 * MINUTE },
    { state: 'due', deliveryIds: ['dlv_c'], waitMs: 0 },
    { state: 'deleted' },
  ];
  const attempts: Array<{ id: string; at: number }> = [];
  let release = () => undefined as void;
  const bothIn = new Promise<void>((r) => (release = r));
  let inFlight = 0;
  let maxInFlight = 0;
  const acts: Acts = {
    dispatchWebhookEvents: () => Promise.resolve({ events: 0, endpointIds: [] }),
    pendingWebhookEndpoints: () => Promise.resolve([]),
    claimWebhookDeliveries: () => {
      const next = claims.shift();
      if (!next) return Promise.reject(new Error('claimed after the endpoint was deleted'));
      return Promise.resolve(next);
    },
    deliverWebhook: async (a) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      attempts.push({ id: a.deliveryId, at: Date.now() });
      // The first of a batch waits (2 s at most) for its sibling: run in parallel, they meet.
      if (a.deliveryId === 'dlv_a' || a.deliveryId === 'dlv_b') {
        if (inFlight === 2) release();
        else await Promise.race([bothIn, new Promise((r) => setTimeout(r, 2000))]);
      }
      inFlight--;
      return { outcome: 'sent', ok: false, statusCode: 503, final: false };
    },
  };
  const taskQueue = `webhook-endpoint-${Math.random().toString(36).slice(2)}`;
  const started = Date.now();
  await runTestWorker(env, { taskQueue, activities: acts }, () =>
    env.client.workflow.execute(webhookEndpointWorkflow, {
      workflowId: `webhook-endpoint-we_test${Math.random().toString(36).slice(2)}`,
      taskQueue,
      args: [{ endpointId: 'we_test' }],
    }),
  );
  expect(claims).toEqual([]);
  // dlv_a and dlv_b run in parallel (either may start first); dlv_c only after the waits.
  expect(
    attempts
      .slice(0, 2)
      .map((a) => a.id)
      .sort(),
  ).toEqual(['dlv_a', 'dlv_b']);
  expect(attempts.map((a) => a.id)).toHaveLength(3);
  expect(attempts[2]?.id).toBe('dlv_c');
  expect(maxInFlight).toBe(2);
  // The open breaker (5 min) and the disabled endpoint (10 min) were waited out durably, on the
  // server's clock, with no attempt in between.
  const workflowClock = await env.currentTimeMs();
  expect(workflowClock - started).toBeGreaterThanOrEqual(15 * MINUTE);
});
