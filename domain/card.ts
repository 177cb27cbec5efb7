/**
 * Card data and card-number rules: Luhn, length per brand, brand and BIN detection (8-digit BINs
 * for 16+ digit PANs, as ISO/IEC 7812 moved to), expiry. Pure; never logs or echoes a number.
 */

/**
 * A card as it crosses the PaymentProvider interface. It exists only inside the card-data worker:
 * never a workflow argument or result, never logged.
 */
export interface CardData {
  number: string;
  expMonth: number;
  expYear: number;
  cvc?: string | undefined;
  holderName?: string | undefined;
}

/** The Luhn (mod 10) check digit rule over an ASCII digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

export type CardBrand =
  'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay' | 'maestro' | 'unknown';

const BRANDS: Array<{ brand: CardBrand; test: (p: string) => boolean; lengths: number[] }> = [
  { brand: 'amex', test: (p) => /^3[47]/.test(p), lengths: [15] },
  { brand: 'diners', test: (p) => /^3(0[0-5]|[689])/.test(p), lengths: [14, 16, 17, 18, 19] },
  { brand: 'jcb', test: (p) => inRange(p, 4, 3528, 3589), lengths: [16, 17, 18, 19] },
  {
    brand: 'discover',
    test: (p) => /^(6011|64[4-9]|65)/.test(p) || inRange(p, 6, 622126, 622925),
    lengths: [16, 17, 18, 19],
  },
  { brand: 'unionpay', test: (p) => /^62/.test(p), lengths: [16, 17, 18, 19] },
  { brand: 'mastercard', test: (p) => inRange(p, 2, 51, 55) || inRange(p, 4, 2221, 2720), lengths: [16] },
  {
    brand: 'maestro',
    test: (p) => /^(5018|5020|5038|5893|6304|6759|676[1-3])/.test(p),
    lengths: [12, 13, 14, 15, 16, 17, 18, 19],
  },
  { brand: 'visa', test: (p) => p.startsWith('4'), lengths: [13, 16, 19] },
];

function inRange(pan: string, digits: number, lo: number, hi: number): boolean {
  const n = Number(pan.slice(0, digits));
  return n >= lo && n <= hi;
}

export function detectBrand(pan: string): CardBrand {
  return BRANDS.find((b) => b.test(pan))?.brand ?? 'unknown';
}

/** Middle digits that stay hidden between BIN and last 4 in the widest permitted format (8 + 4 of 16). */
const MIN_HIDDEN_DIGITS = 4;

/**
 * The BIN stored and shown beside the last 4 (PCI DSS 3.4.1 truncation): 8 digits for PANs of 16
 * digits or more, 6 for shorter ones, and fewer still on the shortest PANs so that at least 4 middle
 * digits always stay hidden (a 12-digit PAN shows 4 + 4, a 13-digit one 5 + 4).
 */
export function binOf(pan: string): string {
  const preferred = pan.length >= 16 ? 8 : 6;
  return pan.slice(0, Math.min(preferred, pan.length - 4 - MIN_HIDDEN_DIGITS));
}

export type CardFieldError = { field: string; code: string; message: string };

export function validatePan(raw: string): { pan: string } | CardFieldError {
  const pan = raw.replace(/[ -]/g, '');
  if (!/^\d{12,19}$/.test(pan)) {
    return { field: 'number', code: 'invalid_number', message: 'Card number must be 12 to 19 digits' };
  }
  if (!luhnValid(pan))
    return { field: 'number', code: 'invalid_number', message: 'Card number failed the Luhn check' };
  const brand = BRANDS.find((b) => b.test(pan));
  if (brand && !brand.lengths.includes(pan.length)) {
    return {
      field: 'number',
      code: 'invalid_number',
      message: `Card number length is not valid for ${brand.brand}`,
    };
  }
  return { pan };
}

/** A card is valid through the last day of its expiry month (UTC). */
export function isExpired(expMonth: number, expYear: number, now: Date): boolean {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth() + 1;
  return expYear < y || (expYear === y && expMonth < m);
}

export function validateCvc(cvc: string, brand: CardBrand): CardFieldError | undefined {
  const len = brand === 'amex' ? 4 : 3;
  if (!new RegExp(`^\\d{${len}}$`).test(cvc)) {
    return { field: 'cvc', code: 'invalid_cvc', message: `CVC must be ${len} digits` };
  }
  return undefined;
}
