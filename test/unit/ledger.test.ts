/**
 * domain/ledger.ts: each payment transition of domain/payment-state.ts posts exactly these lines,
 * every entry balances, ids and step keys derive from the step (a replay computes the same), and
 * the per-payment rule the verifier applies holds after every path and fails on a wrong ledger.
 */
import {
  entryTotal,
  feeEntry,
  paymentLedgerProblems,
  stepEntries,
  type JournalEntryDraft,
  type LedgerFacts,
  type LedgerLine,
  type StepContext,
} from '../../domain/ledger';
import { transition, type Amounts, type Operation } from '../../domain/payment-state';

const ctx = (version: number): StepContext => ({
  clientId: 'cli_ledgertest',
  paymentId: 'pay_abcdefgh12',
  currency: 'USD',
  version,
  at: '2026-12-05T10:00:00.000Z',
});

type State = Amounts & LedgerFacts;
const start = (amount: number): State => ({
  status: 'processing',
  amount,
  amountCapturable: 0,
  amountCaptured: 0,
  amountRefunded: 0,
  refunds: [],
});

function step(s: State, op: Operation, refund?: { id: string; status: string }): State {
  const t = transition(s, op);
  if (!t.ok) throw new Error(t.rejection.message);
  return refund ? { ...t.next, refunds: [...s.refunds, { ...refund, amount: t.amount }] } : t.next;
}

const lines = (es: JournalEntryDraft[]) => es.map((e) => [e.kind, e.lines.map((l) => [l.account, l.amount])]);

const authorized = step(start(1000), { kind: 'authorized', capture: 'manual' });
const partly = step(authorized, { kind: 'capture', amount: 300 });
const full = step(authorized, { kind: 'capture' });

test.each<[string, State, State, unknown]>([
  [
    'authorization (manual): the hold',
    start(1000),
    authorized,
    [
      [
        'authorization',
        [
          ['authorized_holds', 1000],
          ['merchant_pending', -1000],
        ],
      ],
    ],
  ],
  [
    'authorization (automatic): a capture without a hold',
    start(1000),
    step(start(1000), { kind: 'authorized', capture: 'automatic' }),
    [
      [
        'capture',
        [
          ['receivable_from_provider', 1000],
          ['merchant_balance', -1000],
        ],
      ],
    ],
  ],
  ['decline: no money moves', start(1000), step(start(1000), { kind: 'declined' }), []],
  ['failure: no money moves', start(1000), step(start(1000), { kind: 'failed' }), []],
  [
    'partial capture: receivable, and the captured part of the hold released',
    authorized,
    partly,
    [
      [
        'capture',
        [
          ['receivable_from_provider', 300],
          ['merchant_balance', -300],
          ['merchant_pending', 300],
          ['authorized_holds', -300],
        ],
      ],
    ],
  ],
  [
    'full capture: the whole hold becomes receivable',
    authorized,
    full,
    [
      [
        'capture',
        [
          ['receivable_from_provider', 1000],
          ['merchant_balance', -1000],
          ['merchant_pending', 1000],
          ['authorized_holds', -1000],
        ],
      ],
    ],
  ],
  [
    'final partial capture: the capture, then the release of the rest',
    partly,
    step(partly, { kind: 'capture', amount: 200, final: true }),
    [
      [
        'capture',
        [
          ['receivable_from_provider', 200],
          ['merchant_balance', -200],
          ['merchant_pending', 200],
          ['authorized_holds', -200],
        ],
      ],
      [
        'hold_release',
        [
          ['merchant_pending', 500],
          ['authorized_holds', -500],
        ],
      ],
    ],
  ],
  [
    'void: the whole hold released',
    authorized,
    step(authorized, { kind: 'void' }),
    [
      [
        'hold_release',
        [
          ['merchant_pending', 1000],
          ['authorized_holds', -1000],
        ],
      ],
    ],
  ],
  [
    'expiry after a partial capture: the rest released',
    partly,
    step(partly, { kind: 'expire' }),
    [
      [
        'hold_release',
        [
          ['merchant_pending', 700],
          ['authorized_holds', -700],
        ],
      ],
    ],
  ],
  [
    'refund that succeeded: the merchant pays it through refunds payable, the provider from the receivable',
    full,
    step(full, { kind: 'refund', amount: 400 }, { id: 're_abcdefgh12', status: 'succeeded' }),
    [
      [
        'refund',
        [
          ['merchant_balance', 400],
          ['refunds_payable', -400],
          ['refunds_payable', 400],
          ['receivable_from_provider', -400],
        ],
      ],
    ],
  ],
  [
    'refund still pending at the provider: it stays payable',
    full,
    step(full, { kind: 'refund', amount: 400 }, { id: 're_abcdefgh12', status: 'pending' }),
    [
      [
        'refund',
        [
          ['merchant_balance', 400],
          ['refunds_payable', -400],
        ],
      ],
    ],
  ],
])('%s', (_name, before, after, expected) => {
  const es = stepEntries(ctx(3), before, after);
  expect(lines(es)).toEqual(expected);
  for (const e of es) {
    expect(entryTotal(e)).toBe(0);
    expect(e.id).toMatch(/^je_[0-9A-Za-z]{8,64}$/);
  }
});

test('ids and step keys derive from the step: the same step computes the same entries, another step others', () => {
  const a = stepEntries(ctx(4), partly, step(partly, { kind: 'capture', amount: 200, final: true }));
  const b = stepEntries(ctx(4), partly, step(partly, { kind: 'capture', amount: 200, final: true }));
  expect(b).toEqual(a);
  expect(a.map((e) => [e.id, e.stepKey])).toEqual([
    ['je_abcdefgh12v4c', 'payment:pay_abcdefgh12:v4:capture'],
    ['je_abcdefgh12v4h', 'payment:pay_abcdefgh12:v4:hold_release'],
  ]);
  const r = stepEntries(
    ctx(5),
    full,
    step(full, { kind: 'refund' }, { id: 're_zyxwvuts98', status: 'succeeded' }),
  );
  // A refund is keyed by its own id, whatever version carried it.
  expect(r.map((e) => [e.id, e.stepKey])).toEqual([['je_zyxwvuts98r', 'refund:re_zyxwvuts98']]);
  expect(new Set([...a, ...r].map((e) => e.id)).size).toBe(3);
});

test('a payment running before the ledger posts its opening balance with its first step', () => {
  const refunded = step(
    partly,
    { kind: 'refund', amount: 100 },
    { id: 're_openopen12', status: 'succeeded' },
  );
  const next = step(refunded, { kind: 'capture', amount: 50 });
  const es = stepEntries(ctx(7), refunded, next, { opening: true });
  expect(es.map((e) => [e.kind, e.id, e.stepKey])).toEqual([
    ['opening_balance', 'je_abcdefgh12o', 'payment:pay_abcdefgh12:opening'],
    ['capture', 'je_abcdefgh12v7c', 'payment:pay_abcdefgh12:v7:capture'],
  ]);
  expect(entryTotal(es[0]!)).toBe(0);
  const all = es.flatMap((e) => e.lines);
  expect(
    paymentLedgerProblems(all, {
      amountCapturable: 650,
      amountCaptured: 350,
      amountRefunded: 100,
      refundsPending: 0,
    }),
  ).toEqual([]);
  // Nothing held yet: no opening entry.
  expect(stepEntries(ctx(2), start(10), authorized, { opening: true }).map((e) => e.kind)).toEqual([
    'authorization',
  ]);
});

test('the verifier rule holds along a whole lifecycle and names what a wrong ledger gets wrong', () => {
  const path: Array<[Operation, { id: string; status: string }?]> = [
    [{ kind: 'authorized', capture: 'manual' }],
    [{ kind: 'capture', amount: 300 }],
    [
      { kind: 'refund', amount: 100 },
      { id: 're_lifecycle1', status: 'succeeded' },
    ],
    [{ kind: 'capture', amount: 200 }],
    [{ kind: 'expire' }],
    [
      { kind: 'refund', amount: 50 },
      { id: 're_lifecycle2', status: 'pending' },
    ],
  ];
  let s = start(1000);
  const posted: JournalEntryDraft[] = [];
  for (const [i, [op, refund]] of path.entries()) {
    const next = step(s, op, refund);
    posted.push(...stepEntries(ctx(i + 2), s, next));
    s = next;
    expect(
      paymentLedgerProblems(
        posted.flatMap((e) => e.lines),
        {
          amountCapturable: s.amountCapturable,
          amountCaptured: s.amountCaptured,
          amountRefunded: s.amountRefunded,
          refundsPending: s.refunds.filter((r) => r.status !== 'succeeded').reduce((a, r) => a + r.amount, 0),
        },
      ),
    ).toEqual([]);
  }
  expect(s).toMatchObject({ amountCapturable: 0, amountCaptured: 500, amountRefunded: 150 });
  // The same ledger against a payment that shows one minor unit more captured.
  expect(
    paymentLedgerProblems(
      posted.flatMap((e) => e.lines),
      { amountCapturable: 0, amountCaptured: 501, amountRefunded: 150, refundsPending: 50 },
    ),
  ).toEqual([
    'merchant_balance credits (amountCaptured): ledger 500, expected 501',
    'receivable_from_provider (amountCaptured - amountRefunded + pending refunds - amountDisputed): ledger 400, expected 401',
  ]);
});

describe('provider fees', () => {
  // A captured 1000, refunded 100 (succeeded), then a provider fee of 59 posted by reconciliation.
  const captured: LedgerLine[] = [
    { account: 'receivable_from_provider', amount: 1000 },
    { account: 'merchant_balance', amount: -1000 },
    { account: 'merchant_balance', amount: 100 },
    { account: 'refunds_payable', amount: -100 },
    { account: 'refunds_payable', amount: 100 },
    { account: 'receivable_from_provider', amount: -100 },
  ];
  const figures = { amountCapturable: 0, amountCaptured: 1000, amountRefunded: 100, refundsPending: 0 };
  const fee = (amount: number): LedgerLine[] => [
    { account: 'fees', amount },
    { account: 'receivable_from_provider', amount: -amount },
  ];

  test('the verifier takes the fees posted off what the provider owes', () => {
    expect(paymentLedgerProblems([...captured, ...fee(59)], figures)).toEqual([]);
    // A lower fee later: the reverse lines bring fees and receivable back.
    expect(paymentLedgerProblems([...captured, ...fee(59), ...fee(-9)], figures)).toEqual([]);
  });

  test('a fee taken off the receivable without its expense line is named', () => {
    const lines = [...captured, { account: 'receivable_from_provider' as const, amount: -59 }];
    expect(paymentLedgerProblems(lines, figures)).toEqual([
      'receivable_from_provider (amountCaptured - amountRefunded + pending refunds - amountDisputed): ledger 841, expected 900',
    ]);
  });

  const change = {
    clientId: 'cli_ledgertest',
    paymentId: 'pay_abcdefgh12',
    currency: 'USD',
    at: '2026-12-05T10:00:00.000Z',
  };

  test('feeEntry: Dr fees / Cr receivable for the change, keyed by the payment and its sequence', () => {
    const first = feeEntry({ ...change, feesPosted: 0, feeEntries: 0, fee: 59 })!;
    expect(first).toEqual({
      id: 'je_abcdefgh12f1',
      stepKey: 'fee:pay_abcdefgh12:1',
      clientId: 'cli_ledgertest',
      paymentId: 'pay_abcdefgh12',
      kind: 'provider_fee',
      currency: 'USD',
      lines: fee(59),
      createdAt: change.at,
    });
    expect(entryTotal(first)).toBe(0);
    // The same fee again: nothing. A lower fee later: the reverse lines, the next key.
    expect(feeEntry({ ...change, feesPosted: 59, feeEntries: 1, fee: 59 })).toBeUndefined();
    const lower = feeEntry({ ...change, feesPosted: 59, feeEntries: 1, fee: 50 })!;
    expect(lower).toMatchObject({ id: 'je_abcdefgh12f2', stepKey: 'fee:pay_abcdefgh12:2', lines: fee(-9) });
    // Back to an earlier total still posts (its key is the sequence, not the total).
    expect(feeEntry({ ...change, feesPosted: 50, feeEntries: 2, fee: 59 })).toMatchObject({
      stepKey: 'fee:pay_abcdefgh12:3',
      lines: fee(9),
    });
    expect(paymentLedgerProblems([...captured, ...first.lines, ...lower.lines], figures)).toEqual([]);
  });

  test('feeEntry posts nothing for a fee that is not a minor-unit amount >= 0', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(feeEntry({ ...change, feesPosted: 0, feeEntries: 0, fee: bad })).toBeUndefined();
  });

  test("a payment's fees account is never negative", () => {
    expect(paymentLedgerProblems([...captured, ...fee(-5)], figures)).toEqual([
      'fees (never negative): ledger -5',
    ]);
  });
});
