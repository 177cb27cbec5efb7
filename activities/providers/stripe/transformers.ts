/**
 * Pure maps between Settle's normalized provider types and Stripe's, both directions (hyperswitch
 * style): request builders (our request -> SDK params and request options, each write with its
 * deterministic Idempotency-Key) and response maps (SDK objects -> our results). No SDK calls, no
 * I/O: unit-tested as tables (test/unit/providers/stripe-transformers.test.ts).
 */
import type Stripe from 'stripe';
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
  type VoidRequest,
} from '../types';
import {
  fromStripeAmount,
  paymentIntentStatusToSnapshot,
  refundStatus,
  stripeDeclineCode,
  toStripeAmount,
} from './codes';

export * from './codes';

// ---------------------------------------------------------------------------------------------
// Requests: our arguments -> SDK params and request options.
// ---------------------------------------------------------------------------------------------

/** Metadata keys we write on Stripe objects (values are ids, never card data). */
export const META_PAYMENT = 'settle_payment_id';
export const META_REFUND = 'settle_refund_id';
export const META_KEY = 'settle_idempotency_key';

/** The adapter options that change request bodies (see StripeProviderOptions). */
export interface StripeRequestOptions {
  multicapture?: boolean | undefined;
  legacyPaymentMethodTypes?: boolean | undefined;
}

/**
 * One SDK write: its params and the request options carrying OUR deterministic Idempotency-Key
 * (never the SDK's random default), so a retried activity makes Stripe replay the first result.
 */
export interface StripeWrite<P> {
  params: P;
  options: { idempotencyKey: string };
}

/** On an existing PaymentIntent (capture, cancel). */
export interface StripeWriteOn<P> extends StripeWrite<P> {
  id: string;
}

/**
 * The PaymentMethod from the card (key `${key}:pm`). localstripe accepts raw card data only through
 * POST /v1/payment_methods (it rejects `payment_method_data` on PaymentIntents), and so does Stripe
 * for accounts with raw card data access: two requests, each with its own deterministic key.
 */
export function paymentMethodCreateRequest(
  req: AuthorizeRequest,
): StripeWrite<Stripe.PaymentMethodCreateParams> {
  return {
    params: {
      type: 'card',
      card: {
        number: req.card.number,
        exp_month: req.card.expMonth,
        exp_year: req.card.expYear,
        ...(req.card.cvc ? { cvc: req.card.cvc } : {}),
      },
      ...(req.card.holderName ? { billing_details: { name: req.card.holderName } } : {}),
    },
    options: { idempotencyKey: `${req.idempotencyKey}:pm` },
  };
}

/**
 * One PaymentIntent created and confirmed in the same call (key `${key}`), capture_method
 * manual|automatic, metadata.settle_payment_id = our payment id (how sync finds it without a
 * reference).
 */
export function paymentIntentCreateRequest(
  req: AuthorizeRequest,
  paymentMethodId: string,
  o: StripeRequestOptions,
): StripeWrite<Stripe.PaymentIntentCreateParams> {
  // The SDK's pinned API version names the field `allowed_payment_method_types`; older versions (and
  // localstripe, which rejects unknown parameters) know only `payment_method_types`.
  const paymentMethodTypes = (
    o.legacyPaymentMethodTypes
      ? { payment_method_types: ['card'] }
      : { allowed_payment_method_types: ['card'] }
  ) as Pick<Stripe.PaymentIntentCreateParams, 'allowed_payment_method_types'>;
  return {
    params: {
      amount: toStripeAmount(req.amount, req.currency),
      currency: req.currency.toLowerCase(),
      payment_method: paymentMethodId,
      // Cards only: with automatic payment methods Stripe would demand a return_url on confirm.
      ...paymentMethodTypes,
      confirm: true,
      capture_method: req.capture === 'manual' ? 'manual' : 'automatic',
      metadata: {
        [META_PAYMENT]: req.paymentId,
        ...(req.merchantReference ? { settle_merchant_reference: req.merchantReference } : {}),
      },
      ...(o.multicapture && req.capture === 'manual'
        ? { payment_method_options: { card: { request_multicapture: 'if_available' } } }
        : {}),
      // `description` is deliberately not sent: localstripe rejects the parameter, and the
      // merchant's description stays in Settle.
      expand: ['latest_charge'],
    },
    options: { idempotencyKey: req.idempotencyKey },
  };
}

/**
 * POST /payment_intents/:id/capture with amount_to_capture. A partial capture releases the rest
 * unless multicapture is on and the capture is not final (`final_capture: false`).
 */
export function paymentIntentCaptureRequest(
  req: CaptureRequest,
  o: StripeRequestOptions,
): StripeWriteOn<Stripe.PaymentIntentCaptureParams> {
  return {
    id: req.providerReference,
    params: {
      amount_to_capture: toStripeAmount(req.amount, req.currency),
      expand: ['latest_charge'],
      ...(o.multicapture && !req.final ? { final_capture: false } : {}),
    },
    options: { idempotencyKey: req.idempotencyKey },
  };
}

/** POST /payment_intents/:id/cancel. */
export function paymentIntentCancelRequest(
  req: VoidRequest,
): StripeWriteOn<Stripe.PaymentIntentCancelParams> {
  return { id: req.providerReference, params: {}, options: { idempotencyKey: req.idempotencyKey } };
}

/**
 * POST /refunds {payment_intent, amount}; several partial refunds are allowed. `reason` is not
 * forwarded: Stripe accepts only its own enum there (localstripe not even that), and free text from
 * the merchant does not belong in provider metadata.
 */
export function refundCreateRequest(req: RefundRequest): StripeWrite<Stripe.RefundCreateParams> {
  return {
    params: {
      payment_intent: req.providerReference,
      amount: toStripeAmount(req.amount, req.currency),
      metadata: {
        [META_PAYMENT]: req.paymentId,
        [META_REFUND]: req.refundId,
        [META_KEY]: req.idempotencyKey,
      },
    },
    options: { idempotencyKey: req.idempotencyKey },
  };
}

/** Reads carry no key (they have no effect). */
export const paymentIntentRetrieveParams = (): Stripe.PaymentIntentRetrieveParams => ({
  expand: ['latest_charge'],
});
export const paymentIntentScanParams = (): Stripe.PaymentIntentListParams => ({
  limit: 100,
  expand: ['data.latest_charge'],
});
export const refundListParams = (paymentIntentId: string): Stripe.RefundListParams => ({
  payment_intent: paymentIntentId,
  limit: 100,
});

// ---------------------------------------------------------------------------------------------
// Responses: SDK objects -> our results.
// ---------------------------------------------------------------------------------------------

export function declinedResult(
  providerReference: string | undefined,
  code: DeclineCode,
  message?: string,
): AuthorizeResult {
  return {
    outcome: 'declined',
    providerReference,
    declineCode: code,
    message: message ?? declineMessage(code),
  };
}

/** The confirmed PaymentIntent -> authorization result; an undecided one is an unknown outcome. */
export function authorizeResultFromPaymentIntent(pi: Stripe.PaymentIntent): AuthorizeResult {
  switch (pi.status) {
    case 'requires_capture':
    case 'succeeded':
      return {
        outcome: 'authorized',
        providerReference: pi.id,
        captured: pi.status === 'succeeded',
        captureBefore: captureBeforeOf(pi),
      };
    case 'requires_payment_method':
      return declinedResult(
        pi.id,
        stripeDeclineCode(pi.last_payment_error?.decline_code, pi.last_payment_error?.code),
      );
    case 'requires_action':
      // 3-D Secure would need the customer; this server-side flow cannot complete it. Nothing is
      // held (no successful charge), so it is a decline the client can act on.
      return declinedResult(
        pi.id,
        'card_declined',
        'The card requires authentication, which this payment flow does not support.',
      );
    default:
      // `processing` and anything new: the result is not known yet; the workflow syncs later.
      throw ProviderError.unknownOutcome(
        'stripe',
        `Stripe PaymentIntent is ${safeStatus(pi.status)} after confirmation`,
      );
  }
}

/** A capture answered by Stripe: the charge is the capture's id. */
export function captureResultFromPaymentIntent(pi: Stripe.PaymentIntent, amount: number): CaptureResult {
  return { providerCaptureId: chargeIdOf(pi) ?? pi.id, amount };
}

/** A capture that had already happened: report what Stripe says was captured. */
export function capturedResultFromPaymentIntent(
  pi: Stripe.PaymentIntent,
  refunds: Stripe.Refund[],
): CaptureResult {
  const { captured } = capturedAmount(pi, refunds);
  return { providerCaptureId: chargeIdOf(pi) ?? pi.id, amount: fromStripeAmount(captured, pi.currency) };
}

export function refundResultFromRefund(r: Stripe.Refund): RefundResult {
  return { providerRefundId: r.id, status: refundStatus(r.status) };
}

/**
 * Several attempts for one payment (e.g. a decline, then a retry that succeeded): the live one
 * (holding or having taken money) wins, else the most recent.
 */
export function pickPaymentIntent(matches: Stripe.PaymentIntent[]): Stripe.PaymentIntent | undefined {
  const live = matches.filter((pi) => ['requires_capture', 'succeeded', 'processing'].includes(pi.status));
  const pool = live.length > 0 ? live : matches;
  return [...pool].sort((a, b) => b.created - a.created)[0];
}

/** Refunds exist only on a captured PaymentIntent (localstripe even fails the list otherwise). */
export function hasRefundsToList(pi: Stripe.PaymentIntent): boolean {
  const status = paymentIntentStatusToSnapshot(pi.status, pi.last_payment_error != null);
  return status === 'captured' && chargeOf(pi) !== undefined;
}

/** The PaymentIntent (and its refunds, when listed) -> what Stripe says happened. */
export function snapshotFromPaymentIntent(
  pi: Stripe.PaymentIntent,
  refunds: Stripe.Refund[],
): ProviderPaymentSnapshot {
  const status = paymentIntentStatusToSnapshot(pi.status, pi.last_payment_error != null);
  const charge = chargeOf(pi);
  const currency = pi.currency;
  const { captured, ourRefunds } = capturedAmount(pi, refunds);
  const liveRefunds = ourRefunds.filter((r) => refundStatus(r.status) !== 'failed');
  const heldOrTaken = charge?.status === 'succeeded' && ['authorized', 'captured', 'voided'].includes(status);

  return {
    found: true,
    providerReference: pi.id,
    status,
    amountAuthorized: heldOrTaken ? fromStripeAmount(pi.amount, currency) : 0,
    amountCaptured: fromStripeAmount(captured, currency),
    amountRefunded: fromStripeAmount(
      liveRefunds.reduce((sum, r) => sum + r.amount, 0),
      currency,
    ),
    captureBefore: captureBeforeOf(pi),
    declineCode:
      status === 'declined'
        ? stripeDeclineCode(pi.last_payment_error?.decline_code, pi.last_payment_error?.code)
        : undefined,
    captures:
      captured > 0
        ? [{ providerCaptureId: charge?.id ?? pi.id, amount: fromStripeAmount(captured, currency) }]
        : [],
    refunds: ourRefunds.map((r) => ({
      providerRefundId: r.id,
      amount: fromStripeAmount(r.amount, currency),
      idempotencyKey: r.metadata?.[META_KEY],
    })),
  };
}

function safeStatus(status: string): string {
  return /^[a-z_]{1,40}$/.test(status) ? status : 'unknown';
}

function chargeOf(pi: Stripe.PaymentIntent): Stripe.Charge | undefined {
  const c = pi.latest_charge;
  return c && typeof c === 'object' ? c : undefined;
}

function chargeIdOf(pi: Stripe.PaymentIntent): string | undefined {
  const c = pi.latest_charge;
  return typeof c === 'string' ? c : c?.id;
}

/** The card network's capture deadline, `latest_charge.payment_method_details.card.capture_before`. */
function captureBeforeOf(pi: Stripe.PaymentIntent): string | undefined {
  const t = chargeOf(pi)?.payment_method_details?.card?.capture_before;
  return typeof t === 'number' && Number.isFinite(t) ? new Date(t * 1000).toISOString() : undefined;
}

/**
 * Amount captured (Stripe units) and the refunds that are real refunds.
 *
 * Stripe reports the captured amount as `amount_received` (PaymentIntent) / `amount_captured` (Charge).
 * localstripe has neither, and models a partial capture as a full capture plus a Refund of the
 * remainder (with no metadata). Only in that case (no `amount_received`), refunds without our
 * metadata are taken as that released remainder rather than as customer refunds.
 */
function capturedAmount(
  pi: Stripe.PaymentIntent,
  refunds: Stripe.Refund[],
): { captured: number; ourRefunds: Stripe.Refund[] } {
  if (pi.status !== 'succeeded') return { captured: 0, ourRefunds: refunds };
  const received = (pi as { amount_received?: unknown }).amount_received;
  if (typeof received === 'number') return { captured: received, ourRefunds: refunds };
  const charge = chargeOf(pi);
  const amountCaptured = (charge as { amount_captured?: unknown } | undefined)?.amount_captured;
  if (typeof amountCaptured === 'number') return { captured: amountCaptured, ourRefunds: refunds };
  const released = refunds.filter((r) => !r.metadata?.[META_REFUND]);
  const ours = refunds.filter((r) => r.metadata?.[META_REFUND]);
  const base = charge?.amount ?? pi.amount;
  return { captured: base - released.reduce((sum, r) => sum + r.amount, 0), ourRefunds: ours };
}
