/**
 * Webhooks in both directions: provider events stored once by (provider, event id), merchant webhook
 * endpoints (secrets sealed by the caller), and deliveries (one per event x endpoint) with their
 * attempt log. The outbox `events` table is read through `claimUndispatched`.
 */
import { createHash } from 'node:crypto';
import type { ProviderEvent } from '../activities/providers/types';
import type { Pool } from './pool';

export interface WebhookEndpointRow {
  id: string;
  clientId: string;
  url: string;
  events: string[];
  secretSealed: Buffer;
  createdAt: string;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: 'pending' | 'succeeded' | 'failed';
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

/** `dlv_` + 24 hex chars of SHA-256(event, endpoint): the same pair always names the same delivery. */
export const deliveryIdOf = (eventId: string, endpointId: string) =>
  `dlv_${createHash('sha256').update(`${eventId}\u0000${endpointId}`).digest('hex').slice(0, 24)}`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** An endpoint subscribes to exact types, `payment.*`-style prefixes, or `*`. */
export const subscribed = (patterns: string[], type: string) =>
  patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));

export function createWebhooksRepo(pool: Pool) {
  return {
    /** Store a provider event once. `fresh`: first time seen; `delivered`: already handed to its owner. */
    async storeProviderEvent(e: ProviderEvent): Promise<{ fresh: boolean; delivered: boolean }> {
      const ins = await pool.query(
        `INSERT INTO provider_events (provider, event_id, kind, payment_id, provider_reference, occurred_at, raw)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (provider, event_id) DO NOTHING`,
        [
          e.provider,
          e.eventId,
          e.kind,
          e.paymentId ?? null,
          e.providerReference ?? null,
          e.occurredAt,
          JSON.stringify(e.raw),
        ],
      );
      if ((ins.rowCount ?? 0) > 0) return { fresh: true, delivered: false };
      const r = await pool.query<{ delivered_at: Date | null }>(
        'SELECT delivered_at FROM provider_events WHERE provider = $1 AND event_id = $2',
        [e.provider, e.eventId],
      );
      return { fresh: false, delivered: !!r.rows[0]?.delivered_at };
    },
    async markProviderEventDelivered(provider: string, eventId: string, paymentId?: string): Promise<void> {
      await pool.query(
        `UPDATE provider_events SET delivered_at = now(), payment_id = COALESCE(payment_id, $3)
         WHERE provider = $1 AND event_id = $2`,
        [provider, eventId, paymentId ?? null],
      );
    },
    async countProviderEvents(provider: string, eventId: string): Promise<number> {
      const r = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM provider_events WHERE provider = $1 AND event_id = $2',
        [provider, eventId],
      );
      return r.rows[0]?.n ?? 0;
    },
    /** Our payment id for a provider reference, from the payments projection. */
    async paymentIdByReference(provider: string, reference: string): Promise<string | undefined> {
      const r = await pool.query<{ id: string }>(
        'SELECT id FROM payments WHERE provider = $1 AND provider_reference = $2 LIMIT 1',
        [provider, reference],
      );
      return r.rows[0]?.id;
    },

    async insertEndpoint(e: Omit<WebhookEndpointRow, 'createdAt'>): Promise<WebhookEndpointRow> {
      const r = await pool.query<{ created_at: Date }>(
        `INSERT INTO webhook_endpoints (id, client_id, url, events, secret_sealed) VALUES ($1, $2, $3, $4, $5)
         RETURNING created_at`,
        [e.id, e.clientId, e.url, e.events, e.secretSealed],
      );
      return { ...e, createdAt: r.rows[0]!.created_at.toISOString() };
    },
    async getEndpoint(id: string, clientId?: string): Promise<WebhookEndpointRow | undefined> {
      const r = await pool.query<EndpointDbRow>(
        'SELECT * FROM webhook_endpoints WHERE id = $1 AND ($2::text IS NULL OR client_id = $2)',
        [id, clientId ?? null],
      );
      return r.rows[0] ? endpointRow(r.rows[0]) : undefined;
    },
    async listEndpoints(q: {
      clientId?: string | undefined;
      limit: number;
      startingAfter?: string | undefined;
    }): Promise<{ data: WebhookEndpointRow[]; hasMore: boolean }> {
      const r = await pool.query<EndpointDbRow>(
        `SELECT * FROM webhook_endpoints WHERE ($1::text IS NULL OR client_id = $1)
           AND ($2::text IS NULL OR (created_at, id) > (SELECT created_at, id FROM webhook_endpoints WHERE id = $2))
         ORDER BY created_at, id LIMIT $3`,
        [q.clientId ?? null, q.startingAfter ?? null, q.limit + 1],
      );
      return { data: r.rows.slice(0, q.limit).map(endpointRow), hasMore: r.rows.length > q.limit };
    },

    /**
     * Claim up to `limit` undispatched outbox events (SKIP LOCKED: concurrent dispatchers never take
     * the same one), create their deliveries (unique per event x endpoint) and mark them dispatched,
     * in ONE transaction. Returns every delivery of the claimed events (also ones a crashed earlier
     * run created), so the caller (re)starts each delivery workflow by its deterministic id.
     */
    async dispatch(limit: number): Promise<{ events: number; deliveryIds: string[] }> {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const ev = await c.query<{ id: string; client_id: string; type: string }>(
          `SELECT id, client_id, type FROM events WHERE dispatched_at IS NULL
           ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        const ids: string[] = [];
        for (const e of ev.rows) {
          const eps = await c.query<{ id: string; events: string[] }>(
            'SELECT id, events FROM webhook_endpoints WHERE client_id = $1 ORDER BY created_at, id',
            [e.client_id],
          );
          for (const ep of eps.rows.filter((x) => subscribed(x.events, e.type))) {
            const id = deliveryIdOf(e.id, ep.id);
            await c.query(
              `INSERT INTO webhook_deliveries (id, event_id, endpoint_id, client_id) VALUES ($1, $2, $3, $4)
               ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
              [id, e.id, ep.id, e.client_id],
            );
            ids.push(id);
          }
        }
        if (ev.rows.length) {
          await c.query('UPDATE events SET dispatched_at = now() WHERE id = ANY($1)', [
            ev.rows.map((e) => e.id),
          ]);
        }
        await c.query('COMMIT');
        return { events: ev.rows.length, deliveryIds: ids };
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },

    async deliveryContext(
      deliveryId: string,
    ): Promise<{ event: OutboxEvent; endpoint: WebhookEndpointRow; status: string } | undefined> {
      const r = await pool.query<
        EndpointDbRow & {
          ev_id: string;
          ev_type: string;
          ev_data: Record<string, unknown>;
          ev_created: Date;
          status: string;
        }
      >(
        `SELECT w.*, e.id AS ev_id, e.type AS ev_type, e.data AS ev_data, e.created_at AS ev_created, d.status
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
        endpoint: endpointRow(x),
        status: x.status,
      };
    },
    /** Log one attempt (idempotent per attempt number) and update the delivery's summary. */
    async recordAttempt(a: {
      deliveryId: string;
      attempt: number;
      statusCode: number | null;
      error: string | null;
      durationMs: number;
      ok: boolean;
      /** When the next attempt is due; null when none follows. */
      nextAttemptAt: string | null;
      final: boolean;
    }): Promise<void> {
      await pool.query(
        `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, status_code, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_id, attempt) DO NOTHING`,
        [a.deliveryId, a.attempt, a.statusCode, a.error, a.durationMs],
      );
      await pool.query(
        `UPDATE webhook_deliveries SET attempts = GREATEST(attempts, $2), last_status_code = $3, last_error = $4,
           status = CASE WHEN $5 THEN 'succeeded' WHEN $6 THEN 'failed' ELSE 'pending' END,
           delivered_at = CASE WHEN $5 THEN now() ELSE delivered_at END,
           next_attempt_at = $7
         WHERE id = $1`,
        [a.deliveryId, a.attempt, a.statusCode, a.error, a.ok, a.final, a.nextAttemptAt],
      );
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
           AND ($2::text IS NULL OR (d.created_at, d.id) > (SELECT created_at, id FROM webhook_deliveries WHERE id = $2))
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
  };
}
export type WebhooksRepo = ReturnType<typeof createWebhooksRepo>;

interface EndpointDbRow {
  id: string;
  client_id: string;
  url: string;
  events: string[];
  secret_sealed: Buffer;
  created_at: Date;
}
const endpointRow = (r: EndpointDbRow): WebhookEndpointRow => ({
  id: r.id,
  clientId: r.client_id,
  url: r.url,
  events: r.events,
  secretSealed: r.secret_sealed,
  createdAt: r.created_at.toISOString(),
});
