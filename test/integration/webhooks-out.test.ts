/**
 * Merchant webhooks out, end to end on the real stack: an endpoint registered through the API, a
 * real payment whose status changes land in the outbox, the dispatcher + delivery workflows, and a
 * real local HTTP receiver (port 0) that answers 500 twice and then 200.
 *
 * Proves: the secret is shown once (never listed), every delivery is signed `Settle-Signature:
 * t=,v1=` (verified here with the receiver's copy of the secret, constant time), a 5xx is retried
 * with backoff (short schedule here; the >= 24 h default schedule is proved as a pure rule in
 * test/unit/webhook-policy.test.ts), every retry carries the SAME event id and body,
 * one delivery per event x endpoint, only subscribed types are sent, and the delivery log is readable.
 * Endpoint management, breaker and auto-disable: test/integration/webhook-endpoints.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySettleSignature } from '../../activities/webhook-activities';
import { startStack, type Stack } from '../support/stack';
import { apiFor, newKey, waitFor } from './payments-support';

jest.setTimeout(60_000);

interface Received {
  path: string;
  body: string;
  signature: string | undefined;
  eventId: string | undefined;
  at: number;
}

let stack: Stack;
let server: http.Server;
let baseUrl: string;
const received: Received[] = [];
/** Per path: how many requests to fail with 500 before answering 200. */
const failFirst = new Map<string, number>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({
        path,
        body: Buffer.concat(chunks).toString('utf8'),
        signature: req.headers['settle-signature'] as string | undefined,
        eventId: req.headers['settle-event-id'] as string | undefined,
        at: Date.now(),
      });
      const left = failFirst.get(path) ?? 0;
      if (left > 0) failFirst.set(path, left - 1);
      res.writeHead(left > 0 ? 500 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stack = await startStack({
    webhooks: {
      dispatcher: {
        pollMs: 200,
        schedule: { initialBackoffMs: 400, maxBackoffMs: 2000, retryForMs: 60_000 },
      },
      // The receiver is local (http on 127.0.0.1): opt out of the SSRF guard explicitly.
      urlPolicy: { allowHttp: true, allowPrivateTargets: true },
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  server?.closeAllConnections();
  await new Promise<void>((r) => server?.close(() => r()));
});

test('endpoint creation validates input and shows the secret once', async () => {
  const { authorization } = await stack.serviceAuth();
  const post = (body: unknown) =>
    stack.http
      .post('/v1/webhook-endpoints')
      .set('Authorization', authorization)
      .set('Idempotency-Key', newKey('we'))
      .send(body as object);

  const bad = await post({ url: 'ftp://example.test/hook', events: ['payment.captured'] });
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatchObject({ type: 'invalid_request', details: { field: 'url' } });
  expect((await post({ url: `${baseUrl}/x`, events: ['payment.captured'], extra: 1 })).body.error.code).toBe(
    'unknown_field',
  );
  expect((await post({ url: `${baseUrl}/x`, events: [] })).status).toBe(400);

  const ok = await post({ url: `${baseUrl}/x`, events: ['payment.*'] });
  expect(ok.status).toBe(201);
  expect(ok.body.id).toMatch(/^we_/);
  expect(ok.body.secret).toMatch(/^whsec_/);
  const one = await stack.http.get(`/v1/webhook-endpoints/${ok.body.id}`).set('Authorization', authorization);
  expect(one.status).toBe(200);
  expect(one.body).toEqual({
    id: ok.body.id,
    url: `${baseUrl}/x`,
    events: ['payment.*'],
    status: 'enabled',
    createdAt: ok.body.createdAt,
  });
  const list = await stack.http.get('/v1/webhook-endpoints').set('Authorization', authorization);
  expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([ok.body.id]);
  expect(JSON.stringify(list.body)).not.toContain('whsec_');
  // The stored secret is sealed, not the clear value.
  const row = await stack.pool.query<{ secret_sealed: Buffer }>(
    'SELECT secret_sealed FROM webhook_endpoints WHERE id = $1',
    [ok.body.id],
  );
  expect(row.rows[0]!.secret_sealed.toString('latin1')).not.toContain(ok.body.secret);
  // Another client sees nothing of it.
  const other = await stack.serviceAuth();
  expect(
    (await stack.http.get(`/v1/webhook-endpoints/${ok.body.id}`).set('Authorization', other.authorization))
      .status,
  ).toBe(404);
});

test('payment events are delivered signed, retried after 5xx with the same event id, and logged', async () => {
  const { authorization } = await stack.serviceAuth();
  const api = apiFor(stack, authorization);
  const create = (path: string, events: string[]) =>
    stack.http
      .post('/v1/webhook-endpoints')
      .set('Authorization', authorization)
      .set('Idempotency-Key', newKey('we'))
      .send({ url: `${baseUrl}${path}`, events });
  const flaky = (await create('/flaky', ['payment.*'])).body as { id: string; secret: string };
  const refundsOnly = (await create('/refunds', ['refund.succeeded'])).body as { id: string; secret: string };
  failFirst.set('/flaky', 2);

  const pay = await api.pay(1234, { capture: 'automatic' });
  expect(pay.status).toBe(201);
  const paymentId = pay.body.id as string;

  // Three attempts of the payment.captured event: 500, 500, 200.
  const got = await waitFor(
    () => Promise.resolve(received.filter((r) => r.path === '/flaky')),
    (r) => r.length >= 3,
    30_000,
    'three delivery attempts',
  );
  const attempts = got.slice(0, 3);
  const ids = attempts.map((a) => JSON.parse(a.body).id as string);
  expect(new Set(ids).size).toBe(1);
  expect(ids[0]).toMatch(/^evt_/);
  expect(attempts.map((a) => a.eventId)).toEqual([ids[0], ids[0], ids[0]]);
  expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
  const event = JSON.parse(attempts[0]!.body);
  expect(Object.keys(event).sort()).toEqual(['createdAt', 'data', 'id', 'type']);
  expect(event).toMatchObject({
    type: 'payment.captured',
    data: { id: paymentId, status: 'captured', amount: 1234 },
  });
  for (const a of attempts) {
    expect(a.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySettleSignature(flaky.secret, a.body, a.signature)).toBe(true);
    expect(verifySettleSignature(refundsOnly.secret, a.body, a.signature)).toBe(false);
    expect(verifySettleSignature(flaky.secret, a.body.replace('1234', '9999'), a.signature)).toBe(false);
  }
  // Backoff (durable timers give lower bounds): 400 ms before the first retry, 800 ms before the second.
  expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(400);
  expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(800);

  const log = await waitFor(
    () => stack.http.get(`/v1/webhook-endpoints/${flaky.id}/deliveries`).set('Authorization', authorization),
    (r) => r.body?.data?.[0]?.status === 'succeeded',
    10_000,
    'delivery log',
  );
  expect(log.body.hasMore).toBe(false);
  expect(log.body.data).toHaveLength(1);
  expect(log.body.data[0]).toMatchObject({
    eventId: ids[0],
    eventType: 'payment.captured',
    status: 'succeeded',
    attempts: 3,
    lastStatusCode: 200,
  });
  expect(log.body.data[0].log.map((l: { statusCode: number }) => l.statusCode)).toEqual([500, 500, 200]);

  // A successful delivery is not repeated, and the refund-only endpoint got no payment event.
  const refund = await api.refund(paymentId, { amount: 234 });
  expect(refund.status).toBe(201);
  const refundHook = await waitFor(
    () => Promise.resolve(received.filter((r) => r.path === '/refunds')),
    (r) => r.length >= 1,
    20_000,
    'refund event',
  );
  expect(refundHook.map((r) => JSON.parse(r.body).type)).toEqual(['refund.succeeded']);
  expect(JSON.parse(refundHook[0]!.body).data).toMatchObject({ id: refund.body.id, amount: 234 });
  expect(verifySettleSignature(refundsOnly.secret, refundHook[0]!.body, refundHook[0]!.signature)).toBe(true);
  const flakyEvents = await waitFor(
    () => Promise.resolve(received.filter((r) => r.path === '/flaky')),
    (r) => r.some((x) => JSON.parse(x.body).type === 'payment.partially_refunded'),
    20_000,
    'partially_refunded event',
  );
  expect(flakyEvents.filter((r) => JSON.parse(r.body).id === ids[0])).toHaveLength(3);
  const deliveries = await stack.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND event_id = $2',
    [flaky.id, ids[0]],
  );
  expect(deliveries.rows[0]!.n).toBe(1);
});
