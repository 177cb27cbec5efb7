/**
 * Provider routing and the per-provider circuit breaker (card-data worker side).
 *
 * Routing rule: a merchant (client) may have an ordered provider list in `provider_routes`. The
 * request's explicit `provider` goes first; the rest of the list are fallbacks used only when a
 * provider is UNAVAILABLE (see workflows/authorize-with-failover.ts). Disabled providers are dropped.
 * Clients without a rule get one provider: the explicit one, else the deployment default
 * (SETTLE_DEFAULT_PROVIDER): no failover unless the merchant asked for it.
 *
 * Circuit breaker: per provider, in the memory of the card-data worker process (each worker process
 * learns on its own; a restart closes every circuit, which is safe: the first calls re-learn). It
 * counts outcomes in a sliding time window; when at least `minCalls` calls were seen and the failure
 * rate reaches `failureRate`, it opens: calls fail fast with ProviderUnavailable("circuit open"), so
 * the workflow fails over without waiting for timeouts. After `coolDownMs` it half-opens and lets ONE
 * probe through; the probe's success closes it, a failure opens it again for another cool-down.
 * Only outages count as failures (ProviderUnavailable, ProviderOutcomeUnknown); declines and invalid
 * requests are answers, so they count as successes.
 */
import { FAILURE_TYPES } from '../../domain/errors';
import type { Pool } from '../../db/pool';
import type { ProviderRegistry } from './registry';
import { ProviderError, type PaymentProvider } from './types';
import { PROVIDER_NAMES, type ProviderName } from '../../domain/providers';

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
    parseWebhook: (body, headers) => provider.parseWebhook(body, headers),
  };
}

/** The routing rule: ordered, enabled, de-duplicated providers for one authorization. */
export function createProviderRouter(deps: {
  /** Without a pool there are no per-merchant rules. */
  pool?: Pool | undefined;
  providers: ProviderRegistry;
}) {
  return {
    /** `requested`: the request's explicit provider; `preferred`: the deployment default for this payment. */
    async route(a: {
      clientId: string;
      requested?: string | undefined;
      preferred?: string | undefined;
    }): Promise<ProviderName[]> {
      const r = deps.pool
        ? await deps.pool.query<{ providers: string[] }>(
            'SELECT providers FROM provider_routes WHERE client_id = $1',
            [a.clientId],
          )
        : undefined;
      const rule = r?.rows[0]?.providers;
      // Failover is opt-in per merchant: without a rule the payment stays with one provider (an
      // outage is ridden out there), never silently moved to another one, the sandbox included.
      const ordered = rule
        ? [...(a.requested ? [a.requested] : []), ...rule]
        : [a.requested ?? a.preferred ?? ''];
      const out: ProviderName[] = [];
      for (const p of ordered) {
        if (
          (PROVIDER_NAMES as readonly string[]).includes(p) &&
          deps.providers.has(p) &&
          !out.includes(p as ProviderName)
        )
          out.push(p as ProviderName);
      }
      return out;
    },
    async setRoute(clientId: string, providers: ProviderName[]): Promise<void> {
      if (!deps.pool) throw new Error('provider routes need the database');
      await deps.pool.query(
        `INSERT INTO provider_routes (client_id, providers) VALUES ($1, $2)
         ON CONFLICT (client_id) DO UPDATE SET providers = EXCLUDED.providers, updated_at = now()`,
        [clientId, providers],
      );
    },
  };
}
export type ProviderRouter = ReturnType<typeof createProviderRouter>;

/**
 * Activities of the routing step, registered by the card-data worker (it knows which providers are
 * enabled). `routeAuthorization` is read-only; the workflow records its answer in history.
 */
export function createRoutingActivities(deps: { router: ProviderRouter }) {
  return {
    async routeAuthorization(a: {
      clientId: string;
      requested?: string | undefined;
      preferred?: string | undefined;
    }): Promise<ProviderName[]> {
      return deps.router.route(a);
    },
  };
}
export type RoutingActivities = ReturnType<typeof createRoutingActivities>;
