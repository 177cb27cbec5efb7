/**
 * The stuck-payment sweeper's reads and bookkeeping: live payment projections (a bounded page at a
 * time, oldest first, resuming where the last run stopped), its open findings and its last run. It
 * never writes a payment: repairs go through the payment workflow.
 */
import type { EventRecord } from '../domain/merchant-event';
import type { Inspection } from '../domain/payment-repair';
import type { PaymentStatus } from '../domain/payment-state';
import { appendEvent } from './events-repo';
import type { Pool } from './pool';
import { inTransaction } from './transaction';

export type Projection = Inspection['projection'] & { paymentId: string; clientId: string };

export interface SweepCursor {
  createdAt: string;
  id: string;
}

interface Row {
  id: string;
  client_id: string;
  status: PaymentStatus;
  amount: number;
  amount_capturable: number;
  amount_captured: number;
  amount_refunded: number;
  provider: string;
  provider_reference: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLS = `id, client_id, status, amount, amount_capturable, amount_captured, amount_refunded, provider,
  provider_reference, version, created_at, updated_at`;

const toProjection = (r: Row): Projection => ({
  paymentId: r.id,
  clientId: r.client_id,
  status: r.status,
  amount: r.amount,
  amountCapturable: r.amount_capturable,
  amountCaptured: r.amount_captured,
  amountRefunded: r.amount_refunded,
  provider: r.provider,
  providerReference: r.provider_reference,
  version: r.version,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export interface Finding {
  paymentId: string;
  clientId: string;
  status: 'open' | 'repaired' | 'resolved';
  problems: string[];
  detail: Record<string, unknown>;
  firstSeenAt: string;
  lastSeenAt: string;
  lastRunId: string;
}

export interface RunRecord {
  runId: string;
  finishedAt: string;
  summary: Record<string, unknown>;
}

const LIVE = [
  'processing',
  'authorized',
  'partially_captured',
  'captured',
  'partially_refunded',
] as const satisfies readonly PaymentStatus[];

export function createSweeperRepo(pool: Pool) {
  return {
    /** Live payments unchanged since `olderThan`, after `after` in (created_at, id) order. */
    async scan(q: {
      after?: SweepCursor | undefined;
      limit: number;
      olderThan: string;
      /** One merchant's payments only; absent: all. */
      clientId?: string | undefined;
    }): Promise<Projection[]> {
      const r = await pool.query<Row>(
        `SELECT ${COLS} FROM payments
          WHERE status = ANY($1::text[]) AND updated_at < $2
            AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::text))
            AND ($6::text IS NULL OR client_id = $6)
          ORDER BY created_at, id
          LIMIT $5`,
        [LIVE, q.olderThan, q.after?.createdAt ?? null, q.after?.id ?? '', q.limit, q.clientId ?? null],
      );
      return r.rows.map(toProjection);
    },

    async byIds(ids: string[]): Promise<Projection[]> {
      const r = await pool.query<Row>(`SELECT ${COLS} FROM payments WHERE id = ANY($1::text[]) ORDER BY id`, [
        ids,
      ]);
      return r.rows.map(toProjection);
    },

    async cursor(scope: string): Promise<SweepCursor | undefined> {
      const r = await pool.query<{ after_created_at: Date | null; after_id: string | null }>(
        'SELECT after_created_at, after_id FROM payment_sweeper_runs WHERE scope = $1',
        [scope],
      );
      const row = r.rows[0];
      return row?.after_created_at && row.after_id
        ? { createdAt: row.after_created_at.toISOString(), id: row.after_id }
        : undefined;
    },

    /**
     * One run's outcome: findings opened or still open, findings closed (`repaired` by this run or
     * `resolved`: consistent again), the scan position, the summary. An opened finding's merchant
     * event goes in the same transaction. Returns the payments whose finding this run opened (a retry
     * of the same run returns them again: the caller's events and audit are keyed by the run).
     */
    async recordRun(run: {
      scope: string;
      runId: string;
      open: Array<{
        paymentId: string;
        clientId: string;
        problems: string[];
        detail: Record<string, unknown>;
      }>;
      closed: Array<{ paymentId: string; status: 'repaired' | 'resolved' }>;
      /** undefined: leave the scan position as it is (a run over explicit payments). */
      cursor?: SweepCursor | null | undefined;
      summary: Record<string, unknown>;
      opened: (f: { paymentId: string; clientId: string; problems: string[] }) => EventRecord;
    }): Promise<string[]> {
      return inTransaction(pool, async (c) => {
        const opened: string[] = [];
        for (const f of run.open) {
          // A finding (re)opens when it was closed, absent, or its problems changed.
          const r = await c.query<{ opened_run_id: string }>(
            `INSERT INTO payment_sweep_findings AS f
                 (payment_id, client_id, status, problems, detail, opened_run_id, last_run_id)
               VALUES ($1, $2, 'open', $3, $4, $5, $5)
               ON CONFLICT (payment_id) DO UPDATE SET
                 opened_run_id = CASE WHEN f.status <> 'open' OR f.problems <> EXCLUDED.problems
                                      THEN EXCLUDED.opened_run_id ELSE f.opened_run_id END,
                 first_seen_at = CASE WHEN f.status <> 'open' THEN now() ELSE f.first_seen_at END,
                 status = 'open', problems = EXCLUDED.problems, detail = EXCLUDED.detail,
                 last_run_id = EXCLUDED.last_run_id, last_seen_at = now()
               RETURNING opened_run_id`,
            [f.paymentId, f.clientId, f.problems, JSON.stringify(f.detail), run.runId],
          );
          if (r.rows[0]?.opened_run_id === run.runId) {
            opened.push(f.paymentId);
            await appendEvent(c, run.opened(f));
          }
        }
        for (const f of run.closed) {
          await c.query(
            `UPDATE payment_sweep_findings SET status = $2, last_run_id = $3, last_seen_at = now()
              WHERE payment_id = $1 AND status = 'open'`,
            [f.paymentId, f.status, run.runId],
          );
        }
        if (run.cursor !== undefined) {
          await c.query(
            `INSERT INTO payment_sweeper_runs (scope, run_id, after_created_at, after_id, summary)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (scope) DO UPDATE SET run_id = EXCLUDED.run_id, finished_at = now(),
                 after_created_at = EXCLUDED.after_created_at, after_id = EXCLUDED.after_id,
                 summary = EXCLUDED.summary`,
            [
              run.scope,
              run.runId,
              run.cursor?.createdAt ?? null,
              run.cursor?.id ?? null,
              JSON.stringify(run.summary),
            ],
          );
        }
        return opened;
      });
    },

    async openFindingIds(limit: number): Promise<string[]> {
      const r = await pool.query<{ payment_id: string }>(
        `SELECT payment_id FROM payment_sweep_findings WHERE status = 'open'
          ORDER BY last_seen_at, payment_id LIMIT $1`,
        [limit],
      );
      return r.rows.map((x) => x.payment_id);
    },

    async findings(q: { status?: Finding['status'] | undefined; limit: number }): Promise<Finding[]> {
      const r = await pool.query<{
        payment_id: string;
        client_id: string;
        status: Finding['status'];
        problems: string[];
        detail: Record<string, unknown>;
        first_seen_at: Date;
        last_seen_at: Date;
        last_run_id: string;
      }>(
        `SELECT * FROM payment_sweep_findings WHERE ($1::text IS NULL OR status = $1)
          ORDER BY last_seen_at DESC, payment_id LIMIT $2`,
        [q.status ?? null, q.limit],
      );
      return r.rows.map((x) => ({
        paymentId: x.payment_id,
        clientId: x.client_id,
        status: x.status,
        problems: x.problems,
        detail: x.detail,
        firstSeenAt: x.first_seen_at.toISOString(),
        lastSeenAt: x.last_seen_at.toISOString(),
        lastRunId: x.last_run_id,
      }));
    },

    async lastRun(scope: string): Promise<RunRecord | undefined> {
      const r = await pool.query<{ run_id: string; finished_at: Date; summary: Record<string, unknown> }>(
        'SELECT run_id, finished_at, summary FROM payment_sweeper_runs WHERE scope = $1',
        [scope],
      );
      const row = r.rows[0];
      return row
        ? { runId: row.run_id, finishedAt: row.finished_at.toISOString(), summary: row.summary }
        : undefined;
    },
  };
}
export type SweeperRepo = ReturnType<typeof createSweeperRepo>;
