/**
 * Stripe's pure maps (transformers.ts) and error classification table (errors.ts), as tables.
 * Error inputs are shaped like stripe-node errors (`type`, `statusCode`, `code`, `detail.code`);
 * nothing here talks to Stripe.
 */
import { FAILURE_TYPES } from '../../../domain/errors';
import { classifyStripeError } from '../../../activities/providers/stripe/errors';
import {
  fromStripeAmount,
  paymentIntentStatusToSnapshot,
  refundStatus,
  stripeDeclineCode,
  stripeEventKind,
  toStripeAmount,
} from '../../../activities/providers/stripe/transformers';

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
    ['charge.dispute.closed', undefined, 'dispute.closed'],
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
