/**
 * The ledger's guarantees live in PostgreSQL (db/migrations/20261205030000_ledger.sql), not only in
 * code: a payment step posts its entries in the same statement as its projection and a replayed step
 * posts nothing twice; an entry that does not balance, or lines added to an entry after its
 * transaction, are refused at commit even to the owner; nobody can UPDATE, DELETE or TRUNCATE ledger
 * rows (the runtime role lacks the privilege, the owner meets the append-only triggers).
 */
import { Pool, type PoolClient } from 'pg';
import { createActivities } from '../../activities';
import { createClientsRepo } from '../../db/clients-repo';
import { createEventsRepo } from '../../db/events-repo';
import { createLedgerRepo } from '../../db/ledger-repo';
import { createPaymentsRepo } from '../../db/payments-repo';
import { stepEntries, type LedgerFacts } from '../../domain/ledger';
import type { PaymentStep, PaymentView } from '../../domain/payment';

let owner: Pool;
let runtime: Pool;
let acts: ReturnType<typeof createActivities>;
const clientId = `cli_ledgerdb${process.pid}`;

beforeAll(async () => {
  owner = new Pool({ connectionString: process.env.SETTLE_TEST_DATABASE_URL, max: 2 });
  runtime = new Pool({ connectionString: process.env.SETTLE_TEST_RUNTIME_DATABASE_URL, max: 2 });
  acts = createActivities({ payments: createPaymentsRepo(runtime), events: createEventsRepo(runtime) });
  await createClientsRepo(owner).insert({ id: clientId, name: clientId, role: 'service', secretHash: 'x' });
});
afterAll(async () => {
  await runtime?.end();
  await owner?.end();
});

let n = 0;
function view(over: Partial<PaymentView>): PaymentView {
  const at = new Date().toISOString();
  return {
    id: `pay_ledgerdb${process.pid}x${++n}`,
    status: 'authorized',
    amount: 1000,
    currency: 'USD',
    amountCapturable: 1000,
    amountCaptured: 0,
    amountRefunded: 0,
    amountDisputed: 0,
    capture: 'manual',
    provider: 'sandbox',
    providerReference: 'sbx_ref',
    paymentMethod: { token: 'tok_ledgerdbtest', brand: 'visa', last4: '4242' },
    createdAt: at,
    updatedAt: at,
    ...over,
  };
}
const facts = (v: PaymentView): LedgerFacts => ({
  amountCapturable: v.amountCapturable,
  amountCaptured: v.amountCaptured,
  amountRefunded: v.amountRefunded,
  refunds: [],
});
function step(prev: PaymentView | undefined, v: PaymentView, version: number): PaymentStep {
  const ctx = { clientId, paymentId: v.id, currency: v.currency, version, at: v.updatedAt };
  return {
    clientId,
    view: v,
    version,
    events: [],
    ledger: stepEntries(ctx, prev ? facts(prev) : { ...facts(v), amountCapturable: 0 }, facts(v)),
  };
}
const entriesOf = async (paymentId: string) =>
  (
    await owner.query<{ id: string; kind: string; n: number }>(
      `SELECT e.id, e.kind, (SELECT count(*)::int FROM ledger_lines l WHERE l.entry_id = e.id) AS n
         FROM ledger_entries e WHERE e.payment_id = $1 ORDER BY e.id`,
      [paymentId],
    )
  ).rows;

async function codeOf(p: Pool | PoolClient, sql: string, params: unknown[] = []): Promise<string> {
  try {
    await p.query(sql, params);
    return 'ALLOWED';
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  }
}

/** One transaction as the owner; resolves to the SQLSTATE its COMMIT (or a statement) failed with. */
async function ownerTx(statements: Array<[string, unknown[]?]>): Promise<string> {
  const c = await owner.connect();
  try {
    await c.query('BEGIN');
    for (const [sql, params] of statements) await c.query(sql, params ?? []);
    return await codeOf(c, 'COMMIT');
  } catch (err) {
    await c.query('ROLLBACK');
    return (err as { code?: string }).code ?? 'error';
  } finally {
    c.release();
  }
}

test('a step posts its entries with its projection; the same step again (retry, replay) posts nothing', async () => {
  const a = view({});
  const authorize = step(undefined, a, 2);
  await acts.commitPaymentStep(authorize);
  const c = view({ id: a.id, status: 'captured', amountCapturable: 0, amountCaptured: 600 });
  const capture = step(a, c, 3);
  await acts.commitPaymentStep(capture);
  await acts.commitPaymentStep(capture);
  await acts.commitPaymentStep(authorize);
  expect(await entriesOf(a.id)).toEqual([
    { id: `je_${a.id.slice(4)}v2a`, kind: 'authorization', n: 2 },
    { id: `je_${a.id.slice(4)}v3c`, kind: 'capture', n: 4 },
    { id: `je_${a.id.slice(4)}v3h`, kind: 'hold_release', n: 2 },
  ]);
  const report = await createLedgerRepo(runtime).verify();
  expect(report.problems).toEqual([]);
  const mine = (await createLedgerRepo(runtime).balances(clientId)).filter((b) => b.currency === 'USD');
  expect(Object.fromEntries(mine.map((b) => [b.account, b.balance]))).toMatchObject({
    authorized_holds: 0,
    merchant_pending: 0,
    receivable_from_provider: 600,
    merchant_balance: -600,
  });
});

test('a step whose ledger the database refuses writes nothing of the step', async () => {
  const a = view({});
  const bad = step(undefined, a, 2);
  bad.ledger![0]!.lines[1]!.amount = -999;
  await expect(acts.commitPaymentStep(bad)).rejects.toBeDefined();
  expect(await owner.query('SELECT 1 FROM payments WHERE id = $1', [a.id])).toMatchObject({ rowCount: 0 });
  expect(await entriesOf(a.id)).toEqual([]);
});

test('an unbalanced entry, or a one-line entry, is refused at commit even to the owner', async () => {
  const je = `je_unbalanced${process.pid}`;
  const entry = `INSERT INTO ledger_entries (id, client_id, kind, currency, step_key, created_at)
                 VALUES ($1, $2, 'reversal', 'USD', $1, now())`;
  const account = `INSERT INTO ledger_accounts (client_id, currency, kind) VALUES ($1, 'USD', $2) ON CONFLICT DO NOTHING`;
  const line = `INSERT INTO ledger_lines (entry_id, line_no, client_id, currency, account, amount)
                VALUES ($1, $2, $3, 'USD', $4, $5)`;
  const setup: Array<[string, unknown[]]> = [
    [account, [clientId, 'fees']],
    [account, [clientId, 'merchant_balance']],
    [entry, [je, clientId]],
  ];
  expect(
    await ownerTx([
      ...setup,
      [line, [je, 0, clientId, 'fees', 100]],
      [line, [je, 1, clientId, 'merchant_balance', -99]],
    ]),
  ).toBe('23514');
  expect(await ownerTx([...setup, [line, [je, 0, clientId, 'fees', 100]]])).toBe('23514');
  expect(await ownerTx([...setup])).toBe('23514');
  // Lines in another currency than their entry's: the composite foreign key.
  expect(
    await ownerTx([
      ...setup,
      [
        `INSERT INTO ledger_accounts (client_id, currency, kind) VALUES ($1, 'EUR', 'fees') ON CONFLICT DO NOTHING`,
        [clientId],
      ],
      [line, [je, 0, clientId, 'merchant_balance', 100]],
      [
        `INSERT INTO ledger_lines (entry_id, line_no, client_id, currency, account, amount) VALUES ($1, 1, $2, 'EUR', 'fees', -100)`,
        [je, clientId],
      ],
    ]),
  ).toBe('23503');
  // Balanced: committed. Then lines added to it later, balanced or not, are refused.
  expect(
    await ownerTx([
      ...setup,
      [line, [je, 0, clientId, 'fees', 100]],
      [line, [je, 1, clientId, 'merchant_balance', -100]],
    ]),
  ).toBe('ALLOWED');
  expect(
    await ownerTx([
      [line, [je, 2, clientId, 'fees', 5]],
      [line, [je, 3, clientId, 'merchant_balance', -5]],
    ]),
  ).toBe('23514');
});

test('nobody updates, deletes or truncates ledger rows: the runtime role lacks the privilege, the owner meets the triggers', async () => {
  const a = view({});
  await acts.commitPaymentStep(step(undefined, a, 2));
  const [e] = await entriesOf(a.id);
  const attempts = [
    `UPDATE ledger_lines SET amount = amount * 2 WHERE entry_id = '${e!.id}'`,
    `DELETE FROM ledger_lines WHERE entry_id = '${e!.id}'`,
    `UPDATE ledger_entries SET kind = 'reversal' WHERE id = '${e!.id}'`,
    `DELETE FROM ledger_entries WHERE id = '${e!.id}'`,
    `UPDATE ledger_accounts SET currency = 'EUR' WHERE client_id = '${clientId}'`,
    `DELETE FROM ledger_accounts WHERE client_id = '${clientId}'`,
    'TRUNCATE ledger_lines',
    'TRUNCATE ledger_entries, ledger_lines',
    'TRUNCATE ledger_accounts CASCADE',
    'ALTER TABLE ledger_lines DISABLE TRIGGER USER',
  ];
  const asRuntime = [];
  for (const sql of attempts) asRuntime.push([sql, await codeOf(runtime, sql)]);
  expect(asRuntime.filter(([, code]) => code !== '42501')).toEqual([]);
  const asOwner = [];
  for (const sql of attempts.slice(0, -1)) asOwner.push([sql, await codeOf(owner, sql)]);
  expect(asOwner.filter(([, code]) => code !== '42501')).toEqual([]);
  expect(await entriesOf(a.id)).toEqual([e]);

  const priv = await runtime.query<Record<string, unknown>>(
    `SELECT t, has_table_privilege(t, 'SELECT') AS sel, has_table_privilege(t, 'INSERT') AS ins,
            has_table_privilege(t, 'UPDATE') AS upd, has_table_privilege(t, 'DELETE') AS del,
            has_table_privilege(t, 'TRUNCATE') AS trn, has_table_privilege(t, 'TRIGGER') AS trg
       FROM unnest(ARRAY['ledger_accounts', 'ledger_entries', 'ledger_lines']) AS t`,
  );
  for (const row of priv.rows)
    expect(row).toEqual({ t: row.t, sel: true, ins: true, upd: false, del: false, trn: false, trg: false });
});
