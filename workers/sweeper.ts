/**
 * The stuck-payment sweeper's process-side parts, owned by the payment worker: its Schedule and the
 * port through which its activities ask payment workflows for their state.
 *
 * Why the payment worker owns the Schedule (and not the API): it runs the sweeper's workflow and
 * activities, on its own task queue, and needs a Temporal client for them anyway (the getPayment
 * query); the Schedule's action names that queue and the card-data queue, both in its
 * configuration. Every payment worker replica ensures the same Schedule at start: creating it is
 * idempotent (an existing one is updated to the configured interval), so replicas and restarts
 * converge on one Schedule, and a deployment without payment workers sweeps nothing it could not run.
 */
import {
  ScheduleOverlapPolicy,
  WorkflowNotFoundError,
  type Client,
  type ScheduleHandle,
} from '@temporalio/client';
import { upsertSchedule } from './schedules';
import type { PaymentWorkflowLookup } from '../activities/sweeper-activities';
import { SWEEPER_ACTOR } from '../activities/sweeper-activities';
import { getPaymentQuery } from '../workflows/payment-messages';
import { paymentWorkflowId } from '../workflows/payment-repair';
import type { SweeperInput } from '../workflows/payment-sweeper';

/** One Schedule per payment task queue (several deployments may share a namespace). */
export const sweeperScheduleId = (taskQueue: string) => `payment-sweeper-${taskQueue}`;

export interface SweeperScheduleConfig {
  taskQueue: string;
  cardTaskQueue: string;
  intervalMinutes: number;
  staleAfterMinutes: number;
  batchSize: number;
  maxBatches: number;
}

export function sweeperInput(cfg: SweeperScheduleConfig, extra: Partial<SweeperInput> = {}): SweeperInput {
  return {
    scope: sweeperScheduleId(cfg.taskQueue),
    cardTaskQueue: cfg.cardTaskQueue,
    staleAfterMs: cfg.staleAfterMinutes * 60_000,
    batchSize: cfg.batchSize,
    maxBatches: cfg.maxBatches,
    actor: SWEEPER_ACTOR,
    ...extra,
  };
}

/** Create the sweeper's Schedule, or bring an existing one to this configuration. */
export async function ensureSweeperSchedule(
  client: Client,
  cfg: SweeperScheduleConfig,
): Promise<ScheduleHandle> {
  const scheduleId = sweeperScheduleId(cfg.taskQueue);
  const spec = { intervals: [{ every: `${cfg.intervalMinutes} minutes` as const }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'paymentSweeperWorkflow',
    // The server appends each action's time: one workflow id per run.
    workflowId: scheduleId,
    taskQueue: cfg.taskQueue,
    args: [sweeperInput(cfg)],
  };
  // A run longer than the interval must not pile up: the next one is skipped.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' };
  return upsertSchedule(client, { scheduleId, spec, action, policies });
}

/**
 * A workflow that cannot answer (its worker down, its workflow task failing) must not hold up the
 * whole page: its query gives up after this long and it counts as unreachable this run.
 */
const QUERY_DEADLINE_MS = 5_000;

/** The getPayment query on each payment's workflow; a missing workflow is `found: false`. */
export function paymentWorkflowLookup(client: Client): PaymentWorkflowLookup {
  return {
    async look(paymentId) {
      const handle = client.workflow.getHandle(paymentWorkflowId(paymentId));
      try {
        const [view, info] = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
          Promise.all([handle.query(getPaymentQuery), handle.describe()]),
        );
        return { found: true, view, running: info.status.name === 'RUNNING' };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { found: false };
        return { found: true, error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
