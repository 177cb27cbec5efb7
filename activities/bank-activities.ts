/**
 * Bank-account activities of the payment worker: the status projection, merchant events
 * (bank_account.* into the outbox, deterministic evt_ ids) and audit events. No account data and no
 * micro-deposit amounts ever reach these arguments.
 */
import type { BankAccountsRepo } from '../db/bank-accounts-repo';
import type { EventsRepo } from '../db/events-repo';
import { bankEventId, type BankAccountView } from '../domain/bank-account';
import { atBoundary } from './errors';

/**
 * Audit sink: db/audit-repo.ts createAuditLog(pool) (the hash-chained audit trail) in the payment
 * worker. At-least-once: an activity retry after a lost answer may append a status change twice.
 */
export interface BankAuditSink {
  append(e: {
    actor: string;
    action: string;
    resource: string;
    outcome: 'success' | 'failure';
  }): Promise<unknown>;
}

export interface BankActivityDeps {
  bankAccounts: BankAccountsRepo;
  events: EventsRepo;
  audit?: BankAuditSink | undefined;
}

export interface ProjectBankAccountArgs {
  clientId: string;
  view: BankAccountView;
  version: number;
  providerReference?: string | undefined;
  /** Set when the status changed: emits `bank_account.<status>` (merchant + audit). */
  statusChanged: boolean;
}

export function createBankActivities(deps: BankActivityDeps) {
  return {
    async projectBankAccount(a: ProjectBankAccountArgs): Promise<void> {
      await atBoundary(async () => {
        await deps.bankAccounts.project(a);
        if (!a.statusChanged) return;
        // One event per status: a status is entered at most once per account, so the id is stable.
        await deps.events.append({
          id: bankEventId(a.view.id, `s${a.view.status}`),
          clientId: a.clientId,
          type: `bank_account.${a.view.status}`,
          resourceId: a.view.id,
          data: { bankAccount: a.view },
          createdAt: a.view.updatedAt,
        });
        await deps.audit?.append({
          actor: 'system:bank-verification',
          action: `bank_account.${a.view.status}`,
          resource: a.view.id,
          outcome:
            a.view.status === 'verified' || a.view.status === 'awaiting_microdeposits'
              ? 'success'
              : 'failure',
        });
      });
    },

    async recordBankReminder(a: {
      clientId: string;
      view: BankAccountView;
      n: number;
      at: string;
    }): Promise<void> {
      await atBoundary(() =>
        deps.events.append({
          id: bankEventId(a.view.id, `reminder${a.n}`),
          clientId: a.clientId,
          type: 'bank_account.verification_reminder',
          resourceId: a.view.id,
          data: { bankAccount: a.view, reminder: a.n },
          createdAt: a.at,
        }),
      );
    },
  };
}
export type BankActivities = ReturnType<typeof createBankActivities>;
