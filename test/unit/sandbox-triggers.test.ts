/**
 * The sandbox provider's documented triggers (docs/sandbox-provider.md) map amounts to behaviours
 * exactly, and the payment workflow's outbox event ids are valid, stable `evt_` ids.
 */
import { sandboxBehaviour } from '../../activities/providers/sandbox/transformers';
import { hasPrefix } from '../../domain/ids';
import { paymentEventId, refundEventId } from '../../workflows/payment';

const DAY = 86_400_000;

test.each([
  [40002, { kind: 'decline', code: 'card_declined' }],
  [40051, { kind: 'decline', code: 'insufficient_funds' }],
  [40054, { kind: 'decline', code: 'expired_card' }],
  [40082, { kind: 'decline', code: 'incorrect_cvc' }],
  [40059, { kind: 'decline', code: 'fraudulent' }],
  [40400, { kind: 'invalid' }],
  [40700, { kind: 'approve', captureBeforeMs: DAY }],
  [40710, { kind: 'approve', captureBeforeMs: 310_000 }],
  [50301, { kind: 'outage', attempts: 1 }],
  [50309, { kind: 'outage', attempts: 9 }],
  [50400, { kind: 'lost_response' }],
  [50801, { kind: 'slow', seconds: 1 }],
  [50809, { kind: 'slow', seconds: 9 }],
])('amount %p -> %o', (amount, behaviour) => {
  expect(sandboxBehaviour(amount)).toEqual(behaviour);
});

test.each([1, 999, 40000, 40003, 50300, 50310, 50401, 50800, 50810, 99_999_999_999])(
  'amount %p is simply approved with a 7-day capture window',
  (amount) => {
    expect(sandboxBehaviour(amount)).toEqual({ kind: 'approve', captureBeforeMs: 7 * DAY });
  },
);

test('event ids are evt_ ids, deterministic, and distinct per version and per refund', () => {
  const pay = 'pay_Ab3dEf6hIj9kLm2nOp5qRs8t';
  expect(paymentEventId(pay, 2)).toBe(paymentEventId(pay, 2));
  expect(paymentEventId(pay, 2)).not.toBe(paymentEventId(pay, 3));
  expect(paymentEventId(pay, 12)).not.toBe(paymentEventId(pay, 1));
  expect(hasPrefix(paymentEventId(pay, 2), 'evt')).toBe(true);
  const re = 're_Zy9xWv8uTs7rQp6oNm5lKj4i';
  expect(hasPrefix(refundEventId(re), 'evt')).toBe(true);
  expect(refundEventId(re)).not.toBe(refundEventId('re_Zy9xWv8uTs7rQp6oNm5lKj4j'));
});
