/**
 * The daily reconciliation Schedule, ensured by the payment worker at start like the sweeper's
 * (workers/sweeper.ts says why this process owns Schedules: it runs their workflows, with a client
 * it has anyway). Each action starts scheduledReconciliationWorkflow, which starts one
 * reconciliationWorkflow per enabled provider over the window ending at the start of that day (UTC):
 * the previous day by default. Creating is idempotent; an existing Schedule is brought to this
 * configuration, so replicas and restarts converge on one.
 */
import { ScheduleOverlapPolicy, type Client, type ScheduleHandle } from '@temporalio/client';
import { upsertSchedule } from './schedules';
import type { ProviderName } from '../domain/providers';
import type { ScheduledReconciliationInput } from '../workflows/reconciliation';

/** One Schedule per payment task queue (several deployments may share a namespace). */
export const reconciliationScheduleId = (taskQueue: string) => `reconciliation-${taskQueue}`;

export interface ReconciliationScheduleConfig {
  taskQueue: string;
  cardTaskQueue: string;
  /** 5-field cron, UTC. */
  cron: string;
  windowHours: number;
  pageSize: number;
  providers: ProviderName[];
}

export function scheduledReconciliationInput(
  cfg: ReconciliationScheduleConfig,
): ScheduledReconciliationInput {
  return {
    providers: cfg.providers,
    windowHours: cfg.windowHours,
    cardTaskQueue: cfg.cardTaskQueue,
    pageSize: cfg.pageSize,
  };
}

export async function ensureReconciliationSchedule(
  client: Client,
  cfg: ReconciliationScheduleConfig,
): Promise<ScheduleHandle> {
  const scheduleId = reconciliationScheduleId(cfg.taskQueue);
  const spec = { cronExpressions: [cfg.cron] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'scheduledReconciliationWorkflow',
    // The server appends each action's time: one workflow id per day.
    workflowId: scheduleId,
    taskQueue: cfg.taskQueue,
    args: [scheduledReconciliationInput(cfg)],
  };
  // A day's runs still going when the next day's start are not doubled; a worker down at the time
  // catches up within the day.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' };
  return upsertSchedule(client, { scheduleId, spec, action, policies });
}
