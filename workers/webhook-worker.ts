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
import { loadOrExit, loadWebhookWorkerConfig } from '../config/shapes';
import { createLogger } from '../security/logger';
import { urlPolicyFromConfig } from '../security/url-guard';
import { configurePayloadEncryption } from '../vault/vault-factory';
import { installRuntime, serveWorker, WORKER_SHUTDOWN } from './run';
import { connectWorker, dataConverter } from './temporal-connection';

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
  } & Omit<WebhookActivityDeps, 'webhooks'>,
): Promise<Worker> {
  const { connection, namespace, taskQueue, pool, ...deps } = opts;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    // The one bundle of every workflow; only the webhook workflows are ever started on this queue.
    workflowsPath: require.resolve('../workflows'),
    activities: createWebhookActivities({ webhooks: createWebhooksRepo(pool), ...deps }),
    maxConcurrentActivityTaskExecutions: MAX_CONCURRENT_ATTEMPTS,
    dataConverter,
    ...WORKER_SHUTDOWN,
  });
}

async function main(): Promise<void> {
  const cfg = loadOrExit(() => loadWebhookWorkerConfig(process.env));
  installRuntime();
  const log = createLogger({ level: cfg.LOG_LEVEL, name: 'webhook-worker' });
  configureAuditLog({ keys: auditKeysFrom(rootKeyFrom(cfg.SETTLE_SECRET_ROOT_KEY)), log });
  const pool = createPool(cfg.DATABASE_URL, 'settle-webhook-worker');
  await assertReachable(pool);
  configurePayloadEncryption(cfg, pool);
  const connection = await connectWorker(cfg.TEMPORAL_ADDRESS);
  const build = () =>
    createWebhookWorker({
      connection,
      namespace: cfg.TEMPORAL_NAMESPACE,
      taskQueue: cfg.SETTLE_WEBHOOK_TASK_QUEUE,
      pool,
      webhookKey: cfg.SETTLE_WEBHOOK_KEY ? Buffer.from(cfg.SETTLE_WEBHOOK_KEY, 'base64') : undefined,
      urlPolicy: urlPolicyFromConfig(cfg),
    });
  await serveWorker({
    name: 'webhook-worker',
    label: 'webhook worker',
    build,
    log,
    startedFields: { taskQueue: cfg.SETTLE_WEBHOOK_TASK_QUEUE },
    pool,
    connection,
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`webhook worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
