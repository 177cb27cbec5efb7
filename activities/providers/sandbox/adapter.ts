/**
 * The built-in sandbox provider: a stateful fake acquirer that keeps its books in PostgreSQL
 * (sandbox_* tables), honours idempotency keys across restarts like a real provider, and injects
 * faults by amount (transformers.ts). Tests count its effects to prove exactly-once behaviour.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Pool, PoolClient } from '../../../db/pool';
import { inTransaction } from '../../../db/transaction';
import { isExpired } from '../../../domain/card';
import { newId } from '../../../domain/ids';
import {
  declineMessage,
  ProviderError,
  type AuthorizeRequest,
  type AuthorizeResult,
  type CaptureRequest,
  type CaptureResult,
  type PaymentProvider,
  type ProviderPaymentSnapshot,
  type RefundRequest,
  type RefundResult,
  type SyncRequest,
  type VoidRequest,
} from '../types';
import { classifySandboxError } from './errors';
import { sandboxBehaviour } from './transformers';

type Kind = 'authorize' | 'capture' | 'void' | 'refund';

interface TxRow {
  reference: string;
  payment_id: string;
  status: string;
  currency: string;
  amount_authorized: number;
  amount_captured: number;
  amount_refunded: number;
  decline_code: string | null;
  capture_before: Date | null;
}

export interface SandboxOptions {
  pool: Pool;
  now?: () => Date;
  /** Real delay for "slow" triggers; tests may shorten it. */
  sleep?: (ms: number) => Promise<void>;
}

export function createSandboxProvider(opts: SandboxOptions): PaymentProvider {
  const { pool } = opts;
  const now = opts.now ?? (() => new Date());
  const sleep = opts.sleep ?? ((ms: number) => delay(ms));

  async function lockTx(c: PoolClient, reference: string): Promise<TxRow> {
    const r = await c.query<TxRow>('SELECT * FROM sandbox_transactions WHERE reference = $1 FOR UPDATE', [
      reference,
    ]);
    const row = r.rows[0];
    if (!row) throw ProviderError.invalid('sandbox', 'no such sandbox transaction', 404);
    return row;
  }

  /**
   * One provider operation: replay by idempotency key, count attempts for injected outages, apply the
   * effect and record it atomically, then misbehave (lost response, slowness) as the amount says.
   */
  async function operate<T>(
    kind: Kind,
    key: string,
    amount: number,
    apply: (c: PoolClient) => Promise<{ reference: string; result: T }>,
  ): Promise<T> {
    try {
      const prior = await pool.query<{ result: T }>(
        'UPDATE sandbox_operations SET attempts = attempts + 1 WHERE idempotency_key = $1 RETURNING result',
        [key],
      );
      if (prior.rows[0]) return prior.rows[0].result;

      const b = sandboxBehaviour(amount);
      const att = await pool.query<{ attempts: number }>(
        `INSERT INTO sandbox_attempts (idempotency_key, attempts) VALUES ($1, 1)
         ON CONFLICT (idempotency_key) DO UPDATE SET attempts = sandbox_attempts.attempts + 1 RETURNING attempts`,
        [key],
      );
      const attempt = att.rows[0]?.attempts ?? 1;
      if (b.kind === 'outage' && attempt <= b.attempts) {
        throw ProviderError.unavailable(
          'sandbox',
          `sandbox outage (attempt ${attempt} of ${b.attempts})`,
          503,
        );
      }

      if (b.kind === 'invalid') {
        throw ProviderError.invalid('sandbox', 'sandbox rejected the request as invalid', 400);
      }

      const result = await inTransaction(pool, async (c) => {
        // Serialize concurrent first attempts of one key: the loser replays the winner's result.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
        const again = await c.query<{ result: T }>(
          'SELECT result FROM sandbox_operations WHERE idempotency_key = $1',
          [key],
        );
        if (again.rows[0]) return again.rows[0].result;
        const applied = await apply(c);
        await c.query(
          'INSERT INTO sandbox_operations (idempotency_key, reference, kind, amount, result) VALUES ($1, $2, $3, $4, $5)',
          // A void has no result: store JSON null (the column is NOT NULL; undefined would be SQL NULL).
          [key, applied.reference, kind, amount, JSON.stringify(applied.result ?? null)],
        );
        return applied.result;
      });

      if (b.kind === 'lost_response' && attempt === 1) {
        throw ProviderError.unknownOutcome(
          'sandbox',
          'sandbox response lost after the operation was applied',
        );
      }
      if (b.kind === 'slow') await sleep(b.seconds * 1000);
      return result;
    } catch (err) {
      throw classifySandboxError(err);
    }
  }

  return {
    name: 'sandbox',

    authorize(req: AuthorizeRequest): Promise<AuthorizeResult> {
      return operate('authorize', req.idempotencyKey, req.amount, async (c) => {
        const reference = newId('pay').replace(/^pay_/, 'sbx_');
        const b = sandboxBehaviour(req.amount);
        const declineCode =
          b.kind === 'decline'
            ? b.code
            : isExpired(req.card.expMonth, req.card.expYear, now())
              ? 'expired_card'
              : null;
        const captureBefore = new Date(
          now().getTime() + (b.kind === 'approve' ? b.captureBeforeMs : 7 * 86_400_000),
        );
        const captured = !declineCode && req.capture === 'automatic';
        await c.query(
          `INSERT INTO sandbox_transactions (reference, payment_id, status, currency, amount_authorized, amount_captured, decline_code, capture_before)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            reference,
            req.paymentId,
            declineCode ? 'declined' : captured ? 'captured' : 'authorized',
            req.currency,
            declineCode ? 0 : req.amount,
            captured ? req.amount : 0,
            declineCode,
            declineCode ? null : captureBefore,
          ],
        );
        const result: AuthorizeResult = declineCode
          ? {
              outcome: 'declined',
              providerReference: reference,
              declineCode,
              message: declineMessage(declineCode),
            }
          : {
              outcome: 'authorized',
              providerReference: reference,
              captured,
              captureBefore: captureBefore.toISOString(),
            };
        return { reference, result };
      });
    },

    capture(req: CaptureRequest): Promise<CaptureResult> {
      return operate('capture', req.idempotencyKey, req.amount, async (c) => {
        const tx = await lockTx(c, req.providerReference);
        if (tx.status !== 'authorized' && tx.status !== 'partially_captured') {
          throw ProviderError.invalid('sandbox', `cannot capture a ${tx.status} transaction`, 400);
        }
        if (req.amount > tx.amount_authorized - tx.amount_captured) {
          throw ProviderError.invalid('sandbox', 'capture exceeds the authorized amount', 400);
        }
        const captured = tx.amount_captured + req.amount;
        const done = req.final || captured === tx.amount_authorized;
        await c.query(
          'UPDATE sandbox_transactions SET amount_captured = $2, status = $3 WHERE reference = $1',
          [tx.reference, captured, done ? 'captured' : 'partially_captured'],
        );
        return { reference: tx.reference, result: { providerCaptureId: newId('cap'), amount: req.amount } };
      });
    },

    void(req: VoidRequest): Promise<void> {
      return operate('void', req.idempotencyKey, 0, async (c) => {
        const tx = await lockTx(c, req.providerReference);
        if (tx.status === 'authorized' || tx.status === 'partially_captured') {
          // Voiding a partially captured authorization releases the uncaptured rest.
          await c.query('UPDATE sandbox_transactions SET status = $2 WHERE reference = $1', [
            tx.reference,
            tx.amount_captured > 0 ? 'captured' : 'voided',
          ]);
        } else if (tx.status !== 'voided') {
          throw ProviderError.invalid('sandbox', `cannot void a ${tx.status} transaction`, 400);
        }
        return { reference: tx.reference, result: undefined };
      });
    },

    refund(req: RefundRequest): Promise<RefundResult> {
      return operate('refund', req.idempotencyKey, req.amount, async (c) => {
        const tx = await lockTx(c, req.providerReference);
        if (req.amount > tx.amount_captured - tx.amount_refunded) {
          throw ProviderError.invalid('sandbox', 'refund exceeds the captured amount', 400);
        }
        await c.query(
          'UPDATE sandbox_transactions SET amount_refunded = amount_refunded + $2 WHERE reference = $1',
          [tx.reference, req.amount],
        );
        return {
          reference: tx.reference,
          result: { providerRefundId: newId('re').replace(/^re_/, 'sbxre_'), status: 'succeeded' as const },
        };
      });
    },

    async sync(req: SyncRequest): Promise<ProviderPaymentSnapshot> {
      try {
        const r = await pool.query<TxRow>(
          'SELECT * FROM sandbox_transactions WHERE ($1::text IS NOT NULL AND reference = $1) OR payment_id = $2',
          [req.providerReference ?? null, req.paymentId],
        );
        const tx = r.rows[0];
        if (!tx) return { found: false };
        const ops = await pool.query<{
          idempotency_key: string;
          kind: Kind;
          amount: number;
          result: Record<string, unknown>;
        }>(
          'SELECT idempotency_key, kind, amount, result FROM sandbox_operations WHERE reference = $1 ORDER BY created_at',
          [tx.reference],
        );
        const status =
          tx.status === 'partially_captured'
            ? 'authorized'
            : (tx.status as ProviderPaymentSnapshot['status']);
        return {
          found: true,
          providerReference: tx.reference,
          status,
          amountAuthorized: tx.amount_authorized,
          amountCaptured: tx.amount_captured,
          amountRefunded: tx.amount_refunded,
          captureBefore: tx.capture_before?.toISOString(),
          declineCode: (tx.decline_code ?? undefined) as ProviderPaymentSnapshot['declineCode'],
          captures: ops.rows
            .filter((o) => o.kind === 'capture')
            .map((o) => ({
              providerCaptureId: String(o.result.providerCaptureId),
              amount: o.amount,
              idempotencyKey: o.idempotency_key,
            })),
          refunds: ops.rows
            .filter((o) => o.kind === 'refund')
            .map((o) => ({
              providerRefundId: String(o.result.providerRefundId),
              amount: o.amount,
              idempotencyKey: o.idempotency_key,
            })),
        };
      } catch (err) {
        throw classifySandboxError(err);
      }
    },

    parseWebhook(): Promise<never> {
      return Promise.reject(ProviderError.invalid('sandbox', 'the sandbox provider sends no webhooks', 400));
    },
  };
}
