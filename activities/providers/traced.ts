/**
 * A span around each provider call (observability/tracing.ts providerSpan): provider, operation,
 * payment id and outcome, never the request (an authorization carries the card). The card-data
 * activities take their providers through it, so every call an activity makes is in the payment's
 * trace, under the activity's span; with tracing off the spans are the API's no-ops.
 */
import { providerSpan } from '../../observability/tracing';
import type { ProviderRegistry } from './registry';
import type { PaymentProvider } from './types';

export function withCallSpans(provider: PaymentProvider): PaymentProvider {
  const traced =
    <A extends [{ paymentId: string }], R>(operation: string, fn: (...a: A) => Promise<R>) =>
    (...a: A): Promise<R> =>
      providerSpan(provider.name, operation, a[0].paymentId, () => fn(...a));
  return {
    name: provider.name,
    authorize: traced('authorize', (r) => provider.authorize(r)),
    capture: traced('capture', (r) => provider.capture(r)),
    void: traced('void', (r) => provider.void(r)),
    refund: traced('refund', (r) => provider.refund(r)),
    sync: traced('sync', (r) => provider.sync(r)),
    submitDisputeEvidence: traced('dispute_evidence', (r) => provider.submitDisputeEvidence(r)),
    acceptDispute: traced('dispute_accept', (r) => provider.acceptDispute(r)),
    parseWebhook: (body, headers) => provider.parseWebhook(body, headers),
  };
}

/** The registry whose providers are wrapped by withCallSpans. */
export function withProviderSpans(registry: ProviderRegistry): ProviderRegistry {
  return { ...registry, get: (name: string) => withCallSpans(registry.get(name)) };
}
