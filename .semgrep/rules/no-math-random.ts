// Rule test (semgrep --test): positives carry `ruleid`, negatives `ok`.
import { randomBytes, randomInt } from 'node:crypto';
export function examples() {
  // ruleid: settle-no-math-random
  const id = `pay_${Math.random().toString(36).slice(2)}`;
  // ruleid: settle-no-math-random
  const pick = Math.random;
  // ok: settle-no-math-random
  const secret = randomBytes(32).toString('base64url');
  // ok: settle-no-math-random
  const jitter = randomInt(1000);
  return [id, pick, secret, jitter];
}
