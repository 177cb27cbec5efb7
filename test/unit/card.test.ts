/** Card rules used by tokenization: Luhn and length per brand, brand and BIN (8 digits for 16+), expiry, CVC. */
import { binOf, detectBrand, isExpired, validateCvc, validatePan } from '../../domain/card';

test.each([
  ['4242424242424242', 'visa'],
  ['5555555555554444', 'mastercard'],
  ['2223003122003222', 'mastercard'],
  ['378282246310005', 'amex'],
  ['6011111111111117', 'discover'],
  ['3566002020360505', 'jcb'],
  ['36227206271667', 'diners'],
  ['6200000000000005', 'unionpay'],
])('%s is %s', (pan, brand) => {
  expect(validatePan(pan)).toEqual({ pan });
  expect(detectBrand(pan)).toBe(brand);
});

test('BIN is 8 digits for 16+ digit PANs and 6 otherwise; separators are accepted', () => {
  expect(binOf('4242424242424242')).toBe('42424242');
  expect(binOf('378282246310005')).toBe('378282');
  expect(validatePan('4242 4242-4242 4242')).toEqual({ pan: '4242424242424242' });
});

test('bad numbers name the field and never echo the number', () => {
  for (const bad of ['4242424242424241', '42424242', 'abcd', '4242424242424242424242', '37828224631000']) {
    const r = validatePan(bad);
    expect(r).toMatchObject({ field: 'number', code: 'invalid_number' });
    expect(JSON.stringify(r)).not.toContain(bad);
  }
});

test('a card is valid through the last day of its expiry month (UTC)', () => {
  const now = new Date('2026-11-30T23:59:59Z');
  expect(isExpired(11, 2026, now)).toBe(false);
  expect(isExpired(10, 2026, now)).toBe(true);
  expect(isExpired(1, 2025, now)).toBe(true);
  expect(isExpired(11, 2026, new Date('2026-12-01T00:00:00Z'))).toBe(true);
});

test('CVC is 4 digits for amex and 3 otherwise', () => {
  expect(validateCvc('123', 'visa')).toBeUndefined();
  expect(validateCvc('1234', 'amex')).toBeUndefined();
  expect(validateCvc('1234', 'visa')).toMatchObject({ field: 'cvc', code: 'invalid_cvc' });
  expect(validateCvc('12a', 'mastercard')).toMatchObject({ field: 'cvc' });
});
