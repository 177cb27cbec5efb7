/**
 * The audit trail in PostgreSQL: `createAuditLog(pool).append(event)` for every component.
 * Appends are serialized by a transaction-scoped advisory lock, so two writers can never both link
 * to the same previous event (the chain never forks); `seq` is also the primary key as a backstop.
 *
 * Keys: each process root calls `configureAuditLog` once with the audit chain and anchor keys
 * (derived from SETTLE_SECRET_ROOT_KEY, security/purpose-keys.ts); an append or a verification
 * without them throws rather than writing an unkeyed event.
 */
import { newId } from '../domain/ids';
import { auditAppendFailures } from '../observability/metrics';
import {
  anchorIsAuthentic,
  anchorMac,
  chainVerifier,
  CHAIN_VERSION,
  eventHash,
  GENESIS_HASH,
  storable,
  storableString,
  type Anchor,
  type AuditEvent,
  type AuditEventInput,
  type AuditKeys,
  type KeyedAnchor,
  type VerifyResult,
} from '../security/audit';
import { systemClock, type Clock } from '../security/clock';
import type { Pool } from './pool';
import { inTransaction } from './transaction';

/** Arbitrary constant naming the audit-append lock (pg advisory locks are keyed by bigint). */
const APPEND_LOCK = 7_411_203_982;

/** Where a failed append is reported (pino's signature); the default writes one JSON line to stderr. */
export interface AuditErrorLog {
  error(obj: Record<string, unknown>, msg: string): void;
}
const stderrLog: AuditErrorLog = {
  error: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'error', msg, ...obj })}\n`),
};

let processConfig: { keys: AuditKeys; log: AuditErrorLog } | undefined;

/** Called once by each process root (api, workers, codec server, cli, start, test setup). */
export function configureAuditLog(cfg: { keys: AuditKeys; log?: AuditErrorLog }): void {
  processConfig = { keys: cfg.keys, log: cfg.log ?? stderrLog };
}

function configured(opts: AuditLogOptions): { keys: AuditKeys; log: AuditErrorLog } {
  const keys = opts.keys ?? processConfig?.keys;
  if (!keys) throw new Error('the audit log has no keys: SETTLE_SECRET_ROOT_KEY is required');
  return { keys, log: opts.log ?? processConfig?.log ?? stderrLog };
}

export interface AuditLogOptions {
  clock?: Clock;
  /** Default: the keys given to configureAuditLog. */
  keys?: AuditKeys;
  log?: AuditErrorLog;
  /** Backoff between append attempts (ms); its length bounds the retries. */
  retryDelaysMs?: number[];
}

interface Row {
  v: number;
  seq: string | number;
  id: string;
  at: Date;
  actor: string;
  action: string;
  resource: string;
  outcome: 'success' | 'failure';
  sourceIp: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

const COLS = `v, seq, id, at, actor, action, resource, outcome, source_ip AS "sourceIp", details,
  prev_hash AS "prevHash", hash`;

function fromRow(r: Row): AuditEvent {
  return { ...r, v: Number(r.v), seq: Number(r.seq), at: r.at.toISOString() };
}

interface AnchorRow {
  seq: string | number;
  id: string;
  hash: string;
  at: Date;
  mac: string;
}
const fromAnchorRow = (r: AnchorRow): KeyedAnchor => ({
  seq: Number(r.seq),
  id: r.id,
  hash: r.hash,
  at: r.at.toISOString(),
  mac: r.mac,
});

const isKeyed = (a: Anchor | KeyedAnchor): a is KeyedAnchor => 'mac' in a && 'at' in a;

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

export function createAuditLog(pool: Pool, clockOrOpts: Clock | AuditLogOptions = {}) {
  const opts: AuditLogOptions = 'now' in clockOrOpts ? { clock: clockOrOpts } : clockOrOpts;
  const clock = opts.clock ?? systemClock;
  const retryDelaysMs = opts.retryDelaysMs ?? [50, 200, 800];

  async function appendOnce(input: AuditEventInput, chainKey: Buffer): Promise<AuditEvent> {
    return inTransaction(pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
      // Hash what PostgreSQL stores and gives back, not the caller's JS values: strings made storable
      // first (NUL, lone surrogates), then a round trip through the column types (jsonb normalizes
      // numbers and keys, timestamptz the time), in the same statement that reads the chain head.
      const stored = await c.query<
        Omit<Row, 'v' | 'seq' | 'id' | 'prevHash' | 'hash'> & {
          prevSeq: string | null;
          prevHash: string | null;
        }
      >(
        `SELECT l.seq AS "prevSeq", l.hash AS "prevHash",
                $1::timestamptz AS at, $2::text AS actor, $3::text AS action, $4::text AS resource,
                $5::text AS outcome, $6::text AS "sourceIp", $7::jsonb AS details
           FROM (SELECT 1) AS one
           LEFT JOIN LATERAL (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1) AS l ON true`,
        [
          clock.now().toISOString(),
          storableString(input.actor),
          storableString(input.action),
          storableString(input.resource),
          input.outcome,
          input.sourceIp == null ? null : storableString(input.sourceIp),
          JSON.stringify(storable(input.details ?? {})),
        ],
      );
      const s = stored.rows[0]!;
      const base: Omit<AuditEvent, 'hash'> = {
        v: CHAIN_VERSION,
        seq: s.prevSeq === null ? 1 : Number(s.prevSeq) + 1,
        id: newId('aud'),
        at: s.at.toISOString(),
        actor: s.actor,
        action: s.action,
        resource: s.resource,
        outcome: s.outcome,
        sourceIp: s.sourceIp,
        details: s.details,
        prevHash: s.prevHash ?? GENESIS_HASH,
      };
      const event: AuditEvent = { ...base, hash: eventHash(base, chainKey) };
      await c.query(
        `INSERT INTO audit_events (v, seq, id, at, actor, action, resource, outcome, source_ip, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          event.v,
          event.seq,
          event.id,
          event.at,
          event.actor,
          event.action,
          event.resource,
          event.outcome,
          event.sourceIp,
          JSON.stringify(event.details),
          event.prevHash,
          event.hash,
        ],
      );
      return event;
    });
  }

  async function latestAnchor(): Promise<KeyedAnchor | undefined> {
    const r = await pool.query<AnchorRow>(
      `SELECT seq, event_id AS id, event_hash AS hash, at, mac FROM audit_anchors
        ORDER BY seq DESC, at DESC LIMIT 1`,
    );
    return r.rows[0] ? fromAnchorRow(r.rows[0]) : undefined;
  }

  async function head(): Promise<Anchor | undefined> {
    const r = await pool.query<{ seq: string; id: string; hash: string }>(
      'SELECT seq, id, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
    );
    const row = r.rows[0];
    return row ? { seq: Number(row.seq), id: row.id, hash: row.hash } : undefined;
  }

  return {
    /**
     * Appends one event. A failed attempt (connection lost, server restarting) is counted, logged
     * and retried with backoff; after the last attempt the error reaches the caller, which must not
     * go on as if the event were recorded.
     */
    async append(input: AuditEventInput): Promise<AuditEvent> {
      const { keys, log } = configured(opts);
      for (let attempt = 0; ; attempt++) {
        try {
          return await appendOnce(input, keys.chain);
        } catch (err) {
          const last = attempt >= retryDelaysMs.length;
          auditAppendFailures.inc({ result: last ? 'gave_up' : 'retried' });
          log.error(
            {
              err: err instanceof Error ? err.message : String(err),
              action: input.action,
              attempt: attempt + 1,
            },
            last ? 'audit append failed, giving up' : 'audit append failed, retrying',
          );
          if (last) throw err;
          await sleep(retryDelaysMs[attempt]!);
        }
      }
    },

    /** Oldest first, for the contract's cursor pagination. */
    async list(q: { limit: number; startingAfter?: string | undefined }) {
      let after = 0;
      if (q.startingAfter) {
        const r = await pool.query<{ seq: string }>('SELECT seq FROM audit_events WHERE id = $1', [
          q.startingAfter,
        ]);
        if (!r.rows[0]) return undefined;
        after = Number(r.rows[0].seq);
      }
      const r = await pool.query<Row>(
        `SELECT ${COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
        [after, q.limit + 1],
      );
      const rows = r.rows.map(fromRow);
      return { data: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
    },

    /**
     * Walks the whole chain in pages (bounded memory) and stops at the first broken link, checking it
     * against the latest stored anchor (whose MAC must verify) and, when given, an exported one.
     */
    async verify(external?: KeyedAnchor | Anchor): Promise<VerifyResult> {
      const { keys } = configured(opts);
      const stored = await latestAnchor();
      for (const a of [stored, external]) {
        if (a && isKeyed(a) && !anchorIsAuthentic(a, keys.anchor))
          return {
            valid: false,
            checked: 0,
            firstBrokenId: a.id,
            reason: 'anchor MAC does not verify (forged)',
          };
      }
      const anchors = [stored, external].filter((a): a is Anchor => !!a);
      const v = chainVerifier({ chainKey: keys.chain, anchors, legacyUntil: stored?.seq ?? 0 });
      const done = (): VerifyResult => {
        const r = v.finish();
        return stored ? { ...r, anchoredAt: stored.at } : r;
      };
      let after = 0;
      for (;;) {
        const r = await pool.query<Row>(
          `SELECT ${COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 1000`,
          [after],
        );
        for (const row of r.rows) if (!v.push(fromRow(row))) return done();
        const lastRow = r.rows[r.rows.length - 1];
        if (!lastRow) break;
        after = Number(lastRow.seq);
      }
      return done();
    },

    /** The latest event's position and hash (unkeyed), e.g. to compare with a copy. */
    head,

    /**
     * Writes a keyed anchor at the current chain head (skipped when the latest anchor already names
     * it) and returns it, for `cli audit anchor` and the API's periodic anchoring. undefined when the
     * trail is empty.
     */
    async anchor(): Promise<KeyedAnchor | undefined> {
      const { keys } = configured(opts);
      const h = await head();
      if (!h) return undefined;
      const latest = await latestAnchor();
      // Same head already anchored (ids are unique; the MAC covers the hash): nothing new to write.
      if (latest && latest.seq === h.seq && latest.id === h.id && anchorIsAuthentic(latest, keys.anchor))
        return latest;
      const at = clock.now().toISOString();
      const a: KeyedAnchor = { ...h, at, mac: anchorMac({ ...h, at }, keys.anchor) };
      await pool.query(
        'INSERT INTO audit_anchors (seq, event_id, event_hash, at, mac) VALUES ($1, $2, $3, $4, $5)',
        [a.seq, a.id, a.hash, a.at, a.mac],
      );
      return a;
    },
  };
}
export type AuditLog = ReturnType<typeof createAuditLog>;
