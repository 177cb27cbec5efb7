/**
 * The double-entry ledger's chart of accounts and the journal entries a payment step posts. Pure, so
 * the payment workflow (which computes the drafts from the state before and after each step and
 * commits them with the step's projection), the verifier and the tests share one rule.
 *
 * Accounts: one per (merchant = client id, currency, kind). Amounts are signed minor units, a DEBIT
 * positive and a CREDIT negative; the lines of every entry sum to 0 (the database refuses anything
 * else, db/migrations/20261205030000_ledger.sql).
 *
 *   authorized_holds          asset (memo)  cardholder funds reserved by an authorization, not captured
 *   merchant_pending          liability     the merchant's side of those holds (pending balance)
 *   receivable_from_provider  asset         captured money the provider owes us until it settles
 *   merchant_balance          liability     what we owe the merchant: captured minus refunded
 *   refunds_payable           liability     refunds owed to cardholders that the provider has not paid
 *   disputed                  asset/contra  funds a dispute withdrew (dispute withdrawal/reinstatement)
 *   fees                      expense       provider fees, when a provider reports them
 *
 * Movements (Dr = debit, Cr = credit):
 *   authorization (manual)    Dr authorized_holds        Cr merchant_pending          the amount held
 *   capture C                 Dr receivable_from_provider Cr merchant_balance         C
 *                             Dr merchant_pending        Cr authorized_holds          the part of C that was held
 *   hold release (void, expiry, final capture of less than the hold)
 *                             Dr merchant_pending        Cr authorized_holds          the rest of the hold
 *   refund R                  Dr merchant_balance        Cr refunds_payable           R
 *                             Dr refunds_payable         Cr receivable_from_provider  R, when the provider
 *                                                        says it succeeded (a pending refund stays payable)
 *   opening balance           a payment that was already running when the ledger started posts, on its
 *                             first step since, one entry bringing its accounts to the state it had.
 *                             Payments still on the legacy write path (workflows/payment-legacy.ts,
 *                             three activities per step) post nothing until a continue-as-new moves
 *                             them onto the one-step path, whose first step opens their ledger.
 *   dispute withdrawal D      Dr disputed                Cr receivable_from_provider  what the dispute took
 *   dispute reinstatement     Dr receivable_from_provider Cr disputed                 exactly what it took
 *   provider fee F            Dr fees                    Cr receivable_from_provider  the change in the
 *                             provider's total fee for the payment (a lower fee later: the reverse
 *                             lines), posted by reconciliation when a provider record states it
 *                             (feeEntry; docs/reconciliation.md "Provider fees")
 * An automatic capture is a capture without a hold. Declines and failures move no money.
 *
 * So, per payment: authorized_holds = amountCapturable = -merchant_pending; the credits to
 * merchant_balance sum to amountCaptured and its debits to amountRefunded; receivable_from_provider +
 * refunds_payable = amountCaptured - amountRefunded - amountDisputed - fees; disputed = amountDisputed;
 * fees >= 0 (the provider's latest stated total). `cli ledger verify` checks exactly this.
 *
 * Each entry is keyed by the workflow step that posts it (payment id + version + kind; a refund by
 * its refund id; a dispute's movements by the dispute id; a fee change by the payment and the count of
 * fee entries before it) and its id derives from that key, so a retried or replayed step never posts
 * twice.
 */

export const LEDGER_ACCOUNTS = [
  'authorized_holds',
  'merchant_pending',
  'receivable_from_provider',
  'merchant_balance',
  'refunds_payable',
  'disputed',
  'fees',
] as const;
export type LedgerAccount = (typeof LEDGER_ACCOUNTS)[number];

export const ENTRY_KINDS = [
  'opening_balance',
  'authorization',
  'capture',
  'hold_release',
  'refund',
  'dispute_withdrawal',
  'dispute_reinstatement',
  'provider_fee',
] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export interface LedgerLine {
  account: LedgerAccount;
  /** Signed minor units: debit > 0, credit < 0, never 0. */
  amount: number;
}

export interface JournalEntryDraft {
  /** `je_...`, derived from `stepKey`. */
  id: string;
  /** Unique per workflow step: the database stores an entry for a key once. */
  stepKey: string;
  clientId: string;
  paymentId?: string | undefined;
  kind: EntryKind;
  currency: string;
  lines: LedgerLine[];
  createdAt: string;
}

/** The money facts of a payment a step moves (a subset of PaymentState). */
export interface LedgerFacts {
  amountCapturable: number;
  amountCaptured: number;
  amountRefunded: number;
  refunds: ReadonlyArray<{ id: string; amount: number; status: string }>;
  /** What each dispute withdrew and whether it was reinstated (absent: none). */
  disputes?: ReadonlyArray<{ disputeId: string; withdrawn: number; reinstated: boolean }> | undefined;
}

export const NO_MONEY: LedgerFacts = {
  amountCapturable: 0,
  amountCaptured: 0,
  amountRefunded: 0,
  refunds: [],
};

export interface StepContext {
  clientId: string;
  paymentId: string;
  currency: string;
  /** The payment's version after the step. */
  version: number;
  /** The step's time (the workflow's updatedAt): deterministic on replay. */
  at: string;
}

const SUFFIX: Readonly<Record<EntryKind, string>> = {
  opening_balance: 'o',
  authorization: 'a',
  capture: 'c',
  hold_release: 'h',
  refund: 'r',
  dispute_withdrawal: 'w',
  dispute_reinstatement: 'i',
  provider_fee: 'f',
};

const body = (id: string) => id.replace(/^[a-z]+_/, '');

/** Dr `debit` / Cr `credit` for `amount` (a negative amount swaps the sides: a reversal). */
const pair = (debit: LedgerAccount, credit: LedgerAccount, amount: number): LedgerLine[] => [
  { account: debit, amount },
  { account: credit, amount: -amount },
];

function paymentEntry(ctx: StepContext, kind: EntryKind, lines: LedgerLine[]): JournalEntryDraft {
  return {
    id: `je_${body(ctx.paymentId)}v${ctx.version}${SUFFIX[kind]}`,
    stepKey: `payment:${ctx.paymentId}:v${ctx.version}:${kind}`,
    clientId: ctx.clientId,
    paymentId: ctx.paymentId,
    kind,
    currency: ctx.currency,
    lines,
    createdAt: ctx.at,
  };
}

function refundLines(amount: number, status: string): LedgerLine[] {
  return [
    ...pair('merchant_balance', 'refunds_payable', amount),
    ...(status === 'succeeded' ? pair('refunds_payable', 'receivable_from_provider', amount) : []),
  ];
}

/** The lines that move a payment's accounts from `before` to `after`, grouped by movement. */
function movements(before: LedgerFacts, after: LedgerFacts): Movement[] {
  const out: Movement[] = [];
  const holdChange = after.amountCapturable - before.amountCapturable;
  const captured = after.amountCaptured - before.amountCaptured;
  // The part of a capture that consumed the hold (an automatic capture had none).
  const fromHold = holdChange < 0 && captured > 0 ? Math.min(captured, -holdChange) : 0;
  if (holdChange > 0)
    out.push({ kind: 'authorization', lines: pair('authorized_holds', 'merchant_pending', holdChange) });
  if (captured !== 0) {
    out.push({
      kind: 'capture',
      lines: [
        ...pair('receivable_from_provider', 'merchant_balance', captured),
        ...(fromHold > 0 ? pair('merchant_pending', 'authorized_holds', fromHold) : []),
      ],
    });
  }
  const released = holdChange < 0 ? -holdChange - fromHold : 0;
  if (released > 0)
    out.push({ kind: 'hold_release', lines: pair('merchant_pending', 'authorized_holds', released) });

  const known = new Set(before.refunds.map((r) => r.id));
  let refunded = after.amountRefunded - before.amountRefunded;
  for (const r of after.refunds) {
    if (known.has(r.id) || r.amount <= 0) continue;
    out.push({ kind: 'refund', lines: refundLines(r.amount, r.status), refundId: r.id });
    refunded -= r.amount;
  }
  // Refunded amounts without a refund record of their own (none today): still posted, by the step.
  if (refunded !== 0) out.push({ kind: 'refund', lines: refundLines(refunded, 'pending') });

  // Each dispute withdraws once and reinstates at most once: keyed by the dispute, not the step.
  const had = new Map((before.disputes ?? []).map((d) => [d.disputeId, d]));
  for (const d of after.disputes ?? []) {
    const b = had.get(d.disputeId);
    if (d.withdrawn <= 0) continue;
    if (!b)
      out.push({
        kind: 'dispute_withdrawal',
        lines: pair('disputed', 'receivable_from_provider', d.withdrawn),
        disputeId: d.disputeId,
      });
    if (d.reinstated && !b?.reinstated)
      out.push({
        kind: 'dispute_reinstatement',
        lines: pair('receivable_from_provider', 'disputed', d.withdrawn),
        disputeId: d.disputeId,
      });
  }
  return out;
}

interface Movement {
  kind: EntryKind;
  lines: LedgerLine[];
  refundId?: string;
  disputeId?: string;
}

/**
 * The journal entries of one payment step: from the payment's facts before the step to after it.
 * `opening`: the payment's ledger has not been posted to yet although it already holds money (it
 * was running before the ledger): one `opening_balance` entry brings it to `before` first.
 */
export function stepEntries(
  ctx: StepContext,
  before: LedgerFacts,
  after: LedgerFacts,
  opts: { opening?: boolean } = {},
): JournalEntryDraft[] {
  const out: JournalEntryDraft[] = [];
  if (opts.opening) {
    const lines = movements(NO_MONEY, before).flatMap((m) => m.lines);
    if (lines.length) {
      out.push({
        ...paymentEntry(ctx, 'opening_balance', lines),
        id: `je_${body(ctx.paymentId)}o`,
        stepKey: `payment:${ctx.paymentId}:opening`,
      });
    }
  }
  for (const m of movements(before, after)) {
    if (m.refundId) {
      out.push({
        ...paymentEntry(ctx, 'refund', m.lines),
        id: `je_${body(m.refundId)}r`,
        stepKey: `refund:${m.refundId}`,
      });
    } else if (m.disputeId) {
      const what = m.kind === 'dispute_withdrawal' ? 'withdrawal' : 'reinstatement';
      out.push({
        ...paymentEntry(ctx, m.kind, m.lines),
        id: `je_${body(m.disputeId)}${SUFFIX[m.kind]}`,
        stepKey: `dispute:${m.disputeId}:${what}`,
      });
    } else {
      out.push(paymentEntry(ctx, m.kind, m.lines));
    }
  }
  return out;
}

/** A payment's fees as the ledger holds them and as its provider now states them. */
export interface FeeChange {
  clientId: string;
  paymentId: string;
  currency: string;
  /** Sum of the payment's `fees` lines so far. */
  feesPosted: number;
  /** How many provider_fee entries the payment has: the next one's key is the count after it. */
  feeEntries: number;
  /** The provider's total fee for the payment (minor units). */
  fee: number;
  at: string;
}

/**
 * The one entry that brings a payment's `fees` account to the provider's total (none when it already
 * shows it, or when the stated fee is not a minor-unit amount >= 0: nothing posts a poison value).
 * Keyed by the payment and the entry's sequence number, not by the new total: two runs that read the
 * same ledger post one entry between them (the second's key is taken), and a fee that goes back to an
 * earlier total (100, 120, 100) still gets its entry.
 */
export function feeEntry(c: FeeChange): JournalEntryDraft | undefined {
  if (!Number.isSafeInteger(c.fee) || c.fee < 0) return undefined;
  const change = c.fee - c.feesPosted;
  if (change === 0) return undefined;
  const n = c.feeEntries + 1;
  return {
    id: `je_${body(c.paymentId)}f${n}`,
    stepKey: `fee:${c.paymentId}:${n}`,
    clientId: c.clientId,
    paymentId: c.paymentId,
    kind: 'provider_fee',
    currency: c.currency,
    lines: pair('fees', 'receivable_from_provider', change),
    createdAt: c.at,
  };
}

/** Sum of an entry's lines (0 for a balanced entry). */
export const entryTotal = (e: Pick<JournalEntryDraft, 'lines'>): number =>
  e.lines.reduce((sum, l) => sum + l.amount, 0);

/** What a payment's ledger accounts must show for its amounts (the verifier's per-payment rule). */
export interface PaymentLedgerFigures {
  amountCapturable: number;
  amountCaptured: number;
  amountRefunded: number;
  /** Refunds not (yet) paid by the provider. */
  refundsPending: number;
  /** Funds disputes withdrew (absent: none). */
  amountDisputed?: number | undefined;
}

/** Balances per account and the merchant_balance credits/debits of one payment's lines. */
export function paymentFigures(lines: ReadonlyArray<LedgerLine>): {
  balances: Record<LedgerAccount, number>;
  credited: number;
  debited: number;
} {
  const balances = Object.fromEntries(LEDGER_ACCOUNTS.map((a) => [a, 0])) as Record<LedgerAccount, number>;
  let credited = 0;
  let debited = 0;
  for (const l of lines) {
    balances[l.account] += l.amount;
    if (l.account === 'merchant_balance') {
      if (l.amount < 0) credited -= l.amount;
      else debited += l.amount;
    }
  }
  return { balances, credited, debited };
}

/** Where a payment's ledger disagrees with its amounts: one message per difference (none = agrees). */
export function paymentLedgerProblems(
  lines: ReadonlyArray<LedgerLine>,
  want: PaymentLedgerFigures,
): string[] {
  const { balances: b, credited, debited } = paymentFigures(lines);
  const disputed = want.amountDisputed ?? 0;
  // Fees are the ledger's own record of what the provider kept (no payment column holds them).
  const fees = b.fees;
  const checks: Array<[string, number, number]> = [
    ['authorized_holds (amountCapturable)', b.authorized_holds, want.amountCapturable],
    ['merchant_pending (-amountCapturable)', b.merchant_pending, -want.amountCapturable],
    ['merchant_balance credits (amountCaptured)', credited, want.amountCaptured],
    ['merchant_balance debits (amountRefunded)', debited, want.amountRefunded],
    [
      `receivable_from_provider (amountCaptured - amountRefunded + pending refunds - amountDisputed${fees ? ' - fees' : ''})`,
      b.receivable_from_provider,
      want.amountCaptured - want.amountRefunded + want.refundsPending - disputed - fees,
    ],
    ['refunds_payable (-pending refunds)', b.refunds_payable, -want.refundsPending],
    ['disputed (amountDisputed)', b.disputed, disputed],
  ];
  return [
    ...checks
      .filter(([, got, exp]) => got !== exp)
      .map(([what, got, exp]) => `${what}: ledger ${got}, expected ${exp}`),
    ...(fees < 0 ? [`fees (never negative): ledger ${fees}`] : []),
  ];
}
