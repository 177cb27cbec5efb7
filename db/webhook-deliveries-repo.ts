/**
 * Merchant webhook deliveries: the outbox -> deliveries step (dispatch), an endpoint's claim of its
 * due deliveries (bounded by its breaker and concurrency), and the record of each attempt, which
 * moves the endpoint's breaker and disables an endpoint that keeps failing (with an event for the
 * merchant's other endpoints), in ONE transaction under the endpoint's row lock.
 */
import { createHash } from 'node:crypto';
import { admissible, breakerAfter, type BreakerState, type EndpointPolicy } from '../domain/webhook-policy';
import type { Pool } from './pool';
import { afterCursor } from './keyset';
import { inTransaction } from './transaction';

/** Cursor scoped to the listed endpoint (db/keyset.ts): another endpoint's delivery id reads as unknown. */
const DELIVERIES_AFTER_CURSOR = afterCursor({
  table: 'webhook_deliveries',
  alias: 'd',
  cursor: '$2',
  scope: { column: 'endpoint_id', param: '$1' },
  order: 'asc',
});

export interface DeliveryView {
  id: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: 'pending' | 'succeeded' | 'failed' | 'cancelled';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  log: Array<{
    attempt: number;
    at: string;
    statusCode: number | null;
    error: string | null;
    durationMs: number;
  }>;
}

export interface OutboxEvent {
  id: string;
  clientId: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: string;
}

/** Notices about the merchant's own endpoints reach every other enabled endpoint, subscribed or not. */
export const ENDPOINT_NOTICE_PREFIX = 'webhook_endpoint.';

/**
 * `dlv_` + 24 hex chars of SHA-256(event, endpoint[, generation]): the same triple always names the
 * same delivery; generation 0 (the first dispatch) keeps the original two-part form.
 */
export const deliveryIdOf = (eventId: string, endpointId: string, generation = 0) =>
  `dlv_${createHash('sha256')
    .update(
      generation === 0 ? `${eventId}\u0000${endpointId}` : `${eventId}\u0000${endpointId}\u0000${generation}`,
    )
    .digest('hex')
    .slice(0, 24)}`;

/** An endpoint subscribes to exact types, `payment.*`-style prefixes, or `*`. */
export const subscribed = (patterns: string[], type: string) =>
  patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export type ClaimResult =
  | { state: 'deleted' }
  | { state: 'disabled' | 'open' | 'idle'; deliveryIds: []; waitMs: number }
  | { state: 'due'; deliveryIds: string[]; waitMs: 0 };

export interface DeliveryContext {
  event: OutboxEvent;
  endpoint: { id: string; url: string; status: string; secretSealed: Buffer };
  status: string;
  attempts: number;
  firstAttemptAt: number | null;
}

interface EndpointLockRow {
  status: string;
  client_id: string;
  url: string;
  consecutive_failures: number;
  failing_since: Date | null;
  breaker_open_until: Date | null;
}
const breakerOf = (r: EndpointLockRow): BreakerState => ({
  consecutiveFailures: r.consecutive_failures,
  failingSince: r.failing_since?.getTime() ?? null,
  openUntil: r.breaker_open_until?.getTime() ?? null,
});

export function createWebhookDeliveriesRepo(pool: Pool) {
  return {
    /**
     * Claim up to `limit` undispatched outbox events (SKIP LOCKED: concurrent dispatchers never take
     * the same one), create their deliveries to the client's ENABLED subscribed endpoints (unique per
     * event x endpoint x generation) and mark them dispatched, in ONE transaction. Returns the
     * endpoints that got deliveries, so the caller wakes (or starts) each endpoint's workflow.
     */
    async dispatch(limit: number): Promise<{ events: number; endpointIds: string[] }> {
      return inTransaction(pool, async (c) => {
        const ev = await c.query<{
          id: string;
          client_id: string;
          type: string;
          generation: number;
          resource_id: string;
        }>(
          `SELECT id, client_id, type, generation, resource_id FROM events WHERE dispatched_at IS NULL
           ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        if (ev.rows.length === 0) return { events: 0, endpointIds: [] };
        const eps = await c.query<{ id: string; client_id: string; events: string[] }>(
          `SELECT id, client_id, events FROM webhook_endpoints WHERE client_id = ANY($1) AND status = 'enabled'
           ORDER BY created_at, id`,
          [[...new Set(ev.rows.map((e) => e.client_id))]],
        );
        // One multi-row insert per batch: a burst of events costs a few statements, not one per row.
        const rows: Array<[string, string, string, string, number]> = [];
        for (const e of ev.rows) {
          const notice = e.type.startsWith(ENDPOINT_NOTICE_PREFIX);
          for (const ep of eps.rows) {
            if (ep.client_id !== e.client_id) continue;
            if (notice ? ep.id === e.resource_id : !subscribed(ep.events, e.type)) continue;
            rows.push([deliveryIdOf(e.id, ep.id, e.generation), e.id, ep.id, e.client_id, e.generation]);
          }
        }
        if (rows.length) {
          await c.query(
            `INSERT INTO webhook_deliveries (id, event_id, endpoint_id, client_id, generation)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[])
             ON CONFLICT (event_id, endpoint_id, generation) DO NOTHING`,
            [0, 1, 2, 3, 4].map((i) => rows.map((r) => r[i])),
          );
        }
        await c.query('UPDATE events SET dispatched_at = now() WHERE id = ANY($1)', [
          ev.rows.map((e) => e.id),
        ]);
        return { events: ev.rows.length, endpointIds: [...new Set(rows.map((r) => r[2]))] };
      });
    },

    /**
     * The merchant-webhook backlog for settle_webhook_queue_depth: outbox events not yet dispatched
     * and pending deliveries, each counted on its partial index and capped at `cap`, so a scrape
     * stays cheap however large a backlog grows.
     */
    async queueDepth(cap = 100_000): Promise<{ outbox: number; deliveries: number }> {
      const r = await pool.query<{ outbox: number; deliveries: number }>(
        `SELECT
           (SELECT count(*) FROM (SELECT 1 FROM events WHERE dispatched_at IS NULL LIMIT $1) e)::int AS outbox,
           (SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries WHERE status = 'pending' LIMIT $1) d)::int
             AS deliveries`,
        [cap],
      );
      return { outbox: r.rows[0]?.outbox ?? 0, deliveries: r.rows[0]?.deliveries ?? 0 };
    },

    /** Endpoints with pending deliveries: the dispatcher makes sure each has a running workflow. */
    async endpointsWithPending(): Promise<string[]> {
      const r = await pool.query<{ endpoint_id: string }>(
        `SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d
         JOIN webhook_endpoints w ON w.id = d.endpoint_id
         WHERE d.status = 'pending' AND w.status <> 'deleted'`,
      );
      return r.rows.map((x) => x.endpoint_id);
    },

    /**
     * The deliveries an endpoint may attempt now: none while it is disabled or its breaker is open
     * (they wait in the database: no attempt is spent), one trial when half-open, else up to its
     * concurrency, due first. Otherwise how long to wait before looking again.
     */
    async claimDue(endpointId: string, p: EndpointPolicy, now: number): Promise<ClaimResult> {
      const ep = await pool.query<EndpointLockRow>('SELECT * FROM webhook_endpoints WHERE id = $1', [
        endpointId,
      ]);
      const row = ep.rows[0];
      if (!row || row.status === 'deleted') return { state: 'deleted' };
      if (row.status === 'disabled') return { state: 'disabled', deliveryIds: [], waitMs: p.idleMs };
      const n = admissible(breakerOf(row), now, p);
      if (n === 0) {
        const until = row.breaker_open_until!.getTime();
        return { state: 'open', deliveryIds: [], waitMs: Math.min(until - now, p.idleMs) };
      }
      const due = await pool.query<{ id: string }>(
        `SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'
           AND (next_attempt_at IS NULL OR next_attempt_at <= $2)
         ORDER BY next_attempt_at NULLS FIRST, created_at, id LIMIT $3`,
        [endpointId, new Date(now), n],
      );
      if (due.rows.length) return { state: 'due', deliveryIds: due.rows.map((x) => x.id), waitMs: 0 };
      const next = await pool.query<{ at: Date | null }>(
        `SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`,
        [endpointId],
      );
      const at = next.rows[0]?.at?.getTime();
      return {
        state: 'idle',
        deliveryIds: [],
        waitMs: at === undefined ? p.idleMs : Math.min(at - now, p.idleMs),
      };
    },

    async deliveryContext(deliveryId: string): Promise<DeliveryContext | undefined> {
      const r = await pool.query<{
        ep_id: string;
        url: string;
        ep_status: string;
        secret_sealed: Buffer;
        client_id: string;
        ev_id: string;
        ev_type: string;
        ev_data: Record<string, unknown>;
        ev_created: Date;
        status: string;
        attempts: number;
        first_attempt_at: Date | null;
      }>(
        `SELECT w.id AS ep_id, w.url, w.status AS ep_status, w.secret_sealed, w.client_id,
           e.id AS ev_id, e.type AS ev_type, e.data AS ev_data, e.created_at AS ev_created,
           d.status, d.attempts, d.first_attempt_at
         FROM webhook_deliveries d JOIN events e ON e.id = d.event_id JOIN webhook_endpoints w ON w.id = d.endpoint_id
         WHERE d.id = $1`,
        [deliveryId],
      );
      const x = r.rows[0];
      if (!x) return undefined;
      return {
        event: {
          id: x.ev_id,
          clientId: x.client_id,
          type: x.ev_type,
          data: x.ev_data,
          createdAt: x.ev_created.toISOString(),
        },
        endpoint: { id: x.ep_id, url: x.url, status: x.ep_status, secretSealed: x.secret_sealed },
        status: x.status,
        attempts: x.attempts,
        firstAttemptAt: x.first_attempt_at?.getTime() ?? null,
      };
    },

    /**
     * Log one attempt (idempotent per attempt number), update the delivery (only while pending: a
     * delivery cancelled meanwhile stays cancelled) and move the endpoint's breaker. An endpoint that
     * has failed for `disableAfterMs` is disabled here, and a `webhook_endpoint.disabled` event goes
     * to the outbox for the merchant's other endpoints. Returns whether it was disabled now.
     */
    async recordAttempt(a: {
      deliveryId: string;
      endpointId: string;
      attempt: number;
      statusCode: number | null;
      error: string | null;
      durationMs: number;
      ok: boolean;
      /** When the next attempt is due; null when none follows. */
      nextAttemptAt: number | null;
      final: boolean;
      firstAttemptAt: number;
      now: number;
      policy: EndpointPolicy;
    }): Promise<{ disabled: boolean }> {
      return inTransaction(pool, async (c) => {
        const ep = await c.query<EndpointLockRow>(
          'SELECT * FROM webhook_endpoints WHERE id = $1 FOR UPDATE',
          [a.endpointId],
        );
        await c.query(
          `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (delivery_id, attempt) DO NOTHING`,
          [a.deliveryId, a.attempt, new Date(a.now - a.durationMs), a.statusCode, a.error, a.durationMs],
        );
        await c.query(
          `UPDATE webhook_deliveries SET attempts = GREATEST(attempts, $2), last_status_code = $3, last_error = $4,
             status = CASE WHEN $5 THEN 'succeeded' WHEN $6 THEN 'failed' ELSE 'pending' END,
             delivered_at = CASE WHEN $5 THEN $8::timestamptz ELSE delivered_at END,
             next_attempt_at = $7, first_attempt_at = COALESCE(first_attempt_at, $9)
           WHERE id = $1 AND status = 'pending'`,
          [
            a.deliveryId,
            a.attempt,
            a.statusCode,
            a.error,
            a.ok,
            a.final,
            a.nextAttemptAt === null ? null : new Date(a.nextAttemptAt),
            new Date(a.now),
            new Date(a.firstAttemptAt),
          ],
        );
        const row = ep.rows[0];
        if (!row || row.status === 'deleted') return { disabled: false };
        const { state, disable } = breakerAfter(breakerOf(row), a.ok, a.now, a.policy);
        const disabling = disable && row.status === 'enabled';
        await c.query(
          `UPDATE webhook_endpoints SET consecutive_failures = $2, failing_since = $3, breaker_open_until = $4,
             status = CASE WHEN $5 THEN 'disabled' ELSE status END,
             disabled_reason = CASE WHEN $5 THEN 'failing' ELSE disabled_reason END,
             updated_at = CASE WHEN $5 THEN now() ELSE updated_at END
           WHERE id = $1`,
          [
            a.endpointId,
            state.consecutiveFailures,
            state.failingSince === null ? null : new Date(state.failingSince),
            state.openUntil === null ? null : new Date(state.openUntil),
            disabling,
          ],
        );
        if (disabling) {
          const failingSince = new Date(state.failingSince!).toISOString();
          // One notice per run of failures: a retried activity finds the same id.
          const id = `evt_${createHash('sha256').update(`${a.endpointId}\u0000disabled\u0000${failingSince}`).digest('hex').slice(0, 24)}`;
          await c.query(
            `INSERT INTO events (id, client_id, type, resource_id, data) VALUES ($1, $2, 'webhook_endpoint.disabled', $3, $4)
             ON CONFLICT (id) DO NOTHING`,
            [
              id,
              row.client_id,
              a.endpointId,
              JSON.stringify({
                id: a.endpointId,
                url: row.url,
                status: 'disabled',
                reason: 'failing',
                failingSince,
                disabledAt: new Date(a.now).toISOString(),
              }),
            ],
          );
        }
        return { disabled: disabling };
      });
    },

    async listDeliveries(q: {
      endpointId: string;
      limit: number;
      startingAfter?: string | undefined;
    }): Promise<{ data: DeliveryView[]; hasMore: boolean }> {
      const r = await pool.query<{
        id: string;
        event_id: string;
        endpoint_id: string;
        type: string;
        status: DeliveryView['status'];
        attempts: number;
        last_status_code: number | null;
        last_error: string | null;
        next_attempt_at: Date | null;
        delivered_at: Date | null;
        created_at: Date;
        log: DeliveryView['log'] | null;
      }>(
        `SELECT d.*, e.type,
           (SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'statusCode', a.status_code,
                    'error', a.error, 'durationMs', a.duration_ms) ORDER BY a.attempt)
            FROM webhook_delivery_attempts a WHERE a.delivery_id = d.id) AS log
         FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.endpoint_id = $1
           AND ${DELIVERIES_AFTER_CURSOR}
         ORDER BY d.created_at, d.id LIMIT $3`,
        [q.endpointId, q.startingAfter ?? null, q.limit + 1],
      );
      const data = r.rows.slice(0, q.limit).map((x) => ({
        id: x.id,
        eventId: x.event_id,
        endpointId: x.endpoint_id,
        eventType: x.type,
        status: x.status,
        attempts: x.attempts,
        lastStatusCode: x.last_status_code,
        lastError: x.last_error,
        nextAttemptAt: iso(x.next_attempt_at),
        deliveredAt: iso(x.delivered_at),
        createdAt: x.created_at.toISOString(),
        log: (x.log ?? []).map((l) => ({ ...l, at: new Date(l.at).toISOString() })),
      }));
      return { data, hasMore: r.rows.length > q.limit };
    },

    /** Redeliver: put the client's event back in the outbox as a new generation; false if not theirs. */
    async requestRedelivery(eventId: string, clientId: string): Promise<{ generation: number } | undefined> {
      const r = await pool.query<{ generation: number }>(
        `UPDATE events SET generation = generation + 1, dispatched_at = NULL
         WHERE id = $1 AND client_id = $2 RETURNING generation`,
        [eventId, clientId],
      );
      return r.rows[0];
    },
  };
}
export type WebhookDeliveriesRepo = ReturnType<typeof createWebhookDeliveriesRepo>;
