/** Envelope encryption and the local key provider: AAD binding, tamper detection, KEK separation. */
import { randomBytes } from 'node:crypto';
import { canonicalContext, open, seal } from '../../security/envelope';
import { LocalKeyProvider } from '../../security/key-provider';

test('seal/open round-trips and every seal uses a fresh IV', () => {
  const key = randomBytes(32);
  const a = seal(key, Buffer.from('secret'), 'aad');
  const b = seal(key, Buffer.from('secret'), 'aad');
  expect(a.equals(b)).toBe(false);
  expect(open(key, a, 'aad').toString()).toBe('secret');
});

test('a blob opened with other AAD, another key, or modified bytes fails authentication', () => {
  const key = randomBytes(32);
  const blob = seal(key, Buffer.from('4242424242424242'), 'settle:card:le:tok_a:pan');
  expect(() => open(key, blob, 'settle:card:le:tok_b:pan')).toThrow();
  expect(() => open(randomBytes(32), blob, 'settle:card:le:tok_a:pan')).toThrow();
  const bad = Buffer.from(blob);
  bad[bad.length - 1]! ^= 1;
  expect(() => open(key, bad, 'settle:card:le:tok_a:pan')).toThrow();
  expect(() => open(key, blob.subarray(0, 10), 'x')).toThrow('malformed ciphertext');
  expect(() => seal(randomBytes(16), Buffer.from('x'), 'a')).toThrow(RangeError);
});

test('canonical context does not depend on key order', () => {
  expect(canonicalContext({ b: '2', a: '1' })).toBe(canonicalContext({ a: '1', b: '2' }));
  expect(canonicalContext({ a: '1' })).not.toBe(canonicalContext({ a: '2' }));
});

test('local provider: context and KEK id are bound; each KEK id is a different key', async () => {
  const p = new LocalKeyProvider(randomBytes(32));
  const ctx = { purpose: 'card', legalEntity: 'a', token: 'tok_1' };
  const dk = await p.generateDataKey('local:a:v1', ctx);
  expect(dk.plaintext).toHaveLength(32);
  expect((await p.decryptDataKey('local:a:v1', dk.wrapped, ctx)).equals(dk.plaintext)).toBe(true);
  await expect(p.decryptDataKey('local:b:v1', dk.wrapped, ctx)).rejects.toThrow();
  await expect(p.decryptDataKey('local:a:v2', dk.wrapped, ctx)).rejects.toThrow();
  await expect(p.decryptDataKey('local:a:v1', dk.wrapped, { ...ctx, legalEntity: 'b' })).rejects.toThrow();
  // Another master key cannot open it either.
  await expect(
    new LocalKeyProvider(randomBytes(32)).decryptDataKey('local:a:v1', dk.wrapped, ctx),
  ).rejects.toThrow();
});
