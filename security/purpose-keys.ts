/**
 * One key per purpose, derived with HKDF-SHA256 from SETTLE_SECRET_ROOT_KEY (a root: it is never
 * used to MAC or encrypt anything itself). Each process root derives the purposes it uses and
 * keeps only those. Card fingerprints keep their own key (SETTLE_FINGERPRINT_KEY): stored
 * fingerprints would be orphaned if it were ever re-derived.
 *
 * Changing a label (or the root) changes that purpose's key: idempotency records then stop
 * matching (they expire within a day), bank-account fingerprints and pending micro-deposit checks
 * stop matching, and the audit chain needs its old key to verify the events written under it.
 */
import { hkdfSync } from 'node:crypto';
import type { AuditKeys } from './audit';

const LABELS = {
  idempotency: 'settle:idempotency:v1',
  'bank-secrets': 'settle:bank-secrets:v1',
  'audit-chain': 'settle:audit-chain:v1',
  'audit-anchor': 'settle:audit-anchor:v1',
} as const;
export type KeyPurpose = keyof typeof LABELS;

export function rootKeyFrom(base64: string): Buffer {
  const root = Buffer.from(base64, 'base64');
  if (root.length !== 32) throw new Error('SETTLE_SECRET_ROOT_KEY: must be 32 bytes, base64-encoded');
  return root;
}

export function purposeKey(root: Buffer, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', root, 'settle-secret-root', LABELS[purpose], 32));
}

export function auditKeysFrom(root: Buffer): AuditKeys {
  return { chain: purposeKey(root, 'audit-chain'), anchor: purposeKey(root, 'audit-anchor') };
}
