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
