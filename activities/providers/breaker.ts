/**
 * The per-provider circuit breaker (card-data worker side), and the wrapper that puts it in front of
 * a provider adapter.
 *
 * State lives in the memory of the card-data worker process (each worker process learns on its own;
 * a restart closes every circuit, which is safe: the first calls re-learn). It counts outcomes in a
 * sliding time window; when at least `minCalls` calls were seen and the failure rate reaches
 * `failureRate`, it opens: calls fail fast with ProviderUnavailable("circuit open"), so the workflow
 * fails over without waiting for timeouts. After `coolDownMs` it half-opens and lets ONE probe
 * through; the probe's success closes it, a failure opens it again for another cool-down.
 * Only outages count as failures (ProviderUnavailable, ProviderOutcomeUnknown); declines and invalid
 * requests are answers, so they count as successes.
 */
import { FAILURE_TYPES } from '../../domain/errors';
import { watchCircuit } from '../../observability/metrics';
import { ProviderError, type PaymentProvider } from './types';

export interface BreakerOptions {
  windowMs: number;
  minCalls: number;
  /** 0..1: failure share within the window that opens the circuit. */
  failureRate: number;
  coolDownMs: number;
  now?: () => number;
}

export const DEFAULT_BREAKER: BreakerOptions = {
  windowMs: 30_000,
  minCalls: 5,
  failureRate: 0.5,
  coolDownMs: 15_000,
};

export type BreakerState = 'closed' | 'open' | 'half_open';

export function createCircuitBreaker(opts: BreakerOptions = DEFAULT_BREAKER) {
  const now = opts.now ?? Date.now;
  let calls: Array<{ at: number; ok: boolean }> = [];
  let openedAt: number | undefined;
  let probing = false;

  const prune = () => {
    const from = now() - opts.windowMs;
    calls = calls.filter((c) => c.at >= from);
  };

  function state(): BreakerState {
    if (openedAt === undefined) return 'closed';
    return now() - openedAt >= opts.coolDownMs ? 'half_open' : 'open';
  }

  return {
    state,
    /** May a call go out now? In half-open, only one probe at a time. */
    tryAcquire(): boolean {
      const st = state();
      if (st === 'closed') return true;
      if (st === 'open' || probing) return false;
      probing = true;
      return true;
    },
    record(ok: boolean): void {
      if (probing || openedAt !== undefined) {
        probing = false;
        if (ok) {
          openedAt = undefined;
          calls = [];
        } else {
          openedAt = now();
        }
        return;
      }
      calls.push({ at: now(), ok });
      prune();
      const failures = calls.filter((c) => !c.ok).length;
      if (calls.length >= opts.minCalls && failures / calls.length >= opts.failureRate) openedAt = now();
    },
  };
}
export type CircuitBreaker = ReturnType<typeof createCircuitBreaker>;

const isOutage = (err: unknown) =>
  !(err instanceof ProviderError) ||
  err.failureType === FAILURE_TYPES.ProviderUnavailable ||
  err.failureType === FAILURE_TYPES.ProviderOutcomeUnknown;

/** The provider with a breaker in front of every call (parseWebhook is local and passes through). */
export function withCircuitBreaker(provider: PaymentProvider, breaker: CircuitBreaker): PaymentProvider {
  // settle_provider_circuit_state reads this breaker at scrape time.
  watchCircuit(provider.name, () => breaker.state());
  const guard =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      if (!breaker.tryAcquire()) throw ProviderError.unavailable(provider.name, 'circuit open');
      try {
        const r = await fn(...a);
        breaker.record(true);
        return r;
      } catch (err) {
        breaker.record(!isOutage(err));
        throw err;
      }
    };
  return {
    name: provider.name,
    authorize: guard((r) => provider.authorize(r)),
    capture: guard((r) => provider.capture(r)),
    void: guard((r) => provider.void(r)),
    refund: guard((r) => provider.refund(r)),
    sync: guard((r) => provider.sync(r)),
    submitDisputeEvidence: guard((r) => provider.submitDisputeEvidence(r)),
    acceptDispute: guard((r) => provider.acceptDispute(r)),
    parseWebhook: (body, headers) => provider.parseWebhook(body, headers),
  };
}
