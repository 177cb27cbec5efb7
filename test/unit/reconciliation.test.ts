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
  );
  expect(m.discrepancies).toEqual([]);
  expect(m.seen.sort()).toEqual(['pay_a', 'pay_b', 'pay_c']);
  expect(m.checked).toBe(3);
});

test('a capture only at the provider is missing_in_ledger, with the provider side as actual', () => {
  const m = matchPage(window, [record('x', { paymentId: 'pay_x' })], new Map());
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
