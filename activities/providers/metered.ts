/**
 * Provider call durations (settle_provider_call_duration_seconds, observability/metrics.ts) around
 * an adapter. workers/providers.ts puts it INSIDE the circuit breaker, so a call the open circuit
 * refused is not timed as a provider call: the breaker's own state gauge shows those.
 */
import { FAILURE_TYPES } from '../../domain/errors';
import {
  providerCallDuration,
  providerLabel,
  type ProviderCallOutcome,
  type ProviderOperation,
} from '../../observability/metrics';
import { ProviderError, type PaymentProvider } from './types';

/** An answer is a success unless the provider refused the payment or refund. */
function answerOutcome(result: unknown): ProviderCallOutcome {
  if (result && typeof result === 'object') {
    const r = result as { outcome?: unknown; status?: unknown };
    if (r.outcome === 'declined' || r.status === 'failed') return 'declined';
  }
  return 'success';
}

function errorOutcome(err: unknown): ProviderCallOutcome {
  if (!(err instanceof ProviderError)) return 'error';
  switch (err.failureType) {
    case FAILURE_TYPES.ProviderUnavailable:
      return 'unavailable';
    case FAILURE_TYPES.ProviderOutcomeUnknown:
      return 'outcome_unknown';
    case FAILURE_TYPES.ProviderInvalidRequest:
      return 'invalid_request';
    default:
      return 'error';
  }
}

/** The provider with each call timed by provider, operation and outcome (parseWebhook is local). */
export function withCallMetrics(provider: PaymentProvider): PaymentProvider {
  const label = providerLabel(provider.name);
  const timed =
    <A extends unknown[], R>(operation: ProviderOperation, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const end = providerCallDuration.startTimer({ provider: label, operation });
      try {
        const r = await fn(...a);
        end({ outcome: answerOutcome(r) });
        return r;
      } catch (err) {
        end({ outcome: errorOutcome(err) });
        throw err;
      }
    };
  return {
    name: provider.name,
    authorize: timed('authorize', (r) => provider.authorize(r)),
    capture: timed('capture', (r) => provider.capture(r)),
    void: timed('void', (r) => provider.void(r)),
    refund: timed('refund', (r) => provider.refund(r)),
    sync: timed('sync', (r) => provider.sync(r)),
    submitDisputeEvidence: timed('dispute_evidence', (r) => provider.submitDisputeEvidence(r)),
    acceptDispute: timed('dispute_accept', (r) => provider.acceptDispute(r)),
    parseWebhook: (body, headers) => provider.parseWebhook(body, headers),
  };
}
