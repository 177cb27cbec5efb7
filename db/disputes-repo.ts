/**
 * PostgreSQL projection of disputes, written by the dispute workflow's one local activity per step
 * (the dispute row and its merchant events in one statement) and read by the API
 * (GET /v1/disputes...). Writes are versioned upserts: an older projection never wins. Also the
 * facts of a payment a dispute needs (its merchant, provider reference, currency).
 */
import type { DisputeStatus, DisputeView } from '../domain/dispute';
import type { EventRecord } from '../domain/merchant-event';
import { afterCursor } from './keyset';
import type { Pool } from './pool';

/** One dispute step: its projection and the merchant events it announces. */
export interface DisputeStep {
  clientId: string;
  provider: string;
  providerDisputeId: string;
  view: DisputeView;
  version: number;
  /** The payment's workflow had closed when the dispute asked it to move funds. */
  paymentClosed: boolean;
  events: EventRecord[];
}

interface Row {
  id: string;
  client_id: string;
  payment_id: string;
  amount: number;
  currency: string;
  reason: string;
  status: DisputeStatus;
  evidence_due_by: Date;
  evidence_submitted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

function toView(r: Row): DisputeView {
  const v: DisputeView = {
    id: r.id,
    paymentId: r.payment_id,
    amount: r.amount,
    currency: r.currency,
    reason: r.reason,
    status: r.status,
    evidenceDueBy: r.evidence_due_by.toISOString(),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
  if (r.evidence_submitted_at) v.evidenceSubmittedAt = r.evidence_submitted_at.toISOString();
  return v;
}

const DISPUTES_AFTER_CURSOR = afterCursor({
  table: 'disputes',
  alias: 'd',
  cursor: '$4',
  scope: { column: 'client_id', param: '$1' },
  order: 'desc',
});

/** What a dispute needs to know of its payment (from the payment projection). */
export interface DisputedPayment {
  paymentId: string;
  clientId: string;
  provider: string;
  providerReference: string | null;
  currency: string;
}

export function createDisputesRepo(pool: Pool) {
  return {
    /** One step in one statement: the versioned upsert and the events (idempotent by their ids). */
    async commitStep(step: DisputeStep): Promise<void> {
      const v = step.view;
      await pool.query(
        `WITH d AS (
           INSERT INTO disputes (id, client_id, payment_id, provider, provider_dispute_id, amount, currency, reason,
                  status, evidence_due_by, evidence_submitted_at, payment_closed, version, created_at, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
           ON CONFLICT (id) DO UPDATE SET
             status = EXCLUDED.status, evidence_submitted_at = EXCLUDED.evidence_submitted_at,
             payment_closed = EXCLUDED.payment_closed, version = EXCLUDED.version,
             updated_at = EXCLUDED.updated_at
           WHERE disputes.version < EXCLUDED.version)
         INSERT INTO events (id, client_id, type, resource_id, data, created_at)
         SELECT e.id, e.client_id, e.type, e.resource_id, e.data, e.created_at
           FROM jsonb_to_recordset($16::jsonb) AS e(id text, client_id text, type text, resource_id text,
                data jsonb, created_at timestamptz)
         ON CONFLICT (id) DO NOTHING`,
        [
          v.id,
          step.clientId,
          v.paymentId,
          step.provider,
          step.providerDisputeId,
          v.amount,
          v.currency,
          v.reason,
          v.status,
          v.evidenceDueBy,
          v.evidenceSubmittedAt ?? null,
          step.paymentClosed,
          step.version,
          v.createdAt,
          v.updatedAt,
          JSON.stringify(
            step.events.map((e) => ({
              id: e.id,
              client_id: e.clientId,
              type: e.type,
              resource_id: e.resourceId,
              data: e.data,
              created_at: e.createdAt,
            })),
          ),
        ],
      );
    },

    /** `clientId` undefined = operator read (all clients). */
    async get(id: string, clientId: string | undefined): Promise<DisputeView | undefined> {
      const r = await pool.query<Row>(
        'SELECT * FROM disputes WHERE id = $1 AND ($2::text IS NULL OR client_id = $2)',
        [id, clientId ?? null],
      );
      return r.rows[0] ? toView(r.rows[0]) : undefined;
    },

    async list(q: {
      clientId: string | undefined;
      paymentId?: string | undefined;
      status?: DisputeStatus | undefined;
      limit: number;
      startingAfter?: string | undefined;
    }): Promise<{ data: DisputeView[]; hasMore: boolean }> {
      const r = await pool.query<Row>(
        `SELECT d.* FROM disputes d
          WHERE ($1::text IS NULL OR d.client_id = $1)
            AND ($2::text IS NULL OR d.payment_id = $2)
            AND ($3::text IS NULL OR d.status = $3)
            AND ${DISPUTES_AFTER_CURSOR}
          ORDER BY d.created_at DESC, d.id DESC
          LIMIT $5`,
        [q.clientId ?? null, q.paymentId ?? null, q.status ?? null, q.startingAfter ?? null, q.limit + 1],
      );
      return { data: r.rows.slice(0, q.limit).map(toView), hasMore: r.rows.length > q.limit };
    },

    async payment(paymentId: string): Promise<DisputedPayment | undefined> {
      const r = await pool.query<{
        id: string;
        client_id: string;
        provider: string;
        provider_reference: string | null;
        currency: string;
      }>('SELECT id, client_id, provider, provider_reference, currency FROM payments WHERE id = $1', [
        paymentId,
      ]);
      const p = r.rows[0];
      return p
        ? {
            paymentId: p.id,
            clientId: p.client_id,
            provider: p.provider,
            providerReference: p.provider_reference,
            currency: p.currency.trim(),
          }
        : undefined;
    },
  };
}
export type DisputesRepo = ReturnType<typeof createDisputesRepo>;
