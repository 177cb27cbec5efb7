/**
 * Reconciliation's provider side, on the card-data worker (the only process with provider
 * credentials): one activity per page fetches the provider's records (activities/providers/records.ts),
 * matches them against the ledger (domain/reconciliation.ts matchPage) and stores the discrepancies,
 * the payments it saw and the provider fees its records state (provider_fee journal entries, in the
 * same transaction), returning counts only, so the workflow's history stays small whatever the window
 * holds. A retried page stores nothing twice (discrepancies, seen payments and entries are keyed; a
 * retry re-reads the fees the ledger holds, so a committed fee is not posted again).
 */
import type { ReconciliationRepo } from '../db/reconciliation-repo';
import type { ProviderName } from '../domain/providers';
import { matchPage, providerFetchWindow, type Window } from '../domain/reconciliation';
import { FAILURE_TYPES } from '../domain/errors';
import { atBoundary, failure } from './errors';
import type { ProviderRecordSource } from './providers/records';

export interface ProviderRecordDeps {
  sources: ReadonlyMap<ProviderName, ProviderRecordSource>;
  reconciliation: ReconciliationRepo;
}

export interface ProviderPageInput {
  runId: string;
  provider: ProviderName;
  /** The run's window; the provider is read over it widened by the slack (domain/reconciliation.ts). */
  window: Window;
  cursor: string | null;
  limit: number;
}

export interface ProviderPageResult {
  /** Provider records this run compared (others belong to other windows). */
  checked: number;
  discrepancies: number;
  /** provider_fee entries this page posted (absent in results recorded before fees were posted). */
  fees?: number | undefined;
  fetched: number;
  next: string | null;
}

export function createProviderRecordActivities(deps: ProviderRecordDeps) {
  return {
    async reconcileProviderPage(q: ProviderPageInput): Promise<ProviderPageResult> {
      const source = deps.sources.get(q.provider);
      // A provider this worker does not run cannot be read by retrying: fail the run, visibly.
      if (!source)
        throw failure(FAILURE_TYPES.ProviderInvalidRequest, `provider ${q.provider} is not enabled`);
      return atBoundary(async () => {
        const page = await source.page({
          window: providerFetchWindow(q.window),
          cursor: q.cursor,
          limit: q.limit,
        });
        const ledger = await deps.reconciliation.ledgerByReferences(
          q.provider,
          page.records.map((r) => r.providerReference),
        );
        const m = matchPage(q.window, page.records, ledger, new Date().toISOString());
        const fees = await deps.reconciliation.storePage(q.runId, m.discrepancies, m.seen, m.fees);
        return {
          checked: m.checked,
          discrepancies: m.discrepancies.length,
          fees,
          fetched: page.records.length,
          next: page.next,
        };
      });
    },
  };
}
export type ProviderRecordActivities = ReturnType<typeof createProviderRecordActivities>;
