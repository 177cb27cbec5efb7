/**
 * webhookDeliveryWorkflow on the time-skipping server with the DEFAULT schedule: proves that a
 * failing endpoint is retried with growing backoff for at least 24 hours (the contract), always for
 * the same delivery, and that a later success stops the retries. The fake attempt activity is typed
 * from createWebhookActivities and records the workflow time of every attempt.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { AttemptArgs, createWebhookActivities } from '../../activities/webhook-activities';

import { DEFAULT_DELIVERY_SCHEDULE, webhookDeliveryWorkflow } from '../../workflows/webhook-delivery';
import { createTimeSkippingEnv, runTestWorker, teardownTimeSkippingEnv } from '../support/temporal-test-env';

type Acts = ReturnType<typeof createWebhookActivities>;
jest.setTimeout(60_000);

const HOUR = 60 * 60 * 1000;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
}, 120_000);
afterAll(async () => {
  await teardownTimeSkippingEnv(env);
});

async function run(succeedAtAttempt: number | undefined) {
  const attempts: AttemptArgs[] = [];
  const acts: Acts = {
    dispatchWebhookEvents: () => Promise.resolve({ events: 0, deliveryIds: [] }),
    attemptWebhookDelivery: (a) => {
      attempts.push(a);
      const ok = a.attempt === succeedAtAttempt;
      return Promise.resolve({ ok, statusCode: ok ? 200 : 503 });
    },
  };
  const taskQueue = `webhook-delivery-${attempts.length}-${Math.random().toString(36).slice(2)}`;
  const outcome = await runTestWorker(env, { taskQueue, activities: acts }, () =>
    env.client.workflow.execute(webhookDeliveryWorkflow, {
      workflowId: `webhook-delivery-dlv_test${Math.random().toString(36).slice(2)}`,
      taskQueue,
      args: [{ deliveryId: 'dlv_0123456789abcdef01234567' }],
    }),
  );
  return { outcome, attempts };
}

test('a failing endpoint is retried with growing backoff for at least 24 hours, then given up', async () => {
  const { outcome, attempts } = await run(undefined);
  expect(outcome.status).toBe('failed');
  expect(attempts.length).toBe(outcome.attempts);
  expect(new Set(attempts.map((a) => a.deliveryId))).toEqual(new Set(['dlv_0123456789abcdef01234567']));
  expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));

  const at = attempts.map((a) => Date.parse(a.at));
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  // Exponential from 30 s (doubling until the cap), never shrinking; 1 s slack for workflow-task time.
  expect(gaps[0]).toBeGreaterThanOrEqual(DEFAULT_DELIVERY_SCHEDULE.initialBackoffMs);
  expect(gaps[1]! - gaps[0]!).toBeGreaterThanOrEqual(DEFAULT_DELIVERY_SCHEDULE.initialBackoffMs - 1000);
  for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]! - 1000);
  expect(Math.max(...gaps)).toBeLessThanOrEqual(DEFAULT_DELIVERY_SCHEDULE.maxBackoffMs + 1000);
  // The contract: retries keep going for at least 24 hours after the first attempt.
  expect(at[at.length - 1]! - at[0]!).toBeGreaterThanOrEqual(24 * HOUR);
  // Every attempt but the last announces when the next one is due; the last says none follows.
  expect(attempts[attempts.length - 1]!.nextAttemptAt).toBeNull();
  for (const [i, a] of attempts.slice(0, -1).entries())
    expect(Date.parse(a.nextAttemptAt!)).toBeLessThanOrEqual(at[i + 1]! + 1000);
});

test('a success stops the retries', async () => {
  const { outcome, attempts } = await run(4);
  expect(outcome).toEqual({ deliveryId: 'dlv_0123456789abcdef01234567', status: 'succeeded', attempts: 4 });
  expect(attempts).toHaveLength(4);
});
