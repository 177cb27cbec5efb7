// Rule test (semgrep --test): positives carry `ruleid`, negatives `ok`.
import { timingSafeEqual } from 'node:crypto';
export function examples(row: any, mac: string, expected: string, secret: Buffer, header?: string) {
  // ruleid: settle-no-plain-compare-secrets
  if (mac === expected) return true;
  // ruleid: settle-no-plain-compare-secrets
  if (row.request_hash !== expected) return false;
  // ruleid: settle-no-plain-compare-secrets
  if (row.signature == header) return true;
  // ruleid: settle-no-plain-compare-secrets
  if (expected === row.hmac) return true;

  // ok: settle-no-plain-compare-secrets
  if (header === undefined) return false;
  // ok: settle-no-plain-compare-secrets
  if (typeof row.token === 'string') return true;
  // ok: settle-no-plain-compare-secrets
  if (row.tokenType === 'Bearer') return true;
  // ok: settle-no-plain-compare-secrets
  if (secret.length !== 32) return false;
  // ok: settle-no-plain-compare-secrets
  const a = Buffer.from(mac);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
