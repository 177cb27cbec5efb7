/**
 * Braintree webhook verification and normalization.
 *
 * The body is `application/x-www-form-urlencoded` with `bt_signature` and `bt_payload`. Verification is
 * the SDK's own `webhookNotification.parse(signature, payload)`: it checks the HMAC-SHA1 made with our
 * private key over the base64 payload (for our public key) before decoding anything.
 *
 * Braintree notifications carry no id of their own; the event id is derived from what the signed
 * payload says (kind, subject id, timestamp), so a redelivery of the same notification maps to the
 * same id and is applied once.
 */
import { createHash } from 'node:crypto';
import { decimalStringToMinor } from '../../../domain/money';
import { ProviderError } from '../types';
import type { ProviderEvent } from '../../../domain/providers';
import { braintreeEventKind, paymentIdFromOrderId } from './transformers';
import { disputeFactsFromBraintree } from './dispute-transformers';
import type { WebhookParser } from './sdk-types';

export type { WebhookParser };

/** The parts of a parsed WebhookNotification we read (the SDK types are incomplete). */
export interface BraintreeNotification {
  kind: string;
  timestamp?: string | Date | undefined;
  transaction?: {
    id?: string;
    type?: string;
    status?: string;
    amount?: string;
    currencyIsoCode?: string;
    orderId?: string | null;
    refundedTransactionId?: string | null;
    authorizedTransactionId?: string | null;
  };
  dispute?: {
    id?: string;
    status?: string;
    reason?: string;
    amount?: string;
    amountDisputed?: string;
    currencyIsoCode?: string;
    replyByDate?: string | Date;
    transaction?: { id?: string; orderId?: string | null };
  };
}

function minorOrUndefined(amount: string | undefined, currency: string | undefined): number | undefined {
  if (!amount || !currency) return undefined;
  try {
    return decimalStringToMinor(amount, currency);
  } catch {
    return undefined;
  }
}

/**
 * A notification's own (signed) timestamp must be within this many seconds of now, either way: the
 * signature has no expiry of its own, so without it a captured notification replays forever.
 * Same window as Stripe's.
 */
export const BRAINTREE_WEBHOOK_TOLERANCE_SECONDS = 300;

/** Verified and decoded (signature by the SDK, then our timestamp window), normalized. */
export async function parseBraintreeWebhook(
  parser: WebhookParser,
  rawBody: Buffer,
  nowMs: number = Date.now(),
): Promise<ProviderEvent> {
  const { notification, payload, occurredAt } = await verifyBraintreeNotification(parser, rawBody, nowMs);
  return normalizeBraintreeNotification(notification, payload, occurredAt);
}

async function verifyBraintreeNotification(
  parser: WebhookParser,
  rawBody: Buffer,
  nowMs: number,
): Promise<{ notification: BraintreeNotification; payload: string; occurredAt: string }> {
  const form = new URLSearchParams(rawBody.toString('utf8'));
  const signature = form.get('bt_signature');
  const payload = form.get('bt_payload');
  if (!signature || !payload)
    throw ProviderError.invalid('braintree', 'Missing bt_signature or bt_payload', 400);

  let n: BraintreeNotification;
  try {
    n = (await parser.parse(signature, payload)) as BraintreeNotification;
  } catch {
    // The SDK's reason (no matching key / modified payload / illegal characters) is not needed by
    // the caller; a bad notification is simply rejected.
    throw ProviderError.invalid('braintree', 'Braintree webhook signature verification failed', 400);
  }
  if (!n || typeof n.kind !== 'string')
    throw ProviderError.invalid('braintree', 'Braintree webhook without a kind', 400);

  const occurred = n.timestamp ? new Date(n.timestamp) : new Date(NaN);
  if (Number.isNaN(occurred.getTime()))
    throw ProviderError.invalid('braintree', 'Braintree webhook without a valid timestamp', 400);
  if (Math.abs(nowMs - occurred.getTime()) > BRAINTREE_WEBHOOK_TOLERANCE_SECONDS * 1000) {
    throw ProviderError.invalid(
      'braintree',
      `Braintree webhook timestamp outside the ${BRAINTREE_WEBHOOK_TOLERANCE_SECONDS} s tolerance`,
      400,
    );
  }
  return { notification: n, payload, occurredAt: occurred.toISOString() };
}

function normalizeBraintreeNotification(
  n: BraintreeNotification,
  payload: string,
  occurredAt: string,
): ProviderEvent {
  const t = n.transaction;
  const d = n.dispute;
  const subjectId = t?.id ?? d?.id;
  const eventId = subjectId
    ? `${n.kind}:${subjectId}:${occurredAt}`
    : `${n.kind}:${createHash('sha256').update(payload).digest('hex').slice(0, 32)}`;

  let providerReference: string | undefined;
  let paymentId: string | undefined;
  let amount: number | undefined;
  if (t) {
    // Refunds and partial settlements point at the sale that holds the payment.
    providerReference = t.refundedTransactionId ?? t.authorizedTransactionId ?? t.id;
    paymentId = paymentIdFromOrderId(t.orderId);
    amount = minorOrUndefined(t.amount, t.currencyIsoCode);
  } else if (d) {
    providerReference = d.transaction?.id;
    paymentId = paymentIdFromOrderId(d.transaction?.orderId);
    amount = minorOrUndefined(d.amountDisputed ?? d.amount, d.currencyIsoCode);
  }

  const kind = braintreeEventKind(n.kind, t?.type);
  return {
    provider: 'braintree',
    eventId,
    kind,
    providerReference,
    paymentId,
    amount,
    occurredAt,
    dispute: d && kind.startsWith('dispute.') ? disputeFactsFromBraintree(d) : undefined,
    // Allow-listed: a notification subject can include card fields, none of which are kept.
    raw: {
      kind: n.kind,
      timestamp: occurredAt,
      transaction: t
        ? {
            id: t.id,
            type: t.type,
            status: t.status,
            amount: t.amount,
            currencyIsoCode: t.currencyIsoCode,
            orderId: t.orderId,
          }
        : undefined,
      dispute: d
        ? {
            id: d.id,
            status: d.status,
            reason: d.reason,
            amount: d.amountDisputed ?? d.amount,
            currencyIsoCode: d.currencyIsoCode,
          }
        : undefined,
    },
  };
}
