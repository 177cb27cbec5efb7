/**
 * The sandbox provider's request builders and response maps (sandbox/transformers.ts), as tables:
 * which idempotency key and trigger amount each operation is booked under, the transaction row an
 * authorization writes, the state rules of capture, void and refund, and the sync snapshot.
 * The amount triggers themselves are tabled in test/unit/sandbox-triggers.test.ts.
 */
import { FAILURE_TYPES } from '../../../domain/errors';
import {
  assertSandboxRefundable,
  sandboxAuthorization,
  sandboxCapture,
  sandboxOperation,
  sandboxVoid,
  snapshotFromSandbox,
  type SandboxTransactionRow,
} from '../../../activities/providers/sandbox/transformers';
import type { AuthorizeRequest, CaptureRequest, RefundRequest } from '../../../activities/providers/types';

const NOW = new Date('2026-12-01T10:00:00.000Z');
const DAY = 86_400_000;
/** Stripe's documented test card (the sandbox does not check numbers). */
const VISA = { number: '4242424242424242', expMonth: 12, expYear: 2030 };
const AUTH: AuthorizeRequest = {
  paymentId: 'pay_1',
  idempotencyKey: 'pay_1:authorize',
  amount: 1000,
  currency: 'USD',
  capture: 'manual',
  card: VISA,
};
const invalid = (message: string) =>
  expect.objectContaining({ failureType: FAILURE_TYPES.ProviderInvalidRequest, message });

describe('sandbox operations: idempotency key and trigger amount', () => {
  it.each([
    ['authorize', AUTH, { kind: 'authorize', idempotencyKey: 'pay_1:authorize', amount: 1000 }],
    [
      'capture',
      { idempotencyKey: 'pay_1:capture:1', amount: 400 },
      { kind: 'capture', idempotencyKey: 'pay_1:capture:1', amount: 400 },
    ],
    ['void', { idempotencyKey: 'pay_1:void' }, { kind: 'void', idempotencyKey: 'pay_1:void', amount: 0 }],
    [
      'refund',
      { idempotencyKey: 'pay_1:refund:re_1', amount: 50_301 },
      { kind: 'refund', idempotencyKey: 'pay_1:refund:re_1', amount: 50_301 },
    ],
  ] as const)('%s', (kind, req, expected) => {
    expect(sandboxOperation(kind, req)).toEqual(expected);
  });
});

describe('sandbox authorization: the booked row and the answer', () => {
  const row = {
    reference: 'sbx_1',
    payment_id: 'pay_1',
    currency: 'USD',
    decline_code: null,
  };
  it.each([
    [
      'manual capture: authorized, 7-day capture window',
      AUTH,
      {
        row: {
          ...row,
          status: 'authorized',
          amount_authorized: 1000,
          amount_captured: 0,
          capture_before: new Date(NOW.getTime() + 7 * DAY),
        },
        result: {
          outcome: 'authorized',
          providerReference: 'sbx_1',
          captured: false,
          captureBefore: new Date(NOW.getTime() + 7 * DAY).toISOString(),
        },
      },
    ],
    [
      'automatic capture: captured at once',
      { ...AUTH, capture: 'automatic' as const },
      {
        row: {
          ...row,
          status: 'captured',
          amount_authorized: 1000,
          amount_captured: 1000,
          capture_before: new Date(NOW.getTime() + 7 * DAY),
        },
        result: {
          outcome: 'authorized',
          providerReference: 'sbx_1',
          captured: true,
          captureBefore: new Date(NOW.getTime() + 7 * DAY).toISOString(),
        },
      },
    ],
    [
      'trigger 40700: 1-day capture window',
      { ...AUTH, amount: 40700 },
      {
        row: {
          ...row,
          status: 'authorized',
          amount_authorized: 40700,
          amount_captured: 0,
          capture_before: new Date(NOW.getTime() + DAY),
        },
        result: {
          outcome: 'authorized',
          providerReference: 'sbx_1',
          captured: false,
          captureBefore: new Date(NOW.getTime() + DAY).toISOString(),
        },
      },
    ],
    [
      'trigger 40051: declined, nothing held',
      { ...AUTH, amount: 40051, capture: 'automatic' as const },
      {
        row: {
          ...row,
          status: 'declined',
          amount_authorized: 0,
          amount_captured: 0,
          decline_code: 'insufficient_funds',
          capture_before: null,
        },
        result: {
          outcome: 'declined',
          providerReference: 'sbx_1',
          declineCode: 'insufficient_funds',
          message: 'The card has insufficient funds.',
        },
      },
    ],
    [
      'an expired card: declined expired_card',
      { ...AUTH, card: { ...VISA, expMonth: 11, expYear: 2026 } },
      {
        row: {
          ...row,
          status: 'declined',
          amount_authorized: 0,
          amount_captured: 0,
          decline_code: 'expired_card',
          capture_before: null,
        },
        result: {
          outcome: 'declined',
          providerReference: 'sbx_1',
          declineCode: 'expired_card',
          message: 'The card has expired.',
        },
      },
    ],
  ])('%s', (_label, req, expected) => {
    expect(sandboxAuthorization(req, 'sbx_1', NOW)).toEqual(expected);
  });
});

const TX: SandboxTransactionRow = {
  reference: 'sbx_1',
  payment_id: 'pay_1',
  status: 'authorized',
  currency: 'USD',
  amount_authorized: 1000,
  amount_captured: 0,
  amount_refunded: 0,
  decline_code: null,
  capture_before: new Date(NOW.getTime() + 7 * DAY),
};
const CAPTURE: CaptureRequest = {
  paymentId: 'pay_1',
  providerReference: 'sbx_1',
  idempotencyKey: 'pay_1:capture:1',
  amount: 400,
  currency: 'USD',
  final: false,
};

describe('sandbox state rules', () => {
  it.each([
    ['a partial capture', TX, CAPTURE, { amount_captured: 400, status: 'partially_captured' }],
    [
      'a final partial capture',
      TX,
      { ...CAPTURE, final: true },
      { amount_captured: 400, status: 'captured' },
    ],
    [
      'the capture that takes the rest',
      { ...TX, status: 'partially_captured', amount_captured: 600 },
      CAPTURE,
      { amount_captured: 1000, status: 'captured' },
    ],
  ])('capture: %s', (_label, tx, req, expected) => {
    expect(sandboxCapture(tx, req)).toEqual(expected);
  });

  it.each([
    ['a voided transaction', { ...TX, status: 'voided' }, CAPTURE, 'cannot capture a voided transaction'],
    ['more than authorized', TX, { ...CAPTURE, amount: 1001 }, 'capture exceeds the authorized amount'],
  ])('capture refuses %s', (_label, tx, req, message) => {
    expect(() => sandboxCapture(tx, req)).toThrow(invalid(message));
  });

  it.each([
    ['authorized -> voided', TX, 'voided'],
    [
      'partially captured -> captured (the rest released)',
      { ...TX, status: 'partially_captured', amount_captured: 1 },
      'captured',
    ],
    ['already voided -> unchanged', { ...TX, status: 'voided' }, undefined],
  ])('void: %s', (_label, tx, expected) => {
    expect(sandboxVoid(tx)).toBe(expected);
  });

  it('void refuses a captured transaction', () => {
    expect(() => sandboxVoid({ ...TX, status: 'captured' })).toThrow(
      invalid('cannot void a captured transaction'),
    );
  });

  it('refund: up to what was captured and not yet refunded', () => {
    const tx = { ...TX, status: 'captured', amount_captured: 1000, amount_refunded: 600 };
    const req: RefundRequest = {
      paymentId: 'pay_1',
      refundId: 're_1',
      providerReference: 'sbx_1',
      idempotencyKey: 'pay_1:refund:re_1',
      amount: 400,
      currency: 'USD',
    };
    expect(() => assertSandboxRefundable(tx, req)).not.toThrow();
    expect(() => assertSandboxRefundable(tx, { ...req, amount: 401 })).toThrow(
      invalid('refund exceeds the captured amount'),
    );
  });
});

describe('sandbox sync snapshot', () => {
  it('a partially captured transaction is authorized, its operations listed by key', () => {
    const tx = { ...TX, status: 'partially_captured', amount_captured: 400, amount_refunded: 100 };
    const ops = [
      { idempotency_key: 'pay_1:authorize', kind: 'authorize' as const, amount: 1000, result: {} },
      {
        idempotency_key: 'pay_1:capture:1',
        kind: 'capture' as const,
        amount: 400,
        result: { providerCaptureId: 'cap_1' },
      },
      {
        idempotency_key: 'pay_1:refund:re_1',
        kind: 'refund' as const,
        amount: 100,
        result: { providerRefundId: 'sbxre_1' },
      },
    ];
    expect(snapshotFromSandbox(tx, ops)).toEqual({
      found: true,
      providerReference: 'sbx_1',
      status: 'authorized',
      amountAuthorized: 1000,
      amountCaptured: 400,
      amountRefunded: 100,
      captureBefore: new Date(NOW.getTime() + 7 * DAY).toISOString(),
      declineCode: undefined,
      captures: [{ providerCaptureId: 'cap_1', amount: 400, idempotencyKey: 'pay_1:capture:1' }],
      refunds: [{ providerRefundId: 'sbxre_1', amount: 100, idempotencyKey: 'pay_1:refund:re_1' }],
    });
  });

  it('a declined transaction carries its decline code', () => {
    const tx = {
      ...TX,
      status: 'declined',
      amount_authorized: 0,
      decline_code: 'fraudulent',
      capture_before: null,
    };
    expect(snapshotFromSandbox(tx, [])).toMatchObject({
      status: 'declined',
      declineCode: 'fraudulent',
      captureBefore: undefined,
      captures: [],
      refunds: [],
    });
  });
});
