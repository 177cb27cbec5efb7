/**
 * Provider vocabulary every floor shares: the provider names, and an inbound provider event as it is
 * normalized by an adapter, stored by db/ and applied by the API. Pure types; imports nothing of ours.
 */

export const PROVIDER_NAMES = ['sandbox', 'stripe', 'braintree'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export const isProviderName = (p: string): p is ProviderName =>
  (PROVIDER_NAMES as readonly string[]).includes(p);

/**
 * The providers one authorization may try, in order: the request's explicit provider first, then the
 * merchant's routing rule (fallbacks, used only when a provider is unavailable); without a rule, the
 * explicit provider else the deployment default alone, so failover is opt-in per merchant and a
 * payment is never silently moved to another provider. Unknown, disabled and repeated names drop out.
 */
export function orderRoute(a: {
  rule?: readonly string[] | undefined;
  requested?: string | undefined;
  preferred?: string | undefined;
  enabled: (p: ProviderName) => boolean;
}): ProviderName[] {
  const ordered = a.rule
    ? [...(a.requested ? [a.requested] : []), ...a.rule]
    : [a.requested ?? a.preferred ?? ''];
  const out: ProviderName[] = [];
  for (const p of ordered) if (isProviderName(p) && a.enabled(p) && !out.includes(p)) out.push(p);
  return out;
}

export type ProviderEventKind =
  | 'payment.authorized'
  | 'payment.captured'
  | 'payment.voided'
  | 'payment.failed'
  | 'refund.succeeded'
  | 'refund.failed'
  | 'dispute.opened'
  | 'dispute.updated'
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
  /** dispute.* events: the dispute as the provider reports it. */
  dispute?: ProviderDisputeFacts | undefined;
  /** Provider payload with nothing card-like; stored for audit. */
  raw: Record<string, unknown>;
}

/** Dispute statuses (API.md "Disputes"). */
export const DISPUTE_STATUSES = ['needs_response', 'under_review', 'won', 'lost', 'accepted'] as const;
export type DisputeStatus = (typeof DISPUTE_STATUSES)[number];

/**
 * A dispute as a provider's webhook reports it, normalized by the adapter (Stripe `charge.dispute.*`,
 * Braintree dispute notifications, the sandbox's own). `status` is mapped onto our statuses: Stripe
 * `warning_needs_response`/`needs_response` -> needs_response, `under_review` -> under_review, `won`,
 * `lost`; Braintree `open` -> needs_response, `disputed` -> under_review, `won`, `lost`, `accepted`.
 */
export interface ProviderDisputeFacts {
  /** The provider's dispute id (Stripe `dp_...`, Braintree dispute id). */
  providerDisputeId: string;
  /** Minor units, in `currency`. */
  amount: number;
  currency: string;
  /** The provider's reason code, lower snake case (`fraudulent`, `product_not_received`, ...). */
  reason: string;
  status: DisputeStatus;
  /** ISO 8601; absent when the provider gave none (the engine then allows 7 days). */
  evidenceDueBy?: string | undefined;
}
