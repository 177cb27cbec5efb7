/**
 * PaymentWorkflow's messages (the query, the updates, their requests and failure types) and the ids
 * of the merchant events it records: what the API and tests share with the workflow.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { FAILURE_TYPES } from '../domain/errors';
import type { EventRecord } from '../domain/merchant-event';
import type { PaymentInput, PaymentView, RefundRecord } from '../domain/payment';

export interface CaptureRequest {
  amount?: number | undefined;
  final?: boolean | undefined;
}
export interface RefundRequest {
  refundId: string;
  amount?: number | undefined;
  reason?: string | undefined;
  createdAt: string;
}
export interface RefundResponse {
  refund: RefundRecord;
  payment: PaymentView;
}

export const getPaymentQuery = defineQuery<PaymentView>('getPayment');
export const awaitAuthorizationUpdate = defineUpdate<PaymentView>('awaitAuthorization');
export const captureUpdate = defineUpdate<PaymentView, [CaptureRequest]>('capture');
export const voidUpdate = defineUpdate<PaymentView>('void');
export const refundUpdate = defineUpdate<RefundResponse, [RefundRequest]>('refund');

/** Failure types an update can fail with; the API answers them per domain/errors.ts UPDATE_FAILURE_ANSWERS. */
export const UPDATE_FAILURES = {
  Conflict: FAILURE_TYPES.PaymentConflict,
  AmountRejected: FAILURE_TYPES.PaymentAmountRejected,
} as const;

/** `evt_<payment id body>v<version>`: one event per status change, stable across retries and replay. */
export const paymentEventId = (paymentId: string, version: number) =>
  `evt_${paymentId.replace(/^pay_/, '')}v${version}`;
/** `evt_<refund id body>r`: the refund.succeeded event of one refund. */
export const refundEventId = (refundId: string) => `evt_${refundId.replace(/^re_/, '')}r`;

/** The merchant event of a refund that succeeded (`refund.succeeded`), one per refund. */
export function refundSucceededEvent(input: PaymentInput, refund: RefundRecord, at: string): EventRecord {
  return {
    id: refundEventId(refund.id),
    clientId: input.clientId,
    type: 'refund.succeeded',
    resourceId: refund.id,
    data: { ...refund },
    createdAt: at,
  };
}
