/**
 * Repairs as seen by paymentWorkflow: signal `repair`, sent by the stuck-payment sweeper
 * (workflows/payment-sweeper.ts) and `cli payments resync`. Nothing else writes a repaired state:
 * the workflow applies it through its own commit path, so the projection, the merchant events and
 * the search attributes stay the workflow's.
 *
 * The signal carries what the sender observed (the provider's sync), never a state to adopt: the
 * handler runs serialized with the workflow's own operations and judges the observation against its
 * CURRENT state (domain/payment-repair.ts), so a capture the workflow made meanwhile, or a repeated
 * signal, applies nothing twice:
 *   - the provider captured, refunded or voided more than the workflow shows and the state machine
 *     accepts it: one commit per transition (`payment.<status>`, `refund.succeeded` for a refund);
 *   - otherwise, when asked to re-project: the current state is written again at its own version
 *     (no new version, no merchant event); a projection already at that version is left as it is.
 * Observations the state machine refuses are ignored here; the sweeper reports them.
 */
import { condition, defineSignal } from '@temporalio/workflow';
import type { EventRecord } from '../domain/merchant-event';
import type { PaymentInput, RefundRecord } from '../domain/payment';
import { nextProviderRepair, type ProviderObservation } from '../domain/payment-repair';
import { transition } from '../domain/payment-state';
import type { PaymentContext } from './payment-context';

export interface RepairSignal {
  /** Who asked (`system:payment-sweeper`, `cli:<user>`), for the workflow's history. */
  requestedBy: string;
  /** Write the current state to the projection again (it was found behind). */
  reproject: boolean;
  /** What `provider` said at sync time. */
  observation?: (ProviderObservation & { provider: string }) | undefined;
}

export const repairSignal = defineSignal<[RepairSignal]>('repair');

/** Workflow id of a payment (api/payments-service.ts starts it under the same). */
export const paymentWorkflowId = (paymentId: string) => `payment-${paymentId}`;

/** `re_<payment id body>p<n>`: a refund first seen at the provider, n-th refund of the payment. */
export const observedRefundId = (paymentId: string, n: number) => `re_${paymentId.replace(/^pay_/, '')}p${n}`;

/** At most this many transitions per signal (capture, then refund): a bound, never reached in practice. */
const MAX_STEPS = 4;

export function repairHandler(
  ctx: PaymentContext & {
    /** Write the current state to the projection at its current version, with no event. */
    reproject: () => Promise<void>;
    refundSucceededEvent: (input: PaymentInput, refund: RefundRecord, at: string) => EventRecord;
  },
) {
  return async (req: RepairSignal): Promise<void> => {
    // Authorization settles the payment first; a repair judged against `processing` would do nothing.
    await condition(() => ctx.state().status !== 'processing');
    await ctx.serial(async () => {
      let changed = false;
      const obs = req.observation;
      for (let step = 0; obs && obs.provider === ctx.provider() && step < MAX_STEPS; step++) {
        const s = ctx.state();
        const { action } = nextProviderRepair(s, obs, {
          captureIds: s.captures.map((c) => c.providerCaptureId),
          refundIds: s.refunds.flatMap((r) => (r.providerRefundId ? [r.providerRefundId] : [])),
        });
        if (!action) break;
        if (action.kind === 'capture') {
          const t = transition(s, { kind: 'capture', amount: action.amount, final: action.final });
          if (!t.ok) break;
          await ctx.commit(
            {
              ...t.next,
              captures: [
                ...s.captures,
                {
                  n: s.captures.length + 1,
                  amount: t.amount,
                  providerCaptureId: action.providerCaptureId,
                  at: new Date().toISOString(),
                },
              ],
            },
            {},
          );
        } else if (action.kind === 'refund') {
          const t = transition(s, { kind: 'refund', amount: action.amount });
          if (!t.ok) break;
          const refund: RefundRecord = {
            id: observedRefundId(ctx.input.paymentId, s.refunds.length + 1),
            paymentId: ctx.input.paymentId,
            amount: t.amount,
            status: 'succeeded',
            reason: 'provider',
            providerRefundId: action.providerRefundId,
            createdAt: new Date().toISOString(),
          };
          await ctx.commit(
            { ...t.next, refunds: [...s.refunds, refund] },
            { refund, events: (at) => [ctx.refundSucceededEvent(ctx.input, refund, at)] },
          );
        } else {
          const t = transition(s, { kind: 'void' });
          if (!t.ok) break;
          await ctx.commit(t.next, {});
        }
        changed = true;
      }
      if (!changed && req.reproject) await ctx.reproject();
    });
  };
}
