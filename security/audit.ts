/**
 * The audit hash chain (PCI DSS 10.3.2, 10.2.2). Each event's `hash` is SHA-256 over its canonical
 * form, which includes `prevHash` (the previous event's hash) and `seq` (its position), so changing,
 * deleting or reordering any event breaks the chain at that event. A truncated tail leaves a valid
 * shorter chain; it is caught by comparing with an exported anchor (the last seq and hash).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** prevHash of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'success' | 'failure';

/** What callers append (PCI DSS 10.2.2 fields). */
export interface AuditEventInput {
  /** User identification: client/operator id, or `anonymous`, or `system:<process>`. */
  actor: string;
  /** Type of event, e.g. `auth.login`, `vault.card.tokenize`, `POST /v1/payments`. */
  action: string;
  /** Identity of the affected data, component or resource (never card data beyond BIN/last 4). */
  resource: string;
  outcome: AuditOutcome;
  /** Origination of the event (source address) when it came over the network. */
  sourceIp?: string | null | undefined;
  details?: Record<string, unknown> | undefined;
}

export interface AuditEvent {
  seq: number;
  id: string;
  at: string;
  actor: string;
  action: string;
  resource: string;
  outcome: AuditOutcome;
  sourceIp: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** JSON with object keys sorted at every level, so jsonb's key reordering cannot change the hash. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

export function eventHash(e: Omit<AuditEvent, 'hash'>): string {
  const canonical = canonicalJson({
    v: 1,
    seq: e.seq,
    id: e.id,
    at: e.at,
    actor: e.actor,
    action: e.action,
    resource: e.resource,
    outcome: e.outcome,
    sourceIp: e.sourceIp,
    details: e.details,
    prevHash: e.prevHash,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface Anchor {
  seq: number;
  id: string;
  hash: string;
}

export interface VerifyResult {
  valid: boolean;
  checked: number;
  firstBrokenId?: string;
  /** Why it broke (for the CLI; not part of the API contract). */
  reason?: string;
}

/**
 * Incremental verifier: feed events in seq order. Breaks on the first event whose position, link or
 * own hash is wrong; with an anchor, the anchored event must still be there with the same hash, so a
 * truncated tail (or a rewritten chain) is caught too.
 */
export function chainVerifier(anchor?: Anchor) {
  let prev: { seq: number; hash: string } | undefined;
  let checked = 0;
  let broken: { id: string; reason: string } | undefined;
  return {
    push(e: AuditEvent): boolean {
      if (broken) return false;
      checked++;
      const expectedSeq = prev ? prev.seq + 1 : 1;
      const expectedPrev = prev ? prev.hash : GENESIS_HASH;
      if (e.seq !== expectedSeq) broken = { id: e.id, reason: `expected seq ${expectedSeq}, found ${e.seq}` };
      else if (!sameHex(e.prevHash, expectedPrev)) broken = { id: e.id, reason: 'prevHash does not link' };
      else if (!sameHex(e.hash, eventHash(e))) broken = { id: e.id, reason: 'hash does not match content' };
      else if (anchor && e.seq === anchor.seq && !sameHex(e.hash, anchor.hash))
        broken = { id: e.id, reason: 'event differs from the anchor' };
      prev = { seq: e.seq, hash: e.hash };
      return !broken;
    },
    finish(): VerifyResult {
      if (broken) return { valid: false, checked, firstBrokenId: broken.id, reason: broken.reason };
      if (anchor && (!prev || prev.seq < anchor.seq)) {
        // The anchored event is gone: the tail was cut off; the anchor names the first missing link.
        return {
          valid: false,
          checked,
          firstBrokenId: anchor.id,
          reason: `chain ends before the anchored seq ${anchor.seq}`,
        };
      }
      return { valid: true, checked };
    },
  };
}
