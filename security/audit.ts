/**
 * The audit hash chain (PCI DSS 10.3.2, 10.2.2). Each event's `hash` is an HMAC-SHA256, under the
 * audit chain key, of its canonical form, which includes `prevHash` (the previous event's hash) and
 * `seq` (its position): changing, deleting or reordering any event breaks the chain at that event,
 * and without the key nobody (the database owner included) can compute a new, consistent chain.
 *
 * Versions (`v`, stored per row): v1 = SHA-256 unkeyed (events written before the keyed chain), v2 =
 * HMAC. Versions never go down along the chain, and a v1 event is accepted only at or before a keyed
 * anchor, so an owner cannot downgrade the tail to the unkeyed form.
 *
 * Anchors (`audit_anchors`): the chain head (seq, id, hash) at a time, MACed under the separate
 * anchor key. Verification checks the chain against the latest anchor, so a truncated tail or a
 * chain rebuilt from scratch is reported even when every link is self-consistent.
 *
 * What is hashed is what PostgreSQL stores and returns: `storable()` makes every string (values and
 * keys, at any depth) well-formed and NUL-free before hashing, and the repository hashes the values
 * read back from the database, so jsonb's number and key normalization cannot break a link.
 */
import { createHash, createHmac } from 'node:crypto';
import { constantTimeEqual } from '../domain/constant-time';

/** prevHash of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The version new events are written with. */
export const CHAIN_VERSION = 2;

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
  /** Chain version of this event (1: unkeyed SHA-256, 2: HMAC-SHA256). */
  v: number;
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

/** One key per purpose: the chain MAC and the anchor MAC never share a key. */
export interface AuditKeys {
  chain: Buffer;
  anchor: Buffer;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A string PostgreSQL text/jsonb stores and returns unchanged: lone surrogates (which the driver's
 * UTF-8 encoding turns into U+FFFD) and NUL (which text and jsonb refuse) become U+FFFD.
 */
export function storableString(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '\uFFFD');
}

/** `storableString` on every string of a JSON value, object keys included, at any depth. */
export function storable(v: unknown): unknown {
  if (typeof v === 'string') return storableString(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(storable);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[storableString(k)] = storable(x);
  return out;
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

/** The event's hash for its own version: v1 unkeyed (legacy rows), v2 keyed. */
export function eventHash(e: Omit<AuditEvent, 'hash'>, chainKey: Buffer): string {
  const canonical = canonicalJson({
    v: e.v,
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
  if (e.v === 1) return createHash('sha256').update(canonical, 'utf8').digest('hex');
  return createHmac('sha256', chainKey).update(canonical, 'utf8').digest('hex');
}

/** The chain head at a moment: the anchored event's position, id and hash. */
export interface Anchor {
  seq: number;
  id: string;
  hash: string;
}

/** An anchor as stored in audit_anchors (and exported by `cli audit anchor`): MACed, timestamped. */
export interface KeyedAnchor extends Anchor {
  at: string;
  mac: string;
}

function anchorCanonical(a: Anchor & { at: string }): string {
  return canonicalJson({ v: 1, seq: a.seq, id: a.id, hash: a.hash, at: a.at });
}

export function anchorMac(a: Anchor & { at: string }, anchorKey: Buffer): string {
  return createHmac('sha256', anchorKey).update(anchorCanonical(a), 'utf8').digest('hex');
}

export function anchorIsAuthentic(a: KeyedAnchor, anchorKey: Buffer): boolean {
  return constantTimeEqual(a.mac, anchorMac(a, anchorKey));
}

export interface VerifyResult {
  valid: boolean;
  checked: number;
  firstBrokenId?: string;
  /** When the anchor the chain was checked against was written. */
  anchoredAt?: string;
  /** Why it broke (for the CLI; not part of the API contract). */
  reason?: string;
}

/**
 * Incremental verifier: feed events in seq order. Breaks on the first event whose position, link,
 * version or own hash is wrong; every anchor given must still find its event with the same hash, so a
 * truncated tail or a rewritten chain is caught too. `legacyUntil`: the highest seq at which an
 * unkeyed v1 event is acceptable (the latest authentic anchor's seq; 0 without one).
 */
export function chainVerifier(opts: { chainKey: Buffer; anchors?: Anchor[]; legacyUntil?: number }) {
  const anchors = opts.anchors ?? [];
  const legacyUntil = opts.legacyUntil ?? 0;
  let prev: { seq: number; hash: string; v: number } | undefined;
  let checked = 0;
  let broken: { id: string; reason: string } | undefined;
  const check = (e: AuditEvent): string | undefined => {
    const expectedSeq = prev ? prev.seq + 1 : 1;
    if (e.seq !== expectedSeq) return `expected seq ${expectedSeq}, found ${e.seq}`;
    if (!constantTimeEqual(e.prevHash, prev ? prev.hash : GENESIS_HASH)) return 'prevHash does not link';
    if (e.v !== 1 && e.v !== CHAIN_VERSION) return `unknown chain version ${e.v}`;
    if (prev && e.v < prev.v) return 'chain version goes down (an unkeyed event after a keyed one)';
    if (e.v === 1 && e.seq > legacyUntil) return 'unkeyed (v1) event not covered by a keyed anchor';
    if (!constantTimeEqual(e.hash, eventHash(e, opts.chainKey))) return 'hash does not match content';
    for (const a of anchors)
      if (e.seq === a.seq && (e.id !== a.id || !constantTimeEqual(e.hash, a.hash)))
        return 'event differs from the anchor';
    return undefined;
  };
  return {
    push(e: AuditEvent): boolean {
      if (broken) return false;
      checked++;
      const reason = check(e);
      if (reason) broken = { id: e.id, reason };
      prev = { seq: e.seq, hash: e.hash, v: e.v };
      return !broken;
    },
    finish(): VerifyResult {
      if (broken) return { valid: false, checked, firstBrokenId: broken.id, reason: broken.reason };
      for (const a of anchors) {
        if (!prev || prev.seq < a.seq) {
          // The anchored event is gone: the tail was cut off; the anchor names the first missing link.
          return {
            valid: false,
            checked,
            firstBrokenId: a.id,
            reason: `chain ends before the anchored seq ${a.seq}`,
          };
        }
      }
      return { valid: true, checked };
    },
  };
}
