/**
 * A merchant's dead webhook endpoint must not delay payments (API.md "Webhooks"): 1,000 deliveries
 * to an endpoint that accepts TCP connections and never answers, while 100 payments run.
 *
 * Proves, structurally (no timed assertion):
 *   - every payment of both runs completes (201 `captured`);
 *   - no webhook workflow runs on the payments task queue and no webhook activity is ever scheduled
 *     there: the dispatcher and every endpoint workflow live on the webhook queue;
 *   - the dead endpoint never holds more connections at once than its concurrency bound;
 *   - its circuit breaker opens, so the 1,000 deliveries wait instead of each spending attempts.
 * The p99 latency of the payments with the dead endpoint over the p99 of a run without it (same
 * process, same machine) is printed: a measurement, not an assertion (npm run bench:webhooks).
 */
import { temporal } from '@temporalio/proto';
import { startStack, type Stack } from '../support/stack';
import {
  loadDeadMerchant,
  percentile,
  startDeadEndpoint,
  timePayments,
  type DeadEndpoint,
} from '../support/webhook-load';
import { webhookDispatcherId, webhookEndpointWorkflowId } from '../../workflows/webhook-delivery';
import { waitFor } from './payments-support';

jest.setTimeout(120_000);

const DEAD_DELIVERIES = 1000;
const PAYMENTS = 100;
const PARALLEL = 10;
const CONCURRENCY = 4;
const BREAKER_AFTER = 5;
/** Every webhook workflow type, past (one workflow per delivery) and present. */
const WEBHOOK_TYPES =
  "WorkflowType IN ('webhookDispatcherWorkflow', 'webhookEndpointWorkflow', 'webhookDeliveryWorkflow')";

let stack: Stack;
let dead: DeadEndpoint;

beforeAll(async () => {
  dead = await startDeadEndpoint();
  stack = await startStack({
    webhooks: {
      dispatcher: {
        pollMs: 200,
        schedule: { initialBackoffMs: 500, maxBackoffMs: 2000, retryForMs: 60_000 },
        endpoint: {
          concurrency: CONCURRENCY,
          breakerThreshold: BREAKER_AFTER,
          breakerCooldownMs: 60_000,
          attemptTimeoutMs: 1000,
        },
      },
      urlPolicy: { allowHttp: true, allowPrivateTargets: true },
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await dead?.close();
});

async function scheduledActivityQueues(workflowId: string): Promise<string[]> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED;
  return (history.events ?? [])
    .filter((e) => e.eventType === scheduled)
    .map((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name ?? '');
}

test('1,000 deliveries to a dead endpoint stay off the payments task queue while 100 payments complete', async () => {
  const payer = await stack.serviceAuth();
  await timePayments(stack, payer.authorization, PARALLEL, PARALLEL); // warm-up: bundles, pools, JIT
  const baseline = await timePayments(stack, payer.authorization, PAYMENTS, PARALLEL);

  const { endpointId } = await loadDeadMerchant(stack, dead.url, DEAD_DELIVERIES);
  await waitFor(
    () => Promise.resolve(dead.accepted()),
    (n) => n > 0,
    20_000,
    'the first attempt at the dead endpoint',
  );
  const loaded = await timePayments(stack, payer.authorization, PAYMENTS, PARALLEL);
  const ratio = percentile(loaded, 0.99) / percentile(baseline, 0.99);
  process.stdout.write(
    `webhook isolation: payments p99 ${percentile(baseline, 0.99).toFixed(0)} ms without, ` +
      `${percentile(loaded, 0.99).toFixed(0)} ms with ${DEAD_DELIVERIES} deliveries to a dead endpoint: ` +
      `ratio ${ratio.toFixed(2)}\n`,
  );
  expect(loaded).toHaveLength(PAYMENTS);

  const created = await stack.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1',
    [endpointId],
  );
  expect(created.rows[0]!.n).toBe(DEAD_DELIVERIES);

  // Nothing of the webhooks ever ran on the payments queue: no workflow, no activity.
  expect(stack.webhookTaskQueue).not.toBe(stack.taskQueue);
  const onPaymentsQueue: string[] = [];
  const query = `${WEBHOOK_TYPES} AND TaskQueue = '${stack.taskQueue}'`;
  for await (const wf of stack.client.workflow.list({ query })) onPaymentsQueue.push(wf.workflowId);
  expect(onPaymentsQueue).toEqual([]);
  for (const id of [webhookDispatcherId(stack.taskQueue), webhookEndpointWorkflowId(endpointId)]) {
    expect((await stack.client.workflow.getHandle(id).describe()).taskQueue).toBe(stack.webhookTaskQueue);
    const queues = await scheduledActivityQueues(id);
    expect(queues.length).toBeGreaterThan(0);
    for (const q of queues) expect(q).toBe(stack.webhookTaskQueue);
  }

  // Bounded: never more connections at once than the endpoint's concurrency; the breaker opened
  // after a few failures, so the 1,000 deliveries wait instead of each spending attempts.
  expect(dead.maxOpen()).toBeLessThanOrEqual(CONCURRENCY);
  const attempts = await stack.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM webhook_delivery_attempts a
     JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1`,
    [endpointId],
  );
  expect(attempts.rows[0]!.n).toBeGreaterThanOrEqual(BREAKER_AFTER);
  expect(attempts.rows[0]!.n).toBeLessThan(BREAKER_AFTER + CONCURRENCY);
});
