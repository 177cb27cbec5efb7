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
  capturePlan,
  gatewayRejectionDeclineCode,
  merchantAccountFor,
  paymentIdFromOrderId,
  pickSale,
  previousAuthorization,
  processorDeclineCode,
  refundPlan,
  refundResultFromTransactions,
  refundTransactionStatus,
  saleRequest,
  snapshotFromTransactions,
  type CapturePlan,
  type RefundPlan,
  type RefundTarget,
} from '../../../activities/providers/braintree/transformers';
import type { BtDispute, BtTransaction } from '../../../activities/providers/braintree/gateway';
import {
  acceptPlan,
  braintreeDisputeStatus,
  disputeFactsFromBraintree,
  evidencePlan,
  replyByToIso,
  uploadFileName,
} from '../../../activities/providers/braintree/dispute-transformers';
import type { AuthorizeRequest, CaptureRequest, RefundRequest } from '../../../activities/providers/types';

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
    ['dispute_auto_accepted', undefined, 'dispute.closed'],
    ['dispute_expired', undefined, 'dispute.closed'],
    ['dispute_disputed', undefined, 'dispute.updated'],
    ['dispute_under_review', undefined, 'dispute.updated'],
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

/** Braintree's documented test card. */
const VISA = { number: '4111111111111111', expMonth: 3, expYear: 2030 };
const AUTH: AuthorizeRequest = {
  paymentId: 'pay_1',
  idempotencyKey: 'pay_1:authorize',
  amount: 1234,
  currency: 'USD',
  capture: 'manual',
  card: VISA,
};

/** A transaction as the SDK returns it: USD unless told. */
function tx(fields: Partial<BtTransaction> & { id: string }): BtTransaction {
  return { status: 'authorized', amount: '10.00', currencyIsoCode: 'USD', ...fields };
}

describe('Braintree request builders: our request -> SDK arguments (orderId is the guard key)', () => {
  it.each<[string, AuthorizeRequest, string, string | undefined, Record<string, unknown>]>([
    [
      'manual USD on a merchant account, cvc and holder',
      { ...AUTH, card: { ...VISA, cvc: '123', holderName: 'Jenny Rosen' } },
      'USD',
      'usd_account',
      {
        amount: '12.34',
        orderId: 'pay_1',
        merchantAccountId: 'usd_account',
        creditCard: {
          number: VISA.number,
          expirationMonth: '03',
          expirationYear: '2030',
          cvv: '123',
          cardholderName: 'Jenny Rosen',
        },
        options: { submitForSettlement: false },
      },
    ],
    [
      'automatic JPY on the default account, no cvc',
      { ...AUTH, currency: 'JPY', capture: 'automatic' },
      'JPY',
      undefined,
      {
        amount: '1234',
        orderId: 'pay_1',
        creditCard: { number: VISA.number, expirationMonth: '03', expirationYear: '2030' },
        options: { submitForSettlement: true },
      },
    ],
    [
      'KWD has three decimals',
      { ...AUTH, currency: 'KWD' },
      'KWD',
      'kwd_account',
      {
        amount: '1.234',
        orderId: 'pay_1',
        merchantAccountId: 'kwd_account',
        creditCard: { number: VISA.number, expirationMonth: '03', expirationYear: '2030' },
        options: { submitForSettlement: false },
      },
    ],
  ])('sale: %s', (_label, req, currency, account, expected) => {
    expect(saleRequest(req, currency, account)).toEqual(expected);
  });

  it('merchant account by currency; none configured is the default account; a missing one refuses', () => {
    expect(merchantAccountFor(undefined, 'USD')).toBeUndefined();
    expect(merchantAccountFor({ USD: 'usd_account' }, 'usd')).toBe('usd_account');
    expect(() => merchantAccountFor({ USD: 'usd_account' }, 'EUR')).toThrow(
      expect.objectContaining({
        failureType: FAILURE_TYPES.ProviderInvalidRequest,
        message: 'No Braintree merchant account for EUR',
      }),
    );
  });

  const CAPTURE: CaptureRequest = {
    paymentId: 'pay_1',
    providerReference: 'sale_1',
    idempotencyKey: 'pay_1:capture:1',
    amount: 600,
    currency: 'USD',
    final: false,
  };
  const sale = tx({ id: 'sale_1' });
  it.each<[string, CaptureRequest, BtTransaction, BtTransaction[], CapturePlan]>([
    [
      'one final capture settles the sale itself',
      { ...CAPTURE, final: true },
      sale,
      [],
      { kind: 'submitForSettlement', id: 'sale_1', amount: '6.00' },
    ],
    [
      'a first non-final capture is a partial settlement tagged with its key',
      CAPTURE,
      sale,
      [],
      {
        kind: 'submitForPartialSettlement',
        id: 'sale_1',
        amount: '6.00',
        options: { orderId: 'pay_1:capture:1' },
      },
    ],
    [
      'a final capture after partial ones says so',
      { ...CAPTURE, idempotencyKey: 'pay_1:capture:2', amount: 400, final: true },
      sale,
      [tx({ id: 'ps_1', status: 'settled', amount: '6.00', orderId: 'pay_1:capture:1' })],
      {
        kind: 'submitForPartialSettlement',
        id: 'sale_1',
        amount: '4.00',
        options: { orderId: 'pay_1:capture:2', finalCapture: true },
      },
    ],
    [
      'guard: the partial settlement with this key exists: nothing is sent',
      CAPTURE,
      sale,
      [tx({ id: 'ps_1', status: 'settling', amount: '6.00', orderId: 'pay_1:capture:1' })],
      { kind: 'done', result: { providerCaptureId: 'ps_1', amount: 600 } },
    ],
    [
      'guard: the sale was already submitted whole: nothing is sent',
      { ...CAPTURE, final: true },
      tx({ id: 'sale_1', status: 'submitted_for_settlement', amount: '9.00' }),
      [],
      { kind: 'done', result: { providerCaptureId: 'sale_1', amount: 900 } },
    ],
  ])('capture: %s', (_label, req, s, children, expected) => {
    expect(capturePlan(req, s, children)).toEqual(expected);
  });

  const REFUND: RefundRequest = {
    paymentId: 'pay_1',
    refundId: 're_1',
    providerReference: 'sale_1',
    idempotencyKey: 'pay_1:refund:re_1',
    amount: 800,
    currency: 'USD',
  };
  const settled = (id: string, amount: string) => tx({ id, status: 'settled', amount });
  const credit = (id: string, amount: string, orderId: string, status = 'settled') =>
    tx({ id, type: 'credit', status, amount, orderId });
  it.each<[string, RefundRequest, RefundTarget[], RefundPlan]>([
    [
      'against the settled sale, keyed',
      { ...REFUND, amount: 500 },
      [{ t: settled('sale_1', '10.00'), refunds: [] }],
      {
        made: [],
        pieces: [{ id: 'sale_1', options: { amount: '5.00', orderId: 'pay_1:refund:re_1' } }],
        excess: false,
      },
    ],
    [
      'spread over partial settlements as key, key#1',
      REFUND,
      [
        { t: settled('ps_1', '6.00'), refunds: [] },
        { t: settled('ps_2', '4.00'), refunds: [] },
      ],
      {
        made: [],
        pieces: [
          { id: 'ps_1', options: { amount: '6.00', orderId: 'pay_1:refund:re_1' } },
          { id: 'ps_2', options: { amount: '2.00', orderId: 'pay_1:refund:re_1#1' } },
        ],
        excess: false,
      },
    ],
    [
      'guard: the first piece was made by an earlier attempt: only the rest is sent',
      REFUND,
      [
        { t: settled('ps_1', '6.00'), refunds: [credit('cr_1', '6.00', 'pay_1:refund:re_1')] },
        { t: settled('ps_2', '4.00'), refunds: [] },
      ],
      {
        made: [credit('cr_1', '6.00', 'pay_1:refund:re_1')],
        pieces: [{ id: 'ps_2', options: { amount: '2.00', orderId: 'pay_1:refund:re_1#1' } }],
        excess: false,
      },
    ],
    [
      'guard: a failed earlier piece is not counted, and its orderId is not reused',
      { ...REFUND, amount: 300 },
      [
        {
          t: settled('sale_1', '10.00'),
          refunds: [credit('cr_1', '3.00', 'pay_1:refund:re_1', 'processor_declined')],
        },
      ],
      {
        made: [],
        pieces: [{ id: 'sale_1', options: { amount: '3.00', orderId: 'pay_1:refund:re_1#1' } }],
        excess: false,
      },
    ],
    [
      'other refunds reduce what is refundable; the excess is flagged, never sent',
      REFUND,
      [{ t: settled('sale_1', '10.00'), refunds: [credit('cr_0', '5.00', 'pay_1:refund:re_0')] }],
      {
        made: [],
        pieces: [{ id: 'sale_1', options: { amount: '5.00', orderId: 'pay_1:refund:re_1' } }],
        excess: true,
      },
    ],
  ])('refund: %s', (_label, req, targets, expected) => {
    expect(refundPlan(req, targets)).toEqual(expected);
  });
});

describe('Braintree response maps: SDK transactions -> our results', () => {
  it.each([
    ['nothing before', [], undefined],
    [
      'a live sale is reused',
      [
        tx({
          id: 'old',
          status: 'processor_declined',
          processorResponseCode: '2001',
          createdAt: '2026-01-02',
        }),
        tx({
          id: 'live',
          status: 'authorized',
          createdAt: '2026-01-01',
          authorizationExpiresAt: '2026-01-08T00:00:00Z',
        }),
      ],
      {
        outcome: 'authorized',
        providerReference: 'live',
        captured: false,
        captureBefore: '2026-01-08T00:00:00.000Z',
      },
    ],
    [
      'the newest decline is the answer',
      [
        tx({
          id: 'd1',
          status: 'processor_declined',
          processorResponseCode: '2001',
          createdAt: '2026-01-01',
        }),
        tx({ id: 'd2', status: 'gateway_rejected', gatewayRejectionReason: 'cvv', createdAt: '2026-01-02' }),
      ],
      {
        outcome: 'declined',
        providerReference: 'd2',
        declineCode: 'incorrect_cvc',
        message: 'The card security code is incorrect.',
      },
    ],
    [
      'failed, voided and expired sales are ignored',
      [
        tx({ id: 'f', status: 'failed' }),
        tx({ id: 'v', status: 'voided' }),
        tx({ id: 'e', status: 'authorization_expired' }),
      ],
      undefined,
    ],
  ])('authorize guard: %s', (_label, previous, expected) => {
    expect(previousAuthorization(previous)).toEqual(expected);
  });

  it('sync without a reference: failed sales are skipped, the live one wins, else the newest', () => {
    const failed = tx({ id: 'f', status: 'failed', createdAt: '2026-01-03' });
    const declined = tx({ id: 'd', status: 'processor_declined', createdAt: '2026-01-02' });
    const live = tx({ id: 'l', status: 'settled', createdAt: '2026-01-01' });
    expect(pickSale([failed, declined, live])?.id).toBe('l');
    expect(pickSale([failed, declined])?.id).toBe('d');
    expect(pickSale([failed])).toBeUndefined();
  });

  it.each([
    [['settled', 'settled'], 'succeeded'],
    [['settled', 'submitted_for_settlement'], 'pending'],
    [['settled', 'processor_declined'], 'failed'],
  ])('refund result from %j -> %s', (statuses, status) => {
    const made = statuses.map((s, i) => tx({ id: `cr_${i}`, status: s }));
    expect(refundResultFromTransactions(made)).toEqual({ providerRefundId: 'cr_0', status });
  });

  it('nothing refunded is an invalid request', () => {
    expect(() => refundResultFromTransactions([])).toThrow('Nothing to refund at Braintree');
  });

  it('sync snapshot: two partial settlements, one refund piece of ours, authorized amount from history', () => {
    const s = tx({
      id: 'sale_1',
      status: 'settled',
      amount: '10.00',
      statusHistory: [{ status: 'authorized', amount: '12.00' }],
    });
    const children = [
      tx({ id: 'ps_1', status: 'settled', amount: '6.00', orderId: 'pay_1:capture:1' }),
      tx({ id: 'ps_2', status: 'settled', amount: '4.00', orderId: 'pay_1:capture:2' }),
      tx({ id: 'ps_3', status: 'voided', amount: '1.00', orderId: 'pay_1:capture:3' }),
    ];
    const refunds = [
      tx({ id: 'cr_1', status: 'settled', amount: '2.00', orderId: 'pay_1:refund:re_1#1' }),
      tx({ id: 'cr_2', status: 'processor_declined', amount: '1.00', orderId: 'pay_1:refund:re_2' }),
    ];
    expect(snapshotFromTransactions(s, children, refunds)).toEqual({
      found: true,
      providerReference: 'sale_1',
      status: 'captured',
      amountAuthorized: 1200,
      amountCaptured: 1000,
      amountRefunded: 200,
      captureBefore: undefined,
      declineCode: undefined,
      captures: [
        { providerCaptureId: 'ps_1', amount: 600, idempotencyKey: 'pay_1:capture:1' },
        { providerCaptureId: 'ps_2', amount: 400, idempotencyKey: 'pay_1:capture:2' },
      ],
      refunds: [{ providerRefundId: 'cr_1', amount: 200, idempotencyKey: 'pay_1:refund:re_1' }],
    });
  });

  it('sync snapshot: a declined sale holds nothing and says why', () => {
    const s = tx({ id: 'sale_1', status: 'processor_declined', processorResponseCode: '2004' });
    expect(snapshotFromTransactions(s, [], [])).toMatchObject({
      status: 'declined',
      amountAuthorized: 0,
      amountCaptured: 0,
      declineCode: 'expired_card',
      captures: [],
    });
  });
});

describe('Braintree disputes: the lookup guard plans, statuses and notification facts', () => {
  const pdf = { name: 'receipt.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF') };
  const png = { name: 'chat', contentType: 'image/png', content: Buffer.from('png') };
  const dispute = (over: Partial<BtDispute>): BtDispute => ({
    id: 'd1',
    status: 'open',
    evidence: [],
    ...over,
  });

  it.each([
    ['open', 'needs_response'],
    ['disputed', 'under_review'],
    ['under_review', 'under_review'],
    ['won', 'won'],
    ['lost', 'lost'],
    ['expired', 'lost'],
    ['accepted', 'accepted'],
    ['auto_accepted', 'accepted'],
  ])('status %s -> %s', (status, expected) => {
    expect(braintreeDisputeStatus(status)).toBe(expected);
  });

  it('sends everything to an open dispute without evidence', () => {
    expect(evidencePlan(dispute({}), 'text', [pdf, png])).toEqual({
      kind: 'send',
      addText: true,
      files: [pdf, png],
    });
  });

  it('after a lost answer, sends only what is not there yet (text by content, files by count)', () => {
    const d = dispute({
      evidence: [
        { id: 'e1', comment: 'text' },
        { id: 'e2', url: 'https://example.invalid/doc' },
      ],
    });
    expect(evidencePlan(d, 'text', [pdf, png])).toEqual({ kind: 'send', addText: false, files: [png] });
  });

  it('a dispute no longer open was finalized or decided: nothing is sent', () => {
    expect(evidencePlan(dispute({ status: 'disputed' }), 'text', [pdf])).toEqual({
      kind: 'done',
      result: { status: 'under_review' },
    });
    expect(acceptPlan(dispute({ status: 'accepted' }))).toEqual({
      kind: 'done',
      result: { status: 'accepted' },
    });
    expect(acceptPlan(dispute({}))).toEqual({ kind: 'accept' });
  });

  it.each([
    [pdf, 0, 'evidence-0.pdf'],
    [png, 1, 'evidence-1.png'],
    [
      { name: '../../etc/x.JPG', contentType: 'application/octet-stream', content: Buffer.alloc(0) },
      2,
      'evidence-2.jpg',
    ],
  ])('upload file name for %o (#%d) is %s: never a path from the merchant', (f, i, expected) => {
    expect(uploadFileName(f, i)).toBe(expected);
  });

  it('reads facts from a notification dispute; reply-by date -> the start of that day UTC', () => {
    expect(
      disputeFactsFromBraintree({
        id: 'd1',
        status: 'open',
        reason: 'fraud',
        amount: '250.00',
        amountDisputed: '250.0',
        currencyIsoCode: 'USD',
        replyByDate: '2014-03-21',
      }),
    ).toEqual({
      providerDisputeId: 'd1',
      amount: 25000,
      currency: 'USD',
      reason: 'fraud',
      status: 'needs_response',
      evidenceDueBy: '2014-03-21T00:00:00.000Z',
    });
    expect(replyByToIso('not a date')).toBeUndefined();
    expect(disputeFactsFromBraintree({ id: 'd1', amount: '1.00' })).toBeUndefined();
  });
});
