/**
 * Braintree's pure maps (transformers.ts) and failure classification (errors.ts), as tables.
 * Thrown-error inputs are shaped like the braintree SDK's (`type` from errorTypes, `message`);
 * results like its `success: false` responses.
 */
import { FAILURE_TYPES } from '../../../domain/errors';
import {
  classifyBraintreeResult,
  classifyBraintreeThrown,
} from '../../../activities/providers/braintree/errors';
import {
  braintreeEventKind,
  braintreeStatusToSnapshot,
  gatewayRejectionDeclineCode,
  paymentIdFromOrderId,
  processorDeclineCode,
  refundTransactionStatus,
} from '../../../activities/providers/braintree/transformers';

describe('Braintree transaction status -> snapshot status', () => {
  it.each([
    ['authorizing', 'processing'],
    ['authorized', 'authorized'],
    ['submitted_for_settlement', 'captured'],
    ['settling', 'captured'],
    ['settled', 'captured'],
    ['settlement_pending', 'captured'],
    ['settlement_confirmed', 'captured'],
    ['voided', 'voided'],
    ['authorization_expired', 'voided'],
    ['processor_declined', 'declined'],
    ['gateway_rejected', 'declined'],
    ['failed', 'declined'],
    ['settlement_declined', 'declined'],
    ['unheard_of', 'processing'],
  ])('%s -> %s', (status, expected) => {
    expect(braintreeStatusToSnapshot(status)).toBe(expected);
  });
});

describe('Braintree processor response code -> DeclineCode', () => {
  it.each([
    ['2000', 'do_not_honor'],
    ['2001', 'insufficient_funds'],
    ['2002', 'insufficient_funds'],
    ['2004', 'expired_card'],
    ['2006', 'expired_card'],
    ['2010', 'incorrect_cvc'],
    ['2012', 'lost_or_stolen'],
    ['2013', 'lost_or_stolen'],
    ['2014', 'fraudulent'],
    ['2038', 'card_declined'],
    ['2046', 'card_declined'],
    ['2999', 'card_declined'],
    [null, 'card_declined'],
  ])('%s -> %s', (code, expected) => {
    expect(processorDeclineCode(code)).toBe(expected);
  });

  it.each([
    ['cvv', 'incorrect_cvc'],
    ['avs_and_cvv', 'incorrect_cvc'],
    ['fraud', 'fraudulent'],
    ['risk_threshold', 'fraudulent'],
    ['avs', 'card_declined'],
    ['duplicate', 'card_declined'],
  ])('gateway rejection %s -> %s', (reason, expected) => {
    expect(gatewayRejectionDeclineCode(reason)).toBe(expected);
  });
});

describe('Braintree refund (credit) status -> refund result status', () => {
  it.each([
    ['settled', 'succeeded'],
    ['settlement_confirmed', 'succeeded'],
    ['submitted_for_settlement', 'pending'],
    ['settling', 'pending'],
    ['processor_declined', 'failed'],
    ['failed', 'failed'],
    ['voided', 'failed'],
  ])('%s -> %s', (status, expected) => {
    expect(refundTransactionStatus(status)).toBe(expected);
  });
});

describe('Braintree notification kind -> ProviderEventKind', () => {
  it.each([
    ['transaction_settled', 'credit', 'refund.succeeded'],
    ['transaction_settled', 'sale', 'other'],
    ['transaction_settlement_declined', 'sale', 'settlement.failed'],
    ['refund_failed', undefined, 'refund.failed'],
    ['dispute_opened', undefined, 'dispute.opened'],
    ['dispute_won', undefined, 'dispute.closed'],
    ['dispute_lost', undefined, 'dispute.closed'],
    ['dispute_accepted', undefined, 'dispute.closed'],
    ['dispute_under_review', undefined, 'other'],
    ['check', undefined, 'other'],
  ])('%s (%s) -> %s', (kind, type, expected) => {
    expect(braintreeEventKind(kind, type)).toBe(expected);
  });

  it.each([
    ['pay_abc', 'pay_abc'],
    ['pay_abc:capture:2', 'pay_abc'],
    ['pay_abc:refund:re_1#1', 'pay_abc'],
    [null, undefined],
  ])('orderId %s -> payment id %s', (orderId, expected) => {
    expect(paymentIdFromOrderId(orderId)).toBe(expected);
  });
});

describe('Braintree thrown-error classification table', () => {
  const e = (type: string, message = '') => Object.assign(new Error(message), { type });
  it.each([
    ['authenticationError', '', 'write', FAILURE_TYPES.ProviderInvalidRequest],
    ['authorizationError', '', 'write', FAILURE_TYPES.ProviderInvalidRequest],
    ['notFoundError', '', 'read', FAILURE_TYPES.ProviderInvalidRequest],
    ['upgradeRequired', '', 'write', FAILURE_TYPES.ProviderInvalidRequest],
    ['tooManyRequestsError', '', 'write', FAILURE_TYPES.ProviderUnavailable],
    ['requestTimeoutError', '', 'write', FAILURE_TYPES.ProviderUnavailable],
    ['serverError', '', 'write', FAILURE_TYPES.ProviderUnavailable],
    ['serviceUnavailableError', '', 'write', FAILURE_TYPES.ProviderUnavailable],
    ['gatewayTimeoutError', '', 'write', FAILURE_TYPES.ProviderOutcomeUnknown],
    ['gatewayTimeoutError', '', 'read', FAILURE_TYPES.ProviderUnavailable],
    ['unexpectedError', 'Request timed out', 'write', FAILURE_TYPES.ProviderOutcomeUnknown],
    ['unexpectedError', 'Request timed out', 'read', FAILURE_TYPES.ProviderUnavailable],
    [
      'unexpectedError',
      'Unexpected request error: Error: connect ECONNREFUSED 127.0.0.1:1',
      'write',
      FAILURE_TYPES.ProviderUnavailable,
    ],
    [
      'unexpectedError',
      'Unexpected request error: Error: getaddrinfo ENOTFOUND x',
      'write',
      FAILURE_TYPES.ProviderUnavailable,
    ],
    [
      'unexpectedError',
      'Unexpected request error: Error: read ECONNRESET',
      'write',
      FAILURE_TYPES.ProviderOutcomeUnknown,
    ],
    [
      'unexpectedError',
      'Unexpected request error: Error: read ECONNRESET',
      'read',
      FAILURE_TYPES.ProviderUnavailable,
    ],
    ['unexpectedError', 'Unexpected HTTP response: 502', 'write', FAILURE_TYPES.ProviderUnavailable],
    ['somethingNew', '', 'write', FAILURE_TYPES.ProviderOutcomeUnknown],
  ] as const)('%s "%s" on a %s -> %s', (type, message, call, expected) => {
    expect(classifyBraintreeThrown(e(type, message), call).failureType).toBe(expected);
  });

  it('builds messages from the error type only, never the SDK message', () => {
    const err = classifyBraintreeThrown(e('somethingNew', 'card 4111111111111111 broke'), 'write');
    expect(err.message).not.toContain('4111');
  });
});

describe('Braintree result (success: false) classification', () => {
  const noErrors = { deepErrors: () => [] };
  it.each([
    [{ status: 'processor_declined', processorResponseCode: '2001' }, 'decline:insufficient_funds'],
    [{ status: 'processor_declined', processorResponseCode: '2000' }, 'decline:do_not_honor'],
    [{ status: 'gateway_rejected', gatewayRejectionReason: 'cvv' }, 'decline:incorrect_cvc'],
    [{ status: 'failed', processorResponseCode: '3000' }, FAILURE_TYPES.ProviderUnavailable],
  ])('transaction %j -> %s', (transaction, expected) => {
    const c = classifyBraintreeResult({ success: false, transaction, errors: noErrors });
    expect(c.kind === 'decline' ? `decline:${c.declineCode}` : c.error.failureType).toBe(expected);
  });

  it('validation errors are ProviderInvalidRequest naming the numeric codes only', () => {
    const c = classifyBraintreeResult({
      success: false,
      errors: {
        deepErrors: () => [
          { code: '91506', message: 'x' } as { code: string },
          { code: 'not-a-code 4111111111111111' },
        ],
      },
    });
    expect(c.kind).toBe('error');
    if (c.kind === 'error') {
      expect(c.error.failureType).toBe(FAILURE_TYPES.ProviderInvalidRequest);
      expect(c.error.message).toBe('Braintree validation failed (91506)');
    }
  });
});
