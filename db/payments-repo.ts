/**
 * PostgreSQL projections of payments and refunds, written by activities from workflow state and read
 * by the API (GET /v1/payments...). Writes are versioned upserts: an older projection never wins.
 */
import type { PaymentStep, PaymentView, RefundRecord } from '../domain/payment';

export type { PaymentStep };
import type { PaymentStatus } from '../domain/payment-state';
import { afterCursor } from './keyset';
import { LEDGER_CTES, ledgerParams } from './ledger-repo';
import type { Pool, PoolClient } from './pool';

type Queryable = Pool | PoolClient;

const PAYMENTS_AFTER_CURSOR = afterCursor({
  table: 'payments',
  alias: 'p',
  cursor: '$3',
  scope: { column: 'client_id', param: '$1' },
  order: 'desc',
});

interface Row {
  id: string;
  client_id: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  amount_capturable: number;
  amount_captured: number;
  amount_refunded: number;
  amount_disputed: number;
  capture: 'manual' | 'automatic';
  provider: string;
  provider_reference: string | null;
  token: string;
  brand: string | null;
  last4: string | null;
  decline_code: string | null;
  authorization_expires_at: Date | null;
  merchant_reference: string | null;
  description: string | null;
  metadata: Record<string, string> | null;
  created_at: Date;
  updated_at: Date;
}

function toView(r: Row): PaymentView {
  const v: PaymentView = {
    id: r.id,
    status: r.status,
    amount: r.amount,
    currency: r.currency,
    amountCapturable: r.amount_capturable,
    amountCaptured: r.amount_captured,
    amountRefunded: r.amount_refunded,
    amountDisputed: Number(r.amount_disputed ?? 0),
    capture: r.capture,
    provider: r.provider,
    providerReference: r.provider_reference,
    paymentMethod: { token: r.token, brand: r.brand ?? 'unknown', last4: r.last4 ?? '' },
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
  if (r.decline_code) v.declineCode = r.decline_code;
  if (r.authorization_expires_at) v.authorizationExpiresAt = r.authorization_expires_at.toISOString();
  if (r.merchant_reference !== null) v.merchantReference = r.merchant_reference;
  if (r.description !== null) v.description = r.description;
  if (r.metadata !== null) v.metadata = r.metadata;
  return v;
}

/**
 * Versioned upsert of a payment's projection ($1-$22, and $27 amount_disputed): an older version never
 * overwrites a newer one.
 */
const PAYMENT_UPSERT = `INSERT INTO payments (id, client_id, status, amount, currency, amount_capturable, amount_captured, amount_refunded,
         capture, provider, provider_reference, token, brand, last4, decline_code, authorization_expires_at,
         merchant_reference, description, metadata, version, created_at, updated_at, amount_disputed)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$27)
       ON CONFLICT (id) DO UPDATE SET
         status = EXCLUDED.status, amount_capturable = EXCLUDED.amount_capturable,
         amount_captured = EXCLUDED.amount_captured, amount_refunded = EXCLUDED.amount_refunded,
         amount_disputed = EXCLUDED.amount_disputed,
         provider = EXCLUDED.provider, provider_reference = EXCLUDED.provider_reference,
         decline_code = EXCLUDED.decline_code, authorization_expires_at = EXCLUDED.authorization_expires_at,
         version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
       WHERE payments.version < EXCLUDED.version`;

const paymentParams = (clientId: string, p: PaymentView, version: number): unknown[] => [
  p.id,
  clientId,
  p.status,
  p.amount,
  p.currency,
  p.amountCapturable,
  p.amountCaptured,
  p.amountRefunded,
  p.capture,
  p.provider,
  p.providerReference,
  p.paymentMethod.token,
  p.paymentMethod.brand,
  p.paymentMethod.last4,
  p.declineCode ?? null,
  p.authorizationExpiresAt ?? null,
  p.merchantReference ?? null,
  p.description ?? null,
  p.metadata ? JSON.stringify(p.metadata) : null,
  version,
  p.createdAt,
  p.updatedAt,
];

/** The upsert alone: its amount_disputed parameter is $23 here ($23-$26 belong to commitStep). */
const PAYMENT_UPSERT_ALONE = PAYMENT_UPSERT.replace('$27)', '$23)');

async function upsertPayment(q: Queryable, clientId: string, p: PaymentView, version: number): Promise<void> {
  await q.query(PAYMENT_UPSERT_ALONE, [...paymentParams(clientId, p, version), p.amountDisputed ?? 0]);
}

async function upsertRefund(q: Queryable, r: RefundRecord): Promise<void> {
  await q.query(
    `INSERT INTO refunds (id, payment_id, amount, status, reason, provider_refund_id, created_at, updated_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,now())
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, provider_refund_id = EXCLUDED.provider_refund_id,
         updated_at = now()`,
    [r.id, r.paymentId, r.amount, r.status, r.reason ?? null, r.providerRefundId ?? null, r.createdAt],
  );
}

export function createPaymentsRepo(pool: Pool) {
  return {
    async upsert(clientId: string, p: PaymentView, version: number): Promise<void> {
      await upsertPayment(pool, clientId, p, version);
    },

    async upsertRefund(r: RefundRecord): Promise<void> {
      await upsertRefund(pool, r);
    },

    /**
     * One workflow step in one transaction: the payment's projection, the refund it made (if any),
     * the merchant events it announces and the journal entries of the money it moved. Each part is
     * idempotent (versioned upsert, refund by id, events by their derived ids, entries by step key),
     * so a retried or replayed step writes nothing twice.
     */
    async commitStep(step: PaymentStep): Promise<void> {
      // One statement (so one round trip, atomic by itself): data-modifying CTEs all run, whether or
      // not the final statement reads them; the refund's and the ledger's foreign keys are checked at
      // its end, and each journal entry's balance at commit (db/ledger-repo.ts LEDGER_CTES).
      const r = step.refund;
      await pool.query(
        `WITH p AS (${PAYMENT_UPSERT}),
         r AS (
           INSERT INTO refunds (id, payment_id, amount, status, reason, provider_refund_id, created_at, updated_at)
           SELECT x.id, x.payment_id, x.amount, x.status, x.reason, x.provider_refund_id, x.created_at, now()
             FROM jsonb_to_recordset($23::jsonb) AS x(id text, payment_id text, amount bigint, status text,
                  reason text, provider_refund_id text, created_at timestamptz)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,
             provider_refund_id = EXCLUDED.provider_refund_id, updated_at = now()),
         ${LEDGER_CTES}
         INSERT INTO events (id, client_id, type, resource_id, data, created_at)
         SELECT e.id, e.client_id, e.type, e.resource_id, e.data, e.created_at
           FROM jsonb_to_recordset($24::jsonb) AS e(id text, client_id text, type text, resource_id text,
                data jsonb, created_at timestamptz)
         ON CONFLICT (id) DO NOTHING`,
        [
          ...paymentParams(step.clientId, step.view, step.version),
          JSON.stringify(
            r
              ? [
                  {
                    id: r.id,
                    payment_id: r.paymentId,
                    amount: r.amount,
                    status: r.status,
                    reason: r.reason ?? null,
                    provider_refund_id: r.providerRefundId ?? null,
                    created_at: r.createdAt,
                  },
                ]
              : [],
          ),
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
          ...ledgerParams(step.ledger),
          step.view.amountDisputed ?? 0,
        ],
      );
    },

    /** `clientId` undefined = operator read (all clients). */
    async get(id: string, clientId: string | undefined): Promise<PaymentView | undefined> {
      const r = await pool.query<Row>(
        'SELECT * FROM payments WHERE id = $1 AND ($2::text IS NULL OR client_id = $2)',
        [id, clientId ?? null],
      );
      return r.rows[0] ? toView(r.rows[0]) : undefined;
    },

    async list(q: {
      clientId: string | undefined;
      status?: PaymentStatus | undefined;
      limit: number;
      startingAfter?: string | undefined;
    }): Promise<{ data: PaymentView[]; hasMore: boolean }> {
      // Keyset pagination on (created_at, id) descending, anchored at the caller's `startingAfter` row.
      const r = await pool.query<Row>(
        `SELECT p.* FROM payments p
          WHERE ($1::text IS NULL OR p.client_id = $1)
            AND ($2::text IS NULL OR p.status = $2)
            AND ${PAYMENTS_AFTER_CURSOR}
          ORDER BY p.created_at DESC, p.id DESC
          LIMIT $4`,
        [q.clientId ?? null, q.status ?? null, q.startingAfter ?? null, q.limit + 1],
      );
      return { data: r.rows.slice(0, q.limit).map(toView), hasMore: r.rows.length > q.limit };
    },

    async exists(id: string, clientId: string | undefined): Promise<boolean> {
      const r = await pool.query(
        'SELECT 1 FROM payments WHERE id = $1 AND ($2::text IS NULL OR client_id = $2)',
        [id, clientId ?? null],
      );
      return (r.rowCount ?? 0) > 0;
    },
  };
}
export type PaymentsRepo = ReturnType<typeof createPaymentsRepo>;
