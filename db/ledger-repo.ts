/**
 * The double-entry ledger in PostgreSQL (chart of accounts and movements: domain/ledger.ts; the
 * database's own guarantees: db/migrations/20261205030000_ledger.sql). Entries are posted inside the
 * payment step's single statement (payments-repo.ts commitStep, through LEDGER_CTES) and read here:
 * the API's entries and balances, and the verifier's figures (`cli ledger verify`).
 */
import {
  entryTotal,
  paymentLedgerProblems,
  type JournalEntryDraft,
  type LedgerAccount,
  type LedgerLine,
} from '../domain/ledger';
import { afterCursor } from './keyset';
import type { Pool, PoolClient } from './pool';

type Queryable = Pool | PoolClient;

/**
 * Data-modifying CTEs that post journal entries (`entries`, `lines`: the placeholders of the two
 * ledgerParams, e.g. '$25', '$26'): accounts created on first use; an entry whose step key is already
 * stored is skipped, and so are its lines (they join the entries this statement actually inserted).
 * Balance is checked at commit. `je` returns the ids inserted.
 */
export const ledgerCtes = (entries: string, lines: string): string => `la AS (
           INSERT INTO ledger_accounts (client_id, currency, kind)
           SELECT DISTINCT x.client_id, x.currency, x.account
             FROM jsonb_to_recordset(${lines}::jsonb) AS x(client_id text, currency text, account text)
           ON CONFLICT DO NOTHING),
         je AS (
           INSERT INTO ledger_entries (id, client_id, payment_id, kind, currency, step_key, created_at)
           SELECT j.id, j.client_id, j.payment_id, j.kind, j.currency, j.step_key, j.created_at
             FROM jsonb_to_recordset(${entries}::jsonb) AS j(id text, client_id text, payment_id text, kind text,
                  currency text, step_key text, created_at timestamptz)
           ON CONFLICT (step_key) DO NOTHING
           RETURNING id),
         jl AS (
           INSERT INTO ledger_lines (entry_id, line_no, client_id, currency, account, amount)
           SELECT l.entry_id, l.line_no, l.client_id, l.currency, l.account, l.amount
             FROM jsonb_to_recordset(${lines}::jsonb) AS l(entry_id text, line_no int, client_id text,
                  currency text, account text, amount bigint)
             JOIN je ON je.id = l.entry_id)`;

/** The payment step's statement (payments-repo.ts commitStep): $25 entries, $26 lines. */
export const LEDGER_CTES = ledgerCtes('$25', '$26');

/** The two parameters LEDGER_CTES (ledgerCtes) reads. */
export function ledgerParams(drafts: ReadonlyArray<JournalEntryDraft> | undefined): [string, string] {
  const entries = drafts ?? [];
  return [
    JSON.stringify(
      entries.map((e) => ({
        id: e.id,
        client_id: e.clientId,
        payment_id: e.paymentId ?? null,
        kind: e.kind,
        currency: e.currency,
        step_key: e.stepKey,
        created_at: e.createdAt,
      })),
    ),
    JSON.stringify(
      entries.flatMap((e) =>
        e.lines.map((l, i) => ({
          entry_id: e.id,
          line_no: i,
          client_id: e.clientId,
          currency: e.currency,
          account: l.account,
          amount: l.amount,
        })),
      ),
    ),
  ];
}

/** API.md "Ledger and reconciliation": an entry as the API shows it. */
export interface LedgerEntryView {
  id: string;
  clientId: string;
  paymentId?: string;
  kind: string;
  currency: string;
  lines: LedgerLine[];
  createdAt: string;
}

export interface LedgerBalance {
  clientId: string;
  account: LedgerAccount;
  currency: string;
  balance: number;
}

interface EntryRow {
  id: string;
  client_id: string;
  payment_id: string | null;
  kind: string;
  currency: string;
  created_at: Date;
  lines: LedgerLine[] | null;
}

const toView = (r: EntryRow): LedgerEntryView => ({
  id: r.id,
  clientId: r.client_id,
  ...(r.payment_id ? { paymentId: r.payment_id } : {}),
  kind: r.kind,
  currency: r.currency,
  lines: (r.lines ?? []).map((l) => ({ account: l.account, amount: Number(l.amount) })),
  createdAt: r.created_at.toISOString(),
});

const ENTRIES_AFTER_CURSOR = afterCursor({
  table: 'ledger_entries',
  alias: 'e',
  cursor: '$3',
  scope: { column: 'client_id', param: '$1' },
  order: 'desc',
});

const LINES_OF_ENTRY = `(SELECT json_agg(json_build_object('account', l.account, 'amount', l.amount) ORDER BY l.line_no)
            FROM ledger_lines l WHERE l.entry_id = e.id) AS lines`;

export interface LedgerReport {
  entries: number;
  payments: number;
  /** First problems found (bounded), each naming the entry, payment or account. */
  problems: string[];
}

export function createLedgerRepo(pool: Pool) {
  return {
    /** `clientId` undefined = operator read (all merchants). Newest first, keyset on (created_at, id). */
    async listEntries(q: {
      clientId: string | undefined;
      paymentId?: string | undefined;
      limit: number;
      startingAfter?: string | undefined;
    }): Promise<{ data: LedgerEntryView[]; hasMore: boolean }> {
      const r = await pool.query<EntryRow>(
        `SELECT e.id, e.client_id, e.payment_id, e.kind, e.currency, e.created_at, ${LINES_OF_ENTRY}
           FROM ledger_entries e
          WHERE ($1::text IS NULL OR e.client_id = $1)
            AND ($2::text IS NULL OR e.payment_id = $2)
            AND ${ENTRIES_AFTER_CURSOR}
          ORDER BY e.created_at DESC, e.id DESC
          LIMIT $4`,
        [q.clientId ?? null, q.paymentId ?? null, q.startingAfter ?? null, q.limit + 1],
      );
      return { data: r.rows.slice(0, q.limit).map(toView), hasMore: r.rows.length > q.limit };
    },

    /** The sum of the lines of every account (of one merchant; undefined = all, for an operator). */
    balances: (clientId: string | undefined): Promise<LedgerBalance[]> => balancesIn(pool, clientId),

    /**
     * The verifier: every entry balances (at least two lines, sum 0); every payment with entries has
     * ledger balances equal to its amounts, its receivable net of the provider fees posted and those
     * fees never negative (domain/ledger.ts paymentLedgerProblems); the balances the
     * API reads equal the sums of all lines per account, recomputed here line by line. Reads entries
     * and payments in pages, all in ONE read-only snapshot, so steps committed while it runs cannot
     * make a consistent ledger look broken.
     */
    async verify(
      opts: { maxProblems?: number; pageSize?: number; clientId?: string | undefined } = {},
    ): Promise<LedgerReport> {
      const c = await pool.connect();
      try {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const report = await verifyIn(c, opts.maxProblems ?? 20, opts.pageSize ?? 1000, opts.clientId);
        await c.query('COMMIT');
        return report;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },
  };
}
export type LedgerRepo = ReturnType<typeof createLedgerRepo>;

async function balancesIn(q: Queryable, clientId: string | undefined): Promise<LedgerBalance[]> {
  const r = await q.query<{ client_id: string; account: LedgerAccount; currency: string; balance: string }>(
    `SELECT a.client_id, a.kind AS account, a.currency,
            coalesce((SELECT sum(l.amount) FROM ledger_lines l
                       WHERE l.client_id = a.client_id AND l.currency = a.currency AND l.account = a.kind), 0)::text
              AS balance
       FROM ledger_accounts a
      WHERE ($1::text IS NULL OR a.client_id = $1)
      ORDER BY a.client_id, a.currency, a.kind`,
    [clientId ?? null],
  );
  return r.rows.map((x) => ({
    clientId: x.client_id,
    account: x.account,
    currency: x.currency,
    balance: Number(x.balance),
  }));
}

async function verifyIn(
  c: PoolClient,
  max: number,
  page: number,
  clientId: string | undefined,
): Promise<LedgerReport> {
  const problems: string[] = [];
  const note = (p: string) => {
    if (problems.length < max) problems.push(p);
  };
  const sums = new Map<string, number>();
  const byPayment = new Map<string, LedgerLine[]>();
  let entries = 0;
  let after: { at: Date; id: string } | undefined;
  for (;;) {
    const r = await c.query<EntryRow>(
      `SELECT e.id, e.client_id, e.payment_id, e.kind, e.currency, e.created_at, ${LINES_OF_ENTRY}
         FROM ledger_entries e
        WHERE ($1::timestamptz IS NULL OR (e.created_at, e.id) > ($1, $2::text))
          AND ($4::text IS NULL OR e.client_id = $4)
        ORDER BY e.created_at, e.id
        LIMIT $3`,
      [after?.at ?? null, after?.id ?? null, page, clientId ?? null],
    );
    for (const row of r.rows) {
      entries++;
      const e = toView(row);
      if (e.lines.length < 2 || entryTotal(e) !== 0)
        note(`entry ${e.id}: ${e.lines.length} lines summing to ${entryTotal(e)}`);
      for (const l of e.lines) {
        const k = `${e.clientId}/${e.currency}/${l.account}`;
        sums.set(k, (sums.get(k) ?? 0) + l.amount);
      }
      if (e.paymentId) {
        const lines = byPayment.get(e.paymentId) ?? [];
        lines.push(...e.lines);
        byPayment.set(e.paymentId, lines);
      }
    }
    const last = r.rows[r.rows.length - 1];
    if (!last || r.rows.length < page) break;
    after = { at: last.created_at, id: last.id };
  }

  // Payments in pages of ids: their amounts and their refunds not (yet) paid by the provider.
  const ids = [...byPayment.keys()].sort();
  for (let i = 0; i < ids.length; i += page) {
    const r = await c.query<{
      id: string;
      amount_capturable: number;
      amount_captured: number;
      amount_refunded: number;
      amount_disputed: number;
      refunds_pending: string;
    }>(
      `SELECT p.id, p.amount_capturable, p.amount_captured, p.amount_refunded, p.amount_disputed,
              coalesce((SELECT sum(f.amount) FROM refunds f
                         WHERE f.payment_id = p.id AND f.status <> 'succeeded'), 0)::text AS refunds_pending
         FROM payments p WHERE p.id = ANY($1::text[])
        ORDER BY p.id`,
      [ids.slice(i, i + page)],
    );
    for (const p of r.rows) {
      const found = paymentLedgerProblems(byPayment.get(p.id) ?? [], {
        amountCapturable: p.amount_capturable,
        amountCaptured: p.amount_captured,
        amountRefunded: p.amount_refunded,
        refundsPending: Number(p.refunds_pending),
        amountDisputed: p.amount_disputed,
      });
      for (const d of found) note(`payment ${p.id}: ${d}`);
    }
  }

  const seen = new Set<string>();
  for (const b of await balancesIn(c, clientId)) {
    const k = `${b.clientId}/${b.currency}/${b.account}`;
    seen.add(k);
    const sum = sums.get(k) ?? 0;
    if (sum !== b.balance) note(`account ${k}: balances read ${b.balance}, lines sum to ${sum}`);
  }
  for (const [k, sum] of sums) if (!seen.has(k)) note(`account ${k}: lines sum to ${sum} but no account row`);
  return { entries, payments: ids.length, problems };
}
