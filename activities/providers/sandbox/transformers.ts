/**
 * The sandbox provider's deterministic triggers, by the amount (minor units) of the operation.
 * Documented in docs/sandbox-provider.md; the demo and the tests both rely on them.
 *
 * | amount        | behaviour                                                                   |
 * |---------------|-----------------------------------------------------------------------------|
 * | 40002         | decline: card_declined                                                      |
 * | 40051         | decline: insufficient_funds                                                 |
 * | 40054         | decline: expired_card                                                       |
 * | 40082         | decline: incorrect_cvc                                                      |
 * | 40059         | decline: fraudulent                                                         |
 * | 50301 - 50309 | 503 outage for the first N attempts of an operation (N = last digit)        |
 * | 50400         | effect applied, then the response is lost (timeout) on the first attempt    |
 * | 50801 - 50809 | effect applied, then the response takes N seconds                           |
 * | 40700         | authorization with a provider capture_before 1 day out (instead of 7 days)  |
 * | 40710         | authorization with a capture_before 5 min 10 s out: the engine's expiry     |
 * |               | (5 min safety margin) fires ~10 s later; for demos, recordings and tests    |
 * | 40400         | the provider rejects the request as invalid (HTTP 400, non-retryable)       |
 * anything else: approved.
 *
 * Also the sandbox's request builders and response maps (our request -> the rows its books hold,
 * rows -> our results), pure like the other providers' transformers: the adapter runs the SQL.
 */
import { isExpired } from '../../../domain/card';
import {
  declineMessage,
  ProviderError,
  type AuthorizeRequest,
  type AuthorizeResult,
  type CaptureRequest,
  type DeclineCode,
  type ProviderPaymentSnapshot,
  type RefundRequest,
} from '../types';

export type SandboxBehaviour =
  | { kind: 'approve'; captureBeforeMs: number }
  | { kind: 'decline'; code: DeclineCode }
  | { kind: 'outage'; attempts: number }
  | { kind: 'lost_response' }
  | { kind: 'slow'; seconds: number }
  | { kind: 'invalid' };

const DAY = 24 * 60 * 60 * 1000;

const DECLINES: Readonly<Record<number, DeclineCode>> = {
  40002: 'card_declined',
  40051: 'insufficient_funds',
  40054: 'expired_card',
  40082: 'incorrect_cvc',
  40059: 'fraudulent',
};

export function sandboxBehaviour(amount: number): SandboxBehaviour {
  const decline = DECLINES[amount];
  if (decline) return { kind: 'decline', code: decline };
  if (amount >= 50301 && amount <= 50309) return { kind: 'outage', attempts: amount - 50300 };
  if (amount === 50400) return { kind: 'lost_response' };
  if (amount >= 50801 && amount <= 50809) return { kind: 'slow', seconds: amount - 50800 };
  if (amount === 40700) return { kind: 'approve', captureBeforeMs: DAY };
  if (amount === 40710) return { kind: 'approve', captureBeforeMs: 5 * 60_000 + 10_000 };
  if (amount === 40400) return { kind: 'invalid' };
  return { kind: 'approve', captureBeforeMs: 7 * DAY };
}

export type SandboxOperationKind = 'authorize' | 'capture' | 'void' | 'refund';

/**
 * One provider operation as the sandbox books it: replayed by our deterministic idempotency key,
 * its faults chosen by the amount (a void has none: 0).
 */
export interface SandboxOperation {
  kind: SandboxOperationKind;
  idempotencyKey: string;
  amount: number;
}

export function sandboxOperation(
  kind: SandboxOperationKind,
  req: { idempotencyKey: string; amount?: number },
): SandboxOperation {
  return { kind, idempotencyKey: req.idempotencyKey, amount: req.amount ?? 0 };
}

/** A sandbox_transactions row. */
export interface SandboxTransactionRow {
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

/** A sandbox_operations row, as sync reads it. */
export interface SandboxOperationRow {
  idempotency_key: string;
  kind: SandboxOperationKind;
  amount: number;
  result: Record<string, unknown>;
}

/**
 * The transaction an authorization books (under `reference`) and its answer: declined by the amount
 * trigger or an expired card, else authorized (captured at once for automatic capture).
 */
export function sandboxAuthorization(
  req: AuthorizeRequest,
  reference: string,
  now: Date,
): { row: Omit<SandboxTransactionRow, 'amount_refunded'>; result: AuthorizeResult } {
  const b = sandboxBehaviour(req.amount);
  const declineCode =
    b.kind === 'decline'
      ? b.code
      : isExpired(req.card.expMonth, req.card.expYear, now)
        ? 'expired_card'
        : null;
  const captureBefore = new Date(now.getTime() + (b.kind === 'approve' ? b.captureBeforeMs : 7 * DAY));
  const captured = !declineCode && req.capture === 'automatic';
  const row = {
    reference,
    payment_id: req.paymentId,
    status: declineCode ? 'declined' : captured ? 'captured' : 'authorized',
    currency: req.currency,
    amount_authorized: declineCode ? 0 : req.amount,
    amount_captured: captured ? req.amount : 0,
    decline_code: declineCode,
    capture_before: declineCode ? null : captureBefore,
  };
  const result: AuthorizeResult = declineCode
    ? { outcome: 'declined', providerReference: reference, declineCode, message: declineMessage(declineCode) }
    : {
        outcome: 'authorized',
        providerReference: reference,
        captured,
        captureBefore: captureBefore.toISOString(),
      };
  return { row, result };
}

/** The transaction after a capture: refused unless authorized and within the uncaptured amount. */
export function sandboxCapture(
  tx: SandboxTransactionRow,
  req: CaptureRequest,
): { amount_captured: number; status: 'captured' | 'partially_captured' } {
  if (tx.status !== 'authorized' && tx.status !== 'partially_captured') {
    throw ProviderError.invalid('sandbox', `cannot capture a ${tx.status} transaction`, 400);
  }
  if (req.amount > tx.amount_authorized - tx.amount_captured) {
    throw ProviderError.invalid('sandbox', 'capture exceeds the authorized amount', 400);
  }
  const captured = tx.amount_captured + req.amount;
  const done = req.final || captured === tx.amount_authorized;
  return { amount_captured: captured, status: done ? 'captured' : 'partially_captured' };
}

/** The status after a void; undefined when it is already voided (nothing to change). */
export function sandboxVoid(tx: SandboxTransactionRow): 'captured' | 'voided' | undefined {
  if (tx.status === 'authorized' || tx.status === 'partially_captured') {
    // Voiding a partially captured authorization releases the uncaptured rest.
    return tx.amount_captured > 0 ? 'captured' : 'voided';
  }
  if (tx.status !== 'voided') {
    throw ProviderError.invalid('sandbox', `cannot void a ${tx.status} transaction`, 400);
  }
  return undefined;
}

/** A refund is refused beyond what was captured and not yet refunded. */
export function assertSandboxRefundable(tx: SandboxTransactionRow, req: RefundRequest): void {
  if (req.amount > tx.amount_captured - tx.amount_refunded) {
    throw ProviderError.invalid('sandbox', 'refund exceeds the captured amount', 400);
  }
}

/** The transaction and its booked operations -> what the sandbox says happened. */
export function snapshotFromSandbox(
  tx: SandboxTransactionRow,
  ops: SandboxOperationRow[],
): ProviderPaymentSnapshot {
  const status =
    tx.status === 'partially_captured' ? 'authorized' : (tx.status as ProviderPaymentSnapshot['status']);
  return {
    found: true,
    providerReference: tx.reference,
    status,
    amountAuthorized: tx.amount_authorized,
    amountCaptured: tx.amount_captured,
    amountRefunded: tx.amount_refunded,
    captureBefore: tx.capture_before?.toISOString(),
    declineCode: (tx.decline_code ?? undefined) as ProviderPaymentSnapshot['declineCode'],
    captures: ops
      .filter((o) => o.kind === 'capture')
      .map((o) => ({
        providerCaptureId: String(o.result.providerCaptureId),
        amount: o.amount,
        idempotencyKey: o.idempotency_key,
      })),
    refunds: ops
      .filter((o) => o.kind === 'refund')
      .map((o) => ({
        providerRefundId: String(o.result.providerRefundId),
        amount: o.amount,
        idempotencyKey: o.idempotency_key,
      })),
  };
}
