/**
 * Composition root of the payment worker: workflows + token-only activities (PostgreSQL projections).
 * It never decrypts cards and holds no provider credentials. Merchant webhooks are not here: they
 * run on their own queue (workers/webhook-worker.ts), so a dead endpoint never delays a payment.
 */
import { Client, Connection } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createBankActivities } from '../activities/bank-activities';
import { createDisputeActivities } from '../activities/dispute-activities';
import { createDisputesRepo } from '../db/disputes-repo';
import { createSweeperActivities } from '../activities/sweeper-activities';
import { createReconciliationActivities } from '../activities/reconciliation-activities';
import { createReconciliationRepo } from '../db/reconciliation-repo';
import { createBankAccountsRepo } from '../db/bank-accounts-repo';
import { createEventsRepo } from '../db/events-repo';
import { createPaymentsRepo } from '../db/payments-repo';
import { createSweeperRepo } from '../db/sweeper-repo';
import { configureAuditLog, createAuditLog } from '../db/audit-repo';
import { auditKeysFrom, rootKeyFrom } from '../security/purpose-keys';
import { assertReachable, createPool, type Pool } from '../db/pool';
import { loadOrExit } from '../config/shapes';
import { loadPaymentWorkerConfig } from '../config/load';
import { createLogger } from '../security/logger';
import { configurePayloadEncryption } from '../vault/vault-factory';
import { connectWorker, dataConverter } from './temporal-connection';
import { workflowCode } from './workflow-code';
import { workerVersioning } from './versioning';
import { startTracing, workerTracing, type Tracing } from '../observability/tracing';
import { installRuntime, serveWorker, WORKER_SHUTDOWN } from './run';
import { ensureSweeperSchedule, paymentWorkflowLookup } from './sweeper';
import { ensureReconciliationSchedule } from './reconciliation';
import { isProviderName } from '../domain/providers';

export async function createPaymentWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: Pool;
  /** The stuck-payment sweeper's activities ask payment workflows through this client. */
  client?: Client | undefined;
  /** Traces, when on (observability/tracing.ts). */
  tracing?: Tracing | undefined;
  /** Worker Versioning (workers/versioning.ts): absent, the worker polls unversioned. */
  versioning?: ReturnType<typeof workerVersioning> | undefined;
  /** Another build's workflow code (the versioning rehearsal); default: this build's. */
  code?: ReturnType<typeof workflowCode> | undefined;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.code ?? workflowCode(undefined, opts.tracing !== undefined)),
    ...opts.versioning,
    ...workerTracing(opts.tracing, true),
    activities: {
      ...createActivities({
        payments: createPaymentsRepo(opts.pool),
        events: createEventsRepo(opts.pool),
      }),
      ...createDisputeActivities({ disputes: createDisputesRepo(opts.pool) }),
      ...createBankActivities({
        bankAccounts: createBankAccountsRepo(opts.pool),
        events: createEventsRepo(opts.pool),
        audit: createAuditLog(opts.pool),
      }),
      ...createReconciliationActivities({
        reconciliation: createReconciliationRepo(opts.pool),
        audit: createAuditLog(opts.pool),
      }),
      ...(opts.client
        ? createSweeperActivities({
            sweeps: createSweeperRepo(opts.pool),
            audit: createAuditLog(opts.pool),
            workflows: paymentWorkflowLookup(opts.client),
          })
        : {}),
    },
    dataConverter,
    ...WORKER_SHUTDOWN,
  });
}

async function main(): Promise<void> {
  const cfg = loadOrExit(() => loadPaymentWorkerConfig(process.env));
  const temporalMetrics = await installRuntime(cfg.SETTLE_PAYMENT_WORKER_METRICS_PORT > 0);
  const log = createLogger({ level: cfg.LOG_LEVEL, name: 'payment-worker' });
  const tracing = startTracing({
    serviceName: cfg.OTEL_SERVICE_NAME ?? 'settle-payment-worker',
    endpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  configureAuditLog({ keys: auditKeysFrom(rootKeyFrom(cfg.SETTLE_SECRET_ROOT_KEY)), log });
  const pool = createPool(cfg.DATABASE_URL, 'settle-payment-worker');
  await assertReachable(pool);
  configurePayloadEncryption(cfg, pool);
  const connection = await connectWorker(cfg.TEMPORAL_ADDRESS);
  const client = new Client({
    connection: await Connection.connect({ address: cfg.TEMPORAL_ADDRESS }),
    namespace: cfg.TEMPORAL_NAMESPACE,
    dataConverter,
  });
  // The stuck-payment sweeper runs here (workers/sweeper.ts says why this process owns its Schedule).
  await ensureSweeperSchedule(client, {
    taskQueue: cfg.SETTLE_TASK_QUEUE,
    cardTaskQueue: cfg.SETTLE_CARD_TASK_QUEUE,
    intervalMinutes: cfg.SETTLE_SWEEPER_INTERVAL_MINUTES,
    staleAfterMinutes: cfg.SETTLE_SWEEPER_STALE_MINUTES,
    batchSize: cfg.SETTLE_SWEEPER_BATCH_SIZE,
    maxBatches: cfg.SETTLE_SWEEPER_MAX_BATCHES,
  });
  // Daily reconciliation of the ledger with each enabled provider (workers/reconciliation.ts).
  await ensureReconciliationSchedule(client, {
    taskQueue: cfg.SETTLE_TASK_QUEUE,
    cardTaskQueue: cfg.SETTLE_CARD_TASK_QUEUE,
    cron: cfg.SETTLE_RECONCILIATION_SCHEDULE,
    windowHours: cfg.SETTLE_RECONCILIATION_WINDOW_HOURS,
    pageSize: cfg.SETTLE_RECONCILIATION_PAGE_SIZE,
    providers: cfg.SETTLE_PROVIDERS.split(',').filter(isProviderName),
  });
  const build = () =>
    createPaymentWorker({
      connection,
      namespace: cfg.TEMPORAL_NAMESPACE,
      taskQueue: cfg.SETTLE_TASK_QUEUE,
      pool,
      client,
      tracing,
      versioning: workerVersioning(cfg),
    });
  await serveWorker({
    name: 'payment-worker',
    label: 'payment worker',
    build,
    log,
    startedFields: { taskQueue: cfg.SETTLE_TASK_QUEUE },
    pool,
    connection,
    metrics: { port: cfg.SETTLE_PAYMENT_WORKER_METRICS_PORT, temporal: temporalMetrics },
    tracing,
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`payment worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
