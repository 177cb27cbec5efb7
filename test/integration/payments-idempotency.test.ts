/**
 * Idempotency as API.md "Conventions" states it, and exactly-once effects at the provider: replay,
 * reuse, in-flight 409 (made deterministic with the sandbox's slow trigger), concurrent identical
 * requests, client scoping, and lost responses / outages on every provider operation.
 */
import { startStack, type Stack } from '../support/stack';
import { apiFor, newKey, sandboxBooks, waitFor, type Api } from './payments-support';

jest.setTimeout(60_000);

let stack: Stack;
let api: Api;
let clientId: string;

beforeAll(async () => {
  stack = await startStack();
  const auth = await stack.serviceAuth();
  clientId = auth.clientId;
  api = apiFor(stack, auth.authorization);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

test('a second request with the key while the first is in flight is 409; afterwards it replays', async () => {
  const token = await api.tokenize();
  const key = newKey('inflight');
  const body = { amount: 50803, currency: 'USD', paymentMethod: { token }, capture: 'manual' };
  // 50803: the sandbox applies the authorization, then answers after 3 s.
  const first = api.post('/v1/payments', body, key).then((r) => r);
  await waitFor(
    async () =>
      // Only an HMAC of the key is stored: the client's one in-flight claim is this request's.
      (
        await stack.pool.query(
          `SELECT state FROM idempotency_keys WHERE client_id = $1 AND state = 'in_flight'`,
          [clientId],
        )
      ).rows[0]?.state as string | undefined,
    (s) => s === 'in_flight',
    10_000,
    'the first request to claim the key',
  );
  const second = await api.post('/v1/payments', body, key);
  expect(second.status).toBe(409);
  expect(second.body.error).toMatchObject({ type: 'idempotency', code: 'idempotency_key_in_use' });
  expect(second.headers['request-id']).toBe(second.body.error.requestId);

  const done = await first;
  expect(done.status).toBe(201);
  const replay = await api.post('/v1/payments', body, key);
  expect(replay.status).toBe(201);
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(replay.text).toBe(done.text);
  expect((await sandboxBooks(stack, done.body.id)).transactions).toBe(1);
});

test('N concurrent identical requests produce exactly one payment and one authorization', async () => {
  const c = await stack.serviceAuth();
  const capi = apiFor(stack, c.authorization);
  const token = await capi.tokenize();
  const key = newKey('burst');
  const body = { amount: 2222, currency: 'USD', paymentMethod: { token }, capture: 'manual' };
  const results = await Promise.all(Array.from({ length: 8 }, () => capi.post('/v1/payments', body, key)));
  const statuses = results.map((r) => r.status);
  for (const s of statuses) expect([201, 409]).toContain(s);
  const created = results.filter((r) => r.status === 201);
  expect(created.length).toBeGreaterThanOrEqual(1);
  for (const r of created) expect(r.text).toBe(created[0]!.text);

  const rows = await stack.pool.query('SELECT id FROM payments WHERE client_id = $1', [c.clientId]);
  expect(rows.rows).toHaveLength(1);
  const id = rows.rows[0].id as string;
  const books = await sandboxBooks(stack, id);
  expect(books.transactions).toBe(1);
  expect(books.ops.filter((o) => o.kind === 'authorize')).toHaveLength(1);
});

test('keys are scoped per client: the same key from another client is another payment', async () => {
  const key = newKey('shared');
  const a = await api.pay(1500, {}, key);
  const other = apiFor(stack, (await stack.serviceAuth()).authorization);
  const b = await other.pay(1500, {}, key);
  expect(a.status).toBe(201);
  expect(b.status).toBe(201);
  expect(b.headers['idempotent-replayed']).toBeUndefined();
  expect(b.body.id).not.toBe(a.body.id);
});

test('lost authorization response (50400): the retry syncs and finds it, one authorization only', async () => {
  const res = await api.pay(50400);
  expect(res.status).toBe(201);
  expect(res.body.status).toBe('authorized');
  const books = await sandboxBooks(stack, res.body.id);
  expect(books.transactions).toBe(1);
  expect(books.ops.filter((o) => o.kind === 'authorize')).toHaveLength(1);
  const attempts = await stack.pool.query(
    `SELECT attempts FROM sandbox_attempts WHERE idempotency_key = $1`,
    [`${res.body.id}:authorize`],
  );
  // The provider was asked to authorize once: the second attempt asked what happened instead.
  expect(attempts.rows[0]?.attempts).toBe(1);
});

test('lost capture and refund responses and a capture outage each take effect exactly once', async () => {
  const id = (await api.pay(200_000)).body.id as string;
  const lost = await api.capture(id, { amount: 50400 });
  expect(lost.status).toBe(200);
  expect(lost.body).toMatchObject({ status: 'partially_captured', amountCaptured: 50400 });
  const outage = await api.capture(id, { amount: 50302 }); // 503 for the first 2 attempts
  expect(outage.status).toBe(200);
  expect(outage.body.amountCaptured).toBe(50400 + 50302);
  const fin = await api.capture(id, { amount: 1000, final: true });
  expect(fin.body).toMatchObject({ status: 'captured', amountCaptured: 101_702 });

  const refund = await api.refund(id, { amount: 50400 });
  expect(refund.status).toBe(201);
  const key = newKey('re');
  const r2 = await api.refund(id, { amount: 100 }, key);
  const r2again = await api.refund(id, { amount: 100 }, key);
  expect(r2again.headers['idempotent-replayed']).toBe('true');
  expect(r2again.text).toBe(r2.text);

  const books = await sandboxBooks(stack, id);
  expect(books.ops.filter((o) => o.kind === 'capture').map((o) => o.amount)).toEqual([50400, 50302, 1000]);
  expect(books.ops.filter((o) => o.kind === 'refund').map((o) => o.amount)).toEqual([50400, 100]);
  expect(books.tx).toMatchObject({ amountCaptured: 101_702, amountRefunded: 50_500 });
  expect((await api.get(id)).body).toMatchObject({ status: 'partially_refunded', amountRefunded: 50_500 });
});
