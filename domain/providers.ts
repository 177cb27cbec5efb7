/**
 * Provider vocabulary every floor shares: the provider names, and an inbound provider event as it is
 * normalized by an adapter, stored by db/ and applied by the API. Pure types; imports nothing of ours.
 */

export const PROVIDER_NAMES = ['sandbox', 'stripe', 'braintree'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export type ProviderEventKind =
  | 'payment.authorized'
  | 'payment.captured'
  | 'payment.voided'
  | 'payment.failed'
  | 'refund.succeeded'
  | 'refund.failed'
  | 'dispute.opened'
  | 'dispute.closed'
  | 'settlement.failed'
  | 'bank_account.deposits_sent'
  | 'bank_account.deposit_returned'
  | 'bank_account.deposit_failed'
  | 'other';

export interface ProviderEvent {
  provider: ProviderName;
  /** Provider's own event id: events are stored and applied once by this id. */
  eventId: string;
  kind: ProviderEventKind;
  providerReference?: string | undefined;
  /** Our payment id when the provider echoes it (metadata / orderId). */
  paymentId?: string | undefined;
  amount?: number | undefined;
  occurredAt: string;
  /** Provider payload with nothing card-like; stored for audit. */
  raw: Record<string, unknown>;
}
