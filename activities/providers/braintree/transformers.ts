/**
 * Pure maps from Braintree's vocabulary onto Settle's normalized provider types. No SDK calls, no I/O:
 * unit-tested as tables (test/unit/providers/braintree-transformers.test.ts).
 */
import type { DeclineCode, ProviderPaymentSnapshot, RefundResult } from '../types';
import type { ProviderEventKind } from '../../../domain/providers';

export type SnapshotStatus = NonNullable<ProviderPaymentSnapshot['status']>;

/** Statuses of a sale whose money has been (or is being) taken: the capture happened. */
export const CAPTURED_STATUSES: ReadonlySet<string> = new Set([
  'submitted_for_settlement',
  'settling',
  'settled',
  'settlement_pending',
  'settlement_confirmed',
]);

/** Statuses of a sale that holds or took money: an authorization that must not be repeated. */
export const LIVE_STATUSES: ReadonlySet<string> = new Set([
  'authorizing',
  'authorized',
  ...CAPTURED_STATUSES,
]);

/** Braintree transaction.status -> snapshot status. */
export function braintreeStatusToSnapshot(status: string): SnapshotStatus {
  if (status === 'authorized') return 'authorized';
  if (CAPTURED_STATUSES.has(status)) return 'captured';
  switch (status) {
    case 'voided':
    case 'authorization_expired': // the hold was released: same end state as a void
      return 'voided';
    case 'processor_declined':
    case 'gateway_rejected':
    case 'failed':
    case 'settlement_declined':
      return 'declined';
    case 'authorizing':
    default:
      return 'processing';
  }
}

/**
 * Processor response codes 2000-2999 (Braintree "Processor responses" reference) -> DeclineCode.
 * Any other code in the decline range is a generic `card_declined`.
 */
const PROCESSOR_CODE_TABLE: Readonly<Record<string, DeclineCode>> = {
  '2000': 'do_not_honor', // Do Not Honor
  '2001': 'insufficient_funds', // Insufficient Funds
  '2002': 'insufficient_funds', // Limit Exceeded
  '2003': 'insufficient_funds', // Cardholder's Activity Limit Exceeded
  '2004': 'expired_card', // Expired Card
  '2006': 'expired_card', // Invalid Expiration Date
  '2010': 'incorrect_cvc', // Card Issuer Declined CVV
  '2012': 'lost_or_stolen', // Processor Declined - Possible Lost Card
  '2013': 'lost_or_stolen', // Processor Declined - Possible Stolen Card
  '2047': 'lost_or_stolen', // Call Issuer. Pick Up Card
  '2053': 'lost_or_stolen', // Card reported as lost or stolen
  '2014': 'fraudulent', // Processor Declined - Fraud Suspected
  '2044': 'do_not_honor', // Declined - Call Issuer
  '2038': 'card_declined', // Processor Declined
  '2046': 'card_declined', // Declined
};

export function processorDeclineCode(code: string | null | undefined): DeclineCode {
  if (code && Object.prototype.hasOwnProperty.call(PROCESSOR_CODE_TABLE, code))
    return PROCESSOR_CODE_TABLE[code] as DeclineCode;
  return 'card_declined';
}

/** One card-free message table for every provider (providers/types.ts). */
export { declineMessage } from '../types';

/** gateway_rejection_reason (the merchant's own risk rules) -> DeclineCode. */
export function gatewayRejectionDeclineCode(reason: string | null | undefined): DeclineCode {
  switch (reason) {
    case 'cvv':
    case 'avs_and_cvv':
      return 'incorrect_cvc';
    case 'fraud':
    case 'risk_threshold':
      return 'fraudulent';
    default:
      return 'card_declined';
  }
}

/** A refund is a `credit` transaction: its own status says whether the money went back. */
export function refundTransactionStatus(status: string): RefundResult['status'] {
  switch (status) {
    case 'settled':
    case 'settlement_confirmed':
      return 'succeeded';
    case 'processor_declined':
    case 'gateway_rejected':
    case 'failed':
    case 'settlement_declined':
    case 'voided':
      return 'failed';
    default:
      return 'pending';
  }
}

/**
 * Webhook notification kind -> ProviderEventKind. `transaction_settled` matters only for refunds
 * (a `credit` transaction settling means the money went back); a sale settling changes nothing we track.
 */
export function braintreeEventKind(kind: string, transactionType?: string | null): ProviderEventKind {
  switch (kind) {
    case 'transaction_settled':
      return transactionType === 'credit' ? 'refund.succeeded' : 'other';
    case 'transaction_settlement_declined':
      return 'settlement.failed';
    case 'refund_failed':
      return 'refund.failed';
    case 'dispute_opened':
      return 'dispute.opened';
    case 'dispute_won':
    case 'dispute_lost':
    case 'dispute_accepted':
    case 'dispute_auto_accepted':
    case 'dispute_expired':
      return 'dispute.closed';
    default:
      return 'other';
  }
}

/**
 * Our payment id from a Braintree orderId. The sale carries the payment id itself; partial
 * settlements and refunds carry our deterministic idempotency key, `${paymentId}:<step>...`.
 */
export function paymentIdFromOrderId(orderId: string | null | undefined): string | undefined {
  if (!orderId) return undefined;
  return orderId.split(':')[0] || undefined;
}
