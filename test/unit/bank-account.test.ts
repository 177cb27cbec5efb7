/** Bank-account rules (domain/bank-account.ts) and secrets (vault/bank-secrets.ts). */
import { randomBytes } from 'node:crypto';
import {
  bankEventId,
  constantTimeEqualString,
  validateAccountNumber,
  validateRoutingNumber,
} from '../../domain/bank-account';
import { hasPrefix } from '../../domain/ids';
import { createBankSecrets } from '../../vault/bank-secrets';
import { LocalKeyProvider } from '../../security/key-provider';

describe('ABA routing numbers', () => {
  test.each(['110000000', '021000021', '011401533', '091000019'])('%s passes the checksum', (r) => {
    expect(validateRoutingNumber(r)).toBeUndefined();
  });
  test.each(['110000001', '021000022', '123456789'])('%s fails the checksum', (r) => {
    expect(validateRoutingNumber(r)).toMatchObject({
      field: 'routingNumber',
      code: 'invalid_routing_number',
    });
  });
  test.each(['', '11000000', '1100000000', '11000000a'])('"%s" is not 9 digits', (r) => {
    const e = validateRoutingNumber(r);
    expect(e?.message).toBe('must be 9 digits');
  });
  test('errors never echo the value', () => {
    expect(JSON.stringify(validateRoutingNumber('123456789'))).not.toContain('123456789');
  });
});

test('account numbers are 4 to 17 digits', () => {
  expect(validateAccountNumber('1234')).toBeUndefined();
  expect(validateAccountNumber('1'.repeat(17))).toBeUndefined();
  for (const bad of ['123', '1'.repeat(18), '12 34', '12a4', '']) {
    expect(validateAccountNumber(bad)).toMatchObject({
      field: 'accountNumber',
      code: 'invalid_account_number',
    });
  }
});

test('constant-time string comparison is exact', () => {
  const a = 'A'.repeat(43);
  expect(constantTimeEqualString(a, a)).toBe(true);
  expect(constantTimeEqualString(a, `${'A'.repeat(42)}B`)).toBe(false);
  expect(constantTimeEqualString(a, a.slice(1))).toBe(false);
  expect(constantTimeEqualString('', '')).toBe(true);
});

test('event ids are deterministic and carry the evt_ prefix', () => {
  const id = bankEventId('ba_abcDEF1234567890abcdEFGH', 'sawaiting_microdeposits');
  expect(id).toBe(bankEventId('ba_abcDEF1234567890abcdEFGH', 'sawaiting_microdeposits'));
  expect(hasPrefix(id, 'evt')).toBe(true);
  expect(id).not.toBe(bankEventId('ba_abcDEF1234567890abcdEFGH', 'reminder1'));
});

describe('bank secrets', () => {
  const make = (root = randomBytes(32)) => {
    const kp = new LocalKeyProvider(randomBytes(32));
    return createBankSecrets({ keyProvider: kp, kekIdFor: (le) => `local:${le}:v1`, rootKey: root });
  };
  const secret = { routingNumber: '110000000', accountNumber: '000123456789', holderName: 'Jenny Rosen' };

  test('seal/open round-trips; the blob is bound to its record and holds no clear digits', async () => {
    const s = make();
    const sealed = await s.seal('ba_one', 'default', secret);
    expect(sealed.accountCt.toString('latin1')).not.toContain('000123456789');
    expect(await s.open('ba_one', 'default', sealed)).toEqual(secret);
    await expect(s.open('ba_two', 'default', sealed)).rejects.toThrow();
    await expect(s.open('ba_one', 'other', sealed)).rejects.toThrow();
  });

  test('fingerprints are keyed: equal for the same account, different across keys and accounts', () => {
    const root = randomBytes(32);
    const a = make(root);
    const b = make(root);
    expect(a.fingerprint('110000000', '000123456789')).toBe(b.fingerprint('110000000', '000123456789'));
    expect(a.fingerprint('110000000', '000123456780')).not.toBe(a.fingerprint('110000000', '000123456789'));
    expect(make().fingerprint('110000000', '000123456789')).not.toBe(
      a.fingerprint('110000000', '000123456789'),
    );
  });

  test('micro-deposit amounts: 1..99, deterministic per (account, nonce), spread across the range', () => {
    const s = make();
    expect(s.microdepositAmounts('ba_x', 'n1')).toEqual(s.microdepositAmounts('ba_x', 'n1'));
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      for (const a of s.microdepositAmounts(`ba_${i}`, 'n')) {
        expect(Number.isInteger(a) && a >= 1 && a <= 99).toBe(true);
        seen.add(a);
      }
    }
    expect(seen.size).toBeGreaterThan(90);
  });

  test('the amounts MAC is order-insensitive, keyed, and differs for any other pair', () => {
    const s = make();
    const mac = s.amountsMac('ba_x', [12, 34]);
    expect(mac).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.amountsMac('ba_x', [34, 12])).toBe(mac);
    expect(s.amountsMac('ba_x', [12, 35])).not.toBe(mac);
    expect(s.amountsMac('ba_y', [12, 34])).not.toBe(mac);
    expect(make().amountsMac('ba_x', [12, 34])).not.toBe(mac);
  });
});
