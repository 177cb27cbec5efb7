/**
 * Composition root of the merchant-webhook worker: the dispatcher and endpoint workflows and their
 * activities, on their OWN task queue (SETTLE_WEBHOOK_TASK_QUEUE). A merchant's dead endpoint can
 * fill this queue, never the payments queue. It holds the webhook key only: no card data, no
 * provider credentials.
 */
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createWebhookActivities, type WebhookActivityDeps } from '../activities/webhook-activities';
import { configureAuditLog } from '../db/audit-repo';
import { auditKeysFrom, rootKeyFrom } from '../security/purpose-keys';
import { assertReachable, createPool, type Pool } from '../db/pool';
import { createWebhooksRepo } from '../db/webhooks-repo';
import { loadOrExit } from '../config/shapes';
import { loadWebhookWorkerConfig } from '../config/load';
import { createLogger } from '../security/logger';
import { watchWebhookQueue } from '../observability/metrics';
import { urlPolicyFromConfig } from '../security/url-guard';
import { configurePayloadEncryption } from '../vault/vault-factory';
import { installRuntime, serveWorker, WORKER_SHUTDOWN } from './run';
import { connectWorker, dataConverter } from './temporal-connection';
import { workflowCode } from './workflow-code';
import { workerVersioning } from './versioning';
import { startTracing, workerTracing, type Tracing } from '../observability/tracing';

/**
 * Attempts in flight in this process, all endpoints together. Each endpoint is further bounded by its
 * own concurrency (domain/webhook-policy.ts), so one endpoint never takes every slot.
 */
const MAX_CONCURRENT_ATTEMPTS = 100;

export async function createWebhookWorker(
  opts: {
    connection: NativeConnection;
    namespace: string;
    taskQueue: string;
    pool: Pool;
    /** Traces, when on (observability/tracing.ts). */
    tracing?: Tracing | undefined;
    /** Worker Versioning (workers/versioning.ts): absent, the worker polls unversioned. */
    versioning?: ReturnType<typeof workerVersioning> | undefined;
  } & Omit<WebhookActivityDeps, 'webhooks'>,
): Promise<Worker> {
  const { connection, namespace, taskQueue, pool, tracing, versioning, ...deps } = opts;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    // The one bundle of every workflow; only the webhook workflows are ever started on this queue.
    ...workflowCode(undefined, tracing !== undefined),
    ...versioning,
    ...workerTracing(tracing, true),
    activities: createWebhookActivities({ webhooks: createWebhooksRepo(pool), ...deps }),
    maxConcurrentActivityTaskExecutions: MAX_CONCURRENT_ATTEMPTS,
    dataConverter,
    ...WORKER_SHUTDOWN,
  });
}

async function main(): Promise<void> {
  const cfg = loadOrExit(() => loadWebhookWorkerConfig(process.env));
  const temporalMetrics = await installRuntime(cfg.SETTLE_WEBHOOK_WORKER_METRICS_PORT > 0);
  const log = createLogger({ level: cfg.LOG_LEVEL, name: 'webhook-worker' });
  const tracing = startTracing({
    serviceName: cfg.OTEL_SERVICE_NAME ?? 'settle-webhook-worker',
    endpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  configureAuditLog({ keys: auditKeysFrom(rootKeyFrom(cfg.SETTLE_SECRET_ROOT_KEY)), log });
  const pool = createPool(cfg.DATABASE_URL, 'settle-webhook-worker');
  await assertReachable(pool);
  configurePayloadEncryption(cfg, pool);
  const connection = await connectWorker(cfg.TEMPORAL_ADDRESS);
  // settle_webhook_queue_depth: counted in PostgreSQL when scraped.
  const webhooks = createWebhooksRepo(pool);
  watchWebhookQueue(() => webhooks.queueDepth());
  const build = () =>
    createWebhookWorker({
      connection,
      namespace: cfg.TEMPORAL_NAMESPACE,
      taskQueue: cfg.SETTLE_WEBHOOK_TASK_QUEUE,
      pool,
      webhookKey: cfg.SETTLE_WEBHOOK_KEY ? Buffer.from(cfg.SETTLE_WEBHOOK_KEY, 'base64') : undefined,
      urlPolicy: urlPolicyFromConfig(cfg),
      tracing,
      versioning: workerVersioning(cfg, 'AUTO_UPGRADE'),
    });
  await serveWorker({
    name: 'webhook-worker',
    label: 'webhook worker',
    build,
    log,
    startedFields: { taskQueue: cfg.SETTLE_WEBHOOK_TASK_QUEUE },
    pool,
    connection,
    metrics: { port: cfg.SETTLE_WEBHOOK_WORKER_METRICS_PORT, temporal: temporalMetrics },
    tracing,
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`webhook worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
