/**
 * Reconciliation runs in PostgreSQL (db/migrations/20261205180200_reconciliation.sql): the runs and
 * their discrepancies as API.md shows them, the ledger side of the comparison (payments with the
 * money their journal lines say, domain/reconciliation.ts), and the run's working set of payments a
 * provider page already matched. Every read is bounded by a page: a run's cost grows with its window,
 * its memory does not. A provider page's fee entries (domain/reconciliation.ts matchPage) are posted
 * with its results, in the same transaction, through the ledger's own statement (db/ledger-repo.ts).
 */
import {
  discrepancyKey,
  type Discrepancy,
  type DiscrepancyKind,
  type LedgerRecord,
  type MoneyFacts,
  type ReconciliationStatus,
  type Window,
} from '../domain/reconciliation';
import type { JournalEntryDraft } from '../domain/ledger';
import { appendEvent } from './events-repo';
import { ledgerCtes, ledgerParams } from './ledger-repo';
import type { EventRecord } from '../domain/merchant-event';
import { afterCursor } from './keyset';
import type { Pool } from './pool';
import { inTransaction } from './transaction';

/** API.md "Ledger and reconciliation": a run as the API shows it. */
export interface ReconciliationRunView {
  id: string;
  provider: string;
  from: string;
  to: string;
  status: ReconciliationStatus;
  checked: number;
  discrepancies: Array<{
    kind: DiscrepancyKind;
    paymentId?: string;
    providerReference?: string;
    expected?: MoneyFacts;
    actual?: MoneyFacts;
  }>;
}

/** A stored discrepancy not yet announced (merchant event + audit entry). */
export interface PendingDiscrepancy extends Discrepancy {
  key: string;
}

interface RunRow {
  id: string;
  provider: string;
  window_from: Date;
  window_to: Date;
  status: ReconciliationStatus;
  checked: string;
}

interface DiscrepancyRow {
  key: string;
  kind: DiscrepancyKind;
  payment_id: string | null;
  client_id: string | null;
  provider_reference: string | null;
  expected: MoneyFacts | null;
  actual: MoneyFacts | null;
}

const discrepancyView = (d: DiscrepancyRow): ReconciliationRunView['discrepancies'][number] => ({
  kind: d.kind,
  ...(d.payment_id ? { paymentId: d.payment_id } : {}),
  ...(d.provider_reference ? { providerReference: d.provider_reference } : {}),
  ...(d.expected ? { expected: d.expected } : {}),
  ...(d.actual ? { actual: d.actual } : {}),
});

interface LedgerRow {
  id: string;
  client_id: string;
  provider_reference: string | null;
  currency: string;
  created_at: Date;
  /** created_at to the microsecond, for keyset cursors (a Date keeps milliseconds only). */
  at_us: string;
  credited: string;
  debited: string;
  fees: string;
  fee_entries: string;
}

const ledgerRecord = (r: LedgerRow): LedgerRecord => ({
  paymentId: r.id,
  clientId: r.client_id,
  providerReference: r.provider_reference,
  currency: r.currency,
  createdAt: r.created_at.toISOString(),
  credited: Number(r.credited),
  debited: Number(r.debited),
  fees: Number(r.fees),
  feeEntries: Number(r.fee_entries),
});

/** A payment's money from its journal lines: credits and debits to merchant_balance, fees posted. */
/** The ledger's own posting statement (db/ledger-repo.ts), its entries and lines as $1 and $2. */
const FEE_ENTRIES_CTES = ledgerCtes('$1', '$2');

const LEDGER_MONEY = `p.id, p.client_id, p.provider_reference, p.currency, p.created_at,
       to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_us,
       coalesce(sum(-l.amount) FILTER (WHERE l.account = 'merchant_balance' AND l.amount < 0), 0)::text AS credited,
       coalesce(sum(l.amount) FILTER (WHERE l.account = 'merchant_balance' AND l.amount > 0), 0)::text AS debited,
       coalesce(sum(l.amount) FILTER (WHERE l.account = 'fees'), 0)::text AS fees,
       count(DISTINCT e.id) FILTER (WHERE e.kind = 'provider_fee')::text AS fee_entries
  FROM payments p
  LEFT JOIN ledger_entries e ON e.payment_id = p.id
  LEFT JOIN ledger_lines l ON l.entry_id = e.id`;

const RUNS_AFTER_CURSOR = afterCursor({
  table: 'reconciliation_runs',
  alias: 'r',
  cursor: '$1',
  order: 'desc',
});

export function createReconciliationRepo(pool: Pool) {
  async function discrepanciesOf(runIds: string[]): Promise<Map<string, DiscrepancyRow[]>> {
    const out = new Map<string, DiscrepancyRow[]>();
    if (!runIds.length) return out;
    const r = await pool.query<DiscrepancyRow & { run_id: string }>(
      `SELECT run_id, key, kind, payment_id, client_id, provider_reference, expected, actual
         FROM reconciliation_discrepancies WHERE run_id = ANY($1::text[])
        ORDER BY run_id, created_at, key`,
      [runIds],
    );
    for (const row of r.rows) {
      const list = out.get(row.run_id) ?? [];
      list.push(row);
      out.set(row.run_id, list);
    }
    return out;
  }

  const view = (r: RunRow, ds: DiscrepancyRow[]): ReconciliationRunView => ({
    id: r.id,
    provider: r.provider,
    from: r.window_from.toISOString(),
    to: r.window_to.toISOString(),
    status: r.status,
    checked: Number(r.checked),
    discrepancies: ds.map(discrepancyView),
  });

  return {
    /** A new run, `running` (idempotent by id: a retried start creates it once). */
    async createRun(run: { id: string; provider: string; from: string; to: string; requestedBy: string }) {
      await pool.query(
        `INSERT INTO reconciliation_runs (id, provider, window_from, window_to, status, requested_by)
         VALUES ($1, $2, $3, $4, 'running', $5) ON CONFLICT (id) DO NOTHING`,
        [run.id, run.provider, run.from, run.to, run.requestedBy],
      );
    },

    async getRun(id: string): Promise<ReconciliationRunView | undefined> {
      const r = await pool.query<RunRow>(
        `SELECT id, provider, window_from, window_to, status, checked::text FROM reconciliation_runs WHERE id = $1`,
        [id],
      );
      const row = r.rows[0];
      if (!row) return undefined;
      return view(row, (await discrepanciesOf([id])).get(id) ?? []);
    },

    /** Newest first, keyset on (created_at, id) (API.md "Lists"). */
    async listRuns(q: {
      limit: number;
      startingAfter?: string | undefined;
    }): Promise<{ data: ReconciliationRunView[]; hasMore: boolean }> {
      const r = await pool.query<RunRow>(
        `SELECT r.id, r.provider, r.window_from, r.window_to, r.status, r.checked::text
           FROM reconciliation_runs r
          WHERE ${RUNS_AFTER_CURSOR}
          ORDER BY r.created_at DESC, r.id DESC LIMIT $2`,
        [q.startingAfter ?? null, q.limit + 1],
      );
      const rows = r.rows.slice(0, q.limit);
      const ds = await discrepanciesOf(rows.map((x) => x.id));
      return { data: rows.map((x) => view(x, ds.get(x.id) ?? [])), hasMore: r.rows.length > q.limit };
    },

    /** The ledger payments of `provider` with these references (any window). */
    async ledgerByReferences(provider: string, references: string[]): Promise<Map<string, LedgerRecord>> {
      const out = new Map<string, LedgerRecord>();
      if (!references.length) return out;
      const r = await pool.query<LedgerRow>(
        `SELECT ${LEDGER_MONEY}
          WHERE p.provider = $1 AND p.provider_reference = ANY($2::text[])
          GROUP BY p.id ORDER BY p.created_at, p.id`,
        [provider, references],
      );
      for (const row of r.rows)
        if (row.provider_reference && !out.has(row.provider_reference))
          out.set(row.provider_reference, ledgerRecord(row));
      return out;
    },

    /**
     * One provider page's result, atomically: its discrepancies (once each), the payments seen and its
     * fee entries (each once by step key). Returns how many fee entries this call posted.
     */
    async storePage(
      runId: string,
      discrepancies: Discrepancy[],
      seen: string[],
      fees: ReadonlyArray<JournalEntryDraft> = [],
    ): Promise<number> {
      return inTransaction(pool, async (c) => {
        if (seen.length)
          await c.query(
            `INSERT INTO reconciliation_seen (run_id, payment_id)
             SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
            [runId, seen],
          );
        await insertDiscrepancies(c, runId, discrepancies);
        if (!fees.length) return 0;
        const r = await c.query<{ n: string }>(
          `WITH ${FEE_ENTRIES_CTES} SELECT count(*)::text AS n FROM je`,
          ledgerParams(fees),
        );
        return Number(r.rows[0]?.n ?? 0);
      });
    },

    /**
     * One page of the ledger's remainder: payments of `provider` created in the window whose journal
     * took money and that no provider page saw, keyset on (created_at, id).
     */
    async unseenLedger(q: {
      runId: string;
      provider: string;
      window: Window;
      after?: { createdAt: string; id: string } | undefined;
      limit: number;
    }): Promise<Array<LedgerRecord & { cursor: { createdAt: string; id: string } }>> {
      const r = await pool.query<LedgerRow>(
        `SELECT ${LEDGER_MONEY}
          WHERE p.provider = $1 AND p.created_at >= $2 AND p.created_at < $3
            AND ($4::timestamptz IS NULL OR (p.created_at, p.id) > ($4, $5::text))
            AND NOT EXISTS (SELECT 1 FROM reconciliation_seen s WHERE s.run_id = $6 AND s.payment_id = p.id)
          GROUP BY p.id
         HAVING coalesce(sum(-l.amount) FILTER (WHERE l.account = 'merchant_balance' AND l.amount < 0), 0) > 0
          ORDER BY p.created_at, p.id LIMIT $7`,
        [
          q.provider,
          q.window.from,
          q.window.to,
          q.after?.createdAt ?? null,
          q.after?.id ?? null,
          q.runId,
          q.limit,
        ],
      );
      return r.rows.map((row) => ({ ...ledgerRecord(row), cursor: { createdAt: row.at_us, id: row.id } }));
    },

    async storeDiscrepancies(runId: string, discrepancies: Discrepancy[]): Promise<void> {
      await inTransaction(pool, (c) => insertDiscrepancies(c, runId, discrepancies));
    },

    /** Discrepancies whose event and audit entry are not written yet (at most `limit`). */
    async unannounced(runId: string, limit: number): Promise<PendingDiscrepancy[]> {
      const r = await pool.query<DiscrepancyRow>(
        `SELECT key, kind, payment_id, client_id, provider_reference, expected, actual
           FROM reconciliation_discrepancies WHERE run_id = $1 AND announced_at IS NULL
          ORDER BY key LIMIT $2`,
        [runId, limit],
      );
      return r.rows.map((d) => ({
        key: d.key,
        kind: d.kind,
        paymentId: d.payment_id ?? undefined,
        clientId: d.client_id ?? undefined,
        providerReference: d.provider_reference ?? undefined,
        expected: d.expected ?? undefined,
        actual: d.actual ?? undefined,
      }));
    },

    /** Marks a discrepancy announced, with its merchant event (when it concerns a merchant) in one go. */
    async markAnnounced(runId: string, key: string, event: EventRecord | undefined): Promise<void> {
      await inTransaction(pool, async (c) => {
        if (event) await appendEvent(c, event);
        await c.query(
          `UPDATE reconciliation_discrepancies SET announced_at = now() WHERE run_id = $1 AND key = $2`,
          [runId, key],
        );
      });
    },

    /** The run's end: its status and counts; the working set goes. */
    async finishRun(f: {
      id: string;
      status: ReconciliationStatus;
      checked: number;
      error?: string | undefined;
    }): Promise<void> {
      await inTransaction(pool, async (c) => {
        await c.query(
          `UPDATE reconciliation_runs
              SET status = $2, checked = $3, error = $4, finished_at = now(),
                  discrepancy_count = (SELECT count(*) FROM reconciliation_discrepancies WHERE run_id = $1)
            WHERE id = $1`,
          [f.id, f.status, f.checked, f.error ?? null],
        );
        await c.query('DELETE FROM reconciliation_seen WHERE run_id = $1', [f.id]);
      });
    },

    /**
     * A run whose workflow closed without finishing it (terminated, timed out): `failed` with the
     * reason, only if still `running` (a run that finished meanwhile keeps its status). True if closed.
     */
    async closeAbandoned(id: string, error: string): Promise<boolean> {
      return inTransaction(pool, async (c) => {
        const r = await c.query(
          `UPDATE reconciliation_runs
              SET status = 'failed', error = $2, finished_at = now(),
                  discrepancy_count = (SELECT count(*) FROM reconciliation_discrepancies WHERE run_id = $1)
            WHERE id = $1 AND status = 'running'`,
          [id, error],
        );
        if (!r.rowCount) return false;
        await c.query('DELETE FROM reconciliation_seen WHERE run_id = $1', [id]);
        return true;
      });
    },

    async discrepancyCount(runId: string): Promise<number> {
      const r = await pool.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM reconciliation_discrepancies WHERE run_id = $1',
        [runId],
      );
      return Number(r.rows[0]?.n ?? 0);
    },
  };
}
export type ReconciliationRepo = ReturnType<typeof createReconciliationRepo>;

async function insertDiscrepancies(
  c: { query: Pool['query'] },
  runId: string,
  ds: Discrepancy[],
): Promise<void> {
  if (!ds.length) return;
  await c.query(
    `INSERT INTO reconciliation_discrepancies
       (run_id, key, kind, payment_id, client_id, provider_reference, expected, actual)
     SELECT $1, d.key, d.kind, d.payment_id, d.client_id, d.provider_reference, d.expected, d.actual
       FROM jsonb_to_recordset($2::jsonb) AS d(key text, kind text, payment_id text, client_id text,
            provider_reference text, expected jsonb, actual jsonb)
     ON CONFLICT (run_id, key) DO NOTHING`,
    [
      runId,
      JSON.stringify(
        ds.map((d) => ({
          key: discrepancyKey(d),
          kind: d.kind,
          payment_id: d.paymentId ?? null,
          client_id: d.clientId ?? null,
          provider_reference: d.providerReference ?? null,
          expected: d.expected ?? null,
          actual: d.actual ?? null,
        })),
      ),
    ],
  );
}
