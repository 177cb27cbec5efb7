/**
 * Reconciliation runs for the API (API.md "Ledger and reconciliation"): an admin starts one for a
 * provider and window (the run row first, `running`, then workflow `reconciliation-<rc_id>` on the
 * payment worker's queue, whose provider pages run on the card-data worker's queue); admin and
 * auditor read runs with their discrepancies. Bad input is refused here with the contract's 400.
 *
 * A run is `running` until its workflow finishes it; a cancelled workflow does so itself, but a
 * terminated or timed-out one runs no more code. So a read of a `running` run asks Temporal about its
 * workflow and closes the run `failed` when the workflow is closed (closeAbandoned). Not found (the
 * start is a moment behind the row) or Temporal unreachable: the run is shown as stored.
 */
import type { Client } from '@temporalio/client';
import type { ReconciliationRepo, ReconciliationRunView } from '../db/reconciliation-repo';
import { invalidRequest } from '../domain/errors';
import { newId } from '../domain/ids';
import { isProviderName } from '../domain/providers';
import { windowProblem } from '../domain/reconciliation';
import { reconciliationWorkflow, reconciliationWorkflowId } from '../workflows/reconciliation';

export interface ReconciliationService {
  start(r: { provider: string; from: string; to: string; actor: string }): Promise<{
    id: string;
    status: 'running';
  }>;
  get(id: string): Promise<ReconciliationRunView | undefined>;
  list(q: { limit: number; startingAfter?: string | undefined }): Promise<{
    data: ReconciliationRunView[];
    hasMore: boolean;
  }>;
}

export interface ReconciliationServiceDeps {
  client: Client;
  repo: ReconciliationRepo;
  taskQueue: string;
  cardTaskQueue: string;
  enabledProviders: readonly string[];
  /** Longest window one run may cover. */
  maxWindowDays: number;
  pageSize: number;
}

/** Workflow states in which no code of the run will ever finish it. */
const ENDED = new Set(['TERMINATED', 'TIMED_OUT', 'CANCELLED', 'FAILED', 'COMPLETED']);

export function createReconciliationService(deps: ReconciliationServiceDeps): ReconciliationService {
  async function closeIfEnded(run: ReconciliationRunView): Promise<ReconciliationRunView> {
    if (run.status !== 'running') return run;
    let state: string;
    try {
      state = (await deps.client.workflow.getHandle(reconciliationWorkflowId(run.id)).describe()).status.name;
    } catch {
      return run;
    }
    if (!ENDED.has(state)) return run;
    if (await deps.repo.closeAbandoned(run.id, `the run's workflow ended ${state.toLowerCase()}`))
      return { ...run, status: 'failed' };
    return (await deps.repo.getRun(run.id)) ?? run;
  }

  return {
    async start(r) {
      if (!isProviderName(r.provider) || !deps.enabledProviders.includes(r.provider))
        throw invalidRequest('invalid_field', 'Invalid value for provider: not an enabled provider', {
          field: 'provider',
        });
      const problem = windowProblem(r, deps.maxWindowDays);
      if (problem) throw invalidRequest('invalid_field', `Invalid window: ${problem}`, { field: 'to' });
      const from = new Date(r.from).toISOString();
      const to = new Date(r.to).toISOString();
      const id = newId('rc');
      await deps.repo.createRun({ id, provider: r.provider, from, to, requestedBy: r.actor });
      try {
        await deps.client.workflow.start(reconciliationWorkflow, {
          taskQueue: deps.taskQueue,
          workflowId: reconciliationWorkflowId(id),
          args: [
            {
              runId: id,
              provider: r.provider,
              from,
              to,
              cardTaskQueue: deps.cardTaskQueue,
              actor: r.actor,
              pageSize: deps.pageSize,
            },
          ],
        });
      } catch (err) {
        // No workflow will ever finish this run: say so instead of leaving it `running`.
        await deps.repo.finishRun({
          id,
          status: 'failed',
          checked: 0,
          error: 'the run could not be started',
        });
        throw err;
      }
      return { id, status: 'running' };
    },
    async get(id) {
      const run = await deps.repo.getRun(id);
      return run && closeIfEnded(run);
    },
    async list(q) {
      const page = await deps.repo.listRuns(q);
      return { ...page, data: await Promise.all(page.data.map(closeIfEnded)) };
    },
  };
}
