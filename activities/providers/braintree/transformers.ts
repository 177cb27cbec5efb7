/**
 * Pure maps between Settle's normalized provider types and Braintree's, both directions (hyperswitch
 * style): request builders (our request -> SDK arguments, with the deterministic orderId that the
 * lookup guards of adapter.ts find again) and response maps (SDK transactions -> our results). No SDK
 * calls, no I/O: unit-tested as tables (test/unit/providers/braintree-transformers.test.ts).
 */
import { decimalStringToMinor, minorToDecimalString } from '../../../domain/money';
import {
  declineMessage,
  ProviderError,
  type AuthorizeRequest,
  type AuthorizeResult,
  type CaptureRequest,
  type CaptureResult,
  type DeclineCode,
  type ProviderPaymentSnapshot,
  type RefundRequest,
  type RefundResult,
} from '../types';
import type { ProviderEventKind } from '../../../domain/providers';
import type { BtTransaction } from './sdk-types';

export type SnapshotStatus = NonNullable<ProviderPaymentSnapshot['status']>;

/** Statuses of a sale whose money has been (or is being) taken: the capture happened. */
export const CAPTURED_STATUSES: ReadonlySet<string> = new Set([
  'submitted_for_settlement',
  'settling',
  'settled',
  'settlement_pending',
  'settlement_confirmed',
]);

/** Statuses of a sale that holds or took money: an authorization that must not be repeated. */
export const LIVE_STATUSES: ReadonlySet<string> = new Set([
  'authorizing',
  'authorized',
  ...CAPTURED_STATUSES,
]);

/** Braintree transaction.status -> snapshot status. */
export function braintreeStatusToSnapshot(status: string): SnapshotStatus {
  if (status === 'authorized') return 'authorized';
  if (CAPTURED_STATUSES.has(status)) return 'captured';
  switch (status) {
    case 'voided':
    case 'authorization_expired': // the hold was released: same end state as a void
      return 'voided';
    case 'processor_declined':
    case 'gateway_rejected':
    case 'failed':
    case 'settlement_declined':
      return 'declined';
    case 'authorizing':
    default:
      return 'processing';
  }
}

/**
 * Processor response codes 2000-2999 (Braintree "Processor responses" reference) -> DeclineCode.
 * Any other code in the decline range is a generic `card_declined`.
 */
const PROCESSOR_CODE_TABLE: Readonly<Record<string, DeclineCode>> = {
  '2000': 'do_not_honor', // Do Not Honor
  '2001': 'insufficient_funds', // Insufficient Funds
  '2002': 'insufficient_funds', // Limit Exceeded
  '2003': 'insufficient_funds', // Cardholder's Activity Limit Exceeded
  '2004': 'expired_card', // Expired Card
  '2006': 'expired_card', // Invalid Expiration Date
  '2010': 'incorrect_cvc', // Card Issuer Declined CVV
  '2012': 'lost_or_stolen', // Processor Declined - Possible Lost Card
  '2013': 'lost_or_stolen', // Processor Declined - Possible Stolen Card
  '2047': 'lost_or_stolen', // Call Issuer. Pick Up Card
  '2053': 'lost_or_stolen', // Card reported as lost or stolen
  '2014': 'fraudulent', // Processor Declined - Fraud Suspected
  '2044': 'do_not_honor', // Declined - Call Issuer
  '2038': 'card_declined', // Processor Declined
  '2046': 'card_declined', // Declined
};

export function processorDeclineCode(code: string | null | undefined): DeclineCode {
  if (code && Object.prototype.hasOwnProperty.call(PROCESSOR_CODE_TABLE, code))
    return PROCESSOR_CODE_TABLE[code] as DeclineCode;
  return 'card_declined';
}

/** One card-free message table for every provider (providers/types.ts). */
export { declineMessage };

/** gateway_rejection_reason (the merchant's own risk rules) -> DeclineCode. */
export function gatewayRejectionDeclineCode(reason: string | null | undefined): DeclineCode {
  switch (reason) {
    case 'cvv':
    case 'avs_and_cvv':
      return 'incorrect_cvc';
    case 'fraud':
    case 'risk_threshold':
      return 'fraudulent';
    default:
      return 'card_declined';
  }
}

/** A refund is a `credit` transaction: its own status says whether the money went back. */
export function refundTransactionStatus(status: string): RefundResult['status'] {
  switch (status) {
    case 'settled':
    case 'settlement_confirmed':
      return 'succeeded';
    case 'processor_declined':
    case 'gateway_rejected':
    case 'failed':
    case 'settlement_declined':
    case 'voided':
      return 'failed';
    default:
      return 'pending';
  }
}

/**
 * Webhook notification kind -> ProviderEventKind. `transaction_settled` matters only for refunds
 * (a `credit` transaction settling means the money went back); a sale settling changes nothing we track.
 */
export function braintreeEventKind(kind: string, transactionType?: string | null): ProviderEventKind {
  switch (kind) {
    case 'transaction_settled':
      return transactionType === 'credit' ? 'refund.succeeded' : 'other';
    case 'transaction_settlement_declined':
      return 'settlement.failed';
    case 'refund_failed':
      return 'refund.failed';
    case 'dispute_opened':
      return 'dispute.opened';
    case 'dispute_disputed':
    case 'dispute_under_review':
      return 'dispute.updated';
    case 'dispute_won':
    case 'dispute_lost':
    case 'dispute_accepted':
    case 'dispute_auto_accepted':
    case 'dispute_expired':
      return 'dispute.closed';
    default:
      return 'other';
  }
}

/**
 * Our payment id from a Braintree orderId. The sale carries the payment id itself; partial
 * settlements and refunds carry our deterministic idempotency key, `${paymentId}:<step>...`.
 */
export function paymentIdFromOrderId(orderId: string | null | undefined): string | undefined {
  if (!orderId) return undefined;
  return orderId.split(':')[0] || undefined;
}

// ---------------------------------------------------------------------------------------------
// Requests: our arguments -> SDK arguments. Braintree has no idempotency keys: the orderId each
// write carries is deterministic, and the adapter looks it up before writing (see its header).
// ---------------------------------------------------------------------------------------------

/**
 * The merchant account charging `currency`, when accounts are configured. Without one in this
 * currency Braintree would charge the default account's currency: refuse before sending anything.
 */
export function merchantAccountFor(
  merchantAccountIds: Record<string, string> | undefined,
  currency: string,
): string | undefined {
  if (!merchantAccountIds) return undefined;
  const id = merchantAccountIds[currency.toUpperCase()];
  if (!id)
    throw ProviderError.invalid('braintree', `No Braintree merchant account for ${currency.toUpperCase()}`);
  return id;
}

/**
 * transaction.sale attributes: orderId = our payment id (the authorize guard searches by it);
 * options.submitForSettlement only for automatic capture, without it the sale is an authorization.
 * `currency` is the normalized ISO code.
 */
export function saleRequest(
  req: AuthorizeRequest,
  currency: string,
  merchantAccountId: string | undefined,
): Record<string, unknown> {
  return {
    amount: minorToDecimalString(req.amount, currency),
    orderId: req.paymentId,
    ...(merchantAccountId ? { merchantAccountId } : {}),
    creditCard: {
      number: req.card.number,
      expirationMonth: String(req.card.expMonth).padStart(2, '0'),
      expirationYear: String(req.card.expYear),
      ...(req.card.cvc ? { cvv: req.card.cvc } : {}),
      ...(req.card.holderName ? { cardholderName: req.card.holderName } : {}),
    },
    options: { submitForSettlement: req.capture === 'automatic' },
  };
}

/** What a capture does, given the sale and its partial settlements (children) as they are now. */
export type CapturePlan =
  | { kind: 'done'; result: CaptureResult }
  | { kind: 'submitForSettlement'; id: string; amount: string }
  | { kind: 'submitForPartialSettlement'; id: string; amount: string; options: Record<string, unknown> };

export function capturePlan(
  req: CaptureRequest,
  sale: BtTransaction,
  children: BtTransaction[],
): CapturePlan {
  const amount = minorToDecimalString(req.amount, sale.currencyIsoCode);
  // Guard: this capture already happened?
  const mine = children.find((c) => c.orderId === req.idempotencyKey);
  if (mine) return { kind: 'done', result: { providerCaptureId: mine.id, amount: toMinor(mine) } };
  if (children.length === 0 && CAPTURED_STATUSES.has(sale.status))
    return { kind: 'done', result: { providerCaptureId: sale.id, amount: toMinor(sale) } };

  // One capture for the whole payment: settle the sale itself (amount may be lower: the rest is released).
  if (children.length === 0 && req.final) return { kind: 'submitForSettlement', id: sale.id, amount };
  // Several captures: each is a child transaction tagged with this capture's deterministic key.
  return {
    kind: 'submitForPartialSettlement',
    id: sale.id,
    amount,
    options: { orderId: req.idempotencyKey, ...(req.final ? { finalCapture: true } : {}) },
  };
}

/** A settled transaction with the refunds made against it so far. */
export interface RefundTarget {
  t: BtTransaction;
  refunds: BtTransaction[];
}

export interface RefundPlan {
  /** Refunds an earlier attempt already made for this key, still live. */
  made: BtTransaction[];
  /** transaction.refund(id, options) calls to send, in order. */
  pieces: Array<{ id: string; options: { amount: string; orderId: string } }>;
  /** More was asked than is left to refund; nothing is planned for the excess. */
  excess: boolean;
}

/**
 * The refund against the settled sale, or spread over its partial settlements (each is its own
 * settled transaction). Refunds whose orderId is this refund's key (or `${key}#n` for pieces) were
 * made by an earlier attempt: only the remainder is planned.
 */
export function refundPlan(req: RefundRequest, targets: RefundTarget[]): RefundPlan {
  const isMine = (r: BtTransaction) =>
    r.orderId === req.idempotencyKey || (r.orderId ?? '').startsWith(`${req.idempotencyKey}#`);
  const mine = targets.flatMap((x) => x.refunds.filter(isMine));
  const made = mine.filter((r) => refundTransactionStatus(r.status) !== 'failed');
  let remaining = req.amount - made.reduce((sum, r) => sum + toMinor(r), 0);
  let piece = mine.length;
  const pieces: RefundPlan['pieces'] = [];

  for (const { t, refunds } of targets) {
    if (remaining <= 0) break;
    const refundable =
      toMinor(t) -
      refunds
        .filter((r) => refundTransactionStatus(r.status) !== 'failed')
        .reduce((sum, r) => sum + toMinor(r), 0);
    const part = Math.min(remaining, refundable);
    if (part <= 0) continue;
    const orderId = piece === 0 ? req.idempotencyKey : `${req.idempotencyKey}#${piece}`;
    pieces.push({ id: t.id, options: { amount: minorToDecimalString(part, t.currencyIsoCode), orderId } });
    remaining -= part;
    piece += 1;
  }
  return { made, pieces, excess: remaining > 0 };
}

// ---------------------------------------------------------------------------------------------
// Responses: SDK transactions -> our results.
// ---------------------------------------------------------------------------------------------

export function toMinor(t: { amount: string; currencyIsoCode: string }): number {
  return decimalStringToMinor(t.amount, t.currencyIsoCode);
}

export function authorizedResult(t: BtTransaction): AuthorizeResult {
  return {
    outcome: 'authorized',
    providerReference: t.id,
    captured: CAPTURED_STATUSES.has(t.status),
    captureBefore: isoOrUndefined(t.authorizationExpiresAt),
  };
}

export function declinedResult(t: BtTransaction | undefined, code: DeclineCode): AuthorizeResult {
  return {
    outcome: 'declined',
    providerReference: t?.id,
    declineCode: code,
    message: declineMessage(code),
  };
}

export function declineCodeOf(t: BtTransaction): DeclineCode {
  return t.status === 'gateway_rejected'
    ? gatewayRejectionDeclineCode(t.gatewayRejectionReason)
    : processorDeclineCode(t.processorResponseCode);
}

/**
 * The authorize guard: what earlier sales for this payment (searched by orderId) already answered.
 * A live one is reused; a processor_declined / gateway_rejected one is the same decline (the issuer
 * already answered). `failed` (processor unreachable), voided and expired ones are ignored.
 */
export function previousAuthorization(previous: BtTransaction[]): AuthorizeResult | undefined {
  const live = newest(previous.filter((t) => LIVE_STATUSES.has(t.status)));
  if (live) return authorizedResult(live);
  const declined = newest(
    previous.filter((t) => t.status === 'processor_declined' || t.status === 'gateway_rejected'),
  );
  return declined ? declinedResult(declined, declineCodeOf(declined)) : undefined;
}

/** The sale sync reports when found by orderId: `failed` sales never held money, the live one wins. */
export function pickSale(found: BtTransaction[]): BtTransaction | undefined {
  const candidates = found.filter((t) => t.status !== 'failed');
  return newest(candidates.filter((t) => LIVE_STATUSES.has(t.status))) ?? newest(candidates);
}

/** The refunds made (at least one) -> one result: failed if any failed, succeeded if all did. */
export function refundResultFromTransactions(made: BtTransaction[]): RefundResult {
  const first = made[0];
  if (!first) throw ProviderError.invalid('braintree', 'Nothing to refund at Braintree', 422);
  const statuses = made.map((r) => refundTransactionStatus(r.status));
  const status = statuses.includes('failed')
    ? 'failed'
    : statuses.every((s) => s === 'succeeded')
      ? 'succeeded'
      : 'pending';
  return { providerRefundId: first.id, status };
}

/** The refund targets of a sale: the sale itself, or its partial settlements that settled. */
export function refundTargets(sale: BtTransaction, children: BtTransaction[]): BtTransaction[] {
  return children.length > 0 ? children.filter((c) => CAPTURED_STATUSES.has(c.status)) : [sale];
}

/** The sale, its partial settlements and the live refunds of its targets -> the snapshot. */
export function snapshotFromTransactions(
  sale: BtTransaction,
  children: BtTransaction[],
  refunds: BtTransaction[],
): ProviderPaymentSnapshot {
  const liveRefunds = refunds.filter((r) => refundTransactionStatus(r.status) !== 'failed');
  const status = children.length > 0 ? 'captured' : braintreeStatusToSnapshot(sale.status);
  const captures =
    children.length > 0
      ? refundTargets(sale, children).map((c) => ({
          providerCaptureId: c.id,
          amount: toMinor(c),
          idempotencyKey: c.orderId ?? undefined,
        }))
      : CAPTURED_STATUSES.has(sale.status)
        ? [{ providerCaptureId: sale.id, amount: toMinor(sale) }]
        : [];
  const heldOrTaken = status === 'authorized' || status === 'captured' || status === 'voided';

  return {
    found: true,
    providerReference: sale.id,
    status,
    amountAuthorized: heldOrTaken ? authorizedAmount(sale) : 0,
    amountCaptured: captures.reduce((sum, c) => sum + c.amount, 0),
    amountRefunded: liveRefunds.reduce((sum, r) => sum + toMinor(r), 0),
    captureBefore: isoOrUndefined(sale.authorizationExpiresAt),
    declineCode: status === 'declined' ? declineCodeOf(sale) : undefined,
    captures,
    refunds: liveRefunds.map((r) => ({
      providerRefundId: r.id,
      amount: toMinor(r),
      idempotencyKey: r.orderId ? r.orderId.replace(/#\d+$/, '') : undefined,
    })),
  };
}

/** The amount at authorization: a full submitForSettlement with a lower amount rewrites `amount`. */
function authorizedAmount(t: BtTransaction): number {
  const event = (t.statusHistory ?? []).find(
    (e) => e.status === 'authorized' && typeof e.amount === 'string',
  );
  return event?.amount ? decimalStringToMinor(event.amount, t.currencyIsoCode) : toMinor(t);
}

function newest(ts: BtTransaction[]): BtTransaction | undefined {
  return [...ts].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))[0];
}

function isoOrUndefined(v: string | null | undefined): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
