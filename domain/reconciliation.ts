/**
 * Reconciliation: the ledger compared with a provider's own records (API.md "Ledger and
 * reconciliation"). Pure: the matching rule, the one status vocabulary both sides are mapped onto,
 * and the discrepancy objects of the contract. The I/O around it (db/reconciliation-repo.ts, the
 * record sources in activities/providers/<name>/records.ts) streams page by page; nothing here holds
 * a whole window.
 *
 * Which records a run over [from, to) compares (times are the payment's creation, i.e. its
 * authorization, on both sides, the one timestamp every provider lets us filter on):
 *   ledger side    payments of that provider created in [from, to) whose journal entries took money
 *                  (merchant_balance credited > 0);
 *   provider side  the provider's transactions created in [from - SLACK, to + SLACK) (the provider's
 *                  clock and ours differ by the authorization's round trip). A provider record whose
 *                  reference the ledger knows belongs to the window its LEDGER payment falls in; one the
 *                  ledger does not know counts only if the provider created it in [from, to) and it
 *                  took money.
 * Amounts are the money as of the run: captured = credits to merchant_balance (captures, opening
 * balances), refunded = its debits (refunds), both in the payment's currency, from the journal lines.
 *
 * Matching by provider reference, then:
 *   no provider record for a ledger payment with money  -> missing_at_provider (expected = ledger)
 *   a provider record with money, no ledger payment     -> missing_in_ledger   (actual = provider)
 *   statuses differ (vocabulary below)                  -> status_mismatch     (both sides)
 *   same status, captured/refunded amount or currency differ -> amount_mismatch (both sides)
 * `expected` is always what the ledger holds, `actual` what the provider reports, each
 * { status, currency, amountCaptured, amountRefunded }: statuses and minor units, never card data.
 * Fees never make a discrepancy: they move `fees` and `receivable_from_provider`, not the
 * merchant_balance the amounts are read from.
 *
 * Provider fees: a record this run compares (not skipped) that matches a ledger payment by reference
 * and states a fee (`fee`, the provider's total for the payment) in the payment's currency yields one
 * provider_fee entry for the difference from the fees the ledger already holds for it
 * (domain/ledger.ts feeEntry), stored with the page's results in one transaction.
 *
 * Status vocabulary (derived from the amounts on both sides, so the two cannot disagree about what a
 * word means): `uncaptured` (no money taken: authorized, voided, declined, expired), `captured`,
 * `partially_refunded`, `refunded`.
 */

import { feeEntry, type JournalEntryDraft } from './ledger';

/** How far apart the provider's creation time and ours may be for one payment. */
export const WINDOW_SLACK_MS = 15 * 60_000;

export const RECONCILIATION_STATUSES = ['running', 'matched', 'discrepancies', 'failed'] as const;
export type ReconciliationStatus = (typeof RECONCILIATION_STATUSES)[number];

export const DISCREPANCY_KINDS = [
  'missing_at_provider',
  'missing_in_ledger',
  'amount_mismatch',
  'status_mismatch',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

export const MONEY_STATUSES = ['uncaptured', 'captured', 'partially_refunded', 'refunded'] as const;
export type MoneyStatus = (typeof MONEY_STATUSES)[number];

/** One side's view of a payment's money (the `expected`/`actual` of a discrepancy). */
export interface MoneyFacts {
  status: MoneyStatus;
  currency: string;
  amountCaptured: number;
  amountRefunded: number;
}

/** A payment as the provider's records report it (no card data: amounts, status, ids, time). */
export interface ProviderRecord {
  providerReference: string;
  /** Our payment id, when the provider echoes it (metadata, orderId). */
  paymentId?: string | undefined;
  currency: string;
  amountCaptured: number;
  amountRefunded: number;
  /** The provider's total fee for this payment (minor units), when its records state one. */
  fee?: number | undefined;
  /** When the provider created the transaction (RFC 3339). */
  createdAt: string;
}

/** A payment as the ledger holds it: the projection's link to the provider, the journal's money. */
export interface LedgerRecord {
  paymentId: string;
  clientId: string;
  providerReference: string | null;
  currency: string;
  /** The payment's creation time: decides its window. */
  createdAt: string;
  /** Credits to merchant_balance (captures). */
  credited: number;
  /** Debits to merchant_balance (refunds). */
  debited: number;
  /** Sum of the payment's `fees` lines: the provider fees posted so far. */
  fees: number;
  /** How many provider_fee entries the payment has (the next one's key follows). */
  feeEntries: number;
}

/** The contract's discrepancy object, plus the merchant it concerns (for its event; never shown). */
export interface Discrepancy {
  kind: DiscrepancyKind;
  paymentId?: string | undefined;
  providerReference?: string | undefined;
  expected?: MoneyFacts | undefined;
  actual?: MoneyFacts | undefined;
  clientId?: string | undefined;
}

export interface Window {
  from: string;
  to: string;
}

export function moneyStatus(captured: number, refunded: number): MoneyStatus {
  if (captured <= 0) return 'uncaptured';
  if (refunded <= 0) return 'captured';
  return refunded >= captured ? 'refunded' : 'partially_refunded';
}

export function ledgerFacts(l: LedgerRecord): MoneyFacts {
  return {
    status: moneyStatus(l.credited, l.debited),
    currency: l.currency.toUpperCase(),
    amountCaptured: l.credited,
    amountRefunded: l.debited,
  };
}

export function providerFacts(p: ProviderRecord): MoneyFacts {
  return {
    status: moneyStatus(p.amountCaptured, p.amountRefunded),
    currency: p.currency.toUpperCase(),
    amountCaptured: p.amountCaptured,
    amountRefunded: p.amountRefunded,
  };
}

const inWindow = (at: string, w: Window, slackMs = 0): boolean => {
  const t = Date.parse(at);
  return t >= Date.parse(w.from) - slackMs && t < Date.parse(w.to) + slackMs;
};

/** The window the provider's records are fetched for (wider than the run's by the slack). */
export function providerFetchWindow(w: Window): Window {
  return {
    from: new Date(Date.parse(w.from) - WINDOW_SLACK_MS).toISOString(),
    to: new Date(Date.parse(w.to) + WINDOW_SLACK_MS).toISOString(),
  };
}

/** Both sides of one payment: none, or the one discrepancy they show. */
export function compare(ledger: LedgerRecord, provider: ProviderRecord): Discrepancy | undefined {
  const expected = ledgerFacts(ledger);
  const actual = providerFacts(provider);
  const base = {
    paymentId: ledger.paymentId,
    providerReference: provider.providerReference,
    expected,
    actual,
    clientId: ledger.clientId,
  };
  if (expected.status !== actual.status) return { kind: 'status_mismatch', ...base };
  if (
    expected.currency !== actual.currency ||
    expected.amountCaptured !== actual.amountCaptured ||
    expected.amountRefunded !== actual.amountRefunded
  )
    return { kind: 'amount_mismatch', ...base };
  return undefined;
}

/** What one provider record means for a run over `w`, given the ledger's payment with its reference. */
export type RecordVerdict =
  | { outcome: 'matched'; paymentId: string }
  | { outcome: 'discrepancy'; paymentId?: string | undefined; discrepancy: Discrepancy }
  /** Another window's, or no money on either side: not this run's business. */
  | { outcome: 'skipped' };

export function judgeRecord(
  w: Window,
  provider: ProviderRecord,
  ledger: LedgerRecord | undefined,
): RecordVerdict {
  if (!ledger) {
    if (!inWindow(provider.createdAt, w) || provider.amountCaptured <= 0) return { outcome: 'skipped' };
    return {
      outcome: 'discrepancy',
      discrepancy: {
        kind: 'missing_in_ledger',
        providerReference: provider.providerReference,
        ...(provider.paymentId ? { paymentId: provider.paymentId } : {}),
        actual: providerFacts(provider),
      },
    };
  }
  if (!inWindow(ledger.createdAt, w)) return { outcome: 'skipped' };
  const d = compare(ledger, provider);
  return d
    ? { outcome: 'discrepancy', paymentId: ledger.paymentId, discrepancy: d }
    : { outcome: 'matched', paymentId: ledger.paymentId };
}

/** The fee entry a compared record yields for its ledger payment (none: no fee stated, or no change). */
export function feePosting(
  provider: ProviderRecord,
  ledger: LedgerRecord,
  at: string,
): JournalEntryDraft | undefined {
  if (provider.fee === undefined) return undefined;
  if (provider.currency.toUpperCase() !== ledger.currency.toUpperCase()) return undefined;
  return feeEntry({
    clientId: ledger.clientId,
    paymentId: ledger.paymentId,
    currency: ledger.currency,
    feesPosted: ledger.fees,
    feeEntries: ledger.feeEntries,
    fee: provider.fee,
    at,
  });
}

/** A ledger payment with money in the window that no provider record matched. */
export function missingAtProvider(ledger: LedgerRecord): Discrepancy {
  return {
    kind: 'missing_at_provider',
    paymentId: ledger.paymentId,
    ...(ledger.providerReference ? { providerReference: ledger.providerReference } : {}),
    expected: ledgerFacts(ledger),
    clientId: ledger.clientId,
  };
}

/**
 * Match one page of provider records against the ledger payments their references name. Returns the
 * discrepancies, the payments seen (matched or not), so the caller can store both and later list
 * the ledger payments no page saw (missing_at_provider), and the fee entries the page's records call
 * for (dated `at`). Memory: one page.
 */
export function matchPage(
  w: Window,
  records: ReadonlyArray<ProviderRecord>,
  ledgerByReference: ReadonlyMap<string, LedgerRecord>,
  at: string,
): { discrepancies: Discrepancy[]; seen: string[]; checked: number; fees: JournalEntryDraft[] } {
  const discrepancies: Discrepancy[] = [];
  const seen: string[] = [];
  const fees: JournalEntryDraft[] = [];
  let checked = 0;
  for (const r of records) {
    const ledger = ledgerByReference.get(r.providerReference);
    const v = judgeRecord(w, r, ledger);
    if (v.outcome === 'skipped') continue;
    checked++;
    if (v.outcome === 'matched') seen.push(v.paymentId);
    else {
      if (v.paymentId) seen.push(v.paymentId);
      discrepancies.push(v.discrepancy);
    }
    const fee = ledger && feePosting(r, ledger, at);
    if (fee) fees.push(fee);
  }
  return { discrepancies, seen, checked, fees };
}

/** A run's status once every page and the ledger's remainder are done. */
export const finalStatus = (discrepancies: number): ReconciliationStatus =>
  discrepancies > 0 ? 'discrepancies' : 'matched';

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31);

/** Why a requested window is refused (undefined: fine). */
export function windowProblem(w: { from: string; to: string }, maxDays: number): string | undefined {
  const from = Date.parse(w.from);
  const to = Date.parse(w.to);
  if (Number.isNaN(from) || Number.isNaN(to)) return 'from and to must be RFC 3339 times';
  // PostgreSQL has no year 0 and JavaScript dates stop at 275760: keep to years the books can hold.
  if (from < EARLIEST || to > LATEST) return 'from and to must be between 1970 and 9999';
  if (from >= to) return 'from must be before to';
  if (to - from > maxDays * 86_400_000) return `the window must be at most ${maxDays} days`;
  return undefined;
}

/** The key a stored discrepancy is unique by within a run (a retried page stores it once). */
export const discrepancyKey = (d: Discrepancy): string =>
  `${d.kind}:${d.paymentId ?? ''}:${d.providerReference ?? ''}`;
