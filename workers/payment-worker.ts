/**
 * Composition root of the payment worker: workflows + token-only activities (PostgreSQL projections).
 * It never decrypts cards and holds no provider credentials.
 */
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createBankActivities } from '../activities/bank-activities';
import { createBankAccountsRepo } from '../db/bank-accounts-repo';
import { createEventsRepo } from '../db/events-repo';
import { createWebhookActivities } from '../activities/webhook-activities';
import { createWebhooksRepo } from '../db/webhooks-repo';
import { urlPolicyFromConfig, type UrlPolicy } from '../security/url-guard';
import { createPaymentsRepo } from '../db/payments-repo';
import { createAuditLog } from '../db/audit-repo';
import { assertReachable, createPool, type Pool } from '../db/pool';
import { loadOrExit } from '../domain/config';
import { createLogger } from '../security/logger';
import { configurePayloadEncryption, loadKeyConfig } from '../security/vault-factory';
import { loadWorkerConfig } from './config';
import { connectWorker, dataConverter } from './temporal-connection';
import { signalReady } from '../scripts/ready';
import { installRuntime, runUntilSignal, WORKER_SHUTDOWN } from './run';

export async function createPaymentWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: Pool;
  /** SETTLE_WEBHOOK_KEY (issue 4): opens endpoint secrets to sign merchant webhook deliveries. */
  webhookKey?: Buffer | undefined;
  /** SSRF guard for deliveries (SETTLE_WEBHOOK_ALLOW_HTTP / _ALLOW_PRIVATE); default strict. */
  urlPolicy?: UrlPolicy | undefined;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: {
      ...createActivities({
        payments: createPaymentsRepo(opts.pool),
        events: createEventsRepo(opts.pool),
      }),
      ...createWebhookActivities({
        webhooks: createWebhooksRepo(opts.pool),
        webhookKey: opts.webhookKey,
        urlPolicy: opts.urlPolicy,
      }),
      ...createBankActivities({
        bankAccounts: createBankAccountsRepo(opts.pool),
        events: createEventsRepo(opts.pool),
        audit: createAuditLog(opts.pool),
      }),
    },
    dataConverter,
    ...WORKER_SHUTDOWN,
  });
}

async function main(): Promise<void> {
  const cfg = loadOrExit(() => loadWorkerConfig());
  installRuntime();
  const log = createLogger({ level: cfg.LOG_LEVEL, name: 'payment-worker' });
  const pool = createPool(cfg.DATABASE_URL, 'settle-payment-worker');
  await assertReachable(pool);
  configurePayloadEncryption(
    loadOrExit(() => loadKeyConfig()),
    pool,
  );
  const connection = await connectWorker(cfg.TEMPORAL_ADDRESS);
  const worker = await createPaymentWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.SETTLE_TASK_QUEUE,
    pool,
    webhookKey: cfg.SETTLE_WEBHOOK_KEY ? Buffer.from(cfg.SETTLE_WEBHOOK_KEY, 'base64') : undefined,
    urlPolicy: urlPolicyFromConfig(cfg),
  });
  log.info({ taskQueue: cfg.SETTLE_TASK_QUEUE }, 'payment worker started');
  signalReady('payment-worker');
  await runUntilSignal(
    worker,
    async () => {
      await connection.close();
      await pool.end();
      log.info('payment worker stopped');
    },
    { audit: createAuditLog(pool), name: 'payment-worker' },
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`payment worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
