/** One key per purpose: HKDF from the root, distinct per purpose, stable, never the root itself. */
import { randomBytes } from 'node:crypto';
import { auditKeysFrom, purposeKey, rootKeyFrom, type KeyPurpose } from '../../security/purpose-keys';

const purposes: KeyPurpose[] = ['idempotency', 'bank-secrets', 'audit-chain', 'audit-anchor'];

test('each purpose gets its own 32-byte key, stable for one root, different for another root', () => {
  const root = randomBytes(32);
  const keys = purposes.map((p) => purposeKey(root, p).toString('hex'));
  expect(new Set([...keys, root.toString('hex')]).size).toBe(purposes.length + 1);
  for (const k of keys) expect(k).toHaveLength(64);
  expect(purposes.map((p) => purposeKey(root, p).toString('hex'))).toEqual(keys);
  expect(purposeKey(randomBytes(32), 'audit-chain').toString('hex')).not.toBe(keys[2]);
  expect(auditKeysFrom(root)).toEqual({
    chain: purposeKey(root, 'audit-chain'),
    anchor: purposeKey(root, 'audit-anchor'),
  });
});

test('a root that is not 32 bytes is refused, naming the variable', () => {
  expect(() => rootKeyFrom(Buffer.alloc(16).toString('base64'))).toThrow(/^SETTLE_SECRET_ROOT_KEY: /);
});
