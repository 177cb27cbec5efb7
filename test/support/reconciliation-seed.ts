/**
 * Seeding for reconciliation tests and the bench: ledger payments (a payments row plus balanced
 * journal entries, as the payment workflow would have posted them: a capture, and a refund when
 * given) and sandbox books, written directly with SQL in batches. Test-only.
 */
import type { Pool } from '../../db/pool';

export interface SeedPayment {
  id: string;
  clientId: string;
  provider: 'sandbox' | 'stripe' | 'braintree';
  reference: string;
  currency: string;
  captured: number;
  refunded?: number;
  createdAt: string;
}

const BATCH = 1000;

export async function seedLedgerPayments(pool: Pool, rows: SeedPayment[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const entries: Array<Record<string, unknown>> = [];
    const lines: Array<Record<string, unknown>> = [];
    for (const p of batch) {
      const body = p.id.replace(/^pay_/, '');
      const line = (entry: string, no: number, account: string, amount: number) =>
        lines.push({
          entry_id: entry,
          line_no: no,
          client_id: p.clientId,
          currency: p.currency,
          account,
          amount,
        });
      const base = { client_id: p.clientId, payment_id: p.id, currency: p.currency, created_at: p.createdAt };
      entries.push({ ...base, id: `je_${body}v1c`, kind: 'capture', step_key: `seed:${p.id}:capture` });
      line(`je_${body}v1c`, 0, 'receivable_from_provider', p.captured);
      line(`je_${body}v1c`, 1, 'merchant_balance', -p.captured);
      if (p.refunded) {
        entries.push({ ...base, id: `je_${body}v2r`, kind: 'refund', step_key: `seed:${p.id}:refund` });
        line(`je_${body}v2r`, 0, 'merchant_balance', p.refunded);
        line(`je_${body}v2r`, 1, 'refunds_payable', -p.refunded);
        line(`je_${body}v2r`, 2, 'refunds_payable', p.refunded);
        line(`je_${body}v2r`, 3, 'receivable_from_provider', -p.refunded);
      }
    }
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(
        `INSERT INTO payments (id, client_id, status, amount, currency, amount_capturable, amount_captured,
                               amount_refunded, capture, provider, provider_reference, token, version,
                               created_at, updated_at)
         SELECT x.id, x.client_id, CASE WHEN x.refunded > 0 THEN 'partially_refunded' ELSE 'captured' END,
                x.captured, x.currency, 0, x.captured, x.refunded, 'automatic', x.provider, x.reference,
                'tok_seeded', 2, x.created_at, x.created_at
           FROM jsonb_to_recordset($1::jsonb) AS x(id text, client_id text, currency text, captured bigint,
                refunded bigint, provider text, reference text, created_at timestamptz)`,
        [
          JSON.stringify(
            batch.map((p) => ({
              id: p.id,
              client_id: p.clientId,
              currency: p.currency,
              captured: p.captured,
              refunded: p.refunded ?? 0,
              provider: p.provider,
              reference: p.reference,
              created_at: p.createdAt,
            })),
          ),
        ],
      );
      await c.query(
        `INSERT INTO ledger_accounts (client_id, currency, kind)
         SELECT DISTINCT x.client_id, x.currency, x.account
           FROM jsonb_to_recordset($1::jsonb) AS x(client_id text, currency text, account text)
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(lines)],
      );
      await c.query(
        `INSERT INTO ledger_entries (id, client_id, payment_id, kind, currency, step_key, created_at)
         SELECT j.id, j.client_id, j.payment_id, j.kind, j.currency, j.step_key, j.created_at
           FROM jsonb_to_recordset($1::jsonb) AS j(id text, client_id text, payment_id text, kind text,
                currency text, step_key text, created_at timestamptz)`,
        [JSON.stringify(entries)],
      );
      await c.query(
        `INSERT INTO ledger_lines (entry_id, line_no, client_id, currency, account, amount)
         SELECT l.entry_id, l.line_no, l.client_id, l.currency, l.account, l.amount
           FROM jsonb_to_recordset($1::jsonb) AS l(entry_id text, line_no int, client_id text,
                currency text, account text, amount bigint)`,
        [JSON.stringify(lines)],
      );
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}

export interface SeedSandboxTx {
  reference: string;
  paymentId: string;
  currency: string;
  captured: number;
  refunded?: number;
  createdAt: string;
}

/** The sandbox's books for these transactions (as its adapter would have booked them). */
export async function seedSandboxBooks(pool: Pool, rows: SeedSandboxTx[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    await pool.query(
      `INSERT INTO sandbox_transactions (reference, payment_id, status, currency, amount_authorized,
                                         amount_captured, amount_refunded, created_at)
       SELECT x.reference, x.payment_id, CASE WHEN x.captured > 0 THEN 'captured' ELSE 'authorized' END,
              x.currency, greatest(x.captured, 1), x.captured, x.refunded, x.created_at
         FROM jsonb_to_recordset($1::jsonb) AS x(reference text, payment_id text, currency text,
              captured bigint, refunded bigint, created_at timestamptz)`,
      [
        JSON.stringify(
          rows.slice(i, i + BATCH).map((r) => ({
            reference: r.reference,
            payment_id: r.paymentId,
            currency: r.currency,
            captured: r.captured,
            refunded: r.refunded ?? 0,
            created_at: r.createdAt,
          })),
        ),
      ],
    );
  }
}
