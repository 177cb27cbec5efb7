/**
 * Money is an integer count of the currency's minor unit plus an ISO 4217 code. No floats anywhere:
 * conversions to decimal strings (for providers that want "12.34") go through string arithmetic.
 */

/** ISO 4217 minor-unit exponents for the currencies Settle accepts. */
const EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  AED: 2,
  AUD: 2,
  BHD: 3,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CLP: 0,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EGP: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  HUF: 2,
  IDR: 2,
  ILS: 2,
  INR: 2,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  MXN: 2,
  MYR: 2,
  NOK: 2,
  NZD: 2,
  OMR: 3,
  PHP: 2,
  PLN: 2,
  QAR: 2,
  RON: 2,
  SAR: 2,
  SEK: 2,
  SGD: 2,
  THB: 2,
  TND: 3,
  TRY: 2,
  TWD: 2,
  UGX: 0,
  USD: 2,
  VND: 0,
  XAF: 0,
  XOF: 0,
  ZAR: 2,
});

/** Largest amount accepted in minor units; keeps every sum well inside Number.MAX_SAFE_INTEGER. */
export const MAX_AMOUNT = 99_999_999_999;

export function normalizeCurrency(input: string): string | undefined {
  const code = input.trim().toUpperCase();
  return Object.prototype.hasOwnProperty.call(EXPONENTS, code) ? code : undefined;
}

export function currencyExponent(currency: string): number {
  const exp = EXPONENTS[currency.toUpperCase()];
  if (exp === undefined) throw new RangeError(`unsupported currency ${currency}`);
  return exp;
}

export function isValidAmount(amount: unknown): amount is number {
  return typeof amount === 'number' && Number.isSafeInteger(amount) && amount > 0 && amount <= MAX_AMOUNT;
}

/** 1234 USD -> "12.34"; 1234 JPY -> "1234"; 1234 KWD -> "1.234". Exact, string based. */
export function minorToDecimalString(amount: number, currency: string): string {
  if (!Number.isSafeInteger(amount) || amount < 0)
    throw new RangeError('amount must be a non-negative integer');
  const exp = currencyExponent(currency);
  if (exp === 0) return String(amount);
  const digits = String(amount).padStart(exp + 1, '0');
  return `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
}

/** "12.34" USD -> 1234. Rejects more fraction digits than the currency has. Exact, string based. */
export function decimalStringToMinor(value: string, currency: string): number {
  const exp = currencyExponent(currency);
  const m = /^(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m) throw new RangeError(`not a decimal amount: ${value}`);
  const whole = m[1] ?? '0';
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > exp) throw new RangeError(`too many decimal places for ${currency}: ${value}`);
  const minor = Number(whole + frac.padEnd(exp, '0'));
  if (!Number.isSafeInteger(minor)) throw new RangeError(`amount out of range: ${value}`);
  return minor;
}
