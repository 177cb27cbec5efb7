/**
 * Stripe's pure maps (transformers.ts) and error classification table (errors.ts), as tables.
 * Error inputs are shaped like stripe-node errors (`type`, `statusCode`, `code`, `detail.code`);
 * nothing here talks to Stripe.
 */
import type Stripe from 'stripe';
import { FAILURE_TYPES } from '../../../domain/errors';
import { classifyStripeError } from '../../../activities/providers/stripe/errors';
import {
  authorizeResultFromPaymentIntent,
  capturedResultFromPaymentIntent,
  fromStripeAmount,
  paymentIntentCancelRequest,
  paymentIntentCaptureRequest,
  paymentIntentCreateRequest,
  paymentIntentStatusToSnapshot,
  paymentMethodCreateRequest,
  pickPaymentIntent,
  refundCreateRequest,
  refundStatus,
  snapshotFromPaymentIntent,
  stripeDeclineCode,
  stripeEventKind,
  toStripeAmount,
  type StripeRequestOptions,
} from '../../../activities/providers/stripe/transformers';
import {
  acceptResultFromDispute,
  disputeCloseRequest,
  disputeEvidenceUpdateRequest,
  disputeFactsFromStripe,
  disputeFileCreateRequests,
  stripeDisputeStatus,
} from '../../../activities/providers/stripe/dispute-transformers';
import {
  ProviderError,
  type DisputeEvidenceRequest,
  type AuthorizeRequest,
  type CaptureRequest,
  type RefundRequest,
} from '../../../activities/providers/types';

describe('PaymentIntent status -> snapshot status', () => {
  it.each([
    ['requires_capture', false, 'authorized'],
    ['succeeded', false, 'captured'],
    ['canceled', false, 'voided'],
    ['requires_payment_method', true, 'declined'],
    ['requires_payment_method', false, 'processing'],
    ['requires_confirmation', false, 'processing'],
    ['requires_action', false, 'processing'],
    ['processing', false, 'processing'],
    ['some_future_status', false, 'processing'],
  ])('%s (payment error: %s) -> %s', (status, hasError, expected) => {
    expect(paymentIntentStatusToSnapshot(status, hasError)).toBe(expected);
  });
});

describe('Stripe decline_code / code -> DeclineCode', () => {
  it.each([
    ['insufficient_funds', 'card_declined', 'insufficient_funds'],
    ['lost_card', 'card_declined', 'lost_or_stolen'],
    ['stolen_card', 'card_declined', 'lost_or_stolen'],
    ['fraudulent', 'card_declined', 'fraudulent'],
    ['do_not_honor', 'card_declined', 'do_not_honor'],
    ['generic_decline', 'card_declined', 'card_declined'],
    ['try_again_later', 'card_declined', 'processing_error'],
    [undefined, 'expired_card', 'expired_card'],
    [undefined, 'incorrect_cvc', 'incorrect_cvc'],
    [undefined, 'processing_error', 'processing_error'],
    [undefined, 'card_declined', 'card_declined'],
    ['something_new', 'card_declined', 'card_declined'],
    [null, null, 'card_declined'],
  ])('decline_code %s, code %s -> %s', (declineCode, code, expected) => {
    expect(stripeDeclineCode(declineCode, code)).toBe(expected);
  });
});

describe('Stripe refund status -> refund result status', () => {
  it.each([
    ['succeeded', 'succeeded'],
    ['pending', 'pending'],
    ['requires_action', 'pending'],
    ['failed', 'failed'],
    ['canceled', 'failed'],
    [null, 'pending'],
  ])('%s -> %s', (status, expected) => {
    expect(refundStatus(status)).toBe(expected);
  });
});

describe('Stripe event type -> ProviderEventKind', () => {
  it.each([
    ['payment_intent.amount_capturable_updated', undefined, 'payment.authorized'],
    ['payment_intent.succeeded', undefined, 'payment.captured'],
    ['payment_intent.canceled', undefined, 'payment.voided'],
    ['payment_intent.payment_failed', undefined, 'payment.failed'],
    ['charge.refunded', undefined, 'refund.succeeded'],
    ['refund.failed', undefined, 'refund.failed'],
    ['refund.updated', 'failed', 'refund.failed'],
    ['charge.refund.updated', 'failed', 'refund.failed'],
    ['refund.updated', 'succeeded', 'other'], // success is reported once, by charge.refunded
    ['refund.created', 'succeeded', 'other'],
    ['charge.dispute.created', undefined, 'dispute.opened'],
    ['charge.dispute.updated', undefined, 'dispute.updated'],
    ['charge.dispute.closed', undefined, 'dispute.closed'],
    ['charge.dispute.funds_withdrawn', undefined, 'other'],
    ['customer.created', undefined, 'other'],
  ])('%s (refund status %s) -> %s', (type, refund, expected) => {
    expect(stripeEventKind(type, refund)).toBe(expected);
  });
});

describe('Stripe API amounts vs ISO minor units', () => {
  it.each([
    [1234, 'USD', 1234],
    [1234, 'JPY', 1234],
    [1230, 'KWD', 1230],
    [500, 'ISK', 50_000],
    [500, 'ugx', 50_000],
  ])('%d %s -> %d in Stripe units, and back', (minor, currency, stripe) => {
    expect(toStripeAmount(minor, currency)).toBe(stripe);
    expect(fromStripeAmount(stripe, currency)).toBe(minor);
  });

  it('refuses a Stripe ISK amount that is not whole krónur', () => {
    expect(() => fromStripeAmount(50_050, 'ISK')).toThrow(RangeError);
  });
});

describe('Stripe error classification table', () => {
  const conn = (code: string) => ({ type: 'StripeConnectionError', detail: { code } });
  it.each([
    [
      '402 card error',
      { type: 'StripeCardError', statusCode: 402, code: 'card_declined', decline_code: 'insufficient_funds' },
      'write',
      'decline',
    ],
    [
      '402 typed invalid_request_error (localstripe)',
      { type: 'StripeCardError', statusCode: 402, code: 'card_declined', rawType: 'invalid_request_error' },
      'write',
      'decline',
    ],
    [
      '429 rate limit',
      { type: 'StripeRateLimitError', statusCode: 429 },
      'write',
      FAILURE_TYPES.ProviderUnavailable,
    ],
    [
      '400 code rate_limit',
      { type: 'StripeRateLimitError', statusCode: 400, code: 'rate_limit' },
      'write',
      FAILURE_TYPES.ProviderUnavailable,
    ],
    [
      '409 idempotency lock',
      { type: 'StripeAPIError', statusCode: 409, code: 'lock_timeout' },
      'write',
      FAILURE_TYPES.ProviderUnavailable,
    ],
    ['500', { type: 'StripeAPIError', statusCode: 500 }, 'write', FAILURE_TYPES.ProviderUnavailable],
    ['503', { type: 'StripeAPIError', statusCode: 503 }, 'read', FAILURE_TYPES.ProviderUnavailable],
    [
      '401 bad key',
      { type: 'StripeAuthenticationError', statusCode: 401 },
      'write',
      FAILURE_TYPES.ProviderInvalidRequest,
    ],
    [
      '403 permission',
      { type: 'StripePermissionError', statusCode: 403 },
      'write',
      FAILURE_TYPES.ProviderInvalidRequest,
    ],
    [
      '400 invalid',
      { type: 'StripeInvalidRequestError', statusCode: 400, code: 'parameter_missing' },
      'write',
      FAILURE_TYPES.ProviderInvalidRequest,
    ],
    [
      '400 idempotency_error',
      { type: 'StripeIdempotencyError', statusCode: 400 },
      'write',
      FAILURE_TYPES.ProviderInvalidRequest,
    ],
    [
      '404 missing',
      { type: 'StripeInvalidRequestError', statusCode: 404, code: 'resource_missing' },
      'read',
      FAILURE_TYPES.ProviderInvalidRequest,
    ],
    ['refused connection, write', conn('ECONNREFUSED'), 'write', FAILURE_TYPES.ProviderUnavailable],
    ['DNS failure, write', conn('ENOTFOUND'), 'write', FAILURE_TYPES.ProviderUnavailable],
    ['timeout after send, write', conn('ETIMEDOUT'), 'write', FAILURE_TYPES.ProviderOutcomeUnknown],
    ['timeout, read', conn('ETIMEDOUT'), 'read', FAILURE_TYPES.ProviderUnavailable],
    ['reset after send, write', conn('ECONNRESET'), 'write', FAILURE_TYPES.ProviderOutcomeUnknown],
    ['unknown thrown value, write', new Error('boom'), 'write', FAILURE_TYPES.ProviderOutcomeUnknown],
    ['unknown thrown value, read', 'boom', 'read', FAILURE_TYPES.ProviderUnavailable],
  ] as const)('%s -> %s', (_label, err, call, expected) => {
    const c = classifyStripeError(err, call);
    expect(c.kind === 'decline' ? 'decline' : c.error.failureType).toBe(expected);
  });

  it('reads the decline code and PaymentIntent from a card error', () => {
    expect(
      classifyStripeError(
        {
          type: 'StripeCardError',
          statusCode: 402,
          code: 'card_declined',
          decline_code: 'stolen_card',
          payment_intent: { id: 'pi_1' },
        },
        'write',
      ),
    ).toEqual({ kind: 'decline', declineCode: 'lost_or_stolen', providerReference: 'pi_1' });
  });

  it("never forwards Stripe's message (it may echo card data)", () => {
    const c = classifyStripeError(
      {
        type: 'StripeInvalidRequestError',
        statusCode: 400,
        code: 'Your card 4242424242424242',
        message: 'Invalid number 4242424242424242',
      },
      'write',
    );
    expect(c.kind).toBe('error');
    if (c.kind === 'error') {
      expect(c.error.message).not.toContain('4242');
      expect(c.error.message).toBe('Stripe rejected the request (HTTP 400)');
    }
  });
});

/** Stripe's documented test card. */
const VISA = { number: '4242424242424242', expMonth: 12, expYear: 2030 };
const AUTH: AuthorizeRequest = {
  paymentId: 'pay_1',
  idempotencyKey: 'pay_1:authorize',
  amount: 1234,
  currency: 'USD',
  capture: 'manual',
  card: VISA,
};

describe('Stripe request builders: our request -> SDK params and Idempotency-Key', () => {
  it.each([
    [
      'card without cvc or holder',
      AUTH,
      {
        params: { type: 'card', card: { number: VISA.number, exp_month: 12, exp_year: 2030 } },
        options: { idempotencyKey: 'pay_1:authorize:pm' },
      },
    ],
    [
      'card with cvc and holder',
      { ...AUTH, card: { ...VISA, cvc: '123', holderName: 'Jenny Rosen' } },
      {
        params: {
          type: 'card',
          card: { number: VISA.number, exp_month: 12, exp_year: 2030, cvc: '123' },
          billing_details: { name: 'Jenny Rosen' },
        },
        options: { idempotencyKey: 'pay_1:authorize:pm' },
      },
    ],
  ])('PaymentMethod: %s', (_label, req, expected) => {
    expect(paymentMethodCreateRequest(req)).toEqual(expected);
  });

  const piParams = {
    amount: 1234,
    currency: 'usd',
    payment_method: 'pm_1',
    allowed_payment_method_types: ['card'],
    confirm: true,
    capture_method: 'manual',
    metadata: { settle_payment_id: 'pay_1' },
    expand: ['latest_charge'],
  };
  it.each<[string, AuthorizeRequest, StripeRequestOptions, object]>([
    ['manual capture', AUTH, {}, piParams],
    [
      'automatic capture, legacy payment_method_types',
      { ...AUTH, capture: 'automatic' },
      { legacyPaymentMethodTypes: true },
      (({ allowed_payment_method_types: _a, ...rest }) => ({
        ...rest,
        payment_method_types: ['card'],
        capture_method: 'automatic',
      }))(piParams),
    ],
    [
      'manual capture with multicapture',
      AUTH,
      { multicapture: true },
      { ...piParams, payment_method_options: { card: { request_multicapture: 'if_available' } } },
    ],
    [
      'automatic capture never asks for multicapture',
      { ...AUTH, capture: 'automatic' },
      { multicapture: true },
      { ...piParams, capture_method: 'automatic' },
    ],
    [
      'ISK in Stripe units, merchant reference in metadata, no description',
      { ...AUTH, amount: 500, currency: 'ISK', merchantReference: 'order-9', description: 'mug' },
      {},
      {
        ...piParams,
        amount: 50_000,
        currency: 'isk',
        metadata: { settle_payment_id: 'pay_1', settle_merchant_reference: 'order-9' },
      },
    ],
  ])('PaymentIntent: %s', (_label, req, o, params) => {
    expect(paymentIntentCreateRequest(req, 'pm_1', o)).toEqual({
      params,
      options: { idempotencyKey: 'pay_1:authorize' },
    });
  });

  const CAPTURE: CaptureRequest = {
    paymentId: 'pay_1',
    providerReference: 'pi_1',
    idempotencyKey: 'pay_1:capture:1',
    amount: 1000,
    currency: 'USD',
    final: false,
  };
  it.each<[string, CaptureRequest, StripeRequestOptions, object]>([
    ['non-final without multicapture', CAPTURE, {}, { amount_to_capture: 1000, expand: ['latest_charge'] }],
    [
      'non-final with multicapture',
      CAPTURE,
      { multicapture: true },
      { amount_to_capture: 1000, expand: ['latest_charge'], final_capture: false },
    ],
    [
      'final with multicapture',
      { ...CAPTURE, final: true, idempotencyKey: 'pay_1:capture:2' },
      { multicapture: true },
      { amount_to_capture: 1000, expand: ['latest_charge'] },
    ],
  ])('capture: %s', (_label, req, o, params) => {
    expect(paymentIntentCaptureRequest(req, o)).toEqual({
      id: 'pi_1',
      params,
      options: { idempotencyKey: req.idempotencyKey },
    });
  });

  it('void: cancel with no params, keyed', () => {
    expect(
      paymentIntentCancelRequest({
        paymentId: 'pay_1',
        providerReference: 'pi_1',
        idempotencyKey: 'pay_1:void',
      }),
    ).toEqual({ id: 'pi_1', params: {}, options: { idempotencyKey: 'pay_1:void' } });
  });

  it.each<[string, RefundRequest, object]>([
    [
      'USD, reason not forwarded',
      {
        paymentId: 'pay_1',
        refundId: 're_1',
        providerReference: 'pi_1',
        idempotencyKey: 'pay_1:refund:re_1',
        amount: 300,
        currency: 'USD',
        reason: 'customer asked',
      },
      { payment_intent: 'pi_1', amount: 300 },
    ],
    [
      'UGX in Stripe units',
      {
        paymentId: 'pay_1',
        refundId: 're_1',
        providerReference: 'pi_1',
        idempotencyKey: 'pay_1:refund:re_1',
        amount: 7,
        currency: 'UGX',
      },
      { payment_intent: 'pi_1', amount: 700 },
    ],
  ])('refund: %s', (_label, req, body) => {
    expect(refundCreateRequest(req)).toEqual({
      params: {
        ...body,
        metadata: {
          settle_payment_id: 'pay_1',
          settle_refund_id: 're_1',
          settle_idempotency_key: 'pay_1:refund:re_1',
        },
      },
      options: { idempotencyKey: 'pay_1:refund:re_1' },
    });
  });
});

/** A PaymentIntent as the SDK returns it, with only the fields the maps read. */
function pi(fields: Record<string, unknown>): Stripe.PaymentIntent {
  return { id: 'pi_1', amount: 1234, currency: 'usd', created: 1, metadata: {}, ...fields } as never;
}
const charge = (fields: Record<string, unknown> = {}) => ({
  id: 'ch_1',
  object: 'charge',
  status: 'succeeded',
  amount: 1234,
  payment_method_details: { card: { capture_before: 1_900_000_000 } },
  ...fields,
});
const refund = (id: string, amount: number, metadata: Record<string, string> = {}, status = 'succeeded') =>
  ({ id, amount, metadata, status }) as unknown as Stripe.Refund;

describe('Stripe response maps: SDK objects -> our results', () => {
  it.each([
    [
      'requires_capture',
      pi({ status: 'requires_capture', latest_charge: charge() }),
      {
        outcome: 'authorized',
        providerReference: 'pi_1',
        captured: false,
        captureBefore: new Date(1_900_000_000_000).toISOString(),
      },
    ],
    [
      'succeeded',
      pi({ status: 'succeeded', latest_charge: 'ch_1' }),
      { outcome: 'authorized', providerReference: 'pi_1', captured: true, captureBefore: undefined },
    ],
    [
      'requires_payment_method after a decline',
      pi({
        status: 'requires_payment_method',
        last_payment_error: { code: 'card_declined', decline_code: 'insufficient_funds' },
      }),
      {
        outcome: 'declined',
        providerReference: 'pi_1',
        declineCode: 'insufficient_funds',
        message: 'The card has insufficient funds.',
      },
    ],
    [
      'requires_action (3-D Secure)',
      pi({ status: 'requires_action' }),
      {
        outcome: 'declined',
        providerReference: 'pi_1',
        declineCode: 'card_declined',
        message: 'The card requires authentication, which this payment flow does not support.',
      },
    ],
  ])('authorization: %s', (_label, intent, expected) => {
    expect(authorizeResultFromPaymentIntent(intent)).toEqual(expected);
  });

  it('an undecided PaymentIntent is an unknown outcome, its status sanitized', () => {
    for (const [status, shown] of [
      ['processing', 'processing'],
      ['Weird 4242', 'unknown'],
    ]) {
      const err = (() => {
        try {
          authorizeResultFromPaymentIntent(pi({ status }));
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({
        failureType: FAILURE_TYPES.ProviderOutcomeUnknown,
        message: `Stripe PaymentIntent is ${shown} after confirmation`,
      });
    }
  });

  it('a replayed capture reports what localstripe captured: the charge minus the released remainder', () => {
    const intent = pi({ status: 'succeeded', latest_charge: charge() });
    const refunds = [refund('re_released', 234), refund('re_ours', 100, { settle_refund_id: 're_1' })];
    expect(capturedResultFromPaymentIntent(intent, refunds)).toEqual({
      providerCaptureId: 'ch_1',
      amount: 1000,
    });
  });

  it('sync snapshot: a partial capture and one refund of ours, keyed', () => {
    const intent = pi({ status: 'succeeded', amount_received: 1000, latest_charge: charge() });
    const refunds = [
      refund('re_a', 300, { settle_refund_id: 're_1', settle_idempotency_key: 'pay_1:refund:re_1' }),
      refund(
        're_b',
        200,
        { settle_refund_id: 're_2', settle_idempotency_key: 'pay_1:refund:re_2' },
        'failed',
      ),
    ];
    expect(snapshotFromPaymentIntent(intent, refunds)).toEqual({
      found: true,
      providerReference: 'pi_1',
      status: 'captured',
      amountAuthorized: 1234,
      amountCaptured: 1000,
      amountRefunded: 300,
      captureBefore: new Date(1_900_000_000_000).toISOString(),
      declineCode: undefined,
      captures: [{ providerCaptureId: 'ch_1', amount: 1000 }],
      refunds: [
        { providerRefundId: 're_a', amount: 300, idempotencyKey: 'pay_1:refund:re_1' },
        { providerRefundId: 're_b', amount: 200, idempotencyKey: 'pay_1:refund:re_2' },
      ],
    });
  });

  it('sync snapshot: a declined attempt holds nothing', () => {
    const intent = pi({
      status: 'requires_payment_method',
      last_payment_error: { code: 'expired_card' },
      latest_charge: charge({ status: 'failed' }),
    });
    expect(snapshotFromPaymentIntent(intent, [])).toMatchObject({
      status: 'declined',
      amountAuthorized: 0,
      amountCaptured: 0,
      declineCode: 'expired_card',
      captures: [],
      refunds: [],
    });
  });

  it('sync without a reference: the live attempt wins over a newer decline, else the newest', () => {
    const declined = pi({ id: 'pi_declined', status: 'requires_payment_method', created: 3 });
    const live = pi({ id: 'pi_live', status: 'requires_capture', created: 2 });
    const older = pi({ id: 'pi_older', status: 'canceled', created: 1 });
    expect(pickPaymentIntent([older, declined, live])?.id).toBe('pi_live');
    expect(pickPaymentIntent([older, declined])?.id).toBe('pi_declined');
    expect(pickPaymentIntent([])).toBeUndefined();
  });
});

describe('Stripe disputes: requests with their Idempotency-Keys, and dispute objects -> ours', () => {
  const evidence: DisputeEvidenceRequest = {
    disputeId: 'dp_ours1',
    providerDisputeId: 'dp_stripe1',
    paymentId: 'pay_1',
    providerReference: 'pi_1',
    text: 'winning_evidence',
    files: [
      { name: 'receipt.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4') },
      { name: 'chat.png', contentType: 'image/png', content: Buffer.from('png') },
    ],
  };

  it('uploads each file with its own key derived from <dp_id>:evidence', () => {
    expect(disputeFileCreateRequests(evidence)).toEqual([
      {
        params: {
          purpose: 'dispute_evidence',
          file: { data: Buffer.from('%PDF-1.4'), name: 'receipt.pdf', type: 'application/pdf' },
        },
        options: { idempotencyKey: 'dp_ours1:evidence:file:0' },
      },
      {
        params: {
          purpose: 'dispute_evidence',
          file: { data: Buffer.from('png'), name: 'chat.png', type: 'image/png' },
        },
        options: { idempotencyKey: 'dp_ours1:evidence:file:1' },
      },
    ]);
  });

  it('submits text and files in one update keyed <dp_id>:evidence', () => {
    expect(disputeEvidenceUpdateRequest(evidence, ['file_a', 'file_b'])).toEqual({
      id: 'dp_stripe1',
      params: {
        evidence: {
          uncategorized_text: 'winning_evidence',
          uncategorized_file: 'file_a',
          customer_communication: 'file_b',
        },
        submit: true,
        metadata: { settle_dispute_id: 'dp_ours1' },
      },
      options: { idempotencyKey: 'dp_ours1:evidence' },
    });
  });

  it('refuses more files than Stripe has evidence fields, before sending anything', () => {
    const many = { ...evidence, files: Array.from({ length: 10 }, () => evidence.files[0]!) };
    expect(() => disputeFileCreateRequests(many)).toThrow(ProviderError);
  });

  it('closes with key <dp_id>:accept', () => {
    expect(
      disputeCloseRequest({
        disputeId: 'dp_ours1',
        providerDisputeId: 'dp_stripe1',
        paymentId: 'pay_1',
        providerReference: 'pi_1',
      }),
    ).toEqual({ id: 'dp_stripe1', params: {}, options: { idempotencyKey: 'dp_ours1:accept' } });
  });

  it.each([
    ['warning_needs_response', 'needs_response', 'needs_response'],
    ['needs_response', 'needs_response', 'needs_response'],
    ['warning_under_review', 'under_review', 'under_review'],
    ['under_review', 'under_review', 'under_review'],
    ['won', 'won', 'won'],
    ['warning_closed', 'won', 'won'],
    ['prevented', 'won', 'won'],
    ['lost', 'lost', 'accepted'],
    ['something_new', 'under_review', 'under_review'],
  ])('status %s -> %s (after our close: %s)', (status, mapped, afterAccept) => {
    expect(stripeDisputeStatus(status)).toBe(mapped);
    expect(acceptResultFromDispute({ status })).toEqual({ status: afterAccept });
  });

  it('reads the facts of a charge.dispute.* object, due date from evidence_details.due_by', () => {
    expect(
      disputeFactsFromStripe({
        id: 'dp_1',
        object: 'dispute',
        amount: 41300,
        currency: 'usd',
        reason: 'fraudulent',
        status: 'needs_response',
        evidence_details: { due_by: 1_800_000_000 },
      }),
    ).toEqual({
      providerDisputeId: 'dp_1',
      amount: 41300,
      currency: 'USD',
      reason: 'fraudulent',
      status: 'needs_response',
      evidenceDueBy: new Date(1_800_000_000 * 1000).toISOString(),
    });
    // ISK: Stripe's two-decimal unit back to the ISO minor unit; no due date: none given.
    expect(
      disputeFactsFromStripe({ id: 'dp_2', amount: 5000, currency: 'isk', status: 'won' }),
    ).toMatchObject({
      amount: 50,
      currency: 'ISK',
      status: 'won',
      reason: 'general',
      evidenceDueBy: undefined,
    });
    expect(disputeFactsFromStripe({ id: 'dp_3', currency: 'usd' })).toBeUndefined();
  });
});
