/**
 * A real Settle stack inside a test file: payment worker + card-data worker on their own task queues
 * (so test files never pick up each other's tasks), the Express app, on the run's Temporal dev server
 * and PostgreSQL database. Keys are generated here, at test time.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import request from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../api/app';
import { createPaymentsService } from '../../api/payments-service';
import { createClientsRepo, type Role } from '../../db/clients-repo';
import { configureAuditLog, createAuditLog, type AuditLog } from '../../db/audit-repo';
import { auditKeysFrom, purposeKey, rootKeyFrom } from '../../security/purpose-keys';
import { createOperatorsRepo, type OperatorRole, type OperatorsRepo } from '../../db/operators-repo';
import type { RateLimitConfig } from '../../api/middleware/rate-limit';
import { provisionOperator } from '../../cli/operators';
import { systemClock, type Clock } from '../../security/clock';
import { createIdempotencyRepo } from '../../db/idempotency-repo';
import { createPaymentsRepo } from '../../db/payments-repo';
import { createProviderRoutesRepo } from '../../db/provider-routes-repo';
import { createPool, type Pool } from '../../db/pool';
import { newId } from '../../domain/ids';
import { createProviderRegistry, type ProviderRegistry } from '../../activities/providers/registry';
import { createSandboxProvider } from '../../activities/providers/sandbox/adapter';
import { verifySandboxWebhook } from '../../activities/providers/sandbox/webhook';
import { createSandboxWebhookSender } from '../../activities/providers/sandbox/webhook-sender';
import { createLogger } from '../../security/logger';
import { hashSecret, newClientSecret } from '../../security/passwords';
import { createTokenService, type TokenService } from '../../security/tokens';
import { configurePayloadEncryption, createVaultFromConfig } from '../../vault/vault-factory';
import type { Vault } from '../../vault/vault';
import { createCardWorker } from '../../workers/card-worker';
import { createPaymentWorker } from '../../workers/payment-worker';
import { createWebhookWorker } from '../../workers/webhook-worker';
import { startWebhookDispatcher } from '../../api/webhook-dispatcher';
import { dataConverter } from '../../workflows/data-converter';
import { createBankAccountsService, type BankAccountsService } from '../../api/bank-accounts-service';
import { createSandboxBankProvider } from '../../activities/providers/sandbox/bank';
import { createBankAccountsRepo } from '../../db/bank-accounts-repo';
import { createDisputesService, type DisputesService } from '../../api/disputes-service';
import { createReconciliationService } from '../../api/reconciliation-service';
import { createReconciliationRepo } from '../../db/reconciliation-repo';
import { createSandboxRecordSource } from '../../activities/providers/sandbox/records';
import { createDisputesRepo } from '../../db/disputes-repo';
import { createDisputeEvidenceRepo } from '../../db/dispute-evidence-repo';
import { disputeEvidenceFromConfig } from '../../vault/dispute-evidence';
import { bankSecretsFromConfig, type BankSecrets } from '../../vault/bank-secrets';
import { createWebhooksRepo, type WebhooksRepo } from '../../db/webhooks-repo';
import type { UrlPolicy } from '../../security/url-guard';
import type { WebhookVerifier } from '../../workers/providers';
import type { ProviderName } from '../../domain/providers';
import { webhookDispatcherId } from '../../workflows/webhook-delivery';
import type { DeliverySchedule, EndpointPolicy } from '../../domain/webhook-policy';
import type { Tracing } from '../../observability/tracing';

let runtimeInstalled = false;
/** Where SDK core/worker log lines go while a test captures them (leak test); else dropped. */
let runtimeSink: ((line: string) => void) | undefined;

export interface Stack {
  app: Express;
  http: ReturnType<typeof request>;
  pool: Pool;
  client: Client;
  vault: Vault;
  tokens: TokenService;
  taskQueue: string;
  cardTaskQueue: string;
  /** Merchant webhook deliveries (a webhook worker runs on it when the stack has a dispatcher). */
  webhookTaskQueue: string;
  createClient(role?: Role): Promise<{ clientId: string; clientSecret: string }>;
  /** A service client with a fresh token: returns the Authorization header value. */
  serviceAuth(): Promise<{ clientId: string; authorization: string }>;
  audit: AuditLog;
  operators: OperatorsRepo;
  totpKey: Buffer;
  /** A real operator (argon2 password, sealed TOTP secret); log in through /v1/auth/login + /mfa. */
  createOperator(
    role: OperatorRole,
  ): Promise<{ id: string; username: string; password: string; totpSecret: string }>;
  /** An operator with a live server-side session and a token for it (skips the login round trip). */
  operatorAuth(role: OperatorRole): Promise<{ operatorId: string; sid: string; authorization: string }>;
  /** Bank accounts: the service (applyBankProviderEvent) and the secrets (test MACs). */
  bankAccounts: BankAccountsService;
  bankSecrets: BankSecrets;
  /** Disputes (API.md "Disputes"): the service the API and the provider webhooks use. */
  disputes: DisputesService;
  /** Webhooks in/out: the repository and the key that seals endpoint secrets. */
  webhooks: WebhooksRepo;
  webhookKey: Buffer;
  /** Signs the sandbox's webhooks (made at test time); the API's /webhooks/sandbox verifies with it. */
  sandboxWebhookSecret: string;
  stop(): Promise<void>;
}

export function testKeyEnv() {
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    SETTLE_KEY_PROVIDER: 'local' as const,
    SETTLE_LOCAL_MASTER_KEY: randomBytes(32).toString('base64'),
    SETTLE_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
    // The run's root (global setup): every stack appends to the one audit chain of the run's database.
    SETTLE_SECRET_ROOT_KEY: process.env.SETTLE_TEST_SECRET_ROOT_KEY ?? randomBytes(32).toString('base64'),
    SETTLE_JWT_PRIVATE_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    AWS_REGION: 'us-east-1',
  };
}

/** databaseUrl: the owner (fixtures, dumps); runtimeDatabaseUrl: the login role the API and workers use. */
export function testEnv(): { temporalAddress: string; databaseUrl: string; runtimeDatabaseUrl: string } {
  const temporalAddress = process.env.SETTLE_TEST_TEMPORAL_ADDRESS;
  const databaseUrl = process.env.SETTLE_TEST_DATABASE_URL;
  const runtimeDatabaseUrl = process.env.SETTLE_TEST_RUNTIME_DATABASE_URL;
  if (!temporalAddress || !databaseUrl || !runtimeDatabaseUrl)
    throw new Error('integration global setup did not run');
  return { temporalAddress, databaseUrl, runtimeDatabaseUrl };
}

type StackOptions = {
  /**
   * Traces (observability/tracing.ts): the client interceptors and the workers' interceptors and
   * sink. The test that passes it starts and shuts tracing down itself.
   */
  tracing?: Tracing;
  /**
   * Connections of the one pool the stack's API and workers share (5). In production each process has
   * its own pool (10 each by default): the payments bench passes their sum.
   */
  poolSize?: number;
  authWaitMs?: number;
  providers?: (pool: Pool) => ProviderRegistry;
  workers?: boolean;
  /** Vault keys to use (e.g. shared with a card worker started as a child process). */
  keys?: ReturnType<typeof testKeyEnv>;
  /** false: start no in-process card-data worker (a test runs its own process). */
  cardWorker?: boolean;
  /** Time source for lockout/idle timeout (security tests pass a manual clock). */
  clock?: Clock;
  /** Express trust proxy setting and admin allowlist (security tests simulate other sources). */
  trustProxy?: string;
  adminAllowlist?: string;
  /** Default: limits high enough that no functional test is throttled. */
  rateLimits?: RateLimitConfig;
  /** Capture every log line the API and the SDK runtime write (the leak test scans them). */
  logSink?: (line: string) => void;
  /** Bank verification window / reminders (short in tests) and the sandbox bank's hang time. */
  bank?: { windowMs?: number; reminderAfterMs?: number[]; hangMs?: number };
  /**
   * Webhooks: provider webhook verifiers, and a merchant-webhook dispatcher for this
   * stack's task queue (only tests about merchant webhooks start one: it claims every outbox event).
   */
  webhooks?: {
    verifiers?: Map<ProviderName, WebhookVerifier>;
    dispatcher?: { pollMs: number; schedule?: DeliverySchedule; endpoint?: Partial<EndpointPolicy> };
    /** SSRF guard (API + webhook worker); default strict, as in production (https, public only). */
    urlPolicy?: UrlPolicy;
  };
  /**
   * The sandbox's own webhooks (disputes) delivered to THIS stack's API, as the card worker's sender
   * does in production (workers/card-worker.ts): the app listens on a local port and a sender posts
   * the outbox there, signed with sandboxWebhookSecret. onlyPayments: the test file's payments (test
   * files share one database and must not take each other's events).
   */
  sandboxWebhooks?: { onlyPayments: () => readonly string[]; intervalMs?: number };
};

/** Every stack this test file started (stop() is idempotent), including starts still under way. */
const starts = new Set<Promise<Stack>>();

export function startStack(opts: StackOptions = {}): Promise<Stack> {
  const started = createStack(opts);
  starts.add(started);
  return started;
}

/**
 * Stops every stack this file started, including one whose start finished after a timed-out
 * beforeAll gave up on it (test/support/stop-stacks.ts runs it after each file): a worker left
 * polling after the run's Temporal server stops would keep jest from exiting.
 */
export async function stopAllStacks(): Promise<void> {
  const all = [...starts];
  starts.clear();
  await Promise.allSettled(all.map((started) => started.then((stack) => stack.stop())));
}

async function createStack(opts: StackOptions): Promise<Stack> {
  if (!runtimeInstalled) {
    // Keep SDK core logs out of the test output (a capturing test gets them through runtimeSink).
    const sink =
      (level: string) =>
      (message: string, meta?: Record<string, unknown>): void =>
        runtimeSink?.(JSON.stringify({ level, message, meta }));
    Runtime.install({
      logger: {
        log: (level, message, meta) => sink(level)(message, meta),
        trace: sink('TRACE'),
        debug: sink('DEBUG'),
        info: sink('INFO'),
        warn: sink('WARN'),
        error: sink('ERROR'),
      },
    });
    runtimeInstalled = true;
  }
  const { temporalAddress, runtimeDatabaseUrl } = testEnv();
  const keys = opts.keys ?? testKeyEnv();
  // As in production: the API and the workers connect as the runtime login role, not the owner.
  const pool = createPool(runtimeDatabaseUrl, 'settle-test', opts.poolSize ?? 5);
  const root = rootKeyFrom(keys.SETTLE_SECRET_ROOT_KEY);
  configureAuditLog({ keys: auditKeysFrom(root) });
  if (opts.logSink) runtimeSink = opts.logSink;
  configurePayloadEncryption(keys, pool);
  const bankSecrets = bankSecretsFromConfig(keys);
  const evidence = disputeEvidenceFromConfig(keys, createDisputeEvidenceRepo(pool));
  const suffix = randomBytes(4).toString('hex');
  const taskQueue = `settle-test-${suffix}`;
  const cardTaskQueue = `settle-test-card-${suffix}`;
  const webhookTaskQueue = `settle-test-webhooks-${suffix}`;
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, dataConverter, interceptors: opts.tracing?.clientInterceptors });
  const vault = createVaultFromConfig(keys, pool);
  const tokens = createTokenService({
    privateKeyPem: keys.SETTLE_JWT_PRIVATE_KEY,
    issuer: 'settle',
    audience: 'settle-api',
    ttlSeconds: 900,
  });
  const clients = createClientsRepo(pool);
  const clock = opts.clock ?? systemClock;
  const audit = createAuditLog(pool, clock);
  const operators = createOperatorsRepo(pool);
  const totpKey = randomBytes(32);
  const webhookKey = randomBytes(32);
  const sandboxWebhookSecret = randomBytes(32).toString('hex');
  const webhooks = createWebhooksRepo(pool);
  const providers = opts.providers
    ? opts.providers(pool)
    : createProviderRegistry([createSandboxProvider({ pool, webhookSecret: sandboxWebhookSecret })]);
  // The sandbox's webhooks are always verifiable, as with a real provider's configured secret.
  const verifiers = new Map<ProviderName, WebhookVerifier>(opts.webhooks?.verifiers ?? []);
  if (!verifiers.has('sandbox'))
    verifiers.set('sandbox', (body, headers) => {
      try {
        return Promise.resolve(verifySandboxWebhook(body, headers, sandboxWebhookSecret));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    });

  const workers: Worker[] = [];
  const runs: Array<Promise<void>> = [];
  let nativeConnection: NativeConnection | undefined;
  /** Each worker runs as soon as it exists, so a failed start can always be unwound. */
  const run = (w: Worker) => {
    workers.push(w);
    runs.push(w.run());
  };
  const stopWorkers = async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(runs);
    await nativeConnection?.close().catch(() => undefined);
  };
  if (opts.workers !== false) {
    try {
      nativeConnection = await NativeConnection.connect({ address: temporalAddress });
      run(
        await createPaymentWorker({
          connection: nativeConnection,
          namespace: 'default',
          taskQueue,
          pool,
          client,
          tracing: opts.tracing,
        }),
      );
      if (opts.webhooks?.dispatcher) {
        run(
          await createWebhookWorker({
            connection: nativeConnection,
            namespace: 'default',
            taskQueue: webhookTaskQueue,
            pool,
            webhookKey,
            urlPolicy: opts.webhooks.urlPolicy,
            schedule: opts.webhooks.dispatcher.schedule,
            policy: opts.webhooks.dispatcher.endpoint,
            tracing: opts.tracing,
          }),
        );
      }
      if (opts.cardWorker !== false) {
        run(
          await createCardWorker({
            connection: nativeConnection,
            namespace: 'default',
            taskQueue: cardTaskQueue,
            vault,
            providers,
            bank: {
              bankAccounts: createBankAccountsRepo(pool),
              secrets: bankSecrets,
              providers: new Map([
                ['sandbox', createSandboxBankProvider({ pool, hangMs: opts.bank?.hangMs })],
              ]),
            },
            routing: { pool },
            tracing: opts.tracing,
            evidence,
            // Reconciliation reads the sandbox's books (tests of other providers run their own worker).
            records: {
              sources: new Map([['sandbox', createSandboxRecordSource({ pool })]]),
              reconciliation: createReconciliationRepo(pool),
            },
          }),
        );
      }
    } catch (err) {
      await stopWorkers();
      await connection.close();
      await pool.end();
      throw err;
    }
  }

  const bankAccounts = createBankAccountsService({
    client,
    bankAccounts: createBankAccountsRepo(pool),
    secrets: bankSecrets,
    taskQueue,
    cardTaskQueue,
    legalEntity: 'default',
    provider: 'sandbox',
    waitMs: opts.authWaitMs ?? 20_000,
    windowMs: opts.bank?.windowMs,
    reminderAfterMs: opts.bank?.reminderAfterMs,
  });
  const disputes = createDisputesService({
    client,
    disputes: createDisputesRepo(pool),
    evidence,
    taskQueue,
    cardTaskQueue,
    legalEntity: 'default',
  });
  const app = createApp({
    bankAccounts,
    disputes,
    pool,
    temporal: client,
    tokens,
    clients,
    vault,
    payments: createPaymentsService({
      client,
      payments: createPaymentsRepo(pool),
      routes: createProviderRoutesRepo(pool),
      vault,
      taskQueue,
      cardTaskQueue,
      enabledProviders: providers.names(),
      defaultProvider: 'sandbox',
      authWaitMs: opts.authWaitMs ?? 20_000,
    }),
    reconciliation: createReconciliationService({
      client,
      repo: createReconciliationRepo(pool),
      taskQueue,
      cardTaskQueue,
      enabledProviders: providers.names(),
      maxWindowDays: 31,
      pageSize: 100,
    }),
    idempotency: createIdempotencyRepo(pool),
    idempotencySecret: purposeKey(root, 'idempotency'),
    webhooks: {
      repo: webhooks,
      verifiers,
      webhookKey,
      urlPolicy: opts.webhooks?.urlPolicy,
    },
    logger: opts.logSink
      ? createLogger({ level: 'trace', destination: { write: (line: string) => opts.logSink!(line) } })
      : createLogger({ level: 'silent' }),
    config: {
      adminAllowlist: opts.adminAllowlist ?? '127.0.0.1/32,::1/128',
      trustProxy: opts.trustProxy ?? 'false',
      legalEntity: 'default',
    },
    audit,
    operators,
    totpKey,
    clock,
    rateLimits: opts.rateLimits ?? { authPerMinute: 100_000, clientLimit: 100_000, clientWindowMs: 1_000 },
  });

  if (opts.webhooks?.dispatcher && opts.workers !== false) {
    await startWebhookDispatcher(client, {
      workflowId: webhookDispatcherId(taskQueue),
      taskQueue: webhookTaskQueue,
      pollMs: opts.webhooks.dispatcher.pollMs,
    });
  }

  let listener: http.Server | undefined;
  let sandboxSender: ReturnType<typeof createSandboxWebhookSender> | undefined;
  if (opts.sandboxWebhooks) {
    const server = http.createServer(app);
    listener = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    sandboxSender = createSandboxWebhookSender({
      pool,
      url: `http://127.0.0.1:${port}/webhooks/sandbox`,
      secret: sandboxWebhookSecret,
      intervalMs: opts.sandboxWebhooks.intervalMs ?? 200,
      onlyPayments: opts.sandboxWebhooks.onlyPayments,
    });
    sandboxSender.start();
  }

  let stopped: Promise<void> | undefined;

  async function createOperator(role: OperatorRole) {
    const username = `op-${randomBytes(6).toString('hex')}`;
    const password = randomBytes(12).toString('base64url');
    const op = await provisionOperator({ operators, totpKey }, { username, role, password });
    return { id: op.id, username, password, totpSecret: op.totpSecret };
  }

  async function createClient(role: Role = 'service') {
    const clientId = newId('cli');
    const clientSecret = newClientSecret();
    await clients.insert({
      id: clientId,
      name: `test-${clientId}`,
      role,
      secretHash: await hashSecret(clientSecret),
    });
    return { clientId, clientSecret };
  }

  return {
    app,
    http: request(app),
    pool,
    client,
    vault,
    tokens,
    taskQueue,
    cardTaskQueue,
    webhookTaskQueue,
    createClient,
    async serviceAuth() {
      const { clientId } = await createClient('service');
      return { clientId, authorization: `Bearer ${await tokens.issue({ sub: clientId, role: 'service' })}` };
    },
    audit,
    operators,
    totpKey,
    createOperator,
    async operatorAuth(role: OperatorRole) {
      const op = await createOperator(role);
      const sid = `ses_${randomBytes(12).toString('hex')}`;
      await operators.createSession(sid, op.id, clock.now());
      const token = await tokens.issue({ sub: op.id, role, sid });
      return { operatorId: op.id, sid, authorization: `Bearer ${token}` };
    },
    bankAccounts,
    bankSecrets,
    disputes,
    webhooks,
    webhookKey,
    sandboxWebhookSecret,
    async stop() {
      if (stopped) return stopped;
      stopped = (async () => {
        await sandboxSender?.stop();
        if (listener) {
          const server = listener;
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
        if (opts.webhooks?.dispatcher && opts.workers !== false) {
          await client.workflow
            .getHandle(webhookDispatcherId(taskQueue))
            .terminate('test stack stopped')
            .catch(() => undefined);
        }
        await stopWorkers();
        await connection.close();
        await pool.end();
        if (opts.logSink) runtimeSink = undefined;
      })();
      return stopped;
    },
  };
}
