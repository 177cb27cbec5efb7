/**
 * Provider routing (card-data worker side). The per-provider circuit breaker is in breaker.ts.
 *
 * Routing rule: a merchant (client) may have an ordered provider list in `provider_routes`. The
 * request's explicit `provider` goes first; the rest of the list are fallbacks used only when a
 * provider is UNAVAILABLE (the payment workflow's failover). Disabled providers are dropped.
 * Clients without a rule get one provider: the explicit one, else the deployment default
 * (SETTLE_DEFAULT_PROVIDER): no failover unless the merchant asked for it.
 */
import type { Pool } from '../../db/pool';
import type { ProviderRegistry } from './registry';
import { orderRoute, type ProviderName } from '../../domain/providers';

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
      // The one routing rule (domain/providers.ts), over the providers this worker has enabled.
      return orderRoute({
        rule: r?.rows[0]?.providers,
        requested: a.requested,
        preferred: a.preferred,
        enabled: (p) => deps.providers.has(p),
      });
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
