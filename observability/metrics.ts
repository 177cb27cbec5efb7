/**
 * Every Prometheus metric Settle defines, in this one module (prom-client's default registry), and
 * the loopback `/metrics` server each process runs. Names follow Prometheus conventions: counters end
 * in `_total`, durations are `_seconds`. Labels hold only bounded vocabularies (statuses, provider
 * names, operations, outcomes): never an id, a token, an amount or anything from a card.
 *
 * Who moves what:
 *   settle_payment_transitions_total         payment worker, when a payment step commits
 *   settle_provider_call_duration_seconds    card-data worker, around each adapter call
 *   settle_provider_circuit_state            card-data worker, read from each provider's breaker
 *   settle_idempotency_{replays,conflicts}_total   API, Idempotency-Key middleware
 *   settle_webhook_deliveries_total          webhook worker, after each recorded attempt
 *   settle_webhook_queue_depth               webhook worker, counted in PostgreSQL at scrape time
 *   settle_audit_append_failures_total       every process that appends to the audit trail
 * Each worker also forwards the Temporal SDK's own metrics (`temporal_…`) on the same port
 * (workers/run.ts).
 */
import http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, register, type Metric } from 'prom-client';
import { PROVIDER_NAMES } from '../domain/providers';

/**
 * One metric per name per process, also when this module is loaded twice (jest module registries
 * share nothing, but isolateModules and duplicate installs do): the second load reuses the first.
 */
function once<M extends Metric>(name: string, make: () => M): M {
  return (register.getSingleMetric(name) as M | undefined) ?? make();
}

/**
 * State the gauges read at scrape time. Kept on globalThis for the same reason as once(): a gauge
 * created by an earlier load of this module must see what a later load registers.
 */
interface Sources {
  circuits: Map<string, () => CircuitState>;
  webhookQueue: (() => Promise<WebhookQueueDepth>) | undefined;
}
const SOURCES = Symbol.for('settle.metrics.sources');
const sources: Sources =
  ((globalThis as Record<symbol, unknown>)[SOURCES] as Sources | undefined) ??
  ((globalThis as Record<symbol, unknown>)[SOURCES] = {
    circuits: new Map(),
    webhookQueue: undefined,
  } as Sources);

/** A provider name as a label: one of the known names, anything else `other` (bounded cardinality). */
export function providerLabel(provider: string | undefined): string {
  if (provider === undefined || provider === '') return 'none';
  return (PROVIDER_NAMES as readonly string[]).includes(provider) ? provider : 'other';
}

// ---- Payments --------------------------------------------------------------------------------------

/**
 * One increment per committed payment step that announces a transition (`payment.<status>`): steps
 * that move no status (a dispute's withdrawal or reinstatement, a re-projection) are not counted.
 * Labelled with the status the step left the payment in (processing, authorized, captured,
 * declined, failed, ...) and the provider holding it. Counted
 * after the step's transaction commits, once per successful run of the step (a retried step that
 * failed first counts once; workflow replay does not re-run activities).
 */
export const paymentTransitions = once(
  'settle_payment_transitions_total',
  () =>
    new Counter({
      name: 'settle_payment_transitions_total',
      help: 'Committed payment steps by the status they left the payment in, and provider',
      labelNames: ['status', 'provider'] as const,
    }),
);

// ---- Providers -------------------------------------------------------------------------------------

export type ProviderOperation =
  'authorize' | 'capture' | 'void' | 'refund' | 'sync' | 'dispute_evidence' | 'dispute_accept';
/**
 * success: an answer that is not a decline; declined: an authorization the issuer refused (an answer,
 * not an error); invalid_request, unavailable, outcome_unknown: the provider failure types of
 * domain/errors.ts; error: anything else (a bug, a vault failure inside the call).
 */
export type ProviderCallOutcome =
  'success' | 'declined' | 'invalid_request' | 'unavailable' | 'outcome_unknown' | 'error';

export const providerCallDuration = once(
  'settle_provider_call_duration_seconds',
  () =>
    new Histogram({
      name: 'settle_provider_call_duration_seconds',
      help: 'Duration of calls to payment providers by provider, operation and outcome',
      labelNames: ['provider', 'operation', 'outcome'] as const,
      // Provider calls: tens of milliseconds (sandbox) to the 30 s activity timeout.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
);

export type CircuitState = 'closed' | 'half_open' | 'open';
const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

export const providerCircuitState = once(
  'settle_provider_circuit_state',
  () =>
    new Gauge({
      name: 'settle_provider_circuit_state',
      help: 'Circuit breaker in front of each provider: 0 closed, 1 half-open, 2 open',
      labelNames: ['provider'] as const,
      collect() {
        this.reset();
        for (const [provider, state] of sources.circuits) this.set({ provider }, CIRCUIT_VALUE[state()]);
      },
    }),
);

/** The card-data worker's breaker for `provider` (the latest one registered for a name wins). */
export function watchCircuit(provider: string, state: () => CircuitState): void {
  sources.circuits.set(providerLabel(provider), state);
}

// ---- Idempotency -----------------------------------------------------------------------------------

export const idempotencyReplays = once(
  'settle_idempotency_replays_total',
  () =>
    new Counter({
      name: 'settle_idempotency_replays_total',
      help: 'Requests answered from a stored response (same Idempotency-Key, same request)',
    }),
);

export const idempotencyConflicts = once(
  'settle_idempotency_conflicts_total',
  () =>
    new Counter({
      name: 'settle_idempotency_conflicts_total',
      help: 'Idempotency-Key conflicts: reason=in_flight (409, first request still running) or mismatch (422, different request)',
      labelNames: ['reason'] as const,
    }),
);

// ---- Merchant webhooks -----------------------------------------------------------------------------

/**
 * succeeded: 2xx; retrying: failed, another attempt is scheduled; failed: failed with no attempt left
 * (refused target, or the delivery window is over).
 */
export type WebhookDeliveryOutcome = 'succeeded' | 'retrying' | 'failed';

export const webhookDeliveries = once(
  'settle_webhook_deliveries_total',
  () =>
    new Counter({
      name: 'settle_webhook_deliveries_total',
      help: 'Merchant webhook delivery attempts by outcome (succeeded, retrying, failed)',
      labelNames: ['outcome'] as const,
    }),
);

/** Outbox events not yet dispatched, and deliveries still pending (each capped by the query). */
export interface WebhookQueueDepth {
  outbox: number;
  deliveries: number;
}

export const webhookQueueDepth = once(
  'settle_webhook_queue_depth',
  () =>
    new Gauge({
      name: 'settle_webhook_queue_depth',
      help: 'Merchant webhook backlog: stage=outbox (events not yet dispatched), stage=deliveries (pending deliveries)',
      labelNames: ['stage'] as const,
      async collect() {
        this.reset();
        const read = sources.webhookQueue;
        if (!read) return;
        try {
          const d = await read();
          this.set({ stage: 'outbox' }, d.outbox);
          this.set({ stage: 'deliveries' }, d.deliveries);
        } catch {
          // Database away at scrape time: the series are absent rather than a stale or zero figure.
        }
      },
    }),
);

/** The webhook worker's depth query (db/webhook-deliveries-repo.ts queueDepth), run at scrape time. */
export function watchWebhookQueue(read: () => Promise<WebhookQueueDepth>): void {
  sources.webhookQueue = read;
}

// ---- Audit -----------------------------------------------------------------------------------------

export const auditAppendFailures = once(
  'settle_audit_append_failures_total',
  () =>
    new Counter({
      name: 'settle_audit_append_failures_total',
      help: 'Failed audit appends: result=retried (a later attempt may succeed) or gave_up (the caller got the error)',
      labelNames: ['result'] as const,
    }),
);

// ---- Codec server ----------------------------------------------------------------------------------

/**
 * success: payloads decoded/encoded; unauthenticated: no valid token or sign-in session; forbidden:
 * a role that may not; invalid: not a Payloads body; failed: the codec refused the payloads (wrong
 * key, tampered). `via`: token, session, or none.
 */
export type CodecOutcome = 'success' | 'unauthenticated' | 'forbidden' | 'invalid' | 'failed';

export const codecRequests = once(
  'settle_codec_requests_total',
  () =>
    new Counter({
      name: 'settle_codec_requests_total',
      help: 'Codec server /decode and /encode requests by operation, outcome and how the caller signed in',
      labelNames: ['operation', 'outcome', 'via'] as const,
    }),
);

export const codecPayloads = once(
  'settle_codec_payloads_total',
  () =>
    new Counter({
      name: 'settle_codec_payloads_total',
      help: 'Payloads the codec server decoded or encoded for an authorized operator',
      labelNames: ['operation'] as const,
    }),
);

// ---- Serving ---------------------------------------------------------------------------------------

let defaultsCollected = false;

export interface MetricsServer {
  /** The bound port (useful with port 0), or undefined when it could not bind. */
  port: number | undefined;
  close(): Promise<void>;
}

/**
 * `GET /metrics` on 127.0.0.1:`port` (never another interface: the figures are for a local agent
 * or a sidecar). `more` appends another exposition (the Temporal SDK's, in workers); when it fails
 * the scrape still answers with Settle's own. A port that cannot be bound is reported through
 * `onError` and the process carries on without metrics: a scrape target that is down is visible to
 * Prometheus (`up == 0`), a payment process stopped for it would not be better.
 */
export async function startMetricsServer(opts: {
  port: number;
  more?: () => Promise<string>;
  onError?: (err: unknown) => void;
}): Promise<MetricsServer> {
  if (!defaultsCollected) {
    collectDefaultMetrics();
    defaultsCollected = true;
  }
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      const own = await register.metrics();
      const extra = opts.more ? await opts.more().catch(() => '') : '';
      return extra ? `${own}\n${extra}` : own;
    })().then(
      (text) => res.writeHead(200, { 'Content-Type': register.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', (err) => {
      opts.onError?.(err);
      resolve(false);
    });
    server.listen(opts.port, '127.0.0.1', () => resolve(true));
  });
  const address = server.address();
  return {
    port: bound && address && typeof address === 'object' ? address.port : undefined,
    close: () =>
      new Promise<void>((resolve) => {
        if (!bound) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** Fetch another exporter's text over loopback HTTP (bounded: 2 s). */
export async function fetchExposition(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`metrics at ${url} answered ${res.status}`);
  return res.text();
}
