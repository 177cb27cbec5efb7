/**
 * Comparison of secrets, MACs, hashes and codes in constant time (for equal lengths): the one
 * helper every layer uses, so no `===` on a secret can leak how many leading bytes matched.
 */
import { timingSafeEqual } from 'node:crypto';

export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = typeof a === 'string' ? Buffer.from(a, 'utf8') : Buffer.from(a);
  const y = typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
