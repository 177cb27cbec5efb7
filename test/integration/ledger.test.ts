/**
 * The ledger through the real stack (HTTP API, Temporal dev server, PostgreSQL as the runtime role,
 * sandbox provider): payments authorized, partially and finally captured, refunded, voided, declined
 * and expired (sandbox trigger 40710) post balanced entries with their steps; `cli ledger verify` is
 * clean and exits 1 naming the payment whose amounts disagree with its ledger; GET /v1/ledger/entries
 * lists them (own merchant only for a service, keyset pages) and GET /v1/ledger/balances equals the
 * sums of the lines and the amounts the payments moved.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack, testEnv, testKeyEnv, type Stack } from '../support/stack';
import { apiFor, type Api } from './payments-support';

jest.setTimeout(120_000);

let stack: Stack;
let api: Api;
let clientId: string;
const keys = testKeyEnv();

beforeAll(async () => {
  stack = await startStack({ keys });
  const svc = await stack.serviceAuth();
  clientId = svc.clientId;
  api = apiFor(stack, svc.authorization);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const cli = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/index.ts', 'ledger', ...args], {
    cwd: path.resolve(__dirname, '../..'),
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: testEnv().runtimeDatabaseUrl },
  });

const entries = (authorization: string, query: Record<string, string | number>) =>
  stack.http.get('/v1/ledger/entries').query(query).set('Authorization', authorization);

type Entry = {
  id: string;
  kind: string;
  paymentId?: string;
  lines: Array<{ account: string; amount: number }>;
};

async function entriesOf(paymentId: string): Promise<Entry[]> {
  const res = await entries(api.authorization, { paymentId, limit: 100 });
  expect(res.status).toBe(200);
  return (res.body.data as Entry[]).reverse();
}
const kinds = async (paymentId: string) => (await entriesOf(paymentId)).map((e) => e.kind);

const ids: Record<string, string> = {};

test('every money movement of the lifecycle posts balanced entries, exactly once, with its step', async () => {
  // Manual capture: two partial captures (the second final), then two refunds.
  ids.manual = (await api.pay(1000)).body.id as string;
  expect((await api.capture(ids.manual, { amount: 300 })).status).toBe(200);
  expect((await api.capture(ids.manual, { amount: 200, final: true })).body).toMatchObject({
    status: 'captured',
    amountCaptured: 500,
  });
  expect((await api.refund(ids.manual, { amount: 100 })).status).toBe(201);
  const key = `ledger-refund-${process.pid}`;
  expect((await api.refund(ids.manual, {}, key)).status).toBe(201);
  // The same request again (replayed by the API, the workflow dedupes by refund id): nothing posted twice.
  expect((await api.refund(ids.manual, {}, key)).status).toBe(201);
  expect(await kinds(ids.manual)).toEqual([
    'authorization',
    'capture',
    'capture',
    'hold_release',
    'refund',
    'refund',
  ]);

  // Automatic capture: a capture without a hold; a partial refund.
  ids.automatic = (await api.pay(2500, { capture: 'automatic' })).body.id as string;
  expect((await api.refund(ids.automatic, { amount: 1000 })).status).toBe(201);
  expect(await kinds(ids.automatic)).toEqual(['capture', 'refund']);

  ids.voided = (await api.pay(700)).body.id as string;
  expect((await api.void(ids.voided)).body).toMatchObject({ status: 'voided' });
  expect(await kinds(ids.voided)).toEqual(['authorization', 'hold_release']);

  ids.declined = (await api.pay(40002)).body.error?.details?.paymentId as string;
  expect(ids.declined).toMatch(/^pay_/);
  expect(await kinds(ids.declined)).toEqual([]);

  // 40710: the engine voids about 10 s after authorization; one untouched, one partly captured.
  ids.expired = (await api.pay(40710)).body.id as string;
  ids.expiredPartly = (await api.pay(40710)).body.id as string;
  expect((await api.capture(ids.expiredPartly, { amount: 10_000 })).status).toBe(200);
  await api.waitForStatus(ids.expired, 'expired', 45_000);
  await api.waitForStatus(ids.expiredPartly, 'captured', 45_000);
  expect(await kinds(ids.expired)).toEqual(['authorization', 'hold_release']);
  expect(await kinds(ids.expiredPartly)).toEqual(['authorization', 'capture', 'hold_release']);

  const manual = await entriesOf(ids.manual);
  for (const e of manual) expect(e.lines.reduce((s, l) => s + l.amount, 0)).toBe(0);
  expect(manual[3]).toMatchObject({
    kind: 'hold_release',
    lines: [
      { account: 'merchant_pending', amount: 500 },
      { account: 'authorized_holds', amount: -500 },
    ],
  });
});

test('the balances endpoint equals the sums of the lines and what the payments moved', async () => {
  const res = await stack.http.get('/v1/ledger/balances').set('Authorization', api.authorization);
  expect(res.status).toBe(200);
  const mine = res.body.data as Array<{
    clientId: string;
    account: string;
    currency: string;
    balance: number;
  }>;
  expect(new Set(mine.map((b) => b.clientId))).toEqual(new Set([clientId]));
  const sums = await stack.pool.query<{ account: string; balance: string }>(
    `SELECT account, sum(amount)::text AS balance FROM ledger_lines WHERE client_id = $1 AND currency = 'USD'
      GROUP BY account`,
    [clientId],
  );
  const byAccount = Object.fromEntries(
    mine.filter((b) => b.currency === 'USD').map((b) => [b.account, b.balance]),
  );
  expect(byAccount).toEqual(Object.fromEntries(sums.rows.map((r) => [r.account, Number(r.balance)])));
  // Captured 500 + 2500 + 10000, refunded 500 + 1000 (all succeeded at the sandbox), nothing held.
  expect(byAccount).toEqual({
    authorized_holds: 0,
    merchant_pending: 0,
    receivable_from_provider: 11_500,
    merchant_balance: -11_500,
    refunds_payable: 0,
  });

  // Operators read every merchant's balances, each row naming its merchant.
  const auditor = await stack.operatorAuth('auditor');
  const all = await stack.http.get('/v1/ledger/balances').set('Authorization', auditor.authorization);
  expect(all.status).toBe(200);
  expect(all.body.data).toEqual(expect.arrayContaining(mine));
});

test('entries are scoped to their merchant and paged with startingAfter', async () => {
  const other = apiFor(stack, (await stack.serviceAuth()).authorization);
  const foreign = await entries(other.authorization, { paymentId: ids.manual! });
  expect(foreign.body).toEqual({ data: [], hasMore: false });
  const cursor = (await entries(api.authorization, { limit: 1 })).body.data[0].id as string;
  expect((await entries(other.authorization, { startingAfter: cursor })).body).toEqual({
    data: [],
    hasMore: false,
  });

  const full = (await entries(api.authorization, { limit: 100 })).body.data as Entry[];
  const paged: Entry[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await entries(api.authorization, { limit: 3, ...(after ? { startingAfter: after } : {}) });
    paged.push(...(page.body.data as Entry[]));
    if (!page.body.hasMore) break;
    after = paged[paged.length - 1]!.id;
  }
  expect(paged.map((e) => e.id)).toEqual(full.map((e) => e.id));
  expect(full.length).toBe(15);

  const auditor = await stack.operatorAuth('auditor');
  const seen = await entries(auditor.authorization, { paymentId: ids.manual! });
  expect(seen.body.data).toHaveLength(6);
  expect((await entries(api.authorization, { paymentId: 'not-an-id' })).status).toBe(400);
  expect(
    (await stack.http.get('/v1/ledger/balances?x=1').set('Authorization', api.authorization)).status,
  ).toBe(400);
});

test('cli ledger verify: clean, then exit 1 naming a payment whose amounts disagree with its ledger', async () => {
  const ok = await cli('verify', '--client', clientId);
  expect(ok.stdout).toMatch(/^ledger balanced: 15 entries, 5 payments checked/);

  // A projection one minor unit off (as the owner; the ledger itself cannot be touched).
  const tamper = (delta: number) =>
    stack.pool.query('UPDATE payments SET amount_refunded = amount_refunded + $2 WHERE id = $1', [
      ids.automatic,
      delta,
    ]);
  await tamper(1);
  try {
    const err = (await cli('verify', '--client', clientId).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: number; stdout?: string } | undefined;
    expect(err?.code).toBe(1);
    expect(err?.stdout).toContain(
      `payment ${ids.automatic}: merchant_balance debits (amountRefunded): ledger 1000, expected 1001`,
    );
  } finally {
    await tamper(-1);
  }
  expect((await cli('verify', '--client', clientId)).stdout).toMatch(/^ledger balanced/);
});
