/**
 * Disputes as seen by paymentWorkflow: signal `paymentDispute`, sent by the dispute's own workflow
 * (workflows/dispute.ts). The payment only moves the funds: a withdrawal when the dispute opens
 * (min(amount, captured - refunded - disputed)), a reinstatement of exactly that when it is won
 * (domain/payment-state.ts). Each runs serialized with the payment's own operations through the one
 * commit, so the projection shows `amountDisputed` and the ledger posts the movement keyed by the
 * dispute (domain/ledger.ts). Idempotent per dispute: a repeated signal finds the dispute's record
 * and commits nothing. The commit announces no `payment.<status>` event (the status does not
 * change; the dispute workflow sends `dispute.*`). Each judged move is answered to the dispute
 * (`disputeFundsApplied`), which sends the move again until it hears that answer; a dispute that has
 * ended meanwhile is not asked.
 */
import {
  ApplicationFailure,
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  patched,
} from '@temporalio/workflow';
import { transition } from '../domain/payment-state';
import {
  DISPUTE_FUNDS_CONFIRMED_PATCH,
  disputeFundsAppliedSignal,
  disputeWorkflowId,
  type DisputeFundsApplied,
} from './dispute-messages';
import type { PaymentContext } from './payment-context';

export interface PaymentDisputeSignal {
  action: 'withdraw' | 'reinstate';
  disputeId: string;
  /** withdraw: the disputed amount, in the payment's currency. */
  amount?: number | undefined;
}

export const paymentDisputeSignal = defineSignal<[PaymentDisputeSignal]>('paymentDispute');

export function paymentDisputeHandler(ctx: PaymentContext) {
  return async (req: PaymentDisputeSignal): Promise<void> => {
    // Authorization settles the payment first: a withdrawal judged against `processing` finds nothing.
    await condition(() => ctx.state().status !== 'processing');
    const outcome = await ctx.serial(async (): Promise<DisputeFundsApplied['outcome']> => {
      const s = ctx.state();
      const t = transition(
        s,
        req.action === 'withdraw'
          ? { kind: 'dispute_withdraw', disputeId: req.disputeId, amount: req.amount ?? 0 }
          : { kind: 'dispute_reinstate', disputeId: req.disputeId },
      );
      // Refused (a malformed amount) or already applied: nothing to write, and no retry of a poison value.
      if (!t.ok) return 'refused';
      if (t.next === s) return 'already';
      await ctx.commit(t.next, { silent: true });
      return 'applied';
    });
    if (!patched(DISPUTE_FUNDS_CONFIRMED_PATCH)) return;
    try {
      await getExternalWorkflowHandle(disputeWorkflowId(req.disputeId)).signal(disputeFundsAppliedSignal, {
        disputeId: req.disputeId,
        action: req.action,
        outcome,
      });
    } catch (err) {
      // The dispute has ended: nobody is waiting for the answer.
      if (!(err instanceof ApplicationFailure) || err.type !== 'ExternalWorkflowExecutionNotFound') throw err;
    }
  };
}
