/**
 * Metrics (observability/metrics.ts) move with real payments: through the API of a test stack whose
 * card-data worker has the production provider composition (workers/providers.ts: timed adapter
 * behind its circuit breaker), an authorization and a capture count one step each in
 * settle_payment_transitions_total and one timed call each in
 * settle_provider_call_duration_seconds; a decline and a 503 retry are told apart by `outcome`;
 * idempotent replays and conflicts are counted; merchant deliveries are counted by outcome and the
 * webhook backlog is read from PostgreSQL at scrape time; no label holds card data, a token or an id.
 * A real payment-worker process serves Settle's and the Temporal SDK's metrics on its one loopback port.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { register, type Gauge } from 'prom-client';
import { startMetricsServer, watchWebhookQueue } from '../../observability/metrics';
import { freePort, ROOT } from '../../scripts/tools';
import { buildProviders } from '../../workers/providers';
import { startStack, testEnv, testKeyEnv, type Stack } from '../support/stack';
import { apiFor, newKey, VISA, waitFor, type Api } from './payments-support';

jest.setTimeout(90_000);

let stack: Stack;
let api: Api;

beforeAll(async () => {
  stack = await startStack({ providers: (pool) => buildProviders({ SETTLE_PROVIDERS: 'sandbox' }, pool) });
  api = apiFor(stack, (await stack.serviceAuth()).authorization);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

type Labels = Record<string, string | number>;

/** Current value of one series (a histogram's count with `_count`), 0 when absent. */
async function value(name: string, labels: Labels): Promise<number> {
  const base = name.replace(/_count$/, '');
  const metric = (await register.getMetricsAsJSON()).find((m) => m.name === base);
  const wanted = name.endsWith('_count') ? `${base}_count` : undefined;
  const hit = (metric?.values ?? []).find(
    (v) =>
      (wanted === undefined || (v as { metricName?: string }).metricName === wanted) &&
      Object.entries(labels).every(([k, x]) => v.labels[k] === x),
  );
  return hit?.value ?? 0;
}

/** Value changes of the given series across `fn`. */
async function deltas(series: Record<string, [string, Labels]>, fn: () => Promise<void>) {
  const read = async () =>
    Object.fromEntries(
      await Promise.all(Object.entries(series).map(async ([k, [n, l]]) => [k, await value(n, l)] as const)),
    );
  const before = await read();
  await fn();
  const after = await read();
  return Object.fromEntries(Object.keys(series).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
}

const CALLS = 'settle_provider_call_duration_seconds_count';
const STEPS = 'settle_payment_transitions_total';
const sandbox = (operation: string, outcome: string) =>
  [CALLS, { provider: 'sandbox', operation, outcome }] as [string, Labels];

test('an authorization and a capture move the payment and provider-call metrics, labelled sandbox', async () => {
  let paymentId = '';
  const d = await deltas(
    {
      authorizeCalls: sandbox('authorize', 'success'),
      captureCalls: sandbox('capture', 'success'),
      authorizedSteps: [STEPS, { status: 'authorized', provider: 'sandbox' }],
      capturedSteps: [STEPS, { status: 'captured', provider: 'sandbox' }],
    },
    async () => {
      const paid = await api.pay(1250);
      expect(paid.status).toBe(201);
      paymentId = paid.body.id as string;
      const captured = await api.capture(paymentId);
      expect(captured.status).toBe(200);
      // The capture step is committed by the payment worker right after the provider answered.
      await api.waitForStatus(paymentId, 'captured');
      await waitFor(
        () => value(STEPS, { status: 'captured', provider: 'sandbox' }),
        (v) => v > 0,
        10_000,
        'the captured step to be counted',
      );
    },
  );
  expect(d).toEqual({ authorizeCalls: 1, captureCalls: 1, authorizedSteps: 1, capturedSteps: 1 });
  // The duration was observed in seconds (a sandbox call is well under a minute, above zero).
  const sum = (await register.getMetricsAsJSON())
    .find((m) => m.name === 'settle_provider_call_duration_seconds')
    ?.values.find(
      (v) => (v as { metricName?: string }).metricName?.endsWith('_sum') && v.labels.operation === 'capture',
    );
  expect(sum?.value).toBeGreaterThan(0);
  expect(sum?.value).toBeLessThan(60);
  // The breaker in front of the sandbox is closed.
  expect(await value('settle_provider_circuit_state', { provider: 'sandbox' })).toBe(0);
});

test('a decline and an outage retry are told apart by outcome', async () => {
  const d = await deltas(
    {
      declined: sandbox('authorize', 'declined'),
      unavailable: sandbox('authorize', 'unavailable'),
      success: sandbox('authorize', 'success'),
      declinedSteps: [STEPS, { status: 'declined', provider: 'sandbox' }],
    },
    async () => {
      expect((await api.pay(40051)).status).toBe(402); // sandbox: insufficient_funds
      // sandbox: 503 on the first attempt, then success (the retry syncs first, then authorizes).
      expect((await api.pay(50301)).status).toBe(201);
      await waitFor(
        () => value(STEPS, { status: 'declined', provider: 'sandbox' }),
        (v) => v > 0,
        10_000,
        'the declined step to be counted',
      );
    },
  );
  expect(d).toMatchObject({ declined: 1, unavailable: 1, success: 1 });
  expect(d.declinedSteps).toBeGreaterThanOrEqual(1);
});

test('idempotent replays and key conflicts are counted', async () => {
  const d = await deltas(
    {
      replays: ['settle_idempotency_replays_total', {}],
      mismatch: ['settle_idempotency_conflicts_total', { reason: 'mismatch' }],
    },
    async () => {
      const key = newKey('metrics');
      const first = await api.pay(2100, {}, key);
      expect(first.status).toBe(201);
      const token = await api.tokenize();
      const body = { amount: 2100, currency: 'USD', paymentMethod: { token }, capture: 'manual' };
      // Same key, different request (another token): 422.
      expect((await api.post('/v1/payments', body, key)).status).toBe(422);
      // Same key, same request as the first: replayed.
      const again = await api.capture(first.body.id as string, {}, 'cap-' + key);
      const replay = await api.capture(first.body.id as string, {}, 'cap-' + key);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.text).toBe(again.text);
    },
  );
  expect(d).toEqual({ replays: 1, mismatch: 1 });
});

test('no label holds a card number, a token or an id, and every Settle label is from a small vocabulary', async () => {
  const token = await api.tokenize();
  const paid = await api.post('/v1/payments', {
    amount: 1300,
    currency: 'USD',
    paymentMethod: { token },
    capture: 'manual',
  });
  expect(paid.status).toBe(201);
  const labels = (await register.getMetricsAsJSON())
    .filter((m) => m.name.startsWith('settle_'))
    .flatMap((m) => m.values.flatMap((v) => Object.entries(v.labels).map(([k, x]) => [k, String(x)])));
  expect(labels.length).toBeGreaterThan(0);
  const values = labels.map(([, x]) => x ?? '');
  for (const secret of [VISA, VISA.slice(-4), token, paid.body.id as string]) {
    expect(values.filter((x) => x.includes(secret))).toEqual([]);
  }
  expect(values.filter((x) => /\d{6,}/.test(x))).toEqual([]);
  const allowed: Record<string, RegExp> = {
    status: /^[a-z_]+$/,
    provider: /^(sandbox|stripe|braintree|other|none)$/,
    operation: /^(authorize|capture|void|refund|sync)$/,
    outcome: /^[a-z_]+$/,
    reason: /^(mismatch|in_flight)$/,
    result: /^(retried|gave_up)$/,
    stage: /^(outbox|deliveries)$/,
    le: /^[\d.+Inf]+$/,
  };
  expect(labels.filter(([k, x]) => !allowed[k ?? '']?.test(x ?? ''))).toEqual([]);

  // The same figures over HTTP, on loopback only.
  const server = await startMetricsServer({ port: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toMatch(/^settle_provider_call_duration_seconds_bucket\{.*provider="sandbox".*\} \d+/m);
    expect(text).not.toContain(token);
    expect(text).not.toContain(VISA);
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
  } finally {
    await server.close();
  }
});

test.each([
  [
    'payment-worker',
    'SETTLE_PAYMENT_WORKER_METRICS_PORT',
    'SETTLE_TASK_QUEUE',
    'settle_payment_transitions_total',
  ],
  [
    'card-worker',
    'SETTLE_CARD_WORKER_METRICS_PORT',
    'SETTLE_CARD_TASK_QUEUE',
    'settle_provider_circuit_state',
  ],
  [
    'webhook-worker',
    'SETTLE_WEBHOOK_WORKER_METRICS_PORT',
    'SETTLE_WEBHOOK_TASK_QUEUE',
    'settle_webhook_queue_depth',
  ],
])(
  'a %s process serves Settle and Temporal SDK metrics on its one loopback port',
  async (name, portVar, queueVar, own) => {
    const { temporalAddress, runtimeDatabaseUrl } = testEnv();
    const port = await freePort();
    const queue = `settle-test-metrics-${name}-${process.pid}`;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, `workers/${name}.ts`)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        PATH: process.env.PATH,
        ...testKeyEnv(),
        DATABASE_URL: runtimeDatabaseUrl,
        TEMPORAL_ADDRESS: temporalAddress,
        [queueVar]: queue,
        [portVar]: String(port),
        LOG_LEVEL: 'warn',
      },
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.on('message', (m: { ready?: string }) => m.ready === name && resolve());
        void exited.then((code) => reject(new Error(`worker exited ${code}: ${output}`)));
      });
      // The SDK reports its pollers once they started; poll the endpoint until its figures show.
      const text = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
          return res?.ok ? res.text() : '';
        },
        (t) => new RegExp(`^temporal_\\w+\\{[^}]*task_queue="${queue}"`, 'm').test(t),
        30_000,
        'Temporal SDK metrics on the worker port',
      );
      expect(text).toMatch(new RegExp(`^# TYPE ${own} (counter|gauge)$`, 'm'));
      expect(text).toMatch(/^# TYPE settle_audit_append_failures_total counter$/m);
      expect(text).toMatch(/^process_cpu_seconds_total /m);
      if (name === 'card-worker')
        expect(text).toMatch(/^settle_provider_circuit_state\{provider="sandbox"\} 0$/m);
      if (name === 'webhook-worker')
        expect(text).toMatch(/^settle_webhook_queue_depth\{stage="outbox"\} \d+$/m);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  },
);

describe('merchant webhooks', () => {
  let hooks: Stack;
  let receiver: http.Server;
  let failFirst = 1;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(failFirst-- > 0 ? 500 : 200).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hooks = await startStack({
      webhooks: {
        dispatcher: {
          pollMs: 200,
          schedule: { initialBackoffMs: 200, maxBackoffMs: 1000, retryForMs: 60_000 },
        },
        // The receiver is local (http on 127.0.0.1): opt out of the SSRF guard explicitly.
        urlPolicy: { allowHttp: true, allowPrivateTargets: true },
      },
    });
  }, 120_000);
  afterAll(async () => {
    await hooks?.stop();
    receiver?.closeAllConnections();
    await new Promise<void>((r) => receiver?.close(() => r()));
  });

  test('deliveries are counted by outcome: a 500 is retrying, the 200 after it succeeded', async () => {
    const { authorization } = await hooks.serviceAuth();
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const endpoint = await hooks.http
      .post('/v1/webhook-endpoints')
      .set('Authorization', authorization)
      .set('Idempotency-Key', newKey('we'))
      .send({ url, events: ['payment.captured'] });
    expect(endpoint.status).toBe(201);
    const outcome = (o: string) => ['settle_webhook_deliveries_total', { outcome: o }] as [string, Labels];
    const d = await deltas({ retrying: outcome('retrying'), succeeded: outcome('succeeded') }, async () => {
      expect((await apiFor(hooks, authorization).pay(1400, { capture: 'automatic' })).status).toBe(201);
      await waitFor(
        () => value('settle_webhook_deliveries_total', { outcome: 'succeeded' }),
        (v) => v > 0,
        30_000,
        'a successful delivery to be counted',
      );
    });
    // This process's webhook worker may also be sent other files' endpoints (one shared outbox).
    expect(d.retrying).toBeGreaterThanOrEqual(1);
    expect(d.succeeded).toBeGreaterThanOrEqual(1);
  });

  test('queue depth is counted in PostgreSQL at scrape time, and absent when the count fails', async () => {
    const gauge = register.getSingleMetric('settle_webhook_queue_depth') as Gauge<'stage'>;
    const stages = async () =>
      Object.fromEntries((await gauge.get()).values.map((v) => [String(v.labels.stage), v.value]));

    watchWebhookQueue(() => hooks.webhooks.queueDepth());
    const read = await stages();
    expect(Object.keys(read).sort()).toEqual(['deliveries', 'outbox']);
    for (const n of Object.values(read)) expect(Number.isInteger(n) && n >= 0).toBe(true);

    // The cap bounds the count however large the backlog.
    const capped = await hooks.webhooks.queueDepth(0);
    expect(capped).toEqual({ outbox: 0, deliveries: 0 });

    watchWebhookQueue(() => Promise.resolve({ outbox: 7, deliveries: 3 }));
    expect(await stages()).toEqual({ outbox: 7, deliveries: 3 });
    watchWebhookQueue(() => Promise.reject(new Error('database away')));
    expect(await stages()).toEqual({});
  });
});
