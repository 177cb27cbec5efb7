/**
 * API idempotency records (API.md Conventions). `begin` claims a (client, key) atomically:
 *   new                      -> 'proceed'
 *   same hash, done          -> 'replay' with the stored status and body
 *   same hash, in flight     -> 'in_flight' (unless its lease lapsed: the API died; then re-claim)
 *   other hash               -> 'mismatch'
 * Records older than the retention (24 h) are treated as absent and purged. `key` is what the caller
 * stores for the client's Idempotency-Key: the API middleware passes an HMAC of it, never the key.
 */
import { constantTimeEqual } from '../domain/constant-time';
import type { Pool } from './pool';

export type BeginResult =
  | { kind: 'proceed' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'in_flight' }
  | { kind: 'mismatch' };

export const RETENTION_HOURS = 24;
/** An in-flight claim older than this belongs to a crashed request and may be taken over. */
export const LEASE_SECONDS = 120;

export function createIdempotencyRepo(pool: Pool) {
  return {
    async begin(clientId: string, key: string, requestHash: string): Promise<BeginResult> {
      const claimed = await pool.query(
        `INSERT INTO idempotency_keys (client_id, key, request_hash, state) VALUES ($1, $2, $3, 'in_flight')
         ON CONFLICT (client_id, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, state = 'in_flight', response_status = NULL,
               response_body = NULL, created_at = now(), completed_at = NULL
           WHERE idempotency_keys.created_at < now() - make_interval(hours => $4)
              OR (idempotency_keys.state = 'in_flight' AND idempotency_keys.request_hash = EXCLUDED.request_hash
                  AND idempotency_keys.created_at < now() - make_interval(secs => $5))
         RETURNING 1`,
        [clientId, key, requestHash, RETENTION_HOURS, LEASE_SECONDS],
      );
      if (claimed.rowCount) return { kind: 'proceed' };
      const r = await pool.query<{
        request_hash: string;
        state: string;
        response_status: number | null;
        response_body: string | null;
      }>(
        'SELECT request_hash, state, response_status, response_body FROM idempotency_keys WHERE client_id = $1 AND key = $2',
        [clientId, key],
      );
      const row = r.rows[0];
      if (!row) return this.begin(clientId, key, requestHash); // purged between the two statements
      if (!constantTimeEqual(row.request_hash, requestHash)) return { kind: 'mismatch' };
      if (row.state === 'in_flight') return { kind: 'in_flight' };
      return { kind: 'replay', status: row.response_status ?? 500, body: row.response_body ?? '' };
    },
    async complete(clientId: string, key: string, status: number, body: string): Promise<void> {
      await pool.query(
        `UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4, completed_at = now()
         WHERE client_id = $1 AND key = $2`,
        [clientId, key, status, body],
      );
    },
    /** Forget a claim whose request failed before it could have had an effect worth replaying. */
    async release(clientId: string, key: string): Promise<void> {
      await pool.query(
        `DELETE FROM idempotency_keys WHERE client_id = $1 AND key = $2 AND state = 'in_flight'`,
        [clientId, key],
      );
    },
    async purgeExpired(): Promise<number> {
      const r = await pool.query(
        'DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)',
        [RETENTION_HOURS],
      );
      return r.rowCount ?? 0;
    },
  };
}
export type IdempotencyRepo = ReturnType<typeof createIdempotencyRepo>;
