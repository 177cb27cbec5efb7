/**
 * OpenTelemetry traces across API -> workflow -> activity -> provider call, in this one module.
 *
 * Off unless a process root passes an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT) or a test passes an
 * exporter: startTracing() then returns undefined, no SDK is started and nothing is patched. What
 * is left: providerSpan() asks the no-op API for a span it never records, and the workflow
 * interceptors (WORKFLOW_TRACING_MODULE) are bundled only when tracing is on.
 *
 * When on, one trace follows a payment: the HTTP server span of the request (instrumentation-http,
 * incoming only: no trace context is sent to providers or merchants), the Temporal client interceptor that puts the span context into the workflow start/update headers,
 * the workflow's own spans (interceptors bundled into the workflow code, exported through a sink, so
 * workflow code stays deterministic and never does I/O), the activity spans (activity interceptors),
 * the provider call (providerSpan) and the SQL under each (instrumentation-pg; statements only, never
 * bound values).
 *
 * Span attributes hold ids, provider names, operations and outcomes, never card data. As defence in
 * depth every span passes through a scrubber before export: string values that hold a card number
 * (the lenient scan of security/redaction.ts) are masked, values that are not plain attribute values
 * are dropped, and a span whose NAME holds one is not exported at all.
 */
import http from 'node:http';
import https from 'node:https';
import pg from 'pg';
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { InstrumentationBase } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type {
  ActivityInterceptorsFactory,
  InjectedSink,
  InjectedSinks,
  WorkerInterceptors,
} from '@temporalio/worker';
import { containsCardNumberLenient } from '../security/redaction';

export interface TracingOptions {
  /** Names this process in every span (OTEL_SERVICE_NAME, else the process's own name). */
  serviceName: string;
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `<endpoint>/v1/traces`. */
  endpoint?: string | undefined;
  /** Tests: export here (each span as it ends) instead of over OTLP. */
  exporter?: SpanExporter | undefined;
}

export interface Tracing {
  /** For a Temporal Client: the active span's context travels in workflow start/update/signal headers. */
  readonly clientInterceptors: { workflow: WorkflowClientInterceptor[] };
  /** For Worker.create: activity interceptors (a span per attempt, under the span that scheduled it). */
  readonly activityInterceptors: ActivityInterceptorsFactory[];
  /** Where the workflow interceptors' spans leave the sandbox (the scrubber, then the exporter). */
  readonly workflowExporter: InjectedSink<OpenTelemetryWorkflowExporter>;
  /** Flushes what is buffered, unpatches http and pg, unregisters the global tracer. */
  shutdown(): Promise<void>;
}

/**
 * The workflow interceptors module: bundled only when tracing is on (workers/workflow-code.ts). Off,
 * workflow code makes no spans and calls no sink: measured with `npm run bench:payments`, spans made in
 * the sandbox and handed out through a sink that dropped them cost about as much worker CPU per
 * payment as everything else Settle's workers do.
 */
export const WORKFLOW_TRACING_MODULE =
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/**
 * Worker.create options for a worker: activity spans, and for a worker that runs workflows the
 * workflow interceptors and their span sink, when tracing is on; nothing when it is off.
 */
export function workerTracing(
  tracing: Tracing | undefined,
  runsWorkflows = false,
): { interceptors?: WorkerInterceptors; sinks?: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }> } {
  if (!tracing) return {};
  const interceptors: WorkerInterceptors = { activity: tracing.activityInterceptors };
  if (!runsWorkflows) return { interceptors };
  return {
    interceptors: { ...interceptors, workflowModules: [WORKFLOW_TRACING_MODULE] },
    // The SDK does not call sinks while replaying, so a replayed task never exports a span twice.
    sinks: { exporter: tracing.workflowExporter },
  };
}

const REDACTED = '[redacted]';

/** Is this a value OTel exporters carry as is (string, number, boolean, or an array of them)? */
function plainValue(v: unknown): v is AttributeValue {
  const prim = (x: unknown) => x == null || ['string', 'number', 'boolean'].includes(typeof x);
  return Array.isArray(v) ? v.every(prim) : v != null && prim(v);
}

function scrubAttributes(attrs: Attributes | undefined): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (containsCardNumberLenient(k) || !plainValue(v)) {
      delete attrs[k];
    } else if (typeof v === 'string') {
      if (containsCardNumberLenient(v)) attrs[k] = REDACTED;
    } else if (Array.isArray(v) && v.some((x) => typeof x === 'string' && containsCardNumberLenient(x))) {
      attrs[k] = REDACTED;
    }
  }
}

/**
 * The span processor in front of the exporting one: masks card numbers in attribute values, event
 * names and attributes, link attributes and the status message; a span whose name holds one is
 * dropped. Nothing Settle sets should ever trip it (ids, providers, operations, outcomes only).
 */
export function scrubbingProcessor(next: SpanProcessor): SpanProcessor {
  return {
    onStart: (span: Span, parent: Context) => next.onStart(span, parent),
    onEnd(span: ReadableSpan) {
      if (containsCardNumberLenient(span.name)) return;
      scrubAttributes(span.attributes);
      for (const e of span.events) {
        if (containsCardNumberLenient(e.name)) e.name = REDACTED;
        scrubAttributes(e.attributes);
      }
      for (const l of span.links) scrubAttributes(l.attributes);
      if (span.status.message && containsCardNumberLenient(span.status.message))
        span.status.message = REDACTED;
      next.onEnd(span);
    },
    forceFlush: () => next.forceFlush(),
    shutdown: () => next.shutdown(),
  };
}

/** Probes and scrapes are not traced: they would be a root span every few seconds. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The modules to instrument, as loaded objects. Process roots import pg and http (through express and
 * db/pool.ts) before they have parsed their configuration, so instrumenting through require hooks
 * would come too late: the patches are applied to these objects directly, and removed on shutdown.
 * pg's pool is left alone (its queries run on pg.Client, which is patched).
 */
function instrumentedModules(): Array<{
  instrumentation: InstrumentationBase;
  name: string;
  exports: object;
}> {
  // Incoming requests only. Outgoing ones (provider SDKs, merchant webhook deliveries) would carry a
  // `traceparent` header to third parties; the provider span and the activity span time them instead.
  const httpInstr = new HttpInstrumentation({
    enabled: false,
    disableOutgoingRequestInstrumentation: true,
    ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
  });
  // Statements only (parameters are never recorded), and no root spans for background queries.
  const pgInstr = new PgInstrumentation({ enabled: false, requireParentSpan: true });
  return [
    { instrumentation: httpInstr, name: 'http', exports: http },
    { instrumentation: httpInstr, name: 'https', exports: https },
    { instrumentation: pgInstr, name: 'pg', exports: pg },
  ];
}

/** Patches (or unpatches) each module object with its instrumentation's definition for it. */
function applyPatches(mods: ReturnType<typeof instrumentedModules>, how: 'patch' | 'unpatch'): void {
  for (const m of mods) {
    for (const def of m.instrumentation.getModuleDefinitions()) {
      if (def.name === m.name) def[how]?.(m.exports);
    }
  }
}

/** Starts tracing for this process, or returns undefined (tracing off) when there is nowhere to send spans. */
export function startTracing(opts: TracingOptions): Tracing | undefined {
  const sink = opts.exporter
    ? new SimpleSpanProcessor(opts.exporter)
    : opts.endpoint
      ? new BatchSpanProcessor(
          new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` }),
        )
      : undefined;
  if (!sink) return undefined;

  const resource = new Resource({ 'service.name': opts.serviceName });
  const processor = scrubbingProcessor(sink);
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  provider.register({ contextManager, propagator: new W3CTraceContextPropagator() });

  const mods = instrumentedModules();
  for (const m of mods) m.instrumentation.setTracerProvider(provider);
  applyPatches(mods, 'patch');

  return {
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    activityInterceptors: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    workflowExporter: makeWorkflowExporter(processor, resource),
    async shutdown() {
      applyPatches(mods, 'unpatch');
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/**
 * A span around one provider call: the provider, the operation, the payment id and the outcome (the
 * result's `outcome`, else `ok`; on failure the failure type). Never the request or the response:
 * an authorization request holds the card.
 */
export async function providerSpan<T>(
  provider: string,
  operation: string,
  paymentId: string,
  call: () => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer('settle');
  return tracer.startActiveSpan(
    `provider ${operation}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'settle.provider': provider,
        'settle.operation': operation,
        'settle.payment_id': paymentId,
      },
    },
    async (span) => {
      try {
        const result = await call();
        const outcome = (result as { outcome?: unknown } | undefined)?.outcome;
        span.setAttribute('settle.outcome', typeof outcome === 'string' ? outcome : 'ok');
        return result;
      } catch (err) {
        const type = (err as { failureType?: unknown } | undefined)?.failureType;
        const outcome = typeof type === 'string' ? type : 'error';
        span.setAttribute('settle.outcome', outcome);
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
