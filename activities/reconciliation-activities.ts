/**
 * Reconciliation's ledger side, on the payment worker (workflows/reconciliation.ts): create and finish
 * a run, list the ledger payments no provider page saw (missing_at_provider), and announce every
 * discrepancy as a merchant event (`reconciliation.discrepancy`, to the payment's merchant) and an
 * audit entry. Each returns counts only. Announcing is once per discrepancy: its event id derives from
 * (run, discrepancy) and the discrepancy is marked announced with its event in one transaction; the
 * audit entry is written just before, so a crash between the two can at worst repeat that one entry.
 */
import { createHash } from 'node:crypto';
import type { AuditLog } from '../db/audit-repo';
import type { ReconciliationRepo } from '../db/reconciliation-repo';
import type { EventRecord } from '../domain/merchant-event';
import type { ProviderName } from '../domain/providers';
import { missingAtProvider, type ReconciliationStatus, type Window } from '../domain/reconciliation';
import { atBoundary } from './errors';

export const DISCREPANCY_EVENT = 'reconciliation.discrepancy';
export const RECONCILIATION_ACTOR = 'system:reconciliation';

export interface LedgerRemainderResult {
  missing: number;
  next: { createdAt: string; id: string } | null;
}

export interface ReconciliationActivityDeps {
  reconciliation: ReconciliationRepo;
  audit: AuditLog;
}

const eventId = (runId: string, key: string) =>
  `evt_${createHash('sha256').update(`${runId}\0${key}`).digest('hex').slice(0, 24)}`;

export function createReconciliationActivities(deps: ReconciliationActivityDeps) {
  const repo = deps.reconciliation;
  return {
    /** A run the Schedule starts (the API creates its own before starting the workflow). */
    async createReconciliationRun(run: {
      id: string;
      provider: ProviderName;
      from: string;
      to: string;
      requestedBy: string;
    }): Promise<void> {
      await atBoundary(() => repo.createRun(run));
    },

    /** One page of the ledger's remainder, stored as missing_at_provider. */
    async reconcileLedgerRemainder(q: {
      runId: string;
      provider: ProviderName;
      window: Window;
      after?: { createdAt: string; id: string } | undefined;
      limit: number;
    }): Promise<LedgerRemainderResult> {
      return atBoundary(async () => {
        const rows = await repo.unseenLedger(q);
        await repo.storeDiscrepancies(
          q.runId,
          rows.map(({ cursor: _, ...l }) => missingAtProvider(l)),
        );
        const last = rows[rows.length - 1];
        return { missing: rows.length, next: last && rows.length === q.limit ? last.cursor : null };
      });
    },

    /** Up to `limit` discrepancies announced (event + audit); `more`: call again. */
    async announceDiscrepancies(q: {
      runId: string;
      provider: ProviderName;
      actor: string;
      limit: number;
    }): Promise<{ announced: number; more: boolean }> {
      return atBoundary(async () => {
        const pending = await repo.unannounced(q.runId, q.limit);
        for (const d of pending) {
          const facts = {
            reconciliationId: q.runId,
            provider: q.provider,
            kind: d.kind,
            ...(d.paymentId ? { paymentId: d.paymentId } : {}),
            ...(d.providerReference ? { providerReference: d.providerReference } : {}),
            ...(d.expected ? { expected: d.expected } : {}),
            ...(d.actual ? { actual: d.actual } : {}),
          };
          await deps.audit.append({
            actor: q.actor,
            action: DISCREPANCY_EVENT,
            resource: d.paymentId ?? `${q.provider}:${d.providerReference ?? 'unknown'}`,
            outcome: 'failure',
            details: facts,
          });
          // A record only the provider has names no merchant of ours: audit entry only.
          const event: EventRecord | undefined =
            d.clientId && d.paymentId
              ? {
                  id: eventId(q.runId, d.key),
                  clientId: d.clientId,
                  type: DISCREPANCY_EVENT,
                  resourceId: d.paymentId,
                  data: facts,
                  createdAt: new Date().toISOString(),
                }
              : undefined;
          await repo.markAnnounced(q.runId, d.key, event);
        }
        return { announced: pending.length, more: pending.length === q.limit };
      });
    },

    /** The run's status and counts; an audit entry of the run itself. */
    async finishReconciliation(f: {
      runId: string;
      provider: ProviderName;
      actor: string;
      status: ReconciliationStatus;
      checked: number;
      error?: string | undefined;
    }): Promise<{ discrepancies: number }> {
      return atBoundary(async () => {
        await repo.finishRun({ id: f.runId, status: f.status, checked: f.checked, error: f.error });
        const discrepancies = await repo.discrepancyCount(f.runId);
        await deps.audit.append({
          actor: f.actor,
          action: 'reconciliation.run',
          resource: f.runId,
          outcome: f.status === 'failed' ? 'failure' : 'success',
          details: {
            provider: f.provider,
            status: f.status,
            checked: f.checked,
            discrepancies,
            error: f.error,
          },
        });
        return { discrepancies };
      });
    },
  };
}
export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
