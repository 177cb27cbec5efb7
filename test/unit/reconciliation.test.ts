/**
 * The reconciliation matcher (domain/reconciliation.ts): every discrepancy kind is found from the
 * two sides' records, clean data gives none, and the window rules keep other windows' records out.
 */
import {
  compare,
  judgeRecord,
  matchPage,
  missingAtProvider,
  moneyStatus,
  windowProblem,
  type LedgerRecord,
  type ProviderRecord,
} from '../../domain/reconciliation';
import type Stripe from 'stripe';
import { sandboxFee } from '../../activities/providers/sandbox/records';
import { stripeFee } from '../../activities/providers/stripe/records';

const window = { from: '2030-01-01T00:00:00.000Z', to: '2030-01-02T00:00:00.000Z' };
const at = '2030-01-01T12:00:00.000Z';

const ledger = (id: string, over: Partial<LedgerRecord> = {}): LedgerRecord => ({
  paymentId: `pay_${id}`,
  clientId: 'cli_merchant1',
  providerReference: `ref_${id}`,
  currency: 'USD',
  createdAt: at,
  credited: 1000,
  debited: 0,
  fees: 0,
  feeEntries: 0,
  ...over,
});
const record = (id: string, over: Partial<ProviderRecord> = {}): ProviderRecord => ({
  providerReference: `ref_${id}`,
  currency: 'usd',
  amountCaptured: 1000,
  amountRefunded: 0,
  createdAt: at,
  ...over,
});

test('clean data: every record matches, no discrepancy', () => {
  const ids = ['a', 'b', 'c'];
  const byRef = new Map(ids.map((i) => [`ref_${i}`, ledger(i, i === 'c' ? { debited: 400 } : {})]));
  const m = matchPage(
    window,
    ids.map((i) => record(i, i === 'c' ? { amountRefunded: 400 } : {})),
    byRef,
    at,
  );
  expect(m.discrepancies).toEqual([]);
  expect(m.seen.sort()).toEqual(['pay_a', 'pay_b', 'pay_c']);
  expect(m.checked).toBe(3);
  expect(m.fees).toEqual([]);
});

test('a capture only at the provider is missing_in_ledger, with the provider side as actual', () => {
  const m = matchPage(window, [record('x', { paymentId: 'pay_x' })], new Map(), at);
  expect(m.discrepancies).toEqual([
    {
      kind: 'missing_in_ledger',
      providerReference: 'ref_x',
      paymentId: 'pay_x',
      actual: { status: 'captured', currency: 'USD', amountCaptured: 1000, amountRefunded: 0 },
    },
  ]);
});

test('a payment only in the ledger is missing_at_provider, with the ledger side as expected', () => {
  expect(missingAtProvider(ledger('y'))).toEqual({
    kind: 'missing_at_provider',
    paymentId: 'pay_y',
    providerReference: 'ref_y',
    clientId: 'cli_merchant1',
    expected: { status: 'captured', currency: 'USD', amountCaptured: 1000, amountRefunded: 0 },
  });
});

test('an amount off by one minor unit is amount_mismatch', () => {
  const d = compare(ledger('z'), record('z', { amountCaptured: 999 }));
  expect(d).toMatchObject({
    kind: 'amount_mismatch',
    paymentId: 'pay_z',
    expected: { amountCaptured: 1000 },
    actual: { amountCaptured: 999 },
  });
  expect(compare(ledger('z', { debited: 100 }), record('z', { amountRefunded: 101 }))?.kind).toBe(
    'amount_mismatch',
  );
  expect(compare(ledger('z'), record('z', { currency: 'EUR' }))?.kind).toBe('amount_mismatch');
});

test('a refund or capture one side lacks is status_mismatch', () => {
  expect(compare(ledger('s'), record('s', { amountRefunded: 1000 }))).toMatchObject({
    kind: 'status_mismatch',
    expected: { status: 'captured' },
    actual: { status: 'refunded' },
  });
  expect(compare(ledger('s'), record('s', { amountCaptured: 0 }))?.kind).toBe('status_mismatch');
});

test('window rules: other windows and money-less records are skipped', () => {
  // A provider record the ledger holds in another window is that window's.
  expect(judgeRecord(window, record('o'), ledger('o', { createdAt: '2030-01-02T00:00:00.000Z' }))).toEqual({
    outcome: 'skipped',
  });
  // Unknown to the ledger: only if created in the window and it took money.
  expect(judgeRecord(window, record('o', { createdAt: '2029-12-31T23:59:59.999Z' }), undefined)).toEqual({
    outcome: 'skipped',
  });
  expect(judgeRecord(window, record('o', { amountCaptured: 0 }), undefined)).toEqual({ outcome: 'skipped' });
  // The ledger's own time decides, whatever the provider's clock says.
  expect(
    judgeRecord(window, record('o', { createdAt: '2030-01-02T00:00:01.000Z' }), ledger('o')).outcome,
  ).toBe('matched');
});

test('status vocabulary and requested windows', () => {
  expect([moneyStatus(0, 0), moneyStatus(5, 0), moneyStatus(5, 2), moneyStatus(5, 5)]).toEqual([
    'uncaptured',
    'captured',
    'partially_refunded',
    'refunded',
  ]);
  expect(windowProblem(window, 31)).toBeUndefined();
  expect(windowProblem({ from: window.to, to: window.from }, 31)).toMatch(/before/);
  expect(windowProblem({ from: window.from, to: window.from }, 31)).toMatch(/before/);
  expect(windowProblem({ from: '2030-01-01T00:00:00Z', to: '2030-03-01T00:00:00Z' }, 31)).toMatch(/31 days/);
  expect(windowProblem({ from: 'yesterday', to: window.to }, 31)).toMatch(/RFC 3339/);
  expect(windowProblem({ from: '0000-01-01T00:00:00Z', to: '0000-01-02T00:00:00Z' }, 31)).toMatch(/1970/);
});

describe('provider fees', () => {
  const feeLines = (n: number) => [
    { account: 'fees', amount: n },
    { account: 'receivable_from_provider', amount: -n },
  ];

  test('a matched record stating a fee yields one provider_fee entry for the difference', () => {
    const byRef = new Map([
      ['ref_a', ledger('a')],
      ['ref_b', ledger('b', { fees: 59, feeEntries: 1 })],
      ['ref_c', ledger('c', { fees: 59, feeEntries: 1 })],
      ['ref_d', ledger('d')],
    ]);
    const m = matchPage(
      window,
      [
        record('a', { fee: 59 }), // first fee: posted
        record('b', { fee: 59 }), // already posted: nothing
        record('c', { fee: 50 }), // lower later: the reverse lines for 9
        record('d'), // no fee stated (Braintree): nothing
      ],
      byRef,
      at,
    );
    expect(m.discrepancies).toEqual([]);
    expect(m.fees).toEqual([
      {
        id: 'je_af1',
        stepKey: 'fee:pay_a:1',
        clientId: 'cli_merchant1',
        paymentId: 'pay_a',
        kind: 'provider_fee',
        currency: 'USD',
        lines: feeLines(59),
        createdAt: at,
      },
      expect.objectContaining({ stepKey: 'fee:pay_c:2', lines: feeLines(-9) }),
    ]);
  });

  test('a fee is never a discrepancy, and a discrepant record still posts its fee', () => {
    expect(compare(ledger('f', { fees: 59, feeEntries: 1 }), record('f', { fee: 61 }))).toBeUndefined();
    const m = matchPage(
      window,
      [record('g', { amountCaptured: 999, fee: 59 })],
      new Map([['ref_g', ledger('g')]]),
      at,
    );
    expect(m.discrepancies.map((d) => d.kind)).toEqual(['amount_mismatch']);
    expect(m.fees.map((f) => f.stepKey)).toEqual(['fee:pay_g:1']);
  });

  test('no fee for records this run does not compare, unknown to the ledger, or in another currency', () => {
    const m = matchPage(
      window,
      [
        record('o', { fee: 59 }), // the ledger's payment is another window's
        record('u', { fee: 59 }), // unknown to the ledger (missing_in_ledger)
        record('e', { fee: 59, currency: 'EUR' }), // the ledger holds it in USD
      ],
      new Map([
        ['ref_o', ledger('o', { createdAt: '2030-01-02T00:00:00.000Z' })],
        ['ref_e', ledger('e')],
      ]),
      at,
    );
    expect(m.fees).toEqual([]);
    expect(m.discrepancies.map((d) => d.kind).sort()).toEqual(['amount_mismatch', 'missing_in_ledger']);
  });
});

describe("the record sources' fees", () => {
  test('sandbox price list: 2.9% of the captured amount rounded half up, + 30; nothing captured, no fee', () => {
    // 1000 -> 29.0; 1500 -> 43.5 (half: up); 1517 -> 43.993; 17 -> 0.493 (down).
    expect([1000, 1500, 1517, 17, 0].map(sandboxFee)).toEqual([59, 74, 74, 30, 0]);
  });

  const pi = (charge: unknown, currency = 'usd') =>
    ({ id: 'pi_1', currency, latest_charge: charge }) as unknown as Stripe.PaymentIntent;
  const bt = (fee: number, currency = 'usd') => ({ object: 'balance_transaction', fee, currency });

  test("Stripe: the captured charge's balance transaction fee, only when it is known and in the payment's currency", () => {
    expect(stripeFee(pi({ captured: true, balance_transaction: bt(65) }))).toBe(65);
    expect(stripeFee(pi({ captured: true, balance_transaction: bt(65) }, 'jpy'))).toBeUndefined();
    expect(stripeFee(pi({ captured: true, balance_transaction: bt(65, 'eur') }))).toBeUndefined();
    expect(stripeFee(pi({ captured: false, balance_transaction: bt(65) }))).toBeUndefined();
    expect(stripeFee(pi({ captured: true, balance_transaction: 'txn_1' }))).toBeUndefined(); // not expanded
    expect(stripeFee(pi('ch_1'))).toBeUndefined();
    expect(stripeFee(pi(null))).toBeUndefined();
  });
});
