/**
 * The audit trail in PostgreSQL: `createAuditLog(pool).append(event)` for every component.
 * Appends are serialized by a transaction-scoped advisory lock, so two writers can never both link
 * to the same previous event (the chain never forks); `seq` is also the primary key as a backstop.
 */
import { newId } from '../domain/ids';
import {
  chainVerifier,
  eventHash,
  GENESIS_HASH,
  type Anchor,
  type AuditEvent,
  type AuditEventInput,
  type VerifyResult,
} from '../security/audit';
import { systemClock, type Clock } from '../security/clock';
import type { Pool } from './pool';

/** Arbitrary constant naming the audit-append lock (pg advisory locks are keyed by bigint). */
const APPEND_LOCK = 7_411_203_982;

interface Row {
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

const COLS = `seq, id, at, actor, action, resource, outcome, source_ip AS "sourceIp", details,
  prev_hash AS "prevHash", hash`;

function fromRow(r: Row): AuditEvent {
  return { ...r, seq: Number(r.seq), at: r.at.toISOString() };
}

export function createAuditLog(pool: Pool, clock: Clock = systemClock) {
  return {
    async append(input: AuditEventInput): Promise<AuditEvent> {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
        const last = await c.query<{ seq: string; hash: string }>(
          'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
        );
        const prev = last.rows[0];
        const base: Omit<AuditEvent, 'hash'> = {
          seq: prev ? Number(prev.seq) + 1 : 1,
          id: newId('aud'),
          at: clock.now().toISOString(),
          actor: input.actor,
          action: input.action,
          resource: input.resource,
          outcome: input.outcome,
          sourceIp: input.sourceIp ?? null,
          // Round-trip through JSON so what is hashed is exactly what jsonb will give back.
          details: JSON.parse(JSON.stringify(input.details ?? {})) as Record<string, unknown>,
          prevHash: prev ? prev.hash : GENESIS_HASH,
        };
        const event: AuditEvent = { ...base, hash: eventHash(base) };
        await c.query(
          `INSERT INTO audit_events (seq, id, at, actor, action, resource, outcome, source_ip, details, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
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
        await c.query('COMMIT');
        return event;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },

    /** Oldest first, for the contract's cursor pagination. */
    async list(opts: { limit: number; startingAfter?: string | undefined }) {
      let after = 0;
      if (opts.startingAfter) {
        const r = await pool.query<{ seq: string }>('SELECT seq FROM audit_events WHERE id = $1', [
          opts.startingAfter,
        ]);
        if (!r.rows[0]) return undefined;
        after = Number(r.rows[0].seq);
      }
      const r = await pool.query<Row>(
        `SELECT ${COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
        [after, opts.limit + 1],
      );
      const rows = r.rows.map(fromRow);
      return { data: rows.slice(0, opts.limit), hasMore: rows.length > opts.limit };
    },

    /** Walks the whole chain in pages (bounded memory) and stops at the first broken link. */
    async verify(anchor?: Anchor): Promise<VerifyResult> {
      const v = chainVerifier(anchor);
      let after = 0;
      for (;;) {
        const r = await pool.query<Row>(
          `SELECT ${COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 1000`,
          [after],
        );
        for (const row of r.rows) if (!v.push(fromRow(row))) return v.finish();
        const lastRow = r.rows[r.rows.length - 1];
        if (!lastRow) break;
        after = Number(lastRow.seq);
      }
      return v.finish();
    },

    /** The latest event's position and hash, to be stored outside the database (WORM, ticket...). */
    async anchor(): Promise<Anchor | undefined> {
      const r = await pool.query<{ seq: string; id: string; hash: string }>(
        'SELECT seq, id, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
      );
      const row = r.rows[0];
      return row ? { seq: Number(row.seq), id: row.id, hash: row.hash } : undefined;
    },
  };
}
export type AuditLog = ReturnType<typeof createAuditLog>;
