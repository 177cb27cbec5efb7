/**
 * The payment lifecycle through the HTTP API on the real stack (Temporal dev server, PostgreSQL,
 * sandbox provider): every status of API.md "Payments", captures (partial, multiple, final), void,
 * refunds, the 409/422/404 errors, declines, expiry, the outbox events and the operator view.
 */
import { newId } from '../../domain/ids';
import { getPaymentQuery } from '../../workflows/payment';
import { workflowIdOf } from '../../api/payments-service';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack, testEnv, testKeyEnv, type Stack } from '../support/stack';
import { findCardNumber } from '../../security/redaction';
import { apiFor, eventsOf, sandboxBooks, VISA, waitFor, type Api } from './payments-support';

jest.setTimeout(60_000);

let stack: Stack;
let api: Api;
const keys = testKeyEnv();

beforeAll(async () => {
  stack = await startStack({ keys });
  api = apiFor(stack, (await stack.serviceAuth()).authorization);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

test('manual capture: two partial captures, then final: true releases the rest', async () => {
  const created = await api.pay(1000);
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ status: 'authorized', amountCapturable: 1000 });
  const id = created.body.id as string;

  const c1 = await api.capture(id, { amount: 300 });
  expect(c1.status).toBe(200);
  expect(c1.body).toMatchObject({ status: 'partially_captured', amountCaptured: 300, amountCapturable: 700 });
  const c2 = await api.capture(id, { amount: 200 });
  expect(c2.body).toMatchObject({ status: 'partially_captured', amountCaptured: 500, amountCapturable: 500 });
  const over = await api.capture(id, { amount: 501 });
  expect(over.status).toBe(422);
  expect(over.body.error).toMatchObject({ code: 'amount_exceeds_capturable' });
  const c3 = await api.capture(id, { amount: 100, final: true });
  expect(c3.status).toBe(200);
  expect(c3.body).toMatchObject({ status: 'captured', amountCaptured: 600, amountCapturable: 0 });
  expect(c3.body.authorizationExpiresAt).toBeUndefined();

  // Read-your-writes from the projection, and the provider's books agree.
  expect((await api.get(id)).body).toMatchObject({ status: 'captured', amountCaptured: 600 });
  const books = await sandboxBooks(stack, id);
  expect(books.tx).toMatchObject({ status: 'captured', amountCaptured: 600 });
  expect(books.ops.filter((o) => o.kind === 'capture').map((o) => o.amount)).toEqual([300, 200, 100]);

  // Once capturing is over, no more captures: 409 with the current status.
  const again = await api.capture(id, { amount: 1 });
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ type: 'conflict', details: { status: 'captured' } });

  // One merchant event per status change, deterministic evt_ ids, the payment view as data, no card.
  const events = await eventsOf(stack, id);
  expect(events.map((e) => e.type)).toEqual([
    'payment.authorized',
    'payment.partially_captured',
    'payment.partially_captured',
    'payment.captured',
  ]);
  for (const e of events) {
    expect(e.id).toMatch(/^evt_[0-9A-Za-z]+$/);
    expect(e.data.id).toBe(id);
    expect(JSON.stringify(e.data)).not.toContain(VISA);
  }
  expect(events[3]?.data).toMatchObject({ status: 'captured', amountCaptured: 600 });
  expect(new Set(events.map((e) => e.id)).size).toBe(4);
});

test('capturing without an amount takes everything and is replayed byte-for-byte', async () => {
  const id = (await api.pay(2500)).body.id as string;
  const key = `cap-replay-${id}`;
  const first = await api.capture(id, {}, key);
  expect(first.body).toMatchObject({ status: 'captured', amountCaptured: 2500 });
  const again = await api.capture(id, {}, key);
  expect(again.status).toBe(200);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect(again.text).toBe(first.text);
  const reused = await api.capture(id, { amount: 1 }, key);
  expect(reused.status).toBe(422);
  expect(reused.body.error).toMatchObject({ type: 'idempotency', code: 'idempotency_key_reused' });
  expect((await sandboxBooks(stack, id)).ops.filter((o) => o.kind === 'capture')).toHaveLength(1);
});

test('void before capture -> voided; capture after void and void after capture are 409', async () => {
  const id = (await api.pay(800)).body.id as string;
  const v = await api.void(id);
  expect(v.status).toBe(200);
  expect(v.body).toMatchObject({ status: 'voided', amountCapturable: 0, amountCaptured: 0 });
  expect((await sandboxBooks(stack, id)).tx?.status).toBe('voided');
  const cap = await api.capture(id, {});
  expect(cap.status).toBe(409);
  expect(cap.body.error).toMatchObject({ type: 'conflict', details: { status: 'voided' } });
  expect((await eventsOf(stack, id)).map((e) => e.type)).toContain('payment.voided');

  const id2 = (await api.pay(900)).body.id as string;
  expect((await api.capture(id2, { amount: 100 })).status).toBe(200);
  const late = await api.void(id2);
  expect(late.status).toBe(409);
  expect(late.body.error).toMatchObject({ type: 'conflict', details: { status: 'partially_captured' } });
  // What was captured can be refunded while the rest is still capturable; never beyond it (422).
  const tooEarly = await api.refund(id2, { amount: 101 });
  expect(tooEarly.status).toBe(422);
  expect(tooEarly.body.error).toMatchObject({
    code: 'amount_exceeds_captured',
    details: { status: 'partially_captured' },
  });
  const refundEarly = await api.refund(id2, { amount: 50 });
  expect(refundEarly.status).toBe(201);
  expect((await api.get(id2)).body).toMatchObject({
    status: 'partially_captured',
    amountCaptured: 100,
    amountRefunded: 50,
    amountCapturable: 800,
  });
  const finish = await api.capture(id2, { amount: 200, final: true });
  expect(finish.body).toMatchObject({
    status: 'partially_refunded',
    amountCaptured: 300,
    amountRefunded: 50,
    amountCapturable: 0,
  });
  expect((await sandboxBooks(stack, id2)).tx).toMatchObject({
    amountCaptured: 300,
    amountRefunded: 50,
    status: 'captured',
  });
});

test('refunds: several partial, never beyond the captured amount, then refunded', async () => {
  const id = (await api.pay(1000, { capture: 'automatic' })).body.id as string;
  const r1 = await api.refund(id, { amount: 200, reason: 'damaged' });
  expect(r1.status).toBe(201);
  expect(r1.body).toMatchObject({ paymentId: id, amount: 200, status: 'succeeded' });
  expect(r1.body.id).toMatch(/^re_/);
  expect(Object.keys(r1.body).sort()).toEqual(['amount', 'createdAt', 'id', 'paymentId', 'status']);
  const r2 = await api.refund(id, { amount: 300 });
  expect(r2.status).toBe(201);
  expect((await api.get(id)).body).toMatchObject({ status: 'partially_refunded', amountRefunded: 500 });

  const tooMuch = await api.refund(id, { amount: 501 });
  expect(tooMuch.status).toBe(422);
  expect(tooMuch.body.error).toMatchObject({
    code: 'amount_exceeds_captured',
    details: { status: 'partially_refunded' },
  });

  const rest = await api.refund(id, {});
  expect(rest.body).toMatchObject({ amount: 500, status: 'succeeded' });
  expect((await api.get(id)).body).toMatchObject({ status: 'refunded', amountRefunded: 1000 });
  const after = await api.refund(id, { amount: 1 });
  expect(after.status).toBe(409);
  expect(after.body.error.details.status).toBe('refunded');

  const books = await sandboxBooks(stack, id);
  expect(books.tx?.amountRefunded).toBe(1000);
  expect(books.ops.filter((o) => o.kind === 'refund').map((o) => o.amount)).toEqual([200, 300, 500]);
  const rows = await stack.pool.query(
    'SELECT amount FROM refunds WHERE payment_id = $1 ORDER BY created_at',
    [id],
  );
  expect(rows.rows.map((r) => Number(r.amount))).toEqual([200, 300, 500]);
  const types = (await eventsOf(stack, id)).map((e) => e.type);
  expect(types).toEqual([
    'payment.captured',
    'payment.partially_refunded',
    'payment.partially_refunded',
    'payment.refunded',
  ]);
  const refundEvents = await stack.pool.query(`SELECT type FROM events WHERE resource_id = ANY($1)`, [
    [r1.body.id, r2.body.id, rest.body.id],
  ]);
  expect(refundEvents.rows.map((r) => r.type)).toEqual([
    'refund.succeeded',
    'refund.succeeded',
    'refund.succeeded',
  ]);

  // A refund of an uncaptured authorization is a conflict.
  const auth = (await api.pay(400)).body.id as string;
  const early = await api.refund(auth, { amount: 100 });
  expect(early.status).toBe(409);
  expect(early.body.error).toMatchObject({ type: 'conflict', details: { status: 'authorized' } });
});

test.each([
  [40002, 'card_declined'],
  [40051, 'insufficient_funds'],
  [40054, 'expired_card'],
  [40082, 'incorrect_cvc'],
  [40059, 'fraudulent'],
])('amount %p is declined with 402 %s and reads back declined', async (amount, code) => {
  const res = await api.pay(amount);
  expect(res.status).toBe(402);
  expect(res.body.error).toMatchObject({ type: 'card_error', code });
  const id = res.body.error.details.paymentId as string;
  expect((await api.get(id)).body).toMatchObject({
    status: 'declined',
    declineCode: code,
    amountCapturable: 0,
  });
  expect((await eventsOf(stack, id)).map((e) => e.type)).toEqual(['payment.declined']);
});

test('a request the provider rejects as invalid -> failed, compensation leaves nothing held', async () => {
  const res = await api.pay(40400);
  expect(res.status).toBe(402);
  expect(res.body.error).toMatchObject({ type: 'card_error', code: 'processing_error' });
  const id = res.body.error.details.paymentId as string;
  expect((await api.get(id)).body.status).toBe('failed');
  expect((await sandboxBooks(stack, id)).transactions).toBe(0);
  expect((await eventsOf(stack, id)).map((e) => e.type)).toEqual(['payment.failed']);
});

test('an authorization not captured before capture_before is voided and reads back expired', async () => {
  // 40710: the sandbox's capture_before is 5 min 10 s out; the engine voids 5 min early (~10 s).
  const untouched = (await api.pay(40710)).body.id as string;
  const partly = (await api.pay(40710)).body.id as string;
  expect((await api.capture(partly, { amount: 10_000 })).body.status).toBe('partially_captured');

  const expired = await api.waitForStatus(untouched, 'expired', 45_000);
  expect(expired).toMatchObject({ amountCapturable: 0, amountCaptured: 0 });
  expect(expired.authorizationExpiresAt).toBeUndefined();
  expect((await sandboxBooks(stack, untouched)).tx?.status).toBe('voided');
  // The timer's commit projects the status, then records the event (two activities): wait for it.
  const types = await waitFor(
    async () => (await eventsOf(stack, untouched)).map((e) => e.type),
    (t) => t.length >= 2,
    15_000,
  );
  expect(types).toEqual(['payment.authorized', 'payment.expired']);

  const captured = await api.waitForStatus(partly, 'captured', 30_000);
  expect(captured).toMatchObject({ amountCaptured: 10_000, amountCapturable: 0 });
  expect((await sandboxBooks(stack, partly)).tx).toMatchObject({
    status: 'captured',
    amountCaptured: 10_000,
  });
  // Refunds work on what was captured.
  expect((await api.refund(partly, { amount: 10_001 })).status).toBe(422);
});

test('404 for an unknown payment and for another client’s payment; lists are scoped', async () => {
  const missing = await api.get('pay_doesnotexist0000000000');
  expect(missing.status).toBe(404);
  expect(missing.body.error).toMatchObject({ type: 'not_found' });
  expect((await api.capture('pay_doesnotexist0000000000', {})).status).toBe(404);

  const mine = (await api.pay(1234)).body.id as string;
  const other = apiFor(stack, (await stack.serviceAuth()).authorization);
  expect((await other.get(mine)).status).toBe(404);
  expect((await other.capture(mine, {})).status).toBe(404);
  expect((await other.void(mine)).status).toBe(404);
  expect((await other.refund(mine, {})).status).toBe(404);
  expect((await other.list({})).body).toEqual({ data: [], hasMore: false });
  expect((await api.get(mine)).body.status).toBe('authorized');
});

test('list: status filter, limit, startingAfter and hasMore', async () => {
  const c = apiFor(stack, (await stack.serviceAuth()).authorization);
  const ids: string[] = [];
  for (const amount of [101, 102, 103]) ids.push((await c.pay(amount)).body.id as string);
  expect((await c.void(ids[1]!)).status).toBe(200);

  const page1 = await c.list({ limit: 2 });
  expect(page1.status).toBe(200);
  expect(page1.body.hasMore).toBe(true);
  expect(page1.body.data.map((p: { id: string }) => p.id)).toEqual([ids[2], ids[1]]);
  const page2 = await c.list({ limit: 2, startingAfter: ids[1]! });
  expect(page2.body).toMatchObject({ hasMore: false });
  expect(page2.body.data.map((p: { id: string }) => p.id)).toEqual([ids[0]]);

  const voided = await c.list({ status: 'voided' });
  expect(voided.body.data.map((p: { id: string }) => p.id)).toEqual([ids[1]]);
  const authorized = await c.list({ status: 'authorized', limit: 1 });
  expect(authorized.body).toMatchObject({ hasMore: true });
  expect(authorized.body.data).toHaveLength(1);

  expect((await c.list({ limit: 0 })).status).toBe(400);
  expect((await c.list({ limit: 101 })).status).toBe(400);
  expect((await c.list({ status: 'nope' })).status).toBe(400);
});

test('operator view: getPayment query and search attributes kept current', async () => {
  // Base62, never a UUID: a UUID's digits can form a Luhn-valid run, which free text refuses.
  const ref = `ord-${newId('req').slice('req_'.length)}`;
  const id = (await api.pay(4321, { merchantReference: ref })).body.id as string;
  await api.capture(id, {});
  const handle = stack.client.workflow.getHandle(workflowIdOf(id));
  const q = await handle.query(getPaymentQuery);
  expect(q).toMatchObject({ id, status: 'captured', amountCaptured: 4321, paymentMethod: { last4: '4242' } });
  expect(JSON.stringify(q)).not.toContain(VISA);

  // Visibility is eventually consistent: poll the list query.
  const found = await waitFor(
    async () => {
      const out: string[] = [];
      for await (const wf of stack.client.workflow.list({
        query: `WorkflowId = "${workflowIdOf(id)}" AND SettleStatus = "captured" AND SettleAmount = 4321`,
      })) {
        out.push(wf.workflowId);
      }
      return out;
    },
    (ids) => ids.length === 1,
    20_000,
    'visibility of SettleStatus = captured',
  );
  expect(found).toEqual([workflowIdOf(id)]);
});

test('cli: workflows replay replays a live history; workflows export writes a clean corpus file', async () => {
  const id = (await api.pay(3100)).body.id as string;
  await api.capture(id, { amount: 1000 });
  await api.capture(id, { final: true, amount: 100 });
  const { temporalAddress, databaseUrl } = testEnv();
  const env = {
    PATH: process.env.PATH ?? '',
    TEMPORAL_ADDRESS: temporalAddress,
    DATABASE_URL: databaseUrl,
    SETTLE_KEY_PROVIDER: keys.SETTLE_KEY_PROVIDER,
    SETTLE_LOCAL_MASTER_KEY: keys.SETTLE_LOCAL_MASTER_KEY,
    AWS_REGION: keys.AWS_REGION,
  };
  const cli = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/index.ts', 'workflows', ...args], {
      cwd: path.resolve(__dirname, '../..'),
      env,
    });
  const replayed = await cli('replay', '--id', workflowIdOf(id));
  expect(replayed.stdout).toContain(`${workflowIdOf(id)}: replayed`);

  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'settle-export-')), 'flow.json');
  await cli('export', '--id', workflowIdOf(id), '--out', out);
  const raw = JSON.parse(fs.readFileSync(out, 'utf8')) as { events: Array<{ eventType: string }> };
  expect(raw.events[0]?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
  expect(findCardNumber(raw)).toBeUndefined();
  // Decrypted on export: the workflow input (token, last 4) is readable without any key.
  const decoded = [...fs.readFileSync(out, 'utf8').matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)].map((m) =>
    Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
  );
  expect(decoded.some((d) => d.includes('"last4":"4242"') && d.includes(id))).toBe(true);

  await expect(cli('replay', '--id', 'payment-pay_nosuchworkflow000000000')).rejects.toThrow();
});
