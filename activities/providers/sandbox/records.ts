/**
 * The sandbox's settlement report: its own books (sandbox_transactions, kept by adapter.ts) read as a
 * provider report would list them, transactions created in the window, keyset on (created_at,
 * reference). Amounts are the books' captured and refunded totals; the fee is the sandbox's price
 * list applied to the captured total (sandboxFee, docs/sandbox-provider.md "Fees").
 */
import type { Pool } from '../../../db/pool';
import type { ProviderRecord } from '../../../domain/reconciliation';
import type { ProviderRecordSource, RecordPage, RecordPageRequest } from '../records';
import { classifySandboxError } from './errors';

interface ReportRow {
  reference: string;
  payment_id: string;
  currency: string;
  amount_captured: string;
  amount_refunded: string;
  created_at: Date;
  /** created_at to the microsecond (a JS Date would cut it to the millisecond and repeat rows). */
  at_us: string;
}

/** `<created_at ISO>|<reference>` of the last record of a page. */
const encode = (r: ReportRow) => `${r.at_us}|${r.reference}`;
function decode(cursor: string | null): { at: string; reference: string } | undefined {
  if (!cursor) return undefined;
  const i = cursor.indexOf('|');
  return { at: cursor.slice(0, i), reference: cursor.slice(i + 1) };
}

/**
 * The sandbox's fee for a payment: 2.9% of the captured amount, rounded half up to the minor unit,
 * plus 30 minor units, for a payment with money captured; 0 for one without. Refunds return no fee.
 */
export function sandboxFee(captured: number): number {
  if (captured <= 0) return 0;
  return Math.floor((captured * 29 + 500) / 1000) + 30;
}

export const sandboxRecord = (r: ReportRow): ProviderRecord => ({
  providerReference: r.reference,
  paymentId: r.payment_id,
  currency: r.currency,
  amountCaptured: Number(r.amount_captured),
  amountRefunded: Number(r.amount_refunded),
  fee: sandboxFee(Number(r.amount_captured)),
  createdAt: r.created_at.toISOString(),
});

export function createSandboxRecordSource(opts: { pool: Pool }): ProviderRecordSource {
  return {
    name: 'sandbox',
    async page(req: RecordPageRequest): Promise<RecordPage> {
      const after = decode(req.cursor);
      try {
        const r = await opts.pool.query<ReportRow>(
          `SELECT reference, payment_id, currency, amount_captured::text, amount_refunded::text, created_at,
                  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_us
             FROM sandbox_transactions
            WHERE created_at >= $1 AND created_at < $2
              AND ($3::timestamptz IS NULL OR (created_at, reference) > ($3, $4::text))
            ORDER BY created_at, reference LIMIT $5`,
          [req.window.from, req.window.to, after?.at ?? null, after?.reference ?? null, req.limit],
        );
        const last = r.rows[r.rows.length - 1];
        return {
          records: r.rows.map(sandboxRecord),
          next: last && r.rows.length === req.limit ? encode(last) : null,
        };
      } catch (err) {
        throw classifySandboxError(err);
      }
    },
  };
}
