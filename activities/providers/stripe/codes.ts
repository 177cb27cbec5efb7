/**
 * Stripe's vocabularies in ours: PaymentIntent and Refund statuses, decline codes, event types and
 * amounts in Stripe's units. Pure tables, used by transformers.ts, errors.ts and webhook.ts.
 */
import type { ProviderEventKind } from '../../../domain/providers';
import { declineMessage, type DeclineCode, type ProviderPaymentSnapshot, type RefundResult } from '../types';

export type SnapshotStatus = NonNullable<ProviderPaymentSnapshot['status']>;

/**
 * PaymentIntent.status -> snapshot status. `requires_payment_method` means either "never confirmed"
 * or "the last attempt failed"; only the latter is a decline, so the caller says which.
 */
export function paymentIntentStatusToSnapshot(status: string, hasPaymentError: boolean): SnapshotStatus {
  switch (status) {
    case 'requires_capture':
      return 'authorized';
    case 'succeeded':
      return 'captured';
    case 'canceled':
      return 'voided';
    case 'requires_payment_method':
      return hasPaymentError ? 'declined' : 'processing';
    // Not yet decided: confirmation pending, 3-D Secure pending, or async processing.
    case 'requires_confirmation':
    case 'requires_action':
    case 'processing':
    default:
      return 'processing';
  }
}

/**
 * Stripe `decline_code` (issuer reason, more specific) and `code` (error code) -> DeclineCode.
 * Anything unlisted is a generic `card_declined`: the client learns it was declined, nothing more.
 */
const DECLINE_CODE_TABLE: Readonly<Record<string, DeclineCode>> = {
  insufficient_funds: 'insufficient_funds',
  card_velocity_exceeded: 'insufficient_funds',
  withdrawal_count_limit_exceeded: 'insufficient_funds',
  expired_card: 'expired_card',
  invalid_expiry_month: 'expired_card',
  invalid_expiry_year: 'expired_card',
  incorrect_cvc: 'incorrect_cvc',
  invalid_cvc: 'incorrect_cvc',
  do_not_honor: 'do_not_honor',
  lost_card: 'lost_or_stolen',
  stolen_card: 'lost_or_stolen',
  pickup_card: 'lost_or_stolen',
  restricted_card: 'lost_or_stolen',
  fraudulent: 'fraudulent',
  merchant_blacklist: 'fraudulent',
  security_violation: 'fraudulent',
  processing_error: 'processing_error',
  issuer_not_available: 'processing_error',
  try_again_later: 'processing_error',
  reenter_transaction: 'processing_error',
  generic_decline: 'card_declined',
  card_declined: 'card_declined',
  card_not_supported: 'card_declined',
  incorrect_number: 'card_declined',
  invalid_number: 'card_declined',
  authentication_required: 'card_declined',
};

export function stripeDeclineCode(
  declineCode: string | null | undefined,
  code: string | null | undefined,
): DeclineCode {
  for (const key of [declineCode, code]) {
    if (key && Object.prototype.hasOwnProperty.call(DECLINE_CODE_TABLE, key)) {
      return DECLINE_CODE_TABLE[key] as DeclineCode;
    }
  }
  return 'card_declined';
}

/** One card-free message table for every provider (providers/types.ts). */
export { declineMessage };

/** Refund.status -> normalized refund status. `requires_action` waits on the customer: pending. */
export function refundStatus(status: string | null | undefined): RefundResult['status'] {
  switch (status) {
    case 'succeeded':
      return 'succeeded';
    case 'failed':
    case 'canceled':
      return 'failed';
    case 'pending':
    case 'requires_action':
    default:
      return 'pending';
  }
}

/**
 * Stripe event type -> ProviderEventKind. A successful refund is reported once, by `charge.refunded`
 * (amount = the charge's cumulative amount refunded); `refund.created` is not mapped so the same refund
 * is not announced twice. A refund that fails later arrives as `refund.failed` (newer API versions) or
 * as `refund.updated` / `charge.refund.updated` whose refund status is `failed`, passed in here.
 */
export function stripeEventKind(type: string, refundObjectStatus?: string | null): ProviderEventKind {
  switch (type) {
    case 'payment_intent.amount_capturable_updated':
      return 'payment.authorized';
    case 'payment_intent.succeeded':
      return 'payment.captured';
    case 'payment_intent.canceled':
      return 'payment.voided';
    case 'payment_intent.payment_failed':
      return 'payment.failed';
    case 'charge.refunded':
      return 'refund.succeeded';
    case 'refund.failed':
      return 'refund.failed';
    case 'refund.updated':
    case 'charge.refund.updated':
      return refundStatus(refundObjectStatus) === 'failed' ? 'refund.failed' : 'other';
    case 'charge.dispute.created':
      return 'dispute.opened';
    case 'charge.dispute.updated':
      return 'dispute.updated';
    case 'charge.dispute.closed':
      return 'dispute.closed';
    default:
      return 'other';
  }
}

/**
 * Stripe's API amount unit differs from ISO 4217's minor unit for a few currencies (Stripe docs,
 * "Supported currencies" > special cases): ISK and UGX have ISO exponent 0 but Stripe, for backwards
 * compatibility, still expects them as two-decimal amounts (x100, divisible by 100). Every other
 * currency Settle accepts uses the ISO minor unit on both sides (JPY 1 = 1, KWD fils = 1/1000).
 */
const STRIPE_EXTRA_FACTOR: Readonly<Record<string, number>> = { ISK: 100, UGX: 100 };

export function toStripeAmount(amount: number, currency: string): number {
  return amount * (STRIPE_EXTRA_FACTOR[currency.toUpperCase()] ?? 1);
}

export function fromStripeAmount(amount: number, currency: string): number {
  const factor = STRIPE_EXTRA_FACTOR[currency.toUpperCase()] ?? 1;
  if (amount % factor !== 0) throw new RangeError(`Stripe amount ${amount} is not whole in ${currency}`);
  return amount / factor;
}
