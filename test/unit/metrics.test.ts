/**
 * observability/metrics.ts and its call sites without a stack: provider calls are timed with an
 * outcome that tells answers from failures, the breaker gauge reads each provider's breaker at
 * scrape time, and the loopback /metrics server neither takes a process down when its port is taken
 * nor loses Settle's figures when the forwarded Temporal exposition fails.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { register, type Gauge } from 'prom-client';
import { createCircuitBreaker, withCircuitBreaker } from '../../activities/providers/breaker';
import { withCallMetrics } from '../../activities/providers/metered';
import { ProviderError, type PaymentProvider } from '../../activities/providers/types';
import { startMetricsServer } from '../../observability/metrics';

async function calls(operation: string, outcome: string): Promise<number> {
  const m = (await register.getMetricsAsJSON()).find(
    (x) => x.name === 'settle_provider_call_duration_seconds',
  );
  return (
    m?.values.find(
      (v) =>
        (v as { metricName?: string }).metricName === 'settle_provider_call_duration_seconds_count' &&
        v.labels.provider === 'stripe' &&
        v.labels.operation === operation &&
        v.labels.outcome === outcome,
    )?.value ?? 0
  );
}

function fakeProvider(behaviour: { authorize: () => Promise<unknown>; sync?: () => Promise<unknown> }) {
  return {
    name: 'stripe',
    authorize: behaviour.authorize,
    capture: () => Promise.resolve({ providerCaptureId: 'c', amount: 1 }),
    void: () => Promise.resolve(),
    refund: () => Promise.resolve({ providerRefundId: 'r', status: 'failed' }),
    sync: behaviour.sync ?? (() => Promise.resolve({ found: false })),
    parseWebhook: () => Promise.reject(new Error('unused')),
  } as unknown as PaymentProvider;
}

test('each provider call is timed with an outcome: answers, declines and failure types apart', async () => {
  const answers = [
    () => Promise.resolve({ outcome: 'authorized', providerReference: 'x', captured: false }),
    () => Promise.resolve({ outcome: 'declined', providerReference: 'x', declineCode: 'card_declined' }),
    () => Promise.reject(ProviderError.unavailable('stripe', '503')),
    () => Promise.reject(ProviderError.unknownOutcome('stripe', 'timeout')),
    () => Promise.reject(ProviderError.invalid('stripe', 'bad')),
    () => Promise.reject(new Error('a bug')),
  ];
  const outcomes = ['success', 'declined', 'unavailable', 'outcome_unknown', 'invalid_request', 'error'];
  const before = await Promise.all(outcomes.map((o) => calls('authorize', o)));
  let i = 0;
  const p = withCallMetrics(fakeProvider({ authorize: () => answers[i++]!() }));
  for (let n = 0; n < answers.length; n++) await p.authorize({} as never).catch(() => undefined);
  const refundBefore = await calls('refund', 'declined');
  await p.refund({} as never);
  const after = await Promise.all(outcomes.map((o) => calls('authorize', o)));
  expect(after.map((a, k) => a - before[k]!)).toEqual([1, 1, 1, 1, 1, 1]);
  expect((await calls('refund', 'declined')) - refundBefore).toBe(1);
});

test('the breaker gauge shows each provider closed, open or half-open when scraped', async () => {
  let now = 0;
  const breaker = createCircuitBreaker({
    windowMs: 1000,
    minCalls: 1,
    failureRate: 0.5,
    coolDownMs: 100,
    now: () => now,
  });
  const guarded = withCircuitBreaker(
    fakeProvider({ authorize: () => Promise.reject(ProviderError.unavailable('stripe', '503')) }),
    breaker,
  );
  const gauge = register.getSingleMetric('settle_provider_circuit_state') as Gauge<'provider'>;
  const state = async () => (await gauge.get()).values.find((v) => v.labels.provider === 'stripe')?.value;
  expect(await state()).toBe(0);
  await guarded.authorize({} as never).catch(() => undefined);
  expect(await state()).toBe(2);
  now = 150;
  expect(await state()).toBe(1);
});

test('a metrics port already taken is reported and the process carries on', async () => {
  const holder = http.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as AddressInfo).port;
  const errors: unknown[] = [];
  try {
    const server = await startMetricsServer({ port, onError: (e) => errors.push(e) });
    expect(server.port).toBeUndefined();
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EADDRINUSE']);
    await expect(server.close()).resolves.toBeUndefined();
  } finally {
    await new Promise<void>((r) => holder.close(() => r()));
  }
});

test('Settle metrics are served when the forwarded exposition fails, and appended when it answers', async () => {
  let temporal: () => Promise<string> = () => Promise.reject(new Error('exporter away'));
  const server = await startMetricsServer({ port: 0, more: () => temporal() });
  try {
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      return { status: res.status, text: await res.text() };
    };
    const alone = await scrape();
    expect(alone.status).toBe(200);
    expect(alone.text).toMatch(/^# TYPE settle_payment_transitions_total counter$/m);
    temporal = () => Promise.resolve('# TYPE temporal_num_pollers gauge\ntemporal_num_pollers 2\n');
    const both = await scrape();
    expect(both.text).toMatch(/^# TYPE settle_payment_transitions_total counter$/m);
    expect(both.text).toMatch(/^temporal_num_pollers 2$/m);
  } finally {
    await server.close();
  }
});
