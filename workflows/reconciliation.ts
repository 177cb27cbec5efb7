/**
 * ReconciliationWorkflow: the ledger compared with one provider's records over one window
 * (domain/reconciliation.ts defines the window, the matching and the discrepancy kinds). Workflow id
 * `reconciliation-<rc_id>`. Started by `POST /v1/reconciliation/runs` (the API creates the run row
 * first) or by ScheduledReconciliationWorkflow below (the daily Schedule, workers/reconciliation.ts).
 *
 * Steps:
 *   1. createReconciliationRun (scheduled runs only; idempotent by id).
 *   2. provider pages, on the card-data worker: reconcileProviderPage fetches one page of the
 *      provider's records, matches it against the ledger and stores discrepancies, the payments
 *      seen and the provider fees the records state (provider_fee journal entries); it returns
 *      counts and the next cursor only, so history stays small.
 *   3. ledger remainder: reconcileLedgerRemainder pages through the window's ledger payments no
 *      provider page saw (missing_at_provider).
 *   4. announceDiscrepancies: a merchant event and an audit entry per discrepancy, in batches.
 *   5. finishReconciliation: status matched | discrepancies; on a failure that outlived its retries,
 *      `failed` with the reason (what was found so far stays readable).
 * Cancelled (workflow cancel): finishReconciliation `failed` ("cancelled") in a non-cancellable scope,
 * then the workflow ends cancelled, so the run never stays `running`. A terminated workflow runs no
 * code: the API's read closes its run (api/reconciliation-service.ts, docs/reconciliation.md).
 * Progress: the `reconciliationProgress` query. No timers; no compensation: every step is a read or a
 * keyed, idempotent write.
 */
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  uuid4,
  workflowInfo,
  ActivityFailure,
} from '@temporalio/workflow';
import type { ProviderPageResult, ProviderRecordActivities } from '../activities/provider-records';
import type {
  LedgerRemainderResult,
  ReconciliationActivities,
} from '../activities/reconciliation-activities';
import type { ProviderName } from '../domain/providers';
import { finalStatus, type ReconciliationStatus } from '../domain/reconciliation';
import * as options from './activity-options';
import { onCardQueue } from './card-queue';

export interface ReconciliationInput {
  runId: string;
  provider: ProviderName;
  from: string;
  to: string;
  cardTaskQueue: string;
  /** Audit actor: `system:reconciliation` (Schedule) or the operator who started it. */
  actor: string;
  /** Records per page (provider and ledger). */
  pageSize: number;
  /** The run row does not exist yet (a scheduled run): create it first. */
  createRun?: boolean | undefined;
}

export interface ReconciliationProgress {
  phase: 'provider' | 'ledger' | 'announcing' | 'done';
  pages: number;
  fetched: number;
  checked: number;
  discrepancies: number;
  /** provider_fee journal entries the provider pages posted. */
  fees: number;
}

export interface ReconciliationResult extends ReconciliationProgress {
  runId: string;
  status: ReconciliationStatus;
}

export const reconciliationProgressQuery = defineQuery<ReconciliationProgress>('reconciliationProgress');

export const reconciliationWorkflowId = (runId: string) => `reconciliation-${runId}`;

const acts = proxyActivities<ReconciliationActivities>(options.reconciliationPage);

/** Runs recorded before a cancellation closed the run schedule nothing when cancelled. */
export const CANCEL_CLOSES_RUN_PATCH = 'reconciliation-cancel-closes-run';

/** Worker Versioning: PINNED. A run lasts minutes; each next one starts on the current build. */
export async function reconciliationWorkflow(input: ReconciliationInput): Promise<ReconciliationResult> {
  const progress: ReconciliationProgress = {
    phase: 'provider',
    pages: 0,
    fetched: 0,
    checked: 0,
    discrepancies: 0,
    fees: 0,
  };
  setHandler(reconciliationProgressQuery, () => progress);
  try {
    return await reconcile(input, progress);
  } catch (err) {
    if (!isCancellation(err) || !patched(CANCEL_CLOSES_RUN_PATCH)) throw err;
    // Cancelled: nothing else would ever close the run (it would read `running` forever). Record it
    // failed, then end cancelled.
    await CancellationScope.nonCancellable(() =>
      acts.finishReconciliation({
        runId: input.runId,
        provider: input.provider,
        actor: input.actor,
        status: 'failed',
        checked: progress.checked,
        error: 'cancelled',
      }),
    );
    throw err;
  }
}

async function reconcile(
  input: ReconciliationInput,
  progress: ReconciliationProgress,
): Promise<ReconciliationResult> {
  const card = onCardQueue<ProviderRecordActivities>(input.cardTaskQueue, options.reconciliationPage);
  const window = { from: input.from, to: input.to };

  if (input.createRun) {
    await acts.createReconciliationRun({
      id: input.runId,
      provider: input.provider,
      from: input.from,
      to: input.to,
      requestedBy: input.actor,
    });
  }

  let status: ReconciliationStatus;
  let error: string | undefined;
  try {
    let cursor: string | null = null;
    do {
      const page: ProviderPageResult = await card.reconcileProviderPage({
        runId: input.runId,
        provider: input.provider,
        window,
        cursor,
        limit: input.pageSize,
      });
      progress.pages++;
      progress.fetched += page.fetched;
      progress.checked += page.checked;
      progress.discrepancies += page.discrepancies;
      progress.fees += page.fees ?? 0;
      cursor = page.next;
    } while (cursor !== null);

    progress.phase = 'ledger';
    let after: { createdAt: string; id: string } | null = null;
    do {
      const rest: LedgerRemainderResult = await acts.reconcileLedgerRemainder({
        runId: input.runId,
        provider: input.provider,
        window,
        after: after ?? undefined,
        limit: input.pageSize,
      });
      progress.pages++;
      progress.checked += rest.missing;
      progress.discrepancies += rest.missing;
      after = rest.next;
    } while (after !== null);

    progress.phase = 'announcing';
    for (;;) {
      const a = await acts.announceDiscrepancies({
        runId: input.runId,
        provider: input.provider,
        actor: input.actor,
        limit: input.pageSize,
      });
      if (!a.more) break;
    }
    status = finalStatus(progress.discrepancies);
  } catch (err) {
    // A cancellation is the caller's (reconciliationWorkflow closes the run), not a failed page.
    if (isCancellation(err)) throw err;
    if (!(err instanceof ActivityFailure || err instanceof ApplicationFailure)) throw err;
    status = 'failed';
    error = (err.cause ?? err).message.slice(0, 500);
  }

  const done = await acts.finishReconciliation({
    runId: input.runId,
    provider: input.provider,
    actor: input.actor,
    status,
    checked: progress.checked,
    error,
  });
  progress.phase = 'done';
  progress.discrepancies = done.discrepancies;
  return { runId: input.runId, status, ...progress };
}

export interface ScheduledReconciliationInput {
  providers: ProviderName[];
  /** The window ends at the start of the current UTC day and lasts this long (default a day). */
  windowHours: number;
  cardTaskQueue: string;
  pageSize: number;
}

/**
 * What the daily Schedule starts: one reconciliationWorkflow per enabled provider over the window
 * ending at the start of today (UTC), i.e. the previous day by default. Its time is the workflow's
 * (deterministic) start time; run ids are derived from the workflow's seeded randomness.
 */
export async function scheduledReconciliationWorkflow(
  input: ScheduledReconciliationInput,
): Promise<ReconciliationResult[]> {
  const start = workflowInfo().startTime;
  const dayStart = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  const to = new Date(dayStart).toISOString();
  const from = new Date(dayStart - input.windowHours * 3_600_000).toISOString();
  return Promise.all(
    input.providers.map((provider) => {
      const runId = `rc_${uuid4().replace(/-/g, '')}`;
      return executeChild(reconciliationWorkflow, {
        workflowId: reconciliationWorkflowId(runId),
        args: [
          {
            runId,
            provider,
            from,
            to,
            cardTaskQueue: input.cardTaskQueue,
            actor: 'system:reconciliation',
            pageSize: input.pageSize,
            createRun: true,
          },
        ],
      });
    }),
  );
}
