/**
 * The built-in sandbox provider: a stateful fake acquirer that keeps its books in PostgreSQL
 * (sandbox_* tables), honours idempotency keys across restarts like a real provider, and injects
 * faults by amount (transformers.ts). Tests count its effects to prove exactly-once behaviour.
 * Disputes (opened by a capture of 41300) and the webhooks announcing them: disputes.ts, webhook.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Pool, PoolClient } from '../../../db/pool';
import { inTransaction } from '../../../db/transaction';
import { newId } from '../../../domain/ids';
import {
  ProviderError,
  type AuthorizeRequest,
  type AcceptDisputeRequest,
  type AuthorizeResult,
  type CaptureRequest,
  type DisputeEvidenceRequest,
  type DisputeProviderResult,
  type CaptureResult,
  type PaymentProvider,
  type ProviderPaymentSnapshot,
  type RefundRequest,
  type RefundResult,
  type SyncRequest,
  type VoidRequest,
} from '../types';
import type { ProviderEvent } from '../../../domain/providers';
import { classifySandboxError } from './errors';
import {
  SANDBOX_DISPUTE_TRIGGER,
  acceptSandboxDispute,
  openSandboxDispute,
  submitSandboxEvidence,
} from './disputes';
import { verifySandboxWebhook } from './webhook';
import {
  assertSandboxRefundable,
  sandboxAuthorization,
  sandboxBehaviour,
  sandboxCapture,
  sandboxOperation,
  sandboxVoid,
  snapshotFromSandbox,
  type SandboxOperation,
  type SandboxOperationRow,
  type SandboxTransactionRow as TxRow,
} from './transformers';

export interface SandboxOptions {
  pool: Pool;
  now?: () => Date;
  /** Real delay for "slow" triggers; tests may shorten it. */
  sleep?: (ms: number) => Promise<void>;
  /** Verifies the sandbox's own webhooks (SETTLE_SANDBOX_WEBHOOK_SECRET); without it they are refused. */
  webhookSecret?: string | undefined;
}

export function createSandboxProvider(opts: SandboxOptions): PaymentProvider {
  return new SandboxProvider(opts);
}

/** One method per flow; each books its operation in the sandbox tables with what transformers.ts builds. */
class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox';
  private readonly pool: Pool;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly webhookSecret: string | undefined;

  constructor(opts: SandboxOptions) {
    this.pool = opts.pool;
    this.webhookSecret = opts.webhookSecret;
    this.now = opts.now ?? (() => new Date());
    this.sleep = opts.sleep ?? ((ms: number) => delay(ms));
  }

  private async lockTx(c: PoolClient, reference: string): Promise<TxRow> {
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
  private async operate<T>(
    op: SandboxOperation,
    apply: (c: PoolClient) => Promise<{ reference: string; result: T }>,
  ): Promise<T> {
    const { kind, idempotencyKey: key, amount } = op;
    try {
      const prior = await this.pool.query<{ result: T }>(
        'UPDATE sandbox_operations SET attempts = attempts + 1 WHERE idempotency_key = $1 RETURNING result',
        [key],
      );
      if (prior.rows[0]) return prior.rows[0].result;

      const b = sandboxBehaviour(amount);
      const att = await this.pool.query<{ attempts: number }>(
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

      const result = await inTransaction(this.pool, async (c) => {
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
      if (b.kind === 'slow') await this.sleep(b.seconds * 1000);
      return result;
    } catch (err) {
      throw classifySandboxError(err);
    }
  }

  authorize(req: AuthorizeRequest): Promise<AuthorizeResult> {
    return this.operate(sandboxOperation('authorize', req), async (c) => {
      const reference = newId('pay').replace(/^pay_/, 'sbx_');
      const { row, result } = sandboxAuthorization(req, reference, this.now());
      await c.query(
        `INSERT INTO sandbox_transactions (reference, payment_id, status, currency, amount_authorized, amount_captured, decline_code, capture_before)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          row.reference,
          row.payment_id,
          row.status,
          row.currency,
          row.amount_authorized,
          row.amount_captured,
          row.decline_code,
          row.capture_before,
        ],
      );
      if (row.status === 'captured' && req.amount === SANDBOX_DISPUTE_TRIGGER)
        await openSandboxDispute(c, row, req.amount, this.now());
      return { reference, result };
    });
  }

  capture(req: CaptureRequest): Promise<CaptureResult> {
    return this.operate(sandboxOperation('capture', req), async (c) => {
      const tx = await this.lockTx(c, req.providerReference);
      const next = sandboxCapture(tx, req);
      await c.query(
        'UPDATE sandbox_transactions SET amount_captured = $2, status = $3 WHERE reference = $1',
        [tx.reference, next.amount_captured, next.status],
      );
      if (req.amount === SANDBOX_DISPUTE_TRIGGER) await openSandboxDispute(c, tx, req.amount, this.now());
      return { reference: tx.reference, result: { providerCaptureId: newId('cap'), amount: req.amount } };
    });
  }

  void(req: VoidRequest): Promise<void> {
    return this.operate(sandboxOperation('void', req), async (c) => {
      const tx = await this.lockTx(c, req.providerReference);
      const status = sandboxVoid(tx);
      if (status) {
        await c.query('UPDATE sandbox_transactions SET status = $2 WHERE reference = $1', [
          tx.reference,
          status,
        ]);
      }
      return { reference: tx.reference, result: undefined };
    });
  }

  refund(req: RefundRequest): Promise<RefundResult> {
    return this.operate(sandboxOperation('refund', req), async (c) => {
      const tx = await this.lockTx(c, req.providerReference);
      assertSandboxRefundable(tx, req);
      await c.query(
        'UPDATE sandbox_transactions SET amount_refunded = amount_refunded + $2 WHERE reference = $1',
        [tx.reference, req.amount],
      );
      return {
        reference: tx.reference,
        result: { providerRefundId: newId('re').replace(/^re_/, 'sbxre_'), status: 'succeeded' as const },
      };
    });
  }

  async sync(req: SyncRequest): Promise<ProviderPaymentSnapshot> {
    try {
      const r = await this.pool.query<TxRow>(
        'SELECT * FROM sandbox_transactions WHERE ($1::text IS NOT NULL AND reference = $1) OR payment_id = $2',
        [req.providerReference ?? null, req.paymentId],
      );
      const tx = r.rows[0];
      if (!tx) return { found: false };
      const ops = await this.pool.query<SandboxOperationRow>(
        'SELECT idempotency_key, kind, amount, result FROM sandbox_operations WHERE reference = $1 ORDER BY created_at',
        [tx.reference],
      );
      return snapshotFromSandbox(tx, ops.rows);
    } catch (err) {
      throw classifySandboxError(err);
    }
  }

  async submitDisputeEvidence(req: DisputeEvidenceRequest): Promise<DisputeProviderResult> {
    try {
      return await submitSandboxEvidence(this.pool, req, this.now());
    } catch (err) {
      throw classifySandboxError(err);
    }
  }

  async acceptDispute(req: AcceptDisputeRequest): Promise<DisputeProviderResult> {
    try {
      return await acceptSandboxDispute(this.pool, req, this.now());
    } catch (err) {
      throw classifySandboxError(err);
    }
  }

  parseWebhook(rawBody: Buffer, headers: Record<string, string | undefined>): Promise<ProviderEvent> {
    try {
      return Promise.resolve(verifySandboxWebhook(rawBody, headers, this.webhookSecret));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
