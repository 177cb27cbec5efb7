/**
 * The merchant's operations on an authorized or captured payment, as paymentWorkflow's Updates:
 * `capture` (key `<pay>:capture:<n>`), `void` (key `<pay>:void`) and `refund` (key
 * `<pay>:refund:<re_id>`). Each runs serialized with the workflow's other operations, re-checks the
 * state machine (domain/payment-state.ts) against the state it finds, calls the card-data worker and
 * commits the transition through the workflow's one commit path. Validators reject an illegal update
 * before it enters history; a refund with a known id answers what it did the first time.
 */
import { setHandler } from '@temporalio/workflow';
import type { createCardActivities } from '../activities/card-activities';
import type { PaymentState, PaymentView, RefundRecord } from '../domain/payment';
import { transition, type Operation } from '../domain/payment-state';
import type { PaymentContext } from './payment-context';
import {
  captureUpdate,
  refundSucceededEvent,
  refundUpdate,
  voidUpdate,
  type CaptureRequest,
  type RefundRequest,
} from './payment-messages';

type CardActs = ReturnType<typeof createCardActivities>;

export interface OperationsContext extends PaymentContext {
  view: () => PaymentView;
  /** Throws the update's typed rejection when `op` is illegal in `state`. */
  reject: (state: PaymentState, op: Operation) => void;
  /** The state after `op` from the current state (a conflict when illegal). */
  apply: (op: Operation) => PaymentState;
  /** Card-data worker activities with the provider-operation retry set. */
  acts: Pick<CardActs, 'capturePayment' | 'voidPayment' | 'refundPayment'>;
}

export function setOperationHandlers(ctx: OperationsContext): void {
  const { input, serial, commit, view, reject, apply, acts } = ctx;

  setHandler(
    captureUpdate,
    (req) =>
      serial(async () => {
        const s = ctx.state();
        reject(s, { kind: 'capture', amount: req.amount, final: req.final });
        const t = transition(s, { kind: 'capture', amount: req.amount, final: req.final });
        if (!t.ok) throw new Error('unreachable');
        const n = s.captures.length + 1;
        const res = await acts.capturePayment({
          paymentId: input.paymentId,
          provider: ctx.provider(),
          providerReference: s.providerReference ?? '',
          n,
          amount: t.amount,
          currency: input.currency,
          final: t.next.amountCapturable === 0,
        });
        await commit(
          {
            ...t.next,
            captures: [
              ...ctx.state().captures,
              { n, amount: t.amount, providerCaptureId: res.providerCaptureId, at: new Date().toISOString() },
            ],
          },
          {},
        );
        return view();
      }),
    {
      validator: (req: CaptureRequest) =>
        reject(ctx.state(), { kind: 'capture', amount: req.amount, final: req.final }),
    },
  );

  setHandler(
    voidUpdate,
    () =>
      serial(async () => {
        const s = ctx.state();
        reject(s, { kind: 'void' });
        await acts.voidPayment({
          paymentId: input.paymentId,
          provider: ctx.provider(),
          providerReference: s.providerReference ?? '',
        });
        await commit(apply({ kind: 'void' }), {});
        return view();
      }),
    { validator: () => reject(ctx.state(), { kind: 'void' }) },
  );

  setHandler(
    refundUpdate,
    (req) =>
      serial(async () => {
        const s = ctx.state();
        const existing = s.refunds.find((r) => r.id === req.refundId);
        if (existing) return { refund: existing, payment: view() };
        reject(s, { kind: 'refund', amount: req.amount });
        const t = transition(s, { kind: 'refund', amount: req.amount });
        if (!t.ok) throw new Error('unreachable');
        const res = await acts.refundPayment({
          paymentId: input.paymentId,
          refundId: req.refundId,
          provider: ctx.provider(),
          providerReference: s.providerReference ?? '',
          amount: t.amount,
          currency: input.currency,
          reason: req.reason,
        });
        const refund: RefundRecord = {
          id: req.refundId,
          paymentId: input.paymentId,
          amount: t.amount,
          status: res.status,
          reason: req.reason,
          providerRefundId: res.providerRefundId,
          createdAt: req.createdAt,
        };
        await commit(
          { ...t.next, refunds: [...ctx.state().refunds, refund] },
          {
            refund,
            events: (at) => (refund.status === 'succeeded' ? [refundSucceededEvent(input, refund, at)] : []),
          },
        );
        return { refund, payment: view() };
      }),
    {
      validator: (req: RefundRequest) => {
        const s = ctx.state();
        if (s.refunds.some((r) => r.id === req.refundId)) return;
        reject(s, { kind: 'refund', amount: req.amount });
      },
    },
  );
}
