/**
 * Webhooks in both directions: provider events stored once by (provider, event id), merchant webhook
 * endpoints (secrets sealed by the caller; enabled / disabled / deleted), and, through
 * webhook-deliveries-repo.ts, their deliveries (one per event x endpoint x generation) and attempts.
 */
import type { ProviderEvent } from '../domain/providers';
import type { Pool } from './pool';
import { inTransaction } from './transaction';
import { createWebhookDeliveriesRepo } from './webhook-deliveries-repo';
import { afterCursor } from './keyset';

/** Cursor scoped like the list (db/keyset.ts): another client's endpoint id reads as unknown. */
const ENDPOINTS_AFTER_CURSOR = afterCursor({
  table: 'webhook_endpoints',
  alias: 'webhook_endpoints',
  cursor: '$2',
  scope: { column: 'client_id', param: '$1' },
  order: 'asc',
});

export { deliveryIdOf, subscribed, type DeliveryView, type OutboxEvent } from './webhook-deliveries-repo';

export type EndpointStatus = 'enabled' | 'disabled' | 'deleted';

export interface WebhookEndpointRow {
  id: string;
  clientId: string;
  url: string;
  events: string[];
  secretSealed: Buffer;
  status: EndpointStatus;
  /** Why it is disabled: by the merchant, or after failing for days. */
  disabledReason: 'merchant' | 'failing' | null;
  createdAt: string;
}

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

    async insertEndpoint(
      e: Omit<WebhookEndpointRow, 'createdAt' | 'status' | 'disabledReason'>,
    ): Promise<WebhookEndpointRow> {
      const r = await pool.query<EndpointDbRow>(
        `INSERT INTO webhook_endpoints (id, client_id, url, events, secret_sealed) VALUES ($1, $2, $3, $4, $5)
         RETURNING *`,
        [e.id, e.clientId, e.url, e.events, e.secretSealed],
      );
      return endpointRow(r.rows[0]!);
    },
    async getEndpoint(id: string, clientId?: string): Promise<WebhookEndpointRow | undefined> {
      const r = await pool.query<EndpointDbRow>(
        `SELECT * FROM webhook_endpoints WHERE id = $1 AND ($2::text IS NULL OR client_id = $2)
           AND status <> 'deleted'`,
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
        `SELECT * FROM webhook_endpoints WHERE ($1::text IS NULL OR client_id = $1) AND status <> 'deleted'
           AND ${ENDPOINTS_AFTER_CURSOR}
         ORDER BY created_at, id LIMIT $3`,
        [q.clientId ?? null, q.startingAfter ?? null, q.limit + 1],
      );
      return { data: r.rows.slice(0, q.limit).map(endpointRow), hasMore: r.rows.length > q.limit };
    },

    /** Merchant changes: status (enabled/disabled) and/or subscriptions; a deleted endpoint is gone. */
    async updateEndpoint(
      id: string,
      clientId: string,
      change: { status?: 'enabled' | 'disabled' | undefined; events?: string[] | undefined },
    ): Promise<WebhookEndpointRow | undefined> {
      const r = await pool.query<EndpointDbRow>(
        `UPDATE webhook_endpoints SET
           status = COALESCE($3, status),
           events = COALESCE($4, events),
           disabled_reason = CASE WHEN $3 = 'disabled' THEN 'merchant' WHEN $3 = 'enabled' THEN NULL
                                  ELSE disabled_reason END,
           -- Enabled again: a fresh start, the breaker and the failure run forgotten.
           consecutive_failures = CASE WHEN $3 = 'enabled' THEN 0 ELSE consecutive_failures END,
           failing_since = CASE WHEN $3 = 'enabled' THEN NULL ELSE failing_since END,
           breaker_open_until = CASE WHEN $3 = 'enabled' THEN NULL ELSE breaker_open_until END,
           updated_at = now()
         WHERE id = $1 AND client_id = $2 AND status <> 'deleted' RETURNING *`,
        [id, clientId, change.status ?? null, change.events ?? null],
      );
      return r.rows[0] ? endpointRow(r.rows[0]) : undefined;
    },
    /**
     * Delete: a tombstone (the delivery log still refers to it) and every pending delivery to it
     * cancelled in the same transaction, so its workflow attempts nothing more. False if not found.
     */
    async deleteEndpoint(id: string, clientId: string): Promise<boolean> {
      return inTransaction(pool, async (c) => {
        const r = await c.query(
          `UPDATE webhook_endpoints SET status = 'deleted', updated_at = now()
           WHERE id = $1 AND client_id = $2 AND status <> 'deleted'`,
          [id, clientId],
        );
        await c.query(
          `UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL
           WHERE endpoint_id = $1 AND status = 'pending'`,
          [id],
        );
        return (r.rowCount ?? 0) > 0;
      });
    },

    ...createWebhookDeliveriesRepo(pool),
  };
}
export type WebhooksRepo = ReturnType<typeof createWebhooksRepo>;

interface EndpointDbRow {
  id: string;
  client_id: string;
  url: string;
  events: string[];
  secret_sealed: Buffer;
  status: EndpointStatus;
  disabled_reason: 'merchant' | 'failing' | null;
  created_at: Date;
}
const endpointRow = (r: EndpointDbRow): WebhookEndpointRow => ({
  id: r.id,
  clientId: r.client_id,
  url: r.url,
  events: r.events,
  secretSealed: r.secret_sealed,
  status: r.status,
  disabledReason: r.disabled_reason,
  createdAt: r.created_at.toISOString(),
});
