/**
 * Shared pieces of the per-process configuration. Each process (api/config.ts, workers/config.ts,
 * scripts/start-config.ts) composes its own zod schema from these and parses the environment ONCE.
 * A bad or missing value exits non-zero naming the variable (ConfigError). Workflows never read env.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const base64Key32 = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded');

export const shared = {
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  SETTLE_TASK_QUEUE: z.string().min(1).default('settle-payments'),
  SETTLE_CARD_TASK_QUEUE: z.string().min(1).default('settle-card-data'),
  /** Merchant webhook deliveries: their own queue and worker, so a dead endpoint never delays payments. */
  SETTLE_WEBHOOK_TASK_QUEUE: z.string().min(1).default('settle-webhooks'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SETTLE_KEY_PROVIDER: z.enum(['local', 'aws-kms']).default('local'),
  /** Local key provider only (NOT for production): the key-encryption key, base64 32 bytes. */
  SETTLE_LOCAL_MASTER_KEY: base64Key32.optional(),
  SETTLE_KMS_KEY_ID: z.string().min(1).optional(),
  SETTLE_KMS_ENDPOINT: z.string().url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** Per-legal-entity KMS keys, `entity=keyId,entity2=keyId2`; entities not listed use SETTLE_KMS_KEY_ID. */
  SETTLE_KMS_KEYS: z
    .string()
    .regex(/^[a-z0-9_-]{1,64}=[^,=\s]+(,[a-z0-9_-]{1,64}=[^,=\s]+)*$/, 'must be entity=keyId[,entity=keyId]')
    .optional(),
  /** KMS key for Temporal payload-codec keys (default SETTLE_KMS_KEY_ID); API and payment worker need only this one. */
  SETTLE_KMS_PAYLOAD_KEY_ID: z.string().min(1).optional(),
  /** KEK cryptoperiod (PCI DSS 3.6.4): `keys status` reports KEKs older than this as due for rotation. */
  SETTLE_KEK_CRYPTOPERIOD_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  /** Wrapping-key cache bounds: a cached key is retired after this age or this many uses. */
  SETTLE_KEY_CACHE_MAX_AGE_MS: z.coerce.number().int().min(1000).max(86_400_000).default(300_000),
  SETTLE_KEY_CACHE_MAX_USES: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /** Key for card fingerprints (HMAC-SHA256), base64 32 bytes; distinct from every other key. */
  SETTLE_FINGERPRINT_KEY: base64Key32,
  /**
   * Root of the per-purpose keys (HKDF, security/purpose-keys.ts): idempotency, bank secrets, audit
   * chain and audit anchors. Base64 32 bytes; never used directly.
   */
  SETTLE_SECRET_ROOT_KEY: base64Key32,
  /** Ed25519 private key (PKCS#8 PEM) that signs access tokens. */
  SETTLE_JWT_PRIVATE_KEY: z.string().includes('PRIVATE KEY', { message: 'must be a PKCS#8 PEM private key' }),
  SETTLE_JWT_ISSUER: z.string().min(1).default('settle'),
  SETTLE_JWT_AUDIENCE: z.string().min(1).default('settle-api'),
  SETTLE_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(900).default(900),
};

/**
 * Provider credentials (issue 4). With none set only the sandbox is enabled; a provider listed in
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
  STRIPE_API_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  STRIPE_API_PROTOCOL: z.enum(['http', 'https']).optional(),
  BRAINTREE_MERCHANT_ID: z.string().min(1).optional(),
  BRAINTREE_PUBLIC_KEY: z.string().min(1).optional(),
  BRAINTREE_PRIVATE_KEY: z.string().min(1).optional(),
  BRAINTREE_ENVIRONMENT: z.enum(['development', 'sandbox', 'production']).default('sandbox'),
  GATEWAY_HOST: z.string().min(1).optional(),
  GATEWAY_PORT: z.coerce.number().int().min(1).max(65535).optional(),
};
export type ProviderConfig = z.infer<z.ZodObject<typeof providerShape>>;

/** `need`: which credentials each provider requires for the role of this process. */
export function providerCredentialRefinement(
  cfg: ProviderConfig & { SETTLE_PROVIDERS: string },
  need: { stripe: Array<keyof ProviderConfig>; braintree: Array<keyof ProviderConfig> },
): string[] {
  const enabled = cfg.SETTLE_PROVIDERS.split(',');
  const problems: string[] = [];
  for (const p of ['stripe', 'braintree'] as const) {
    if (!enabled.includes(p)) continue;
    for (const v of need[p]) if (!cfg[v]) problems.push(`${v}: required when SETTLE_PROVIDERS includes ${p}`);
  }
  return problems;
}

/** Merchant webhooks: seals endpoint signing secrets (AES-256-GCM), base64 32 bytes. */
export const webhookKey = base64Key32.optional();

/** The key-management variables, for processes whose own shape does not spread `shared`. */
export const keyShape = {
  SETTLE_KEY_PROVIDER: shared.SETTLE_KEY_PROVIDER,
  SETTLE_LOCAL_MASTER_KEY: shared.SETTLE_LOCAL_MASTER_KEY,
  SETTLE_KMS_KEY_ID: shared.SETTLE_KMS_KEY_ID,
  SETTLE_KMS_KEYS: shared.SETTLE_KMS_KEYS,
  SETTLE_KMS_PAYLOAD_KEY_ID: shared.SETTLE_KMS_PAYLOAD_KEY_ID,
  SETTLE_KMS_ENDPOINT: shared.SETTLE_KMS_ENDPOINT,
  AWS_REGION: shared.AWS_REGION,
  SETTLE_KEK_CRYPTOPERIOD_DAYS: shared.SETTLE_KEK_CRYPTOPERIOD_DAYS,
  SETTLE_KEY_CACHE_MAX_AGE_MS: shared.SETTLE_KEY_CACHE_MAX_AGE_MS,
  SETTLE_KEY_CACHE_MAX_USES: shared.SETTLE_KEY_CACHE_MAX_USES,
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

/** Parse `env` with `schema`; throw ConfigError naming each bad variable (never echoing secrets). */
export function parseEnv<S extends z.ZodRawShape>(
  shape: S,
  env: NodeJS.ProcessEnv,
  extraChecks: (cfg: z.infer<z.ZodObject<S>>) => string[] = () => [],
): z.infer<z.ZodObject<S>> {
  const picked: Record<string, string | undefined> = {};
  for (const k of Object.keys(shape)) {
    const v = env[k];
    picked[k] = v === '' ? undefined : v;
  }
  const res = z.object(shape).safeParse(picked);
  if (!res.success) {
    throw new ConfigError(
      res.error.issues.map(
        (i) =>
          `${i.path.join('.')}: ${i.code === 'invalid_type' && picked[String(i.path[0])] === undefined ? 'is required' : i.message}`,
      ),
    );
  }
  const extra = extraChecks(res.data);
  if (extra.length) throw new ConfigError(extra);
  return res.data;
}

/** For process entry points: print the ConfigError and exit 78 (EX_CONFIG) without a stack trace. */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
