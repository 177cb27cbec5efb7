/**
 * Composition root of the API process. Serves HTTPS itself when SETTLE_TLS_CERT_FILE/KEY_FILE are
 * set (TLS 1.2 minimum; helmet sends HSTS), else plain HTTP for a TLS-terminating proxy in front.
 * Appends `process.start` / `process.stop` audit events (PCI DSS 10.2.1.6).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Express } from 'express';
import { configureAuditLog, createAuditLog, type AuditLog } from '../db/audit-repo';
import { createClientsRepo } from '../db/clients-repo';
import { createOperatorsRepo } from '../db/operators-repo';
import { createIdempotencyRepo } from '../db/idempotency-repo';
import { createPaymentsRepo } from '../db/payments-repo';
import { createProviderRoutesRepo } from '../db/provider-routes-repo';
import { assertReachable, createPool } from '../db/pool';
import { loadOrExit } from '../config/shapes';
import { loadApiConfig } from '../config/load';
import { createLogger } from '../security/logger';
import { startTracing } from '../observability/tracing';
import { startMetricsServer, type MetricsServer } from '../observability/metrics';
import { auditKeysFrom, purposeKey, rootKeyFrom } from '../security/purpose-keys';
import { createTokenService, keyIdOf } from '../security/tokens';
import { configurePayloadEncryption, createVaultFromConfig } from '../vault/vault-factory';
import { signalReady } from '../config/ready';
import { createApp } from './app';
import { answerClientErrors } from './client-error';
import { createPaymentsService } from './payments-service';
import { createBankAccountsService } from './bank-accounts-service';
import { createReconciliationService } from './reconciliation-service';
import { createReconciliationRepo } from '../db/reconciliation-repo';
import { createDisputesService } from './disputes-service';
import { createDisputesRepo } from '../db/disputes-repo';
import { createDisputeEvidenceRepo } from '../db/dispute-evidence-repo';
import { disputeEvidenceFromConfig } from '../vault/dispute-evidence';
import { createBankAccountsRepo } from '../db/bank-accounts-repo';
import { bankSecretsFromConfig } from '../vault/bank-secrets';
import { connectClient } from './temporal-client';
import { createWebhooksRepo } from '../db/webhooks-repo';
import { urlPolicyFromConfig } from '../security/url-guard';
import { buildWebhookVerifiers } from '../workers/providers';
import { retryWithBackoff } from '../domain/backoff';
import { startWebhookDispatcher } from './webhook-dispatcher';

/** HTTPS with TLS 1.2 as the floor (PCI DSS 4.2.1); older protocol versions fail the handshake. */
export function createApiServer(app: Express, tls?: { cert: string | Buffer; key: string | Buffer }) {
  // A missing Host is refused by the input gate (api/middleware/input-gate.ts) in the contract's
  // shape; Node's own check would answer a bare 400 without a Request-Id.
  const server = tls
    ? https.createServer(
        { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', requireHostHeader: false },
        app,
      )
    : http.createServer({ requireHostHeader: false }, app);
  answerClientErrors(server);
  return server;
}

function previousKeys(pems: string | undefined): Map<string, KeyObject> {
  const m = new Map<string, KeyObject>();
  for (const pem of pems?.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []) {
    const k = createPublicKey(pem);
    m.set(keyIdOf(k), k);
  }
  return m;
}

/**
 * Keyed anchors of the audit chain head (db/audit-repo.ts anchor()): at start, then every
 * `intervalMs` when the head moved. A failure is logged and retried at the next tick.
 */
function anchorAuditChain(audit: AuditLog, intervalMs: number, logger: ReturnType<typeof createLogger>) {
  const tick = () =>
    void audit.anchor().catch((err: unknown) => logger.error({ err }, 'audit anchor failed'));
  tick();
  setInterval(tick, intervalMs).unref();
}

async function main(): Promise<void> {
  const cfg = loadOrExit(() => loadApiConfig(process.env));
  const logger = createLogger({ level: cfg.LOG_LEVEL, name: 'api' });
  // Before the first request and the first query: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
  const tracing = startTracing({
    serviceName: cfg.OTEL_SERVICE_NAME ?? 'settle-api',
    endpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  // One key per purpose, derived from the root (security/purpose-keys.ts).
  const root = rootKeyFrom(cfg.SETTLE_SECRET_ROOT_KEY);
  const idempotencySecret = purposeKey(root, 'idempotency');
  configureAuditLog({ keys: auditKeysFrom(root), log: logger });
  const pool = createPool(cfg.DATABASE_URL, 'settle-api');
  await assertReachable(pool);
  const temporal = await connectClient(
    cfg.TEMPORAL_ADDRESS,
    cfg.TEMPORAL_NAMESPACE,
    tracing?.clientInterceptors,
  );
  configurePayloadEncryption(cfg, pool);
  const vault = createVaultFromConfig(cfg, pool);
  const audit = createAuditLog(pool);
  const processEvent = (action: string) =>
    audit.append({
      actor: 'system:api',
      action,
      resource: `process:api:${process.pid}`,
      outcome: 'success',
      details: { host: cfg.HOST, port: cfg.PORT, tls: !!cfg.SETTLE_TLS_CERT_FILE },
    });
  const payments = createPaymentsRepo(pool);
  const enabled = cfg.SETTLE_PROVIDERS.split(',');
  const app = createApp({
    pool,
    temporal,
    tokens: createTokenService({
      privateKeyPem: cfg.SETTLE_JWT_PRIVATE_KEY,
      issuer: cfg.SETTLE_JWT_ISSUER,
      audience: cfg.SETTLE_JWT_AUDIENCE,
      ttlSeconds: cfg.SETTLE_TOKEN_TTL_SECONDS,
      previousPublicKeys: previousKeys(cfg.SETTLE_JWT_PREVIOUS_PUBLIC_KEYS),
    }),
    clients: createClientsRepo(pool),
    vault,
    payments: createPaymentsService({
      client: temporal,
      payments,
      routes: createProviderRoutesRepo(pool),
      vault,
      taskQueue: cfg.SETTLE_TASK_QUEUE,
      cardTaskQueue: cfg.SETTLE_CARD_TASK_QUEUE,
      enabledProviders: enabled,
      defaultProvider: cfg.SETTLE_DEFAULT_PROVIDER,
      authWaitMs: cfg.SETTLE_AUTH_WAIT_MS,
    }),
    bankAccounts: createBankAccountsService({
      client: temporal,
      bankAccounts: createBankAccountsRepo(pool),
      secrets: bankSecretsFromConfig(cfg),
      taskQueue: cfg.SETTLE_TASK_QUEUE,
      cardTaskQueue: cfg.SETTLE_CARD_TASK_QUEUE,
      legalEntity: cfg.SETTLE_LEGAL_ENTITY,
      provider: 'sandbox', // the only provider with bank verification so far (docs/bank-verification.md)
      waitMs: cfg.SETTLE_AUTH_WAIT_MS,
    }),
    disputes: createDisputesService({
      client: temporal,
      disputes: createDisputesRepo(pool),
      evidence: disputeEvidenceFromConfig(cfg, createDisputeEvidenceRepo(pool)),
      taskQueue: cfg.SETTLE_TASK_QUEUE,
      cardTaskQueue: cfg.SETTLE_CARD_TASK_QUEUE,
      legalEntity: cfg.SETTLE_LEGAL_ENTITY,
    }),
    reconciliation: createReconciliationService({
      client: temporal,
      repo: createReconciliationRepo(pool),
      taskQueue: cfg.SETTLE_TASK_QUEUE,
      cardTaskQueue: cfg.SETTLE_CARD_TASK_QUEUE,
      enabledProviders: enabled,
      maxWindowDays: cfg.SETTLE_RECONCILIATION_MAX_DAYS,
      pageSize: cfg.SETTLE_RECONCILIATION_PAGE_SIZE,
    }),
    idempotency: createIdempotencyRepo(pool),
    idempotencySecret,
    webhooks: {
      repo: createWebhooksRepo(pool),
      verifiers: buildWebhookVerifiers(cfg),
      webhookKey: cfg.SETTLE_WEBHOOK_KEY ? Buffer.from(cfg.SETTLE_WEBHOOK_KEY, 'base64') : undefined,
      urlPolicy: urlPolicyFromConfig(cfg),
    },
    logger,
    config: {
      adminAllowlist: cfg.SETTLE_ADMIN_ALLOWLIST,
      trustProxy: cfg.SETTLE_TRUST_PROXY,
      legalEntity: cfg.SETTLE_LEGAL_ENTITY,
    },
    audit,
    operators: createOperatorsRepo(pool),
    totpKey: cfg.SETTLE_TOTP_KEY ? Buffer.from(cfg.SETTLE_TOTP_KEY, 'base64') : undefined,
    rateLimits: {
      authPerMinute: cfg.SETTLE_RATE_LIMIT_AUTH_PER_MINUTE,
      clientLimit: cfg.SETTLE_RATE_LIMIT_CLIENT_PER_SECOND,
      clientWindowMs: 1_000,
    },
  });

  const tls =
    cfg.SETTLE_TLS_CERT_FILE && cfg.SETTLE_TLS_KEY_FILE
      ? { cert: fs.readFileSync(cfg.SETTLE_TLS_CERT_FILE), key: fs.readFileSync(cfg.SETTLE_TLS_KEY_FILE) }
      : undefined;
  const server = createApiServer(app, tls);
  let metrics: MetricsServer | undefined;

  // Signal handlers before anything can take time, so a stop request is never lost.
  const stop = () => {
    logger.info('api stopping');
    void metrics?.close();
    server.close(() => {
      void processEvent('process.stop')
        .catch((err: unknown) => logger.error({ err }, 'audit append failed'))
        .then(() => Promise.allSettled([pool.end(), temporal.connection.close()]))
        .then(() => tracing?.shutdown())
        .then(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.PORT, cfg.HOST, resolve);
  });
  if (cfg.METRICS_PORT > 0) {
    metrics = await startMetricsServer({
      port: cfg.METRICS_PORT,
      onError: (err) =>
        logger.error({ err, port: cfg.METRICS_PORT }, 'metrics port unavailable; not serving metrics'),
    });
  }
  logger.info({ host: cfg.HOST, port: cfg.PORT, tls: !!tls }, 'api listening');
  signalReady('api');
  // A database or Temporal restart at this moment must not stop the API: both steps retry in the
  // background with backoff while requests are already answered (503 while a dependency is down).
  void retryWithBackoff(() => processEvent('process.start'), {
    onError: (err) => logger.warn({ err }, 'audit process.start failed; retrying'),
  });
  anchorAuditChain(audit, cfg.SETTLE_AUDIT_ANCHOR_INTERVAL_MS, logger);
  // Merchant webhooks: one dispatcher per deployment, on the webhook queue (never the payments one).
  void retryWithBackoff(
    async () => {
      const moved = await startWebhookDispatcher(temporal, {
        taskQueue: cfg.SETTLE_WEBHOOK_TASK_QUEUE,
        pollMs: 1000,
        retireLegacy: true,
      });
      if (moved.retired > 0) logger.info(moved, 'webhook workflows moved off the payments task queue');
      if (moved.legacyError) logger.warn(moved, 'could not list earlier webhook delivery workflows');
    },
    { attempts: 1000, onError: (err) => logger.warn({ err }, 'webhook dispatcher start failed; retrying') },
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`api: ${/EADDRINUSE/.test(msg) ? 'the API port is already in use (PORT)' : msg}\n`);
    process.exit(1);
  });
}
