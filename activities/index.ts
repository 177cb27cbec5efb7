/**
 * Activities of the payment worker (task queue SETTLE_TASK_QUEUE): PostgreSQL projections and other
 * token-only work. Card data never passes through here; see card-activities.ts for the card worker.
 */
import type { EventRecord, EventsRepo } from '../db/events-repo';
import type { PaymentStep, PaymentsRepo } from '../db/payments-repo';
import type { PaymentView, RefundRecord } from '../domain/payment';
import { paymentTransitions, providerLabel } from '../observability/metrics';
import { atBoundary } from './errors';

export interface ActivityDeps {
  payments: PaymentsRepo;
  events: EventsRepo;
}

export function createActivities(deps: ActivityDeps) {
  return {
    /**
     * One step of a payment in one PostgreSQL transaction: projection, refund, merchant events. Run
     * as a LOCAL activity by the payment workflow (a short local write: no task-queue round trip, and
     * history keeps one marker instead of three events and the whole view as input).
     */
    async commitPaymentStep(step: PaymentStep): Promise<void> {
      await atBoundary(() => deps.payments.commitStep(step));
      // After the commit: a failed attempt counts nothing, its successful retry counts once. A step
      // that announces no `payment.<status>` (a dispute's silent withdrawal or reinstatement, a
      // re-projection) moved no status: it is not a transition.
      if (step.events.some((e) => e.resourceId === step.view.id && e.type.startsWith('payment.')))
        paymentTransitions.inc({ status: step.view.status, provider: providerLabel(step.view.provider) });
    },
    // The three below are the pre-`commitPaymentStep` steps, kept for payments already running on
    // them (workflows/payment-legacy.ts) and for bank and provider-event paths that write one thing.
    async projectPayment(a: { clientId: string; view: PaymentView; version: number }): Promise<void> {
      return atBoundary(() => deps.payments.upsert(a.clientId, a.view, a.version));
    },
    async projectRefund(r: RefundRecord): Promise<void> {
      return atBoundary(() => deps.payments.upsertRefund(r));
    },
    /** Append a merchant event to the outbox (idempotent by the caller's deterministic id). */
    async recordEvent(e: EventRecord): Promise<void> {
      await atBoundary(() => deps.events.append(e));
    },
  };
}
export type Activities = ReturnType<typeof createActivities>;
