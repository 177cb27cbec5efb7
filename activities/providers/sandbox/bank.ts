/**
 * The sandbox bank-verification provider: PostgreSQL-backed books (sandbox_bank_deposits), honours
 * idempotency keys across restarts, and deterministic triggers by the LAST FOUR digits of the account
 * number (any valid ABA routing number works, e.g. 110000000):
 *
 *   ...1111  instant verification succeeds                  -> verified (instant)
 *   ...3333  instant verification inconclusive              -> micro-deposits
 *   ...4444  instant verification hangs past its timeout    -> micro-deposits (after the timeout)
 *   ...5555  instant unavailable; the deposits are RETURNED -> the provider events say so
 *   other    instant verification unavailable              -> micro-deposits
 *
 * The deposit amounts are stored here because this table plays the account holder's bank statement
 * (that is where a customer reads them); the engine itself never stores them.
 * sandboxDepositEvents() returns the provider events a real provider would post to our webhook
 * (deposits_sent, and deposit_returned for ...5555), for tests and the docs walkthrough.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Pool } from '../../../db/pool';
import { newId } from '../../../domain/ids';
import type {
  BankSyncRequest,
  BankSyncResult,
  BankVerificationProvider,
  DebitMicrodepositsRequest,
  InstantVerifyRequest,
  InstantVerifyResult,
  SendMicrodepositsRequest,
  SendMicrodepositsResult,
} from '../bank-types';
import { ProviderError } from '../types';
import type { ProviderEvent } from '../../../domain/providers';

export const SANDBOX_BANK_TRIGGERS = {
  instantVerified: '1111',
  instantInconclusive: '3333',
  instantTimeout: '4444',
  depositReturned: '5555',
} as const;

export interface SandboxBankOptions {
  pool: Pool;
  /** How long the "timeout" trigger hangs; longer than the bankInstant option set's startToClose. */
  hangMs?: number;
}

interface DepositRow {
  idempotency_key: string;
  reference: string;
  bank_account_id: string;
  status: 'sent' | 'returned';
  clawed_back_at: Date | null;
  created_at: Date;
}

export function createSandboxBankProvider(opts: SandboxBankOptions): BankVerificationProvider {
  const { pool } = opts;
  const hangMs = opts.hangMs ?? 15_000;
  const suffix = (n: string) => n.slice(-4);

  return {
    name: 'sandbox',

    async instantVerify(req: InstantVerifyRequest): Promise<InstantVerifyResult> {
      switch (suffix(req.account.accountNumber)) {
        case SANDBOX_BANK_TRIGGERS.instantVerified:
          return { outcome: 'verified' };
        case SANDBOX_BANK_TRIGGERS.instantInconclusive:
          return { outcome: 'inconclusive' };
        case SANDBOX_BANK_TRIGGERS.instantTimeout:
          await delay(hangMs);
          throw ProviderError.unavailable('sandbox', 'instant verification timed out');
        default:
          return { outcome: 'unavailable' };
      }
    },

    async sendMicrodeposits(req: SendMicrodepositsRequest): Promise<SendMicrodepositsResult> {
      const [a, b] = req.amounts;
      if (![a, b].every((x) => Number.isInteger(x) && x >= 1 && x <= 99)) {
        throw ProviderError.invalid('sandbox', 'micro-deposit amounts must be 1..99 minor units');
      }
      const status =
        suffix(req.account.accountNumber) === SANDBOX_BANK_TRIGGERS.depositReturned ? 'returned' : 'sent';
      await pool.query(
        `INSERT INTO sandbox_bank_deposits (idempotency_key, reference, bank_account_id, amount_1, amount_2, status)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING`,
        [req.idempotencyKey, newId('ba').replace(/^ba_/, 'sbmd_'), req.bankAccountId, a, b, status],
      );
      const r = await pool.query<{ reference: string }>(
        'SELECT reference FROM sandbox_bank_deposits WHERE idempotency_key = $1',
        [req.idempotencyKey],
      );
      const row = r.rows[0];
      if (!row) throw ProviderError.unavailable('sandbox', 'deposit not recorded');
      return { providerReference: row.reference };
    },

    async debitMicrodeposits(req: DebitMicrodepositsRequest): Promise<void> {
      const r = await pool.query(
        `UPDATE sandbox_bank_deposits SET clawed_back_at = COALESCE(clawed_back_at, now()),
           clawback_count = clawback_count + CASE WHEN clawed_back_at IS NULL THEN 1 ELSE 0 END
         WHERE reference = $1 AND bank_account_id = $2`,
        [req.providerReference, req.bankAccountId],
      );
      if ((r.rowCount ?? 0) === 0) throw ProviderError.invalid('sandbox', 'no such micro-deposit');
    },

    async sync(req: BankSyncRequest): Promise<BankSyncResult> {
      const r = await pool.query<DepositRow>(
        `SELECT * FROM sandbox_bank_deposits WHERE bank_account_id = $1
           AND ($2::text IS NULL OR idempotency_key = $2) ORDER BY created_at DESC LIMIT 1`,
        [req.bankAccountId, req.depositIdempotencyKey ?? null],
      );
      const row = r.rows[0];
      if (!row) return {};
      return {
        deposits: {
          providerReference: row.reference,
          status: row.status,
          clawedBack: row.clawed_back_at !== null,
        },
      };
    },
  };
}

/** The events the sandbox "posts" for an account's deposits, in delivery order. No amounts. */
export async function sandboxDepositEvents(pool: Pool, bankAccountId: string): Promise<ProviderEvent[]> {
  const r = await pool.query<DepositRow>(
    'SELECT * FROM sandbox_bank_deposits WHERE bank_account_id = $1 ORDER BY created_at',
    [bankAccountId],
  );
  const out: ProviderEvent[] = [];
  for (const d of r.rows) {
    const raw = { bankAccountId: d.bank_account_id, reference: d.reference };
    const at = d.created_at.toISOString();
    out.push({
      provider: 'sandbox',
      eventId: `sbevt_${d.reference}_sent`,
      kind: 'bank_account.deposits_sent',
      providerReference: d.reference,
      occurredAt: at,
      raw,
    });
    if (d.status === 'returned') {
      out.push({
        provider: 'sandbox',
        eventId: `sbevt_${d.reference}_returned`,
        kind: 'bank_account.deposit_returned',
        providerReference: d.reference,
        occurredAt: new Date(d.created_at.getTime() + 1000).toISOString(),
        raw: { ...raw, returnCode: 'R03' },
      });
    }
  }
  return out;
}

/** Sandbox only: the account holder's "bank statement" (what a customer reads to verify). */
export async function sandboxStatementAmounts(
  pool: Pool,
  bankAccountId: string,
): Promise<[number, number] | undefined> {
  const r = await pool.query<{ amount_1: number; amount_2: number }>(
    'SELECT amount_1, amount_2 FROM sandbox_bank_deposits WHERE bank_account_id = $1 ORDER BY created_at DESC LIMIT 1',
    [bankAccountId],
  );
  const row = r.rows[0];
  return row ? [row.amount_1, row.amount_2] : undefined;
}
