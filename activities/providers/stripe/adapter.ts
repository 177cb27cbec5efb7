/**
 * Stripe adapter: PaymentIntents through the official `stripe` SDK.
 *
 *   authorize  PaymentMethod from the card (key `${key}:pm`), then one PaymentIntent created and
 *              confirmed in the same call (key `${key}`), capture_method manual|automatic,
 *              metadata.settle_payment_id = our payment id (how sync finds it without a reference).
 *   capture    POST /payment_intents/:id/capture with amount_to_capture (partial capture releases the
 *              rest unless `multicapture` is enabled and the capture is not final).
 *   void       POST /payment_intents/:id/cancel.
 *   refund     POST /refunds {payment_intent, amount}; several partial refunds are allowed.
 *   sync       retrieve by reference, else scan PaymentIntents for metadata.settle_payment_id.
 *
 * Every write carries our deterministic Idempotency-Key (never the SDK's random default) and the SDK's
 * own retries are off (`maxNetworkRetries: 0`): Temporal owns retrying, and a retried activity sends
 * the same key, so Stripe runs the write once and replays its result.
 *
 * Card data goes to Stripe in one request body and nowhere else: errors are classified in errors.ts
 * with messages built from status and code, never from Stripe's message text.
 */
import Stripe from 'stripe';
import { FAILURE_TYPES } from '../../../domain/errors';
import {
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
import type { ProviderEvent } from '../../../domain/providers';
import { classifyStripeError, stripeErrorToProviderError, type CallKind } from './errors';
import {
  declineMessage,
  fromStripeAmount,
  paymentIntentStatusToSnapshot,
  refundStatus,
  stripeDeclineCode,
  toStripeAmount,
} from './transformers';
import { normalizeStripeEvent, verifyStripeEvent } from './webhook';

export interface StripeProviderOptions {
  apiKey: string;
  /** Endpoint signing secrets; two during a rotation (old and new), either is accepted. */
  webhookSecrets: string[];
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  /** Per-request timeout; after it a write's outcome is unknown (see errors.ts). */
  timeoutMs?: number;
  /**
   * Request multicapture at authorization and send `final_capture: false` on non-final captures.
   * Off by default: multicapture is an account-level Stripe feature. Without it, the first capture
   * releases the uncaptured remainder, whatever `final` says.
   */
  multicapture?: boolean;
  /**
   * Send `payment_method_types` (API versions before its rename to `allowed_payment_method_types`)
   * instead of the pinned version's field. Needed for localstripe, which predates the rename.
   */
  legacyPaymentMethodTypes?: boolean;
  /** Upper bound on PaymentIntents scanned by sync when no reference is known. */
  syncScanLimit?: number;
}

/** Metadata keys we write on Stripe objects (values are ids, never card data). */
const META_PAYMENT = 'settle_payment_id';
const META_REFUND = 'settle_refund_id';
const META_KEY = 'settle_idempotency_key';

export function createStripeProvider(opts: StripeProviderOptions): PaymentProvider {
  const stripe = new Stripe(opts.apiKey, {
    maxNetworkRetries: 0,
    timeout: opts.timeoutMs ?? 30_000,
    telemetry: false,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.protocol !== undefined ? { protocol: opts.protocol } : {}),
  });
  const secrets = [...opts.webhookSecrets];
  // The SDK's pinned API version names the field `allowed_payment_method_types`; older versions (and
  // localstripe, which rejects unknown parameters) know only `payment_method_types`.
  const paymentMethodTypes = (
    opts.legacyPaymentMethodTypes
      ? { payment_method_types: ['card'] }
      : { allowed_payment_method_types: ['card'] }
  ) as Pick<Stripe.PaymentIntentCreateParams, 'allowed_payment_method_types'>;
  const scanLimit = opts.syncScanLimit ?? 1000;

  /** Run an SDK call; anything it throws becomes a ProviderError (declines included: see authorize). */
  async function call<T>(kind: CallKind, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw stripeErrorToProviderError(err, kind);
    }
  }

  async function authorize(req: AuthorizeRequest): Promise<AuthorizeResult> {
    const currency = req.currency.toLowerCase();
    let paymentMethodId: string;
    try {
      // localstripe accepts raw card data only through POST /v1/payment_methods (it rejects
      // `payment_method_data` on PaymentIntents), and so does Stripe for accounts with raw card
      // data access; two requests, each with its own deterministic key.
      const pm = await stripe.paymentMethods.create(
        {
          type: 'card',
          card: {
            number: req.card.number,
            exp_month: req.card.expMonth,
            exp_year: req.card.expYear,
            ...(req.card.cvc ? { cvc: req.card.cvc } : {}),
          },
          ...(req.card.holderName ? { billing_details: { name: req.card.holderName } } : {}),
        },
        { idempotencyKey: `${req.idempotencyKey}:pm` },
      );
      paymentMethodId = pm.id;
    } catch (err) {
      const c = classifyStripeError(err, 'write');
      // A card error here (invalid number/expiry) is a decline; no PaymentIntent exists yet.
      if (c.kind === 'decline') return declined(undefined, c.declineCode);
      throw c.error;
    }

    let pi: Stripe.PaymentIntent;
    try {
      pi = await stripe.paymentIntents.create(
        {
          amount: toStripeAmount(req.amount, req.currency),
          currency,
          payment_method: paymentMethodId,
          // Cards only: with automatic payment methods Stripe would demand a return_url on confirm.
          ...paymentMethodTypes,
          confirm: true,
          capture_method: req.capture === 'manual' ? 'manual' : 'automatic',
          metadata: {
            [META_PAYMENT]: req.paymentId,
            ...(req.merchantReference ? { settle_merchant_reference: req.merchantReference } : {}),
          },
          ...(opts.multicapture && req.capture === 'manual'
            ? { payment_method_options: { card: { request_multicapture: 'if_available' } } }
            : {}),
          // `description` is deliberately not sent: localstripe rejects the parameter, and the
          // merchant's description stays in Settle.
          expand: ['latest_charge'],
        },
        { idempotencyKey: req.idempotencyKey },
      );
    } catch (err) {
      const c = classifyStripeError(err, 'write');
      if (c.kind === 'decline') return declined(c.providerReference, c.declineCode);
      throw c.error;
    }

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
        return declined(
          pi.id,
          stripeDeclineCode(pi.last_payment_error?.decline_code, pi.last_payment_error?.code),
        );
      case 'requires_action':
        // 3-D Secure would need the customer; this server-side flow cannot complete it. Nothing is
        // held (no successful charge), so it is a decline the client can act on.
        return declined(
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

  async function capture(req: CaptureRequest): Promise<CaptureResult> {
    const params: Stripe.PaymentIntentCaptureParams = {
      amount_to_capture: toStripeAmount(req.amount, req.currency),
      expand: ['latest_charge'],
      ...(opts.multicapture && !req.final ? { final_capture: false } : {}),
    };
    try {
      const pi = await call('write', () =>
        stripe.paymentIntents.capture(req.providerReference, params, { idempotencyKey: req.idempotencyKey }),
      );
      return { providerCaptureId: chargeIdOf(pi) ?? pi.id, amount: req.amount };
    } catch (err) {
      // A replay of a capture that already happened (e.g. after an unknown outcome) is refused as
      // "unexpected state" by an emulator without idempotency keys; if the PaymentIntent is already
      // captured, report what Stripe says was captured instead of failing the retry.
      if (err instanceof ProviderError && err.failureType === FAILURE_TYPES.ProviderInvalidRequest) {
        const pi = await retrieve(req.providerReference);
        if (pi?.status === 'succeeded') {
          const { captured } = capturedAmount(pi, await listRefunds(pi.id));
          return {
            providerCaptureId: chargeIdOf(pi) ?? pi.id,
            amount: fromStripeAmount(captured, pi.currency),
          };
        }
      }
      throw err;
    }
  }

  async function voidPayment(req: VoidRequest): Promise<void> {
    try {
      await call('write', () =>
        stripe.paymentIntents.cancel(req.providerReference, {}, { idempotencyKey: req.idempotencyKey }),
      );
    } catch (err) {
      // Cancelling an already-cancelled PaymentIntent is the same end state: the void is done.
      if (err instanceof ProviderError && err.failureType === FAILURE_TYPES.ProviderInvalidRequest) {
        const pi = await retrieve(req.providerReference);
        if (pi?.status === 'canceled') return;
      }
      throw err;
    }
  }

  async function refund(req: RefundRequest): Promise<RefundResult> {
    // `reason` is not forwarded: Stripe accepts only its own enum there (localstripe not even that),
    // and free text from the merchant does not belong in provider metadata.
    const r = await call('write', () =>
      stripe.refunds.create(
        {
          payment_intent: req.providerReference,
          amount: toStripeAmount(req.amount, req.currency),
          metadata: {
            [META_PAYMENT]: req.paymentId,
            [META_REFUND]: req.refundId,
            [META_KEY]: req.idempotencyKey,
          },
        },
        { idempotencyKey: req.idempotencyKey },
      ),
    );
    return { providerRefundId: r.id, status: refundStatus(r.status) };
  }

  async function listRefunds(paymentIntentId: string): Promise<Stripe.Refund[]> {
    const out: Stripe.Refund[] = [];
    try {
      for await (const r of stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 })) out.push(r);
    } catch (err) {
      throw stripeErrorToProviderError(err, 'read');
    }
    return out;
  }

  async function retrieve(id: string): Promise<Stripe.PaymentIntent | undefined> {
    try {
      return await stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
    } catch (err) {
      const e = err as { statusCode?: unknown };
      if (e && e.statusCode === 404) return undefined;
      throw stripeErrorToProviderError(err, 'read');
    }
  }

  /**
   * Find our PaymentIntent without a reference. Not the Search API: Stripe documents search as
   * eventually consistent (unfit for read-after-write, which is exactly the timeout-then-sync case)
   * and localstripe does not implement it. Instead: list PaymentIntents (strongly consistent) and
   * filter on metadata.settle_payment_id, bounded by `syncScanLimit`.
   */
  async function findByPaymentId(paymentId: string): Promise<Stripe.PaymentIntent | undefined> {
    const matches: Stripe.PaymentIntent[] = [];
    let scanned = 0;
    try {
      for await (const pi of stripe.paymentIntents.list({ limit: 100, expand: ['data.latest_charge'] })) {
        if (pi.metadata?.[META_PAYMENT] === paymentId) matches.push(pi);
        if (++scanned >= scanLimit) break;
      }
    } catch (err) {
      throw stripeErrorToProviderError(err, 'read');
    }
    // Several attempts for one payment (e.g. a decline, then a retry that succeeded): the live one
    // (holding or having taken money) wins, else the most recent.
    const live = matches.filter((pi) => ['requires_capture', 'succeeded', 'processing'].includes(pi.status));
    const pool = live.length > 0 ? live : matches;
    return pool.sort((a, b) => b.created - a.created)[0];
  }

  async function sync(req: SyncRequest): Promise<ProviderPaymentSnapshot> {
    const pi = req.providerReference
      ? await retrieve(req.providerReference)
      : await findByPaymentId(req.paymentId);
    if (!pi) return { found: false };
    const status = paymentIntentStatusToSnapshot(pi.status, pi.last_payment_error != null);
    const charge = chargeOf(pi);
    const currency = pi.currency;

    // Refunds exist only on a captured PaymentIntent (localstripe even fails the list otherwise).
    const refunds = status === 'captured' && charge ? await listRefunds(pi.id) : [];
    const { captured, ourRefunds } = capturedAmount(pi, refunds);
    const liveRefunds = ourRefunds.filter((r) => refundStatus(r.status) !== 'failed');
    const heldOrTaken =
      charge?.status === 'succeeded' && ['authorized', 'captured', 'voided'].includes(status);

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

  function parseWebhook(
    rawBody: Buffer,
    headers: Record<string, string | undefined>,
  ): Promise<ProviderEvent> {
    // Synchronous verification; a rejected promise (not a throw) keeps the interface's contract.
    try {
      return Promise.resolve(
        normalizeStripeEvent(verifyStripeEvent(stripe.webhooks, rawBody, headers, secrets)),
      );
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  return { name: 'stripe', authorize, capture, void: voidPayment, refund, sync, parseWebhook };
}

function declined(
  providerReference: string | undefined,
  code: ReturnType<typeof stripeDeclineCode>,
  message?: string,
): AuthorizeResult {
  return {
    outcome: 'declined',
    providerReference,
    declineCode: code,
    message: message ?? declineMessage(code),
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
