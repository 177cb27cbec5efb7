/**
 * The BIN kept and shown next to the last 4 (PCI DSS 3.4.1 truncation): 8 digits only for PANs of 16
 * digits or more, 6 for shorter ones, and never so many that fewer middle digits stay hidden than in
 * the widest permitted format (8 + 4 of 16: 4 hidden). A 12-digit PAN (accepted: Maestro, unknown
 * brands) therefore shows 4 + 4, not 6 + 4 (which would leave 2 digits to guess).
 */
import { binOf, validatePan } from '../../domain/card';

/** A Luhn-valid PAN of `length` digits starting with `prefix`. */
function panOf(prefix: string, length: number): string {
  const body = (prefix + '0'.repeat(length)).slice(0, length - 1);
  for (let d = 0; d <= 9; d++) {
    const pan = body + String(d);
    if ('pan' in validatePan(pan)) return pan;
  }
  throw new Error(`no valid ${length}-digit PAN for ${prefix}`);
}

test.each([
  [12, 4],
  [13, 5],
  [14, 6],
  [15, 6],
  [16, 8],
  [17, 8],
  [18, 8],
  [19, 8],
])('a %i-digit PAN shows a %i-digit BIN and keeps at least 4 middle digits hidden', (length, binLength) => {
  const pan = panOf('6759', length); // Maestro: every length 12-19 is accepted
  expect(validatePan(pan)).toEqual({ pan });
  const bin = binOf(pan);
  expect(bin).toBe(pan.slice(0, binLength));
  expect(length - bin.length - 4).toBeGreaterThanOrEqual(4);
});
