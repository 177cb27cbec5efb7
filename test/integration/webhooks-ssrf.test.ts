/**
 * SSRF guard for merchant webhooks on the real stack with the DEFAULT (production) policy: https
 * only, public addresses only (no urlPolicy given to startStack: SETTLE_WEBHOOK_ALLOW_HTTP and
 * SETTLE_WEBHOOK_ALLOW_PRIVATE unset).
 * - creation refuses plain http, credentials, and an IP-literal host in a refused range
 *   (400 invalid_request, details.field url) and stores nothing;
 * - a hostname that resolves to loopback (`localhost`) is accepted at creation, refused at delivery
 *   (one attempt, no retry, the reason in the delivery log), and NO connection reaches the
 *   receiver listening on that loopback port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, type Stack } from '../support/stack';
import { apiFor, newKey, waitFor } from './payments-support';

jest.setTimeout(60_000);

let stack: Stack;
let server: http.Server;
let port: number;
/** TCP connections accepted by the receiver (a TLS or HTTP attempt would both count). */
let connections = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200).end();
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  stack = await startStack({
    webhooks: {
      dispatcher: {
        pollMs: 200,
        schedule: { initialBackoffMs: 300, maxBackoffMs: 1000, retryForMs: 60_000 },
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  server?.closeAllConnections();
  await new Promise<void>((r) => server?.close(() => r()));
});

const createEndpoint = (s: Stack, authorization: string, url: string, events = ['payment.*']) =>
  s.http
    .post('/v1/webhook-endpoints')
    .set('Authorization', authorization)
    .set('Idempotency-Key', newKey('we'))
    .send({ url, events });

test.each([
  ['http://127.0.0.1/hook', 'must be an https URL'],
  ['http://hooks.example.com/hook', 'must be an https URL'],
  ['https://127.0.0.1/hook', 'loopback'],
  ['https://169.254.169.254/', 'linkLocal'],
  ['https://[::1]/hook', 'loopback'],
  ['https://[::ffff:169.254.169.254]/latest/meta-data/', 'linkLocal'],
  ['https://10.0.0.8/hook', 'private'],
  ['https://100.64.0.1/hook', 'carrierGradeNat'],
  ['https://[fd00::1]/hook', 'uniqueLocal'],
  ['https://user:pw@hooks.example.com/hook', 'credentials'],
])('creation with %s is refused (%s)', async (url, why) => {
  const { authorization } = await stack.serviceAuth();
  const res = await createEndpoint(stack, authorization, url);
  expect(res.status).toBe(400);
  expect(res.body.error).toMatchObject({
    type: 'invalid_request',
    code: 'invalid_field',
    details: { field: 'url' },
  });
  expect(res.body.error.message).toContain(why);
  const list = await stack.http.get('/v1/webhook-endpoints').set('Authorization', authorization);
  expect(list.body.data).toEqual([]);
});

test('a hostname resolving to loopback is refused at delivery, logged, and never contacted', async () => {
  const { authorization } = await stack.serviceAuth();
  const created = await createEndpoint(stack, authorization, `https://localhost:${port}/hook`);
  expect(created.status).toBe(201);
  const endpointId = created.body.id as string;

  const pay = await apiFor(stack, authorization).pay(2500, { capture: 'automatic' });
  expect(pay.status).toBe(201);

  const log = await waitFor(
    () =>
      stack.http.get(`/v1/webhook-endpoints/${endpointId}/deliveries`).set('Authorization', authorization),
    (r) => r.body?.data?.length > 0 && r.body.data.every((d: { status: string }) => d.status === 'failed'),
    30_000,
    'refused deliveries',
  );
  for (const d of log.body.data) {
    expect(d).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: null, nextAttemptAt: null });
    expect(d.log).toHaveLength(1);
    expect(d.log[0].statusCode).toBeNull();
    expect(d.log[0].error).toBe('target refused: localhost resolves to a non-public address (loopback)');
  }
  const deliveryIds = log.body.data.map((d: { id: string }) => d.id) as string[];

  // Non-retryable: `failed` is final (the endpoint workflow claims pending deliveries only).
  const attempts = await stack.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_delivery_attempts WHERE delivery_id = ANY($1)',
    [deliveryIds],
  );
  expect(attempts.rows[0]!.n).toBe(deliveryIds.length);
  // The receiver on 127.0.0.1 was never contacted.
  expect(connections).toBe(0);
});
