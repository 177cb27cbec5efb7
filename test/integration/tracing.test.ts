/**
 * One payment, one trace. With tracing on (an in-memory exporter in place of OTLP), a payment made
 * over HTTP (tokenize, authorize, capture, refund until the workflow ends) yields spans for the API
 * requests, the Temporal client calls, the workflow, its activities, the provider calls and their SQL,
 * all in ONE trace whose parent links are unbroken: the provider's authorization leads back through
 * the activity and the workflow to the API's POST /v1/payments request span. No span carries the card
 * number or the CVC.
 *
 * The test plays the calling service: its own root span goes with each request in `traceparent`
 * (W3C trace context), so the requests of one payment share a trace.
 */
import { context, propagation, SpanKind, trace, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '../../observability/tracing';
import { findCardNumber } from '../../security/redaction';
import { startStack, type Stack } from '../support/stack';
import { newKey, VISA, waitFor } from './payments-support';

/** A CVC no id or number in a span would hold by chance (see cvcIn). */
const CVC = '837';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let stack: Stack;
let authorization: string;

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'settle-test', exporter })!;
  stack = await startStack({ tracing });
  authorization = (await stack.serviceAuth()).authorization;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await tracing?.shutdown();
});

/** A POST as a traced caller sends it: the caller's span context in `traceparent`. */
function post(caller: Span, path: string, body: object) {
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), caller), headers);
  return stack.http
    .post(path)
    .set({ ...headers, Authorization: authorization, 'Idempotency-Key': newKey('trace') })
    .send(body);
}

/** The CVC as a digit run of its own, not inside a hex id (a UUID group is never 3 characters). */
const cvcIn = (s: string) => new RegExp(`(?<![0-9a-fA-F])${CVC}(?![0-9a-fA-F])`).test(s);

function strings(span: ReadableSpan): string[] {
  const out = [span.name, span.status.message ?? ''];
  const add = (attrs: object | undefined) => {
    for (const [k, v] of Object.entries(attrs ?? {})) {
      out.push(k);
      for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string') out.push(x);
    }
  };
  add(span.attributes);
  for (const e of span.events) {
    out.push(e.name);
    add(e.attributes);
  }
  for (const l of span.links) add(l.attributes);
  return out;
}

test('a payment made over HTTP is one connected trace from the API request to the provider call, card-free', async () => {
  const root = trace.getTracer('settle-test').startSpan('test: one payment');
  const traceId = root.spanContext().traceId;
  const card = await post(root, '/v1/vault/cards', {
    number: VISA,
    expMonth: 12,
    expYear: new Date().getUTCFullYear() + 2,
    cvc: CVC,
  });
  expect(card.status).toBe(201);
  const pay = await post(root, '/v1/payments', {
    amount: 2500,
    currency: 'USD',
    paymentMethod: { token: card.body.token },
    capture: 'manual',
  });
  expect(pay.status).toBe(201);
  expect(pay.body.status).toBe('authorized');
  const paymentId = pay.body.id as string;
  expect((await post(root, `/v1/payments/${paymentId}/capture`, {})).status).toBe(200);
  // A full refund ends the workflow: its RunWorkflow span is exported when the run completes.
  expect((await post(root, `/v1/payments/${paymentId}/refunds`, {})).status).toBe(201);
  root.end();
  const workflowId = `payment-${paymentId}`;
  await stack.client.workflow.getHandle(workflowId).result();
  const aboutPayment = (s: ReadableSpan) =>
    s.attributes.temporalWorkflowId === workflowId ||
    s.attributes.workflowId === workflowId ||
    s.attributes['settle.payment_id'] === paymentId;
  // Workflow spans leave the worker through its sink after the workflow task that ended them.
  await waitFor(
    () =>
      Promise.resolve(
        exporter.getFinishedSpans().filter((s) => s.name === 'RunWorkflow:paymentWorkflow' && aboutPayment(s))
          .length,
      ),
    (n) => n > 0,
    30_000,
    'the workflow span',
  );
  const spans = exporter.getFinishedSpans();

  // Every span about this payment is in the one trace.
  const ofPayment = spans.filter(aboutPayment);
  expect(ofPayment.length).toBeGreaterThan(5);
  expect(ofPayment.filter((s) => s.spanContext().traceId !== traceId).map((s) => s.name)).toEqual([]);

  // ... and the trace is connected: each span's parent is in it, up to the test's root span.
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
  const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
  const orphans = inTrace
    .filter((s) => s.spanContext().spanId !== root.spanContext().spanId)
    .filter((s) => !s.parentSpanId || !byId.has(s.parentSpanId))
    .map((s) => s.name);
  expect(orphans).toEqual([]);

  const names = inTrace.map((s) => s.name);
  expect(names).toEqual(
    expect.arrayContaining([
      'UpdateWithStartWorkflow:awaitAuthorization',
      'RunWorkflow:paymentWorkflow',
      'StartActivity:authorizePayment',
      'RunActivity:authorizePayment',
      'provider authorize',
      'RunActivity:capturePayment',
      'provider capture',
      'provider refund',
    ]),
  );
  expect(inTrace.some((s) => s.attributes['db.system'] === 'postgresql')).toBe(true);

  // The provider's authorization leads back, link by link, to the API's request span.
  const apiRequest = inTrace.find(
    (s) =>
      s.kind === SpanKind.SERVER &&
      s.attributes['http.method'] === 'POST' &&
      s.attributes['http.target'] === '/v1/payments',
  );
  expect(apiRequest).toBeDefined();
  const authorize = inTrace.find((s) => s.name === 'provider authorize')!;
  expect(authorize.attributes).toMatchObject({
    'settle.provider': 'sandbox',
    'settle.operation': 'authorize',
    'settle.payment_id': paymentId,
    'settle.outcome': 'authorized',
  });
  const ancestors: string[] = [];
  for (
    let s: ReadableSpan | undefined = authorize;
    s;
    s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined
  )
    ancestors.push(s === apiRequest ? 'API request' : s.name);
  expect(ancestors).toEqual(
    expect.arrayContaining([
      'RunActivity:authorizePayment',
      'StartActivity:authorizePayment',
      'RunWorkflow:paymentWorkflow',
      'UpdateWithStartWorkflow:awaitAuthorization',
      'API request',
    ]),
  );

  // No span, in this trace or any other, holds the card number or the CVC.
  for (const s of spans) {
    const text = strings(s);
    expect({ span: s.name, card: findCardNumber(text) }).toEqual({ span: s.name, card: undefined });
    expect({ span: s.name, cvc: text.some(cvcIn) }).toEqual({ span: s.name, cvc: false });
  }
});
