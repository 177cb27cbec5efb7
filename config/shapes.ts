/**
 * Every environment variable of every Settle process, as zod shapes, in this one module. Each process
 * root (api/server.ts, api/codec-server-main.ts, workers/*-worker.ts, db/migrate.ts, cli/index.ts,
 * scripts/start.ts) parses `process.env` ONCE with its own loader (config/load.ts) and passes the typed result
 * down; nothing else reads the environment. Loaders take the environment as an argument, so this
 * module never reads it either. A bad or missing value is a ConfigError naming the variable (never
 * echoing the value); loadOrExit turns it into exit 78. Workflows never read env.
 */
import path from 'node:path';
import { z } from 'zod';
import { trustProxyProblem } from './trust-proxy';
import { isProviderName, PROVIDER_NAMES, type ProviderName } from '../domain/providers';
import { publicKeysFromPem } from '../security/tokens';

export { ConfigError, loadOrExit, parseEnv, requireVars } from './parse';

// ---- Building blocks -------------------------------------------------------------------------------

const base64Key32 = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded');
const pgUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL');
const hostPort = z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port');
const port = z.coerce.number().int().min(1).max(65535);
/**
 * A process's Prometheus `/metrics` port on 127.0.0.1 (observability/metrics.ts); 0 turns it off.
 * Each process has its own variable and default, so `npm start`'s processes never contend for one.
 */
const metricsPort = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/** `<repo>/.data` from here (config/ sits at the top level, as scripts/ and cli/ do). */
export const DEFAULT_DATA_DIR = path.join(__dirname, '..', '.data');

const common = {
  DATABASE_URL: pgUrl,
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  SETTLE_TASK_QUEUE: z.string().min(1).default('settle-payments'),
  SETTLE_CARD_TASK_QUEUE: z.string().min(1).default('settle-card-data'),
  /** Merchant webhook deliveries: their own queue and worker, so a dead endpoint never delays payments. */
  SETTLE_WEBHOOK_TASK_QUEUE: z.string().min(1).default('settle-webhooks'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Key for card fingerprints (HMAC-SHA256), base64 32 bytes; distinct from every other key. */
  SETTLE_FINGERPRINT_KEY: base64Key32,
  /**
   * Root of the per-purpose keys (HKDF, security/purpose-keys.ts): idempotency, bank secrets, audit
   * chain and audit anchors. Base64 32 bytes; never used directly.
   */
  SETTLE_SECRET_ROOT_KEY: base64Key32,
  SETTLE_JWT_ISSUER: z.string().min(1).default('settle'),
  SETTLE_JWT_AUDIENCE: z.string().min(1).default('settle-api'),
  /** Seals operators' TOTP secrets (AES-256-GCM), base64 32 bytes. Operator login is off without it. */
  SETTLE_TOTP_KEY: base64Key32.optional(),
};

/** The key-management variables: every process that wraps or unwraps data keys or payload keys. */
export const keyShape = {
  SETTLE_KEY_PROVIDER: z.enum(['local', 'aws-kms']).default('local'),
  /** Local key provider only (NOT for production): the key-encryption key, base64 32 bytes. */
  SETTLE_LOCAL_MASTER_KEY: base64Key32.optional(),
  SETTLE_KMS_KEY_ID: z.string().min(1).optional(),
  /** Per-legal-entity KMS keys, `entity=keyId,entity2=keyId2`; entities not listed use SETTLE_KMS_KEY_ID. */
  SETTLE_KMS_KEYS: z
    .string()
    .regex(/^[a-z0-9_-]{1,64}=[^,=\s]+(,[a-z0-9_-]{1,64}=[^,=\s]+)*$/, 'must be entity=keyId[,entity=keyId]')
    .optional(),
  /** KMS key for Temporal payload-codec keys (default SETTLE_KMS_KEY_ID); API and payment worker need only this one. */
  SETTLE_KMS_PAYLOAD_KEY_ID: z.string().min(1).optional(),
  SETTLE_KMS_ENDPOINT: z.string().url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** KEK cryptoperiod (PCI DSS 3.6.4): `keys status` reports KEKs older than this as due for rotation. */
  SETTLE_KEK_CRYPTOPERIOD_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  /** Wrapping-key cache bounds: a cached key is retired after this age or this many uses. */
  SETTLE_KEY_CACHE_MAX_AGE_MS: z.coerce.number().int().min(1000).max(86_400_000).default(300_000),
  SETTLE_KEY_CACHE_MAX_USES: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
};

export function keyProviderRefinement(cfg: {
  SETTLE_KEY_PROVIDER: 'local' | 'aws-kms';
  SETTLE_LOCAL_MASTER_KEY?: string | undefined;
  SETTLE_KMS_KEY_ID?: string | undefined;
}): string[] {
  if (cfg.SETTLE_KEY_PROVIDER === 'local' && !cfg.SETTLE_LOCAL_MASTER_KEY) {
    return ['SETTLE_LOCAL_MASTER_KEY: required when SETTLE_KEY_PROVIDER=local'];
  }
  if (cfg.SETTLE_KEY_PROVIDER === 'aws-kms' && !cfg.SETTLE_KMS_KEY_ID) {
    return ['SETTLE_KMS_KEY_ID: required when SETTLE_KEY_PROVIDER=aws-kms'];
  }
  return [];
}

/** Which providers are enabled: names from domain/providers.ts, comma-separated. */
const providerList = z
  .string()
  .refine(
    (v) => v.split(',').every(isProviderName),
    `must be a comma-separated list of ${PROVIDER_NAMES.join(', ')}`,
  )
  .default('sandbox');

/**
 * Provider credentials. With none set only the sandbox is enabled; a provider listed in
 * SETTLE_PROVIDERS without its credentials is a configuration error naming the missing variable.
 * STRIPE_API_HOST/PORT/PROTOCOL and GATEWAY_HOST/PORT point the SDKs at local emulators (tests, demos).
 */
export const providerShape = {
  STRIPE_API_KEY: z.string().min(1).optional(),
  /** Endpoint signing secrets, comma-separated: two during a rotation (old and new). */
  STRIPE_WEBHOOK_SECRETS: z
    .string()
    .regex(/^[^,\s]+(,[^,\s]+)*$/, 'must be comma-separated secrets')
    .optional(),
  STRIPE_API_HOST: z.string().min(1).optional(),
  STRIPE_API_PORT: port.optional(),
  STRIPE_API_PROTOCOL: z.enum(['http', 'https']).optional(),
  BRAINTREE_MERCHANT_ID: z.string().min(1).optional(),
  BRAINTREE_PUBLIC_KEY: z.string().min(1).optional(),
  BRAINTREE_PRIVATE_KEY: z.string().min(1).optional(),
  BRAINTREE_ENVIRONMENT: z.enum(['development', 'sandbox', 'production']).default('sandbox'),
  GATEWAY_HOST: z.string().min(1).optional(),
  GATEWAY_PORT: port.optional(),
  /** Signs (card worker) and verifies (API) the sandbox's webhooks; none: the sandbox sends none. */
  SETTLE_SANDBOX_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
};
export type ProviderConfig = z.infer<z.ZodObject<typeof providerShape>>;

/** `need`: which credentials each provider requires for the role of this process. */
export function providerCredentialRefinement(
  cfg: ProviderConfig & { SETTLE_PROVIDERS: string },
  need: Partial<Record<ProviderName, Array<keyof ProviderConfig>>>,
): string[] {
  const enabled = cfg.SETTLE_PROVIDERS.split(',');
  const problems: string[] = [];
  for (const p of PROVIDER_NAMES) {
    if (!enabled.includes(p)) continue;
    for (const v of need[p] ?? [])
      if (!cfg[v]) problems.push(`${v}: required when SETTLE_PROVIDERS includes ${p}`);
  }
  return problems;
}

/** Merchant webhooks out: the key that seals endpoint signing secrets, and the SSRF guard's two switches. */
const flag = z.enum(['true', 'false']).default('false');
const merchantWebhookShape = {
  /** Seals merchant endpoint signing secrets (AES-256-GCM), base64 32 bytes; endpoints are off without it. */
  SETTLE_WEBHOOK_KEY: base64Key32.optional(),
  /** SSRF guard for merchant endpoint URLs: http and non-public targets are off by default. */
  SETTLE_WEBHOOK_ALLOW_HTTP: flag,
  SETTLE_WEBHOOK_ALLOW_PRIVATE: flag,
};

/**
 * OpenTelemetry traces (observability/tracing.ts): exported over OTLP/HTTP to this base URL
 * (`<endpoint>/v1/traces`) when it is set; when it is not, no tracing SDK starts at all.
 */
const tracingShape = {
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** The service name on this process's spans (default: the process, e.g. `settle-api`). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};

/** Reconciliation (docs/reconciliation.md): records per page, and the longest window one run may cover. */
const reconciliationShape = {
  SETTLE_RECONCILIATION_PAGE_SIZE: z.coerce.number().int().min(1).max(100).default(100),
  SETTLE_RECONCILIATION_MAX_DAYS: z.coerce.number().int().min(1).max(366).default(31),
};

/** The daily reconciliation Schedule (workers/reconciliation.ts), ensured by the payment worker. */
const reconciliationScheduleShape = {
  ...reconciliationShape,
  /** Cron (UTC) of the scheduled runs; each covers the window ending at the start of its day. */
  SETTLE_RECONCILIATION_SCHEDULE: z
    .string()
    .regex(/^\S+( \S+){4}$/, 'must be a 5-field cron expression')
    .default('0 3 * * *'),
  SETTLE_RECONCILIATION_WINDOW_HOURS: z.coerce.number().int().min(1).max(744).default(24),
  /** The providers the Schedule reconciles: the deployment's enabled ones. */
  SETTLE_PROVIDERS: providerList,
};

// ---- One shape per process -------------------------------------------------------------------------

export const apiShape = {
  ...common,
  ...keyShape,
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Prometheus metrics; always bound to loopback. */
  METRICS_PORT: metricsPort(9464),
  /** CIDRs allowed to reach admin and auditor routes (API.md: default loopback only). */
  SETTLE_ADMIN_ALLOWLIST: z.string().min(1).default('127.0.0.1/32,::1/128'),
  /**
   * Express `trust proxy` (hop count or CIDR list); explicit, default off: X-Forwarded-For is ignored.
   * `true` and catch-all ranges (wider than /8 or /32 for IPv6) are refused: any client could then
   * choose its own source address and walk past the admin allowlist (config/trust-proxy.ts).
   */
  SETTLE_TRUST_PROXY: z
    .string()
    .superRefine((v, ctx) => {
      const problem = trustProxyProblem(v);
      if (problem)
        ctx.addIssue({ code: 'custom', message: `must be false, a hop count or proxy CIDRs: ${problem}` });
    })
    .default('false'),
  /** Ed25519 private key (PKCS#8 PEM) that signs access tokens. */
  SETTLE_JWT_PRIVATE_KEY: z.string().includes('PRIVATE KEY', { message: 'must be a PKCS#8 PEM private key' }),
  SETTLE_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(900).default(900),
  /** Retired Ed25519 public keys (PEM, concatenated) still accepted during a signing-key rotation. */
  SETTLE_JWT_PREVIOUS_PUBLIC_KEYS: z.string().includes('PUBLIC KEY').optional(),
  /** HTTPS served by the API itself (TLS 1.2 minimum + HSTS): PEM certificate chain and key files. */
  SETTLE_TLS_CERT_FILE: z.string().min(1).optional(),
  SETTLE_TLS_KEY_FILE: z.string().min(1).optional(),
  SETTLE_RATE_LIMIT_AUTH_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(20),
  SETTLE_RATE_LIMIT_CLIENT_PER_SECOND: z.coerce.number().int().min(1).max(100_000).default(100),
  /** How often the API writes a keyed anchor of the audit chain head (also at start). */
  SETTLE_AUDIT_ANCHOR_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(300_000),
  /** How long POST /v1/payments waits for the authorization outcome before answering 503. */
  SETTLE_AUTH_WAIT_MS: z.coerce.number().int().min(100).max(60000).default(10000),
  SETTLE_PROVIDERS: providerList,
  SETTLE_DEFAULT_PROVIDER: z.enum(PROVIDER_NAMES).default('sandbox'),
  ...reconciliationShape,
  /** Provider webhooks in: the API verifies them (Stripe secrets, Braintree keys; no Stripe API key needed). */
  ...providerShape,
  /** Merchant webhooks out (the endpoint routes are off without SETTLE_WEBHOOK_KEY). */
  ...merchantWebhookShape,
  /** Legal entity (merchant account) whose keys protect this deployment's cards. */
  SETTLE_LEGAL_ENTITY: z
    .string()
    .regex(/^[a-z0-9_-]{1,64}$/)
    .default('default'),
  ...tracingShape,
};

/** What every worker needs: its database, Temporal, queues, logs, the root of the audit chain keys. */
const workerCommon = {
  DATABASE_URL: common.DATABASE_URL,
  TEMPORAL_ADDRESS: common.TEMPORAL_ADDRESS,
  TEMPORAL_NAMESPACE: common.TEMPORAL_NAMESPACE,
  SETTLE_TASK_QUEUE: common.SETTLE_TASK_QUEUE,
  SETTLE_CARD_TASK_QUEUE: common.SETTLE_CARD_TASK_QUEUE,
  LOG_LEVEL: common.LOG_LEVEL,
  /** Audit chain keys (process start/stop events) and, in the card worker, bank secrets. */
  SETTLE_SECRET_ROOT_KEY: common.SETTLE_SECRET_ROOT_KEY,
  /** Every worker encrypts its Temporal payloads (the payload KEK); the card worker also the cards. */
  ...keyShape,
  ...tracingShape,
};

/** The stuck-payment sweeper (workers/sweeper.ts): its Schedule's interval and each run's bounds. */
const sweeperShape = {
  SETTLE_SWEEPER_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(1440).default(5),
  /** A payment is looked at once unchanged this long; still `processing` after it, it is stuck. */
  SETTLE_SWEEPER_STALE_MINUTES: z.coerce.number().int().min(1).max(10_080).default(15),
  /** Payments per page (one query each to its workflow and its provider). */
  SETTLE_SWEEPER_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  /** Pages per run; the next run resumes where this one stopped. */
  SETTLE_SWEEPER_MAX_BATCHES: z.coerce.number().int().min(1).max(1000).default(10),
};

/**
 * Worker Versioning (workers/versioning.ts): the workflow workers poll as `<deployment>:<build id>`
 * when on. Off by default (dev, tests, npm start): unversioned, as before.
 */
export const versioningShape = {
  SETTLE_WORKER_VERSIONING: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  SETTLE_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (Temporal joins it to the build id)')
    .default('settle'),
  /** The image sets it at build time; unset: `<package version>+<git short sha>` in a checkout. */
  SETTLE_BUILD_ID: z.string().min(1).max(255).optional(),
};

export const paymentWorkerShape = {
  ...workerCommon,
  ...sweeperShape,
  ...reconciliationScheduleShape,
  ...versioningShape,
  /** Settle's and the Temporal SDK's worker metrics, on one loopback port (0 disables both). */
  SETTLE_PAYMENT_WORKER_METRICS_PORT: metricsPort(9465),
};

/** The merchant-webhook worker: its own task queue, the key that unseals endpoint secrets. */
export const webhookWorkerShape = {
  ...workerCommon,
  ...versioningShape,
  SETTLE_WEBHOOK_TASK_QUEUE: common.SETTLE_WEBHOOK_TASK_QUEUE,
  ...merchantWebhookShape,
  SETTLE_WEBHOOK_WORKER_METRICS_PORT: metricsPort(9467),
};

export const cardWorkerShape = {
  ...workerCommon,
  SETTLE_FINGERPRINT_KEY: common.SETTLE_FINGERPRINT_KEY,
  /** Comma-separated providers to enable; sandbox is always available unless removed here. */
  SETTLE_PROVIDERS: providerList,
  ...providerShape,
  /** Where the sandbox delivers its webhooks (the API's /webhooks/sandbox); unset: not delivered. */
  SETTLE_SANDBOX_WEBHOOK_URL: z.string().url().optional(),
  SETTLE_CARD_WORKER_METRICS_PORT: metricsPort(9466),
};

export const codecShape = {
  DATABASE_URL: common.DATABASE_URL,
  LOG_LEVEL: common.LOG_LEVEL,
  ...keyShape,
  /**
   * The API's token verification key(s): Ed25519 public key PEMs, concatenated (the signing key's
   * and, during a rotation, the previous one's). Never the private key: this process only verifies.
   */
  SETTLE_JWT_PUBLIC_KEYS: z
    .string()
    .refine((v) => !v.includes('PRIVATE KEY'), 'must hold public keys only, never the signing key')
    .refine((v) => {
      try {
        return publicKeysFromPem(v).size > 0;
      } catch {
        return false;
      }
    }, 'must be one or more Ed25519 public key PEMs'),
  /** Audit chain keys: every decode request is audited. */
  SETTLE_SECRET_ROOT_KEY: common.SETTLE_SECRET_ROOT_KEY,
  SETTLE_JWT_ISSUER: common.SETTLE_JWT_ISSUER,
  SETTLE_JWT_AUDIENCE: common.SETTLE_JWT_AUDIENCE,
  SETTLE_CODEC_PORT: port.default(8888),
  SETTLE_CODEC_METRICS_PORT: metricsPort(9468),
  SETTLE_CODEC_HOST: z.string().min(1).default('127.0.0.1'),
  /** The only browser origin allowed (the Temporal UI). */
  SETTLE_CODEC_UI_ORIGIN: z.string().url().default('http://localhost:8233'),
  /** Opens operators' sealed TOTP secrets for the browser sign-in page (sign-in off without it). */
  SETTLE_TOTP_KEY: common.SETTLE_TOTP_KEY,
  /**
   * The codec server's own origin as the browser sees it (e.g. https://codec.example.com), checked
   * against the sign-in form's Origin header; unset: the request's Host header is taken as it.
   */
  SETTLE_CODEC_PUBLIC_ORIGIN: z.string().url().optional(),
};

/** `npm run migrate`: the owner's URL (DATABASE_URL when unset) and the runtime role's password. */
export const migrateShape = {
  DATABASE_OWNER_URL: pgUrl.optional(),
  DATABASE_URL: pgUrl.optional(),
  /** Password of the runtime login role (none under trust authentication). */
  SETTLE_DB_RUNTIME_PASSWORD: z.string().min(16, 'must be at least 16 characters').optional(),
};

/** `npm start` (the embedded default). Every variable has a default. */
export const startShape = {
  /** Where the embedded default keeps its state (Temporal SQLite file, PostgreSQL, generated keys). */
  SETTLE_DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  /** Use this PostgreSQL instead of the embedded one. */
  DATABASE_URL: pgUrl.optional(),
  /**
   * The owner of that database, for migrations (default DATABASE_URL). When both are set,
   * DATABASE_URL is what the processes use; else they use the runtime role settle_runtime on it.
   */
  DATABASE_OWNER_URL: migrateShape.DATABASE_OWNER_URL,
  /** Root of the per-purpose keys (default: generated into <data dir>/secrets.json). */
  SETTLE_SECRET_ROOT_KEY: common.SETTLE_SECRET_ROOT_KEY.optional(),
  /** Password of the runtime login role (default: generated into <data dir>/secrets.json). */
  SETTLE_DB_RUNTIME_PASSWORD: migrateShape.SETTLE_DB_RUNTIME_PASSWORD,
  /** Use this Temporal server instead of starting the dev server. */
  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  EMBEDDED_PG_PORT: port.default(5433),
  PORT: port.default(3000),
  /** Passed on to the codec server it starts (default: the dev server's UI). */
  SETTLE_CODEC_UI_ORIGIN: z.string().url().optional(),
  SETTLE_CODEC_PORT: codecShape.SETTLE_CODEC_PORT,
};

/**
 * `npm run cli`: one shape for every command, parsed once in cli/index.ts; what only some commands
 * need is optional here and required by that command (requireVars), still naming the variable.
 */
export const cliShape = {
  DATABASE_URL: pgUrl.optional(),
  TEMPORAL_ADDRESS: common.TEMPORAL_ADDRESS,
  TEMPORAL_NAMESPACE: common.TEMPORAL_NAMESPACE,
  /** Audit chain keys: every command that changes something appends an audit event. */
  SETTLE_SECRET_ROOT_KEY: common.SETTLE_SECRET_ROOT_KEY.optional(),
  SETTLE_FINGERPRINT_KEY: common.SETTLE_FINGERPRINT_KEY.optional(),
  ...keyShape,
  SETTLE_TOTP_KEY: common.SETTLE_TOTP_KEY,
  /** `operators create`: the new operator's password (default: generated and shown once). */
  SETTLE_OPERATOR_PASSWORD: z.string().optional(),
  /** `payments inspect|resync`: the queues the sweeper workflow runs on (as the workers have them). */
  SETTLE_TASK_QUEUE: common.SETTLE_TASK_QUEUE,
  SETTLE_CARD_TASK_QUEUE: common.SETTLE_CARD_TASK_QUEUE,
  /** `deploy ...`: the Worker Deployment the workers poll as (SETTLE_DEPLOYMENT_NAME). */
  SETTLE_DEPLOYMENT_NAME: versioningShape.SETTLE_DEPLOYMENT_NAME,
  SETTLE_WEBHOOK_TASK_QUEUE: common.SETTLE_WEBHOOK_TASK_QUEUE,
  /** The operating-system user: the actor (`cli:<user>`) of the CLI's audit events. */
  USER: z.string().min(1).default('unknown'),
};

export type ApiConfig = z.infer<z.ZodObject<typeof apiShape>>;
export type PaymentWorkerConfig = z.infer<z.ZodObject<typeof paymentWorkerShape>>;
export type WebhookWorkerConfig = z.infer<z.ZodObject<typeof webhookWorkerShape>>;
export type CardWorkerConfig = z.infer<z.ZodObject<typeof cardWorkerShape>>;
export type CodecConfig = z.infer<z.ZodObject<typeof codecShape>>;
export type MigrateConfig = z.infer<z.ZodObject<typeof migrateShape>>;
export type StartConfig = z.infer<z.ZodObject<typeof startShape>>;
export type CliConfig = z.infer<z.ZodObject<typeof cliShape>>;

/** Every process's shape, by process: the README table and docker-compose.yml are checked against it. */
export const processShapes = {
  api: apiShape,
  'payment-worker': paymentWorkerShape,
  'webhook-worker': webhookWorkerShape,
  'card-worker': cardWorkerShape,
  'codec-server': codecShape,
  migrate: migrateShape,
  start: startShape,
  cli: cliShape,
} as const;
