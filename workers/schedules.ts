/**
 * The one way the payment worker ensures a Temporal Schedule (the sweeper's, reconciliation's):
 * create it, or, when it exists, bring its spec, action and policies to this configuration. Every
 * replica and restart does the same, so they converge on one Schedule.
 */
import {
  ScheduleAlreadyRunning,
  type Client,
  type ScheduleHandle,
  type ScheduleOptions,
} from '@temporalio/client';

export async function upsertSchedule(
  client: Client,
  o: Pick<ScheduleOptions, 'scheduleId' | 'spec' | 'action' | 'policies'>,
): Promise<ScheduleHandle> {
  try {
    return await client.schedule.create(o);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = client.schedule.getHandle(o.scheduleId);
    await handle.update((prev) => ({ ...prev, spec: o.spec, action: o.action, policies: o.policies }));
    return handle;
  }
}
