/**
 * In-memory Braintree transaction state for the local gateway emulator, with the gateway's state rules
 * and the sandbox amount triggers. Amounts are integers in the merchant account currency's minor unit;
 * wire amounts are parsed and formatted here with BigInt string arithmetic, independently of
 * domain/money.ts (so the adapter's conversion is checked against a second implementation).
 *
 * Sandbox semantics reproduced (Braintree "Testing" reference):
 *   amount 2000.00-2999.99  -> processor_declined, processor response code = the whole amount (2001 ->
 *                              "Insufficient Funds"), HTTP success with an api-error-response
 *   amount 3000.00-3000.99  -> status `failed`, code 3000 "Processor Network Unavailable - Try Again"
 *   card 4000111111111115   -> processor_declined 2000 "Do Not Honor"
 *
 * Settlement: real Braintree settles submitted transactions in a daily batch, and refuses to refund
 * before that (91506). With `settleOnSubmit` (default true) a submitted transaction, sale or refund,
 * settles at once, so a refund right after a capture works; with it false the transaction stays
 * `submitted_for_settlement` until settle(id) (also reachable through the SDK's testing gateway).
 */
import { randomBytes } from 'node:crypto';

export interface StatusEvent {
  status: string;
  amount: number;
  at: Date;
}

export interface EmulatedTransaction {
  id: string;
  type: 'sale' | 'credit';
  status: string;
  amount: number;
  /** The amount string exactly as the client sent it when creating this transaction. */
  wireAmount: string;
  currency: string;
  merchantAccountId: string;
  orderId?: string | undefined;
  createdAt: Date;
  updatedAt: Date;
  processorResponseCode: string;
  processorResponseText: string;
  processorResponseType: 'approved' | 'soft_declined' | 'hard_declined';
  gatewayRejectionReason?: string | undefined;
  authorizationExpiresAt?: Date | undefined;
  refundIds: string[];
  refundedTransactionId?: string | undefined;
  partialSettlementTransactionIds: string[];
  authorizedTransactionId?: string | undefined;
  finalCaptured: boolean;
  statusHistory: StatusEvent[];
  /** Only what a real gateway echoes back: never the full number, never the CVV. */
  card: { bin: string; last4: string; cardType: string; expirationMonth: string; expirationYear: string };
}

export interface GatewayError {
  code: string;
  attribute: string;
  message: string;
}

/** A write's outcome: the transaction to return, and whether it is a failure (api-error-response). */
export type Outcome =
  | { ok: true; txn: EmulatedTransaction }
  | { ok: false; message: string; errors?: GatewayError[]; txn?: EmulatedTransaction };

const EXPONENT: Readonly<Record<string, number>> = {
  USD: 2,
  EUR: 2,
  GBP: 2,
  AED: 2,
  JPY: 0,
  KWD: 3,
  BHD: 3,
  CLP: 0,
};

const PROCESSOR_TEXT: Readonly<Record<string, string>> = {
  '1000': 'Approved',
  '2000': 'Do Not Honor',
  '2001': 'Insufficient Funds',
  '2004': 'Expired Card',
  '2010': 'Card Issuer Declined CVV',
  '2012': 'Processor Declined - Possible Lost Card',
  '2014': 'Processor Declined - Fraud Suspected',
  '2046': 'Declined',
  '3000': 'Processor Network Unavailable - Try Again',
};

const HARD_DECLINES = new Set(['2004', '2012', '2013', '2014', '2047', '2053']);

export function exponentOf(currency: string): number {
  const e = EXPONENT[currency];
  if (e === undefined) throw new Error(`emulator: no exponent for ${currency}`);
  return e;
}

/** "12.34" -> 1234 for USD; undefined when not a valid amount for the currency. */
export function parseWireAmount(value: unknown, currency: string): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(String(value));
  if (!m) return undefined;
  const exp = exponentOf(currency);
  const frac = m[2] ?? '';
  if (frac.length > exp) return undefined; // e.g. "12.5" for JPY, "1.2345" for KWD
  return Number(BigInt(m[1]!) * 10n ** BigInt(exp) + BigInt(frac.padEnd(exp, '0') || '0'));
}

export function formatWireAmount(minor: number, currency: string): string {
  const exp = exponentOf(currency);
  if (exp === 0) return String(minor);
  const digits = String(minor).padStart(exp + 1, '0');
  return `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
}

/** A JSON scalar as text ('' for anything else). */
function scalar(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

const err = (code: string, attribute: string, message: string): GatewayError => ({
  code,
  attribute,
  message,
});
const fail = (e: GatewayError, txn?: EmulatedTransaction): Outcome => ({
  ok: false,
  message: e.message,
  errors: [e],
  txn,
});

const SETTLEABLE = new Set(['settled', 'settling']);

export class TransactionStore {
  readonly transactions = new Map<string, EmulatedTransaction>();

  constructor(
    private readonly merchantAccounts: Readonly<Record<string, string>>,
    private readonly defaultMerchantAccountId: string,
    public settleOnSubmit: boolean,
  ) {}

  private newId(): string {
    let id: string;
    do {
      id = Array.from(randomBytes(8), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
    } while (this.transactions.has(id));
    return id;
  }

  private setStatus(t: EmulatedTransaction, status: string, amount = t.amount): void {
    t.status = status;
    t.updatedAt = new Date();
    t.statusHistory.push({ status, amount, at: t.updatedAt });
  }

  private submit(t: EmulatedTransaction): void {
    this.setStatus(t, 'submitted_for_settlement');
    if (this.settleOnSubmit) this.setStatus(t, 'settled');
  }

  get(id: string): EmulatedTransaction | undefined {
    return this.transactions.get(id);
  }

  sale(input: Record<string, unknown>): Outcome {
    const accountId =
      typeof input.merchant_account_id === 'string'
        ? input.merchant_account_id
        : this.defaultMerchantAccountId;
    const currency = this.merchantAccounts[accountId];
    if (!currency) return fail(err('91513', 'merchant_account_id', 'Merchant account ID is invalid.'));
    if (input.amount === undefined || input.amount === null || input.amount === '') {
      return fail(err('81502', 'amount', 'Amount is required.'));
    }
    const amount = parseWireAmount(input.amount, currency);
    if (amount === undefined) return fail(err('81503', 'amount', 'Amount is an invalid format.'));
    if (amount <= 0) return fail(err('81531', 'amount', 'Amount must be greater than zero.'));
    const cc = (input.credit_card ?? {}) as Record<string, unknown>;
    const number = typeof cc.number === 'string' ? cc.number : '';
    if (!/^\d{12,19}$/.test(number)) return fail(err('81715', 'number', 'Credit card number is invalid.'));
    const month = scalar(cc.expiration_month);
    const year = scalar(cc.expiration_year);
    if (!/^(0?[1-9]|1[0-2])$/.test(month) || !/^\d{4}$/.test(year)) {
      return fail(err('81709', 'expiration_date', 'Expiration date is required.'));
    }

    const now = new Date();
    const t: EmulatedTransaction = {
      id: this.newId(),
      type: 'sale',
      status: 'authorizing',
      amount,
      wireAmount: scalar(input.amount),
      currency,
      merchantAccountId: accountId,
      orderId: typeof input.order_id === 'string' ? input.order_id : undefined,
      createdAt: now,
      updatedAt: now,
      processorResponseCode: '1000',
      processorResponseText: 'Approved',
      processorResponseType: 'approved',
      refundIds: [],
      partialSettlementTransactionIds: [],
      finalCaptured: false,
      statusHistory: [],
      card: {
        bin: number.slice(0, 6),
        last4: number.slice(-4),
        cardType: number.startsWith('4') ? 'Visa' : number.startsWith('5') ? 'MasterCard' : 'Unknown',
        expirationMonth: month.padStart(2, '0'),
        expirationYear: year,
      },
    };
    this.transactions.set(t.id, t);

    // Sandbox triggers, on the amount in major units of the account currency.
    const unit = 10 ** exponentOf(currency);
    const major = Math.floor(amount / unit);
    let code = '1000';
    if (number === '4000111111111115') code = '2000';
    else if (major >= 2000 && major <= 2999) code = String(major);
    else if (major === 3000) code = '3000';

    if (code !== '1000') {
      t.processorResponseCode = code;
      t.processorResponseText = PROCESSOR_TEXT[code] ?? 'Processor Declined';
      if (code === '3000') {
        t.processorResponseType = 'soft_declined';
        this.setStatus(t, 'failed');
      } else {
        t.processorResponseType = HARD_DECLINES.has(code) ? 'hard_declined' : 'soft_declined';
        this.setStatus(t, 'processor_declined');
      }
      return { ok: false, message: t.processorResponseText, txn: t };
    }

    this.setStatus(t, 'authorized');
    t.authorizationExpiresAt = new Date(now.getTime() + 7 * 24 * 3600 * 1000);
    const options = (input.options ?? {}) as Record<string, unknown>;
    if (options.submit_for_settlement === true || options.submit_for_settlement === 'true') this.submit(t);
    return { ok: true, txn: t };
  }

  submitForSettlement(id: string, input: Record<string, unknown>): Outcome | undefined {
    const t = this.get(id);
    if (!t) return undefined;
    if (t.type !== 'sale' || t.status !== 'authorized') {
      return fail(err('91507', 'base', 'Cannot submit for settlement unless status is authorized.'), t);
    }
    let amount = t.amount;
    if (input.amount !== undefined && input.amount !== null) {
      const parsed = parseWireAmount(input.amount, t.currency);
      if (parsed === undefined) return fail(err('81503', 'amount', 'Amount is an invalid format.'), t);
      if (parsed > t.amount) return fail(err('91522', 'amount', 'Settlement amount is too large.'), t);
      if (parsed <= 0) return fail(err('81531', 'amount', 'Amount must be greater than zero.'), t);
      amount = parsed;
    }
    // A lower settlement amount rewrites the transaction amount (the rest of the hold is released).
    t.amount = amount;
    this.submit(t);
    return { ok: true, txn: t };
  }

  submitForPartialSettlement(id: string, input: Record<string, unknown>): Outcome | undefined {
    const parent = this.get(id);
    if (!parent) return undefined;
    if (
      parent.type !== 'sale' ||
      !['authorized', 'settlement_pending'].includes(parent.status) ||
      parent.finalCaptured
    ) {
      return fail(err('91507', 'base', 'Cannot submit for settlement unless status is authorized.'), parent);
    }
    const amount = parseWireAmount(input.amount, parent.currency);
    if (amount === undefined) return fail(err('81503', 'amount', 'Amount is an invalid format.'), parent);
    if (amount <= 0) return fail(err('81531', 'amount', 'Amount must be greater than zero.'), parent);
    const settled = parent.partialSettlementTransactionIds.reduce(
      (sum, cid) => sum + (this.get(cid)?.amount ?? 0),
      0,
    );
    if (settled + amount > parent.amount)
      return fail(err('91522', 'amount', 'Settlement amount is too large.'), parent);

    const now = new Date();
    const child: EmulatedTransaction = {
      ...parent,
      id: this.newId(),
      status: 'authorized',
      amount,
      wireAmount: scalar(input.amount),
      orderId: typeof input.order_id === 'string' ? input.order_id : parent.orderId,
      createdAt: now,
      updatedAt: now,
      refundIds: [],
      partialSettlementTransactionIds: [],
      authorizedTransactionId: parent.id,
      authorizationExpiresAt: undefined,
      finalCaptured: false,
      statusHistory: [],
    };
    this.transactions.set(child.id, child);
    this.submit(child);
    parent.partialSettlementTransactionIds.push(child.id);
    if (parent.status !== 'settlement_pending') this.setStatus(parent, 'settlement_pending');
    if (
      input.final_capture === true ||
      input.final_capture === 'true' ||
      settled + amount === parent.amount
    ) {
      parent.finalCaptured = true;
    }
    return { ok: true, txn: child };
  }

  void(id: string): Outcome | undefined {
    const t = this.get(id);
    if (!t) return undefined;
    if (
      !['authorized', 'submitted_for_settlement'].includes(t.status) ||
      t.partialSettlementTransactionIds.length > 0
    ) {
      return fail(
        err(
          '91504',
          'base',
          'Transaction can only be voided if status is authorized, submitted_for_settlement, or - for PayPal - settlement_pending.',
        ),
        t,
      );
    }
    this.setStatus(t, 'voided');
    return { ok: true, txn: t };
  }

  refund(id: string, input: Record<string, unknown>): Outcome | undefined {
    const t = this.get(id);
    if (!t) return undefined;
    if (t.type === 'credit') return fail(err('91505', 'base', 'Cannot refund credit.'), t);
    if (!SETTLEABLE.has(t.status))
      return fail(err('91506', 'base', 'Cannot refund transaction unless it is settled.'), t);
    const refunded = t.refundIds.reduce((sum, rid) => sum + (this.get(rid)?.amount ?? 0), 0);
    const left = t.amount - refunded;
    if (left <= 0) return fail(err('91512', 'base', 'Transaction has already been completely refunded.'), t);
    let amount = left;
    if (input.amount !== undefined && input.amount !== null) {
      const parsed = parseWireAmount(input.amount, t.currency);
      if (parsed === undefined) return fail(err('81503', 'amount', 'Amount is an invalid format.'), t);
      if (parsed <= 0) return fail(err('81531', 'amount', 'Amount must be greater than zero.'), t);
      if (parsed > left) return fail(err('91521', 'amount', 'Refund amount is too large.'), t);
      amount = parsed;
    }
    const now = new Date();
    const credit: EmulatedTransaction = {
      ...t,
      id: this.newId(),
      type: 'credit',
      status: 'authorized',
      amount,
      wireAmount:
        input.amount === undefined || input.amount === null
          ? formatWireAmount(amount, t.currency)
          : scalar(input.amount),
      orderId: typeof input.order_id === 'string' ? input.order_id : t.orderId,
      createdAt: now,
      updatedAt: now,
      refundIds: [],
      partialSettlementTransactionIds: [],
      refundedTransactionId: t.id,
      authorizedTransactionId: undefined,
      authorizationExpiresAt: undefined,
      finalCaptured: false,
      statusHistory: [],
    };
    this.transactions.set(credit.id, credit);
    this.submit(credit);
    t.refundIds.push(credit.id);
    return { ok: true, txn: credit };
  }

  /** Testing gateway: settle a submitted transaction. */
  settle(id: string): Outcome | undefined {
    const t = this.get(id);
    if (!t) return undefined;
    if (t.status !== 'submitted_for_settlement')
      return fail(err('91507', 'base', 'Cannot settle unless submitted for settlement.'), t);
    this.setStatus(t, 'settled');
    return { ok: true, txn: t };
  }

  /** Criteria the adapter sends: `order_id: { is }`, `id: { is }`, `ids: [...]`. */
  search(criteria: Record<string, unknown>): EmulatedTransaction[] | { unsupported: string } {
    const all = [...this.transactions.values()];
    let out = all;
    for (const [key, value] of Object.entries(criteria)) {
      if (key === 'order_id' || key === 'id') {
        const v = value as Record<string, unknown>;
        if (typeof v?.is !== 'string') return { unsupported: `${key} without is` };
        out = out.filter((t) => (key === 'id' ? t.id : t.orderId) === v.is);
      } else if (key === 'ids') {
        const ids = new Set(Array.isArray(value) ? value.map(String) : []);
        out = out.filter((t) => ids.has(t.id));
      } else {
        return { unsupported: key };
      }
    }
    return out.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }
}
