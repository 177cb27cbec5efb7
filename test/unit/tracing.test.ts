/**
 * observability/tracing.ts without a server: tracing is off (nothing started, nothing patched) when
 * there is nowhere to send spans, and the scrubbing processor keeps card numbers out of every span
 * it forwards, whatever part of the span they hide in.
 */
import http from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { scrubbingProcessor, startTracing } from '../../observability/tracing';
import { findCardNumber } from '../../security/redaction';

const VISA = '4242424242424242'; // Stripe's documented Visa test number

function span(over: Partial<ReadableSpan>): ReadableSpan {
  return {
    name: 'provider authorize',
    kind: SpanKind.CLIENT,
    attributes: {},
    events: [],
    links: [],
    status: { code: SpanStatusCode.UNSET },
    ...over,
  } as unknown as ReadableSpan;
}

function capture(): { processor: SpanProcessor; forwarded: ReadableSpan[] } {
  const forwarded: ReadableSpan[] = [];
  const next: SpanProcessor = {
    onStart: (_s: Span) => undefined,
    onEnd: (s) => void forwarded.push(s),
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  return { processor: scrubbingProcessor(next), forwarded };
}

test('without an OTLP endpoint or an exporter, tracing is off: nothing is started and http is not patched', () => {
  const emitOf = () => Reflect.get(http.Server.prototype, 'emit') as unknown;
  const emit = emitOf();
  expect(startTracing({ serviceName: 'settle-test' })).toBeUndefined();
  expect(startTracing({ serviceName: 'settle-test', endpoint: undefined })).toBeUndefined();
  expect(emitOf()).toBe(emit);
});

test('a card number in an attribute, an event, a link or the status message is masked before export', () => {
  const { processor, forwarded } = capture();
  processor.onEnd(
    span({
      attributes: {
        'settle.payment_id': 'pay_1',
        'http.target': `/v1/x?n=${VISA}`,
        list: ['ok', `4242 4242 4242 4242`],
        [`k${VISA}`]: 'key holds it',
        count: 3,
      },
      events: [
        { name: `exception ${VISA}`, attributes: { 'exception.message': `bad ${VISA}` }, time: [0, 0] },
      ],
      links: [{ context: {} as never, attributes: { note: VISA } }],
      status: { code: SpanStatusCode.ERROR, message: `declined ${VISA}` },
    }),
  );
  expect(forwarded).toHaveLength(1);
  const out = forwarded[0]!;
  expect(out.attributes).toEqual({
    'settle.payment_id': 'pay_1',
    'http.target': '[redacted]',
    list: '[redacted]',
    count: 3,
  });
  expect(findCardNumber(JSON.stringify({ ...out, resource: undefined }))).toBeUndefined();
  expect(out.status.message).toBe('[redacted]');
});

test('values that are not plain attribute values (objects from workflow info) are dropped', () => {
  const { processor, forwarded } = capture();
  processor.onEnd(span({ attributes: { memo: { fields: {} } as never, workflowId: 'payment-pay_1' } }));
  expect(forwarded[0]!.attributes).toEqual({ workflowId: 'payment-pay_1' });
});

test('a span whose name holds a card number is not exported at all', () => {
  const { processor, forwarded } = capture();
  processor.onEnd(span({ name: `GET /cards/${VISA}` }));
  expect(forwarded).toEqual([]);
});
