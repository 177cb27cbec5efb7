/**
 * Provider events (webhooks in) as seen by paymentWorkflow: signal `providerEvent`.
 *
 * The API stores each provider event once (provider_events) and signals the owning workflow; a
 * signal may still arrive twice (API crash between signal and bookkeeping) or out of order, so every
 * effect here is idempotent by construction:
 *   - refund.succeeded: a refund made at the provider (e.g. in its dashboard) is applied through the
 *     state machine's `refund` transition, only for the part not already reflected: a Stripe
 *     `charge.refunded` carries the CUMULATIVE amount refunded (delta = amount - amountRefunded), a
 *     Braintree credit carries its own amount and id (skipped when a refund has that provider id).
 *     It waits until capturing is over (an early event is not lost) and runs serialized with the
 *     workflow's own operations, so a refund WE made is committed before its webhook is looked at.
 *   - dispute.opened / dispute.closed / settlement.failed: a merchant event with the deterministic id
 *     the API derived from (provider, event id): the outbox stores it once.
 *   - anything else is already reflected by our own operations and is ignored.
 */
import { condition, defineSignal } from '@temporalio/workflow';
import type { EventRecord } from '../domain/merchant-event';
import type { PaymentInput, RefundRecord } from '../domain/payment';
import { TERMINAL_STATUSES, transition } from '../domain/payment-state';
import type { PaymentContext } from './payment-context';

export interface ProviderEventSignal {
  /** `<provider>:<provider event id>` */
  eventId: string;
  provider: string;
  kind: string;
  amount?: number | undefined;
  /** true: `amount` is the total refunded so far at the provider (Stripe charge.refunded). */
  cumulative?: boolean | undefined;
  providerRefundId?: string | undefined;
  /** Deterministic ids derived by the API from (provider, event id). */
  refundId: string;
  merchantEventId: string;
  occurredAt: string;
}

export const providerEventSignal = defineSignal<[ProviderEventSignal]>('providerEvent');

export const MERCHANT_EVENT_TYPES: Readonly<Record<string, string>> = {
  'dispute.opened': 'payment.dispute_opened',
  'dispute.closed': 'payment.dispute_closed',
  'settlement.failed': 'payment.settlement_failed',
};

export function providerEventHandler(
  ctx: PaymentContext & {
    /** Append one merchant event that changes no state. */
    recordEvent: (e: EventRecord) => Promise<void>;
    refundSucceededEvent: (input: PaymentInput, refund: RefundRecord, at: string) => EventRecord;
  },
) {
  const refundable = () => {
    const st = ctx.state().status;
    return st === 'captured' || st === 'partially_refunded' || TERMINAL_STATUSES.has(st);
  };

  return async (e: ProviderEventSignal): Promise<void> => {
    const input = ctx.input;
    if (e.provider !== ctx.provider()) return;
    const merchantType = MERCHANT_EVENT_TYPES[e.kind];
    if (merchantType) {
      await ctx.recordEvent({
        id: e.merchantEventId,
        clientId: input.clientId,
        type: merchantType,
        resourceId: input.paymentId,
        data: {
          paymentId: input.paymentId,
          provider: e.provider,
          providerEventId: e.eventId,
          amount: e.amount ?? null,
          currency: input.currency,
          occurredAt: e.occurredAt,
        },
        createdAt: e.occurredAt,
      });
      return;
    }
    if (e.kind !== 'refund.succeeded' || e.amount === undefined) return;

    await condition(refundable);
    await ctx.serial(async () => {
      const s = ctx.state();
      if (s.refunds.some((r) => r.id === e.refundId)) return;
      if (
        !e.cumulative &&
        e.providerRefundId &&
        s.refunds.some((r) => r.providerRefundId === e.providerRefundId)
      )
        return;
      const amount = e.cumulative ? e.amount! - s.amountRefunded : e.amount!;
      if (amount <= 0) return;
      const t = transition(s, { kind: 'refund', amount });
      // More than we think was captured: nothing consistent to apply (left for reconciliation).
      if (!t.ok) return;
      const refund: RefundRecord = {
        id: e.refundId,
        paymentId: input.paymentId,
        amount,
        status: 'succeeded',
        reason: 'provider',
        providerRefundId: e.providerRefundId,
        createdAt: e.occurredAt,
      };
      await ctx.commit(
        { ...t.next, refunds: [...s.refunds, refund] },
        { refund, events: (at) => [ctx.refundSucceededEvent(input, refund, at)] },
      );
    });
  };
}
