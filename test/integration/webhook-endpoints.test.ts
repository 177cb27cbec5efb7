/**
 * Merchant webhook endpoint management on the real stack (API.md "Webhooks"), with real HTTP
 * receivers on loopback (SSRF guard opted out explicitly) and short windows:
 *   - disable -> nothing is sent to it (a second endpoint of the same client shows the event was
 *     dispatched); enable -> events are sent to it again, and deliveries held meanwhile resume;
 *   - delete -> 204, its pending deliveries are cancelled and its workflow ends: nothing more is sent;
 *   - redeliver -> 202 and a NEW delivery carrying the SAME event id;
 *   - the breaker opens after K consecutive failures: the other deliveries wait without spending
 *     attempts, and one trial follows the cool-down;
 *   - an endpoint failing for the disable window is disabled and the merchant's other endpoints get a
 *     signed `webhook_endpoint.disabled` event;
 *   - another client's endpoint or event is 404; mutations need an Idempotency-Key.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { decodeHistoryPayloads, historyFileText } from '../../cli/workflows';
import { verifySettleSignature } from '../../activities/webhook-activities';
import { webhookDispatcherId, webhookEndpointWorkflowId } from '../../workflows/webhook-delivery';
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

const BREAKER_AFTER = 3;
const COOLDOWN_MS = 1500;
const DISABLE_AFTER_MS = 6000;
const CONCURRENCY = 2;

let stack: Stack;
let server: http.Server;
let baseUrl: string;
const received: Received[] = [];
/** Paths that always answer 500; every other path answers 200. */
const failing = new Set<string>();
const at = (path: string) => received.filter((r) => r.path === path);

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
      res.writeHead(failing.has(path) ? 500 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stack = await startStack({
    webhooks: {
      dispatcher: {
        pollMs: 200,
        schedule: { initialBackoffMs: 400, maxBackoffMs: 2000, retryForMs: 60_000 },
        endpoint: {
          concurrency: CONCURRENCY,
          breakerThreshold: BREAKER_AFTER,
          breakerCooldownMs: COOLDOWN_MS,
          disableAfterMs: DISABLE_AFTER_MS,
          attemptTimeoutMs: 2000,
          idleMs: 1000,
        },
      },
      urlPolicy: { allowHttp: true, allowPrivateTargets: true },
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  server?.closeAllConnections();
  await new Promise<void>((r) => server?.close(() => r()));
});

async function merchant() {
  const { clientId, authorization } = await stack.serviceAuth();
  const send = (method: 'post' | 'delete', path: string, body?: object, key: string | null = newKey('m')) => {
    let req = stack.http[method](path).set('Authorization', authorization);
    if (key !== null) req = req.set('Idempotency-Key', key);
    return body ? req.send(body) : req;
  };
  const get = (path: string) => stack.http.get(path).set('Authorization', authorization);
  const endpoint = async (path: string, events: string[]) => {
    const res = await send('post', '/v1/webhook-endpoints', { url: `${baseUrl}${path}`, events });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string };
  };
  /** Outbox events for this client, as the payment and bank workflows append them. */
  const events = async (n: number, type = 'payment.captured') => {
    const ids = Array.from({ length: n }, () => newKey('evt').replace(/[^0-9A-Za-z]/g, ''));
    for (const id of ids) {
      await stack.pool.query(
        `INSERT INTO events (id, client_id, type, resource_id, data) VALUES ($1, $2, $3, 'pay_x', '{}')`,
        [`evt_${id}`, clientId, type],
      );
    }
    return ids.map((id) => `evt_${id}`);
  };
  return { clientId, authorization, send, get, endpoint, events };
}

/**
 * With RECORD_WEBHOOK_HISTORIES=1, a workflow's history (payloads decrypted) goes to the replay
 * corpus as test/replay/histories/webhook-<flow>.json, replayed by test/replay/replay.test.ts.
 */
async function record(flow: string, workflowId: string): Promise<void> {
  if (process.env.RECORD_WEBHOOK_HISTORIES !== '1') return;
  const history = await decodeHistoryPayloads(
    await stack.client.workflow.getHandle(workflowId).fetchHistory(),
  );
  const out = path.join(__dirname, '..', 'replay', 'histories', `webhook-${flow}.json`);
  fs.writeFileSync(out, historyFileText(history));
}

const deliveryRows = (endpointId: string) =>
  stack.pool
    .query<{ event_id: string; status: string; attempts: number }>(
      'SELECT event_id, status, attempts FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY created_at, id',
      [endpointId],
    )
    .then((r) => r.rows);

test('a disabled endpoint is sent nothing; enabled again, it is sent new events', async () => {
  const m = await merchant();
  await m.endpoint('/sentinel', ['payment.*']);
  const toggle = await m.endpoint('/toggle', ['payment.*']);

  expect(
    (await m.send('post', `/v1/webhook-endpoints/${toggle.id}`, { status: 'disabled' }, null)).status,
  ).toBe(400);
  expect((await m.send('post', `/v1/webhook-endpoints/${toggle.id}`, { status: 'paused' })).status).toBe(400);
  const off = await m.send('post', `/v1/webhook-endpoints/${toggle.id}`, { status: 'disabled' });
  expect(off.status).toBe(200);
  expect(off.body).toMatchObject({ id: toggle.id, status: 'disabled', events: ['payment.*'] });
  const other = await merchant();
  expect((await other.send('post', `/v1/webhook-endpoints/${toggle.id}`, { status: 'enabled' })).status).toBe(
    404,
  );
  expect((await other.get(`/v1/webhook-endpoints/${toggle.id}`)).status).toBe(404);

  const pay = await apiFor(stack, m.authorization).pay(700, { capture: 'automatic' });
  expect(pay.status).toBe(201);
  // The sentinel's delivery was created in the same transaction as any delivery to /toggle would be.
  await waitFor(
    () => Promise.resolve(at('/sentinel')),
    (r) => r.some((x) => JSON.parse(x.body).data.id === pay.body.id),
    30_000,
    'the event at the sentinel',
  );
  expect(at('/toggle')).toEqual([]);
  expect(await deliveryRows(toggle.id)).toEqual([]);

  const on = await m.send('post', `/v1/webhook-endpoints/${toggle.id}`, {
    status: 'enabled',
    events: ['payment.captured'],
  });
  expect(on.status).toBe(200);
  expect(on.body).toMatchObject({ status: 'enabled', events: ['payment.captured'] });
  const pay2 = await apiFor(stack, m.authorization).pay(800, { capture: 'automatic' });
  const got = await waitFor(
    () => Promise.resolve(at('/toggle')),
    (r) => r.length >= 1,
    30_000,
    'the event at the re-enabled endpoint',
  );
  expect(JSON.parse(got[0]!.body)).toMatchObject({ type: 'payment.captured', data: { id: pay2.body.id } });
  expect(verifySettleSignature(toggle.secret, got[0]!.body, got[0]!.signature)).toBe(true);
});

test('deliveries held while an endpoint is disabled resume when it is enabled again', async () => {
  const m = await merchant();
  failing.add('/held');
  const ep = await m.endpoint('/held', ['payment.*']);
  const [eventId] = await m.events(1);
  await waitFor(
    () => Promise.resolve(at('/held')),
    (r) => r.length >= 1,
    30_000,
    'a first failed attempt',
  );
  expect((await m.send('post', `/v1/webhook-endpoints/${ep.id}`, { status: 'disabled' })).status).toBe(200);
  failing.delete('/held');
  expect((await deliveryRows(ep.id)).map((r) => r.status)).toEqual(['pending']);

  expect((await m.send('post', `/v1/webhook-endpoints/${ep.id}`, { status: 'enabled' })).status).toBe(200);
  const rows = await waitFor(
    () => deliveryRows(ep.id),
    (r) => r[0]?.status === 'succeeded',
    30_000,
    'the held delivery to succeed',
  );
  expect(rows).toHaveLength(1);
  expect(rows[0]!.attempts).toBeGreaterThanOrEqual(2);
  expect(new Set(at('/held').map((r) => r.eventId))).toEqual(new Set([eventId]));
  await record('endpoint-disabled-then-enabled', webhookEndpointWorkflowId(ep.id));
});

test('delete answers 204, cancels the pending deliveries and ends the endpoint workflow', async () => {
  const m = await merchant();
  failing.add('/doomed');
  const doomed = await m.endpoint('/doomed', ['payment.*']);
  await m.events(2);
  await waitFor(
    () => Promise.resolve(at('/doomed')),
    (r) => r.length >= 1,
    30_000,
    'a first failed attempt',
  );

  const other = await merchant();
  expect((await other.send('delete', `/v1/webhook-endpoints/${doomed.id}`)).status).toBe(404);
  const del = await m.send('delete', `/v1/webhook-endpoints/${doomed.id}`);
  expect(del.status).toBe(204);
  const sentBeforeDelete = at('/doomed').length;
  expect((await m.get(`/v1/webhook-endpoints/${doomed.id}`)).status).toBe(404);
  expect((await m.send('delete', `/v1/webhook-endpoints/${doomed.id}`)).status).toBe(404);
  expect((await m.get('/v1/webhook-endpoints')).body.data).toEqual([]);

  // The workflow ends at its next claim; once it has, nothing can attempt a delivery any more.
  await stack.client.workflow.getHandle(webhookEndpointWorkflowId(doomed.id)).result();
  await record('endpoint-deleted', webhookEndpointWorkflowId(doomed.id));
  const rows = await deliveryRows(doomed.id);
  expect(rows.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
  // At most the attempts already in flight when it was deleted arrived afterwards.
  expect(at('/doomed').length - sentBeforeDelete).toBeLessThanOrEqual(CONCURRENCY);
  const attempts = rows.reduce((n, r) => n + r.attempts, 0);
  expect(at('/doomed').length).toBeGreaterThanOrEqual(attempts);
});

test('redeliver answers 202 and sends the same event id again as a new delivery', async () => {
  const m = await merchant();
  const ep = await m.endpoint('/again', ['payment.*']);
  const [eventId] = await m.events(1);
  await waitFor(
    () => Promise.resolve(at('/again')),
    (r) => r.length >= 1,
    30_000,
    'the first delivery',
  );

  const other = await merchant();
  expect((await other.send('post', `/v1/events/${eventId}/redeliver`, {})).status).toBe(404);
  expect((await m.send('post', `/v1/events/${eventId}/redeliver`, {}, null)).status).toBe(400);
  expect((await m.send('post', '/v1/events/evt_doesnotexist0000/redeliver', {})).status).toBe(404);
  const res = await m.send('post', `/v1/events/${eventId}/redeliver`, {});
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ id: eventId, redelivery: 1 });

  const got = await waitFor(
    () => Promise.resolve(at('/again')),
    (r) => r.length >= 2,
    30_000,
    'the redelivery',
  );
  expect(got.map((r) => r.eventId)).toEqual([eventId, eventId]);
  expect(got.map((r) => JSON.parse(r.body).id)).toEqual([eventId, eventId]);
  expect(verifySettleSignature(ep.secret, got[1]!.body, got[1]!.signature)).toBe(true);
  const log = await waitFor(
    () => m.get(`/v1/webhook-endpoints/${ep.id}/deliveries`),
    (r) =>
      r.body?.data?.length === 2 && r.body.data.every((d: { status: string }) => d.status === 'succeeded'),
    10_000,
    'two succeeded deliveries',
  );
  const [first, second] = log.body.data as Array<{ id: string; eventId: string }>;
  expect(first!.eventId).toBe(eventId);
  expect(second!.eventId).toBe(eventId);
  expect(second!.id).not.toBe(first!.id);
});

test('the breaker opens after K consecutive failures; the other deliveries wait without spending attempts', async () => {
  const m = await merchant();
  failing.add('/breaker');
  const ep = await m.endpoint('/breaker', ['payment.*']);
  await m.events(10);
  const opened = await waitFor(
    () =>
      stack.pool
        .query<{ until: Date | null; failures: number }>(
          'SELECT breaker_open_until AS until, consecutive_failures AS failures FROM webhook_endpoints WHERE id = $1',
          [ep.id],
        )
        .then((r) => r.rows[0]!),
    (r) => r.until !== null,
    30_000,
    'the breaker to open',
  );
  expect(opened.failures).toBeGreaterThanOrEqual(BREAKER_AFTER);
  // Opened after K failures, with at most the in-flight batch finishing after it.
  const whenOpened = at('/breaker').length;
  expect(whenOpened).toBeGreaterThanOrEqual(BREAKER_AFTER);
  expect(whenOpened).toBeLessThanOrEqual(BREAKER_AFTER + CONCURRENCY - 1);

  // After the cool-down, ONE trial (half-open), which fails and opens the breaker again.
  const trial = await waitFor(
    () => Promise.resolve(at('/breaker')),
    (r) => r.length > whenOpened,
    30_000,
    'the trial attempt',
  );
  const lastBefore = trial[whenOpened - 1]!.at;
  expect(trial[whenOpened]!.at - lastBefore).toBeGreaterThanOrEqual(COOLDOWN_MS - 100);
  const rows = await deliveryRows(ep.id);
  expect(rows).toHaveLength(10);
  // Most deliveries were never attempted: they wait in the database, still pending.
  expect(rows.filter((r) => r.attempts === 0 && r.status === 'pending').length).toBeGreaterThanOrEqual(
    10 - (BREAKER_AFTER + CONCURRENCY),
  );
  await record('endpoint-breaker', webhookEndpointWorkflowId(ep.id));
});

test('an endpoint failing for the disable window is disabled, and the merchant is told on its other endpoints', async () => {
  const m = await merchant();
  failing.add('/dying');
  const dying = await m.endpoint('/dying', ['payment.*']);
  // Subscribed to something else: the notice about its sibling reaches it all the same.
  const ops = await m.endpoint('/ops', ['refund.succeeded']);
  await m.events(1);

  const notice = await waitFor(
    () => Promise.resolve(at('/ops')),
    (r) => r.length >= 1,
    40_000,
    'the webhook_endpoint.disabled event',
  );
  const event = JSON.parse(notice[0]!.body);
  expect(event).toMatchObject({
    type: 'webhook_endpoint.disabled',
    data: { id: dying.id, url: `${baseUrl}/dying`, status: 'disabled', reason: 'failing' },
  });
  expect(Date.parse(event.data.disabledAt) - Date.parse(event.data.failingSince)).toBeGreaterThanOrEqual(
    DISABLE_AFTER_MS,
  );
  expect(verifySettleSignature(ops.secret, notice[0]!.body, notice[0]!.signature)).toBe(true);
  expect((await m.get(`/v1/webhook-endpoints/${dying.id}`)).body).toMatchObject({ status: 'disabled' });
  // The disabled endpoint is not sent the notice about itself.
  expect(at('/dying').every((r) => JSON.parse(r.body).type === 'payment.captured')).toBe(true);
  await record('endpoint-auto-disabled', webhookEndpointWorkflowId(dying.id));
  await record('dispatcher', webhookDispatcherId(stack.taskQueue));
});
