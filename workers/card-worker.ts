/**
 * Composition root of the card-data worker: the ONLY process that decrypts cards and calls providers
 * with them. Its own task queue (SETTLE_CARD_TASK_QUEUE); no workflows. This process and the vault
 * key are the cardholder-data environment boundary (compliance/cde-boundary.md).
 */
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createCardActivities } from '../activities/card-activities';
import { createProviderRecordActivities, type ProviderRecordDeps } from '../activities/provider-records';
import { createReconciliationRepo } from '../db/reconciliation-repo';
import {
  createBankProviderActivities,
  type BankProviderActivityDeps,
} from '../activities/bank-provider-activities';
import { createSandboxBankProvider } from '../activities/providers/sandbox/bank';
import { createBankAccountsRepo } from '../db/bank-accounts-repo';
import { bankSecretsFromConfig } from '../vault/bank-secrets';
import type { ProviderRegistry } from '../activities/providers/registry';
import { createProviderRouter, createRoutingActivities } from '../activities/providers/routing';
import type { Pool } from '../db/pool';
import { configureAuditLog } from '../db/audit-repo';
import { auditKeysFrom, rootKeyFrom } from '../security/purpose-keys';
import { assertReachable, createPool } from '../db/pool';
import { loadOrExit } from '../config/shapes';
import { loadCardWorkerConfig } from '../config/load';
import { createLogger } from '../security/logger';
import { startCvcSweeper } from '../vault/cvc-sweeper';
import { createSandboxWebhookSender } from '../activities/providers/sandbox/webhook-sender';
import { configurePayloadEncryption, createVaultFromConfig } from '../vault/vault-factory';
import { disputeEvidenceFromConfig } from '../vault/dispute-evidence';
import { createDisputeEvidenceRepo } from '../db/dispute-evidence-repo';
import type { DisputeEvidenceStore } from '../activities/providers/types';
import type { Vault } from '../vault/vault';
import { buildProviders, buildRecordSources } from './providers';
import { installRuntime, serveWorker, WORKER_SHUTDOWN } from './run';
import { connectWorker, dataConverter } from './temporal-connection';
import { startTracing, workerTracing, type Tracing } from '../observability/tracing';

export async function createCardWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  vault: Vault;
  providers: ProviderRegistry;
  /** Bank verification provider calls (micro-deposits); registered when given. */
  bank?: BankProviderActivityDeps | undefined;
  /** Routing rules: per-merchant provider order from provider_routes. */
  routing?: { pool?: Pool | undefined } | undefined;
  /** Traces, when on (observability/tracing.ts): activity and provider-call spans. */
  tracing?: Tracing | undefined;
  /** Dispute evidence files (vault/dispute-evidence.ts), decrypted only here for the provider call. */
  evidence?: DisputeEvidenceStore | undefined;
  /** Reconciliation: provider record sources (the same credentials); registered when given. */
  records?: ProviderRecordDeps | undefined;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: {
      ...createCardActivities({ vault: opts.vault, providers: opts.providers, evidence: opts.evidence }),
      ...(opts.bank ? createBankProviderActivities(opts.bank) : {}),
      ...(opts.records ? createProviderRecordActivities(opts.records) : {}),
      ...createRoutingActivities({
        router: createProviderRouter({ providers: opts.providers, ...opts.routing }),
      }),
    },
    // No workflows here: activity spans only.
    ...workerTracing(opts.tracing),
    dataConverter,
    ...WORKER_SHUTDOWN,
  });
}

async function main(): Promise<void> {
  const cfg = loadOrExit(() => loadCardWorkerConfig(process.env));
  const temporalMetrics = await installRuntime(cfg.SETTLE_CARD_WORKER_METRICS_PORT > 0);
  const log = createLogger({ level: cfg.LOG_LEVEL, name: 'card-worker' });
  const tracing = startTracing({
    serviceName: cfg.OTEL_SERVICE_NAME ?? 'settle-card-worker',
    endpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  configureAuditLog({ keys: auditKeysFrom(rootKeyFrom(cfg.SETTLE_SECRET_ROOT_KEY)), log });
  const pool = createPool(cfg.DATABASE_URL, 'settle-card-worker');
  await assertReachable(pool);
  configurePayloadEncryption(cfg, pool);
  const vault = createVaultFromConfig(cfg, pool);
  const connection = await connectWorker(cfg.TEMPORAL_ADDRESS);
  const build = () =>
    createCardWorker({
      connection,
      namespace: cfg.TEMPORAL_NAMESPACE,
      taskQueue: cfg.SETTLE_CARD_TASK_QUEUE,
      vault,
      providers: buildProviders(cfg, pool),
      bank: {
        bankAccounts: createBankAccountsRepo(pool),
        secrets: bankSecretsFromConfig(cfg),
        providers: new Map([['sandbox', createSandboxBankProvider({ pool })]]),
      },
      routing: { pool },
      tracing,
      evidence: disputeEvidenceFromConfig(cfg, createDisputeEvidenceRepo(pool)),
      records: {
        sources: buildRecordSources(cfg, pool),
        reconciliation: createReconciliationRepo(pool),
      },
    });
  await serveWorker({
    name: 'card-worker',
    label: 'card-data worker',
    build,
    log,
    startedFields: { taskQueue: cfg.SETTLE_CARD_TASK_QUEUE, providers: cfg.SETTLE_PROVIDERS },
    pool,
    connection,
    metrics: { port: cfg.SETTLE_CARD_WORKER_METRICS_PORT, temporal: temporalMetrics },
    tracing,
    // PCI DSS 3.3.1.2: CVCs unused for an hour are destroyed even if no payment ever comes.
    afterReady: () => {
      const sweeper = startCvcSweeper({
        vault,
        onSwept: (n) => log.info({ destroyed: n }, 'expired CVCs destroyed'),
        onError: (err) => log.error({ err }, 'CVC sweep failed'),
      });
      // The sandbox's webhooks (disputes) to the API, beside the sandbox that writes them.
      const url = cfg.SETTLE_SANDBOX_WEBHOOK_URL;
      const secret = cfg.SETTLE_SANDBOX_WEBHOOK_SECRET;
      const sender =
        url && secret && cfg.SETTLE_PROVIDERS.split(',').includes('sandbox')
          ? createSandboxWebhookSender({
              pool,
              url,
              secret,
              onError: (err) => log.warn({ err }, 'sandbox webhook delivery failed'),
            })
          : undefined;
      sender?.start();
      return {
        stop: async () => {
          await sender?.stop();
          await sweeper.stop();
        },
      };
    },
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`card worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
