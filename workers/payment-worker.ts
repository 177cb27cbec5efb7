/**
 * Composition root of the payment worker: workflows + token-only activities (PostgreSQL projections).
 * It never decrypts cards and holds no provider credentials. Merchant webhooks are not here: they
 * run on their own queue (workers/webhook-worker.ts), so a dead endpoint never delays a payment.
 */
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createBankActivities } from '../activities/bank-activities';
import { createBankAccountsRepo } from '../db/bank-accounts-repo';
import { createEventsRepo } from '../db/events-repo';
import { createPaymentsRepo } from '../db/payments-repo';
import { configureAuditLog, createAuditLog } from '../db/audit-repo';
import { auditKeysFrom, rootKeyFrom } from '../security/purpose-keys';
import { assertReachable, createPool, type Pool } from '../db/pool';
import { loadOrExit, loadPaymentWorkerConfig } from '../config/shapes';
import { createLogger } from '../security/logger';
import { configurePayloadEncryption } from '../vault/vault-factory';
import { connectWorker, dataConverter } from './temporal-connection';
import { installRuntime, serveWorker, WORKER_SHUTDOWN } from './run';

export async function createPaymentWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: Pool;
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
  const cfg = loadOrExit(() => loadPaymentWorkerConfig(process.env));
  installRuntime();
  const log = createLogger({ level: cfg.LOG_LEVEL, name: 'payment-worker' });
  configureAuditLog({ keys: auditKeysFrom(rootKeyFrom(cfg.SETTLE_SECRET_ROOT_KEY)), log });
  const pool = createPool(cfg.DATABASE_URL, 'settle-payment-worker');
  await assertReachable(pool);
  configurePayloadEncryption(cfg, pool);
  const connection = await connectWorker(cfg.TEMPORAL_ADDRESS);
  const build = () =>
    createPaymentWorker({
      connection,
      namespace: cfg.TEMPORAL_NAMESPACE,
      taskQueue: cfg.SETTLE_TASK_QUEUE,
      pool,
    });
  await serveWorker({
    name: 'payment-worker',
    label: 'payment worker',
    build,
    log,
    startedFields: { taskQueue: cfg.SETTLE_TASK_QUEUE },
    pool,
    connection,
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`payment worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
