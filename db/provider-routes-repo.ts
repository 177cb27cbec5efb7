/**
 * Per-merchant provider routing rules (`provider_routes`): the ordered providers a merchant's payments
 * may fail over to. Read by the API when it starts a payment (the route travels in the workflow's
 * input), written by operators.
 */
import type { ProviderName } from '../domain/providers';
import type { Pool } from './pool';

export function createProviderRoutesRepo(pool: Pool) {
  return {
    /** The merchant's rule, or undefined when it has none (then no failover). */
    async get(clientId: string): Promise<string[] | undefined> {
      const r = await pool.query<{ providers: string[] }>(
        'SELECT providers FROM provider_routes WHERE client_id = $1',
        [clientId],
      );
      return r.rows[0]?.providers;
    },
    async set(clientId: string, providers: ProviderName[]): Promise<void> {
      await pool.query(
        `INSERT INTO provider_routes (client_id, providers) VALUES ($1, $2)
         ON CONFLICT (client_id) DO UPDATE SET providers = EXCLUDED.providers, updated_at = now()`,
        [clientId, providers],
      );
    },
  };
}
export type ProviderRoutesRepo = ReturnType<typeof createProviderRoutesRepo>;
