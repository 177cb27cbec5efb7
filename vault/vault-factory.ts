/** Builds the key provider, key hierarchy and vault from configuration (API, card worker, CLI, tests). */
import type { KMSClientConfig } from '@aws-sdk/client-kms';
import { createAuditLog } from '../db/audit-repo';
import { createCardsRepo } from '../db/cards-repo';
import { createKeysRepo } from '../db/keys-repo';
import type { Pool } from '../db/pool';
import { createKeyHierarchy, type KeyHierarchy } from './key-hierarchy';
import { LocalKeyProvider, type KeyProvider } from '../security/key-provider';
import { KmsKeyProvider } from '../security/kms-key-provider';
import { createLogger } from '../security/logger';
import { installPayloadKeyring } from '../security/payload-codec';
import { keyringFromHierarchy, PAYLOAD_ENTITY } from './payload-keyring';
import { createVault, type AuditHook, type Vault } from './vault';

export interface KeyConfig {
  SETTLE_KEY_PROVIDER: 'local' | 'aws-kms';
  SETTLE_LOCAL_MASTER_KEY?: string | undefined;
  SETTLE_KMS_KEY_ID?: string | undefined;
  SETTLE_KMS_KEYS?: string | undefined;
  SETTLE_KMS_PAYLOAD_KEY_ID?: string | undefined;
  SETTLE_KMS_ENDPOINT?: string | undefined;
  AWS_REGION: string;
  SETTLE_KEY_CACHE_MAX_AGE_MS?: number | undefined;
  SETTLE_KEY_CACHE_MAX_USES?: number | undefined;
  SETTLE_FINGERPRINT_KEY: string;
}

export function parseKmsKeyMap(spec: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const pair of spec ? spec.split(',') : []) {
    const i = pair.indexOf('=');
    if (i > 0) m.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return m;
}

export function createKeyProvider(
  cfg: Omit<KeyConfig, 'SETTLE_FINGERPRINT_KEY'>,
  opts: { kmsCredentials?: KMSClientConfig['credentials'] } = {},
): { keyProvider: KeyProvider; kekIdFor: (legalEntity: string) => string } {
  if (cfg.SETTLE_KEY_PROVIDER === 'local') {
    const master = Buffer.from(cfg.SETTLE_LOCAL_MASTER_KEY ?? '', 'base64');
    return { keyProvider: new LocalKeyProvider(master), kekIdFor: (le) => `local:${le}:v1` };
  }
  const map = parseKmsKeyMap(cfg.SETTLE_KMS_KEYS);
  const fallback = cfg.SETTLE_KMS_KEY_ID;
  return {
    keyProvider: new KmsKeyProvider({
      region: cfg.AWS_REGION,
      endpoint: cfg.SETTLE_KMS_ENDPOINT,
      credentials: opts.kmsCredentials,
    }),
    kekIdFor: (le) => {
      const id =
        le === PAYLOAD_ENTITY ? (cfg.SETTLE_KMS_PAYLOAD_KEY_ID ?? fallback) : (map.get(le) ?? fallback);
      if (!id)
        throw new Error(`no KMS key configured for legal entity ${le} (SETTLE_KMS_KEYS / SETTLE_KMS_KEY_ID)`);
      return id;
    },
  };
}

export function createKeyHierarchyFromConfig(
  cfg: Omit<KeyConfig, 'SETTLE_FINGERPRINT_KEY'>,
  pool: Pool,
  opts: {
    keyProvider?: KeyProvider;
    kmsCredentials?: KMSClientConfig['credentials'];
    now?: () => number;
    kekRefreshMs?: number;
  } = {},
): KeyHierarchy {
  const built = createKeyProvider(cfg, opts);
  return createKeyHierarchy({
    keys: createKeysRepo(pool),
    keyProvider: opts.keyProvider ?? built.keyProvider,
    defaultKekFor: built.kekIdFor,
    cache: {
      maxAgeMs: cfg.SETTLE_KEY_CACHE_MAX_AGE_MS ?? 300_000,
      maxUses: cfg.SETTLE_KEY_CACHE_MAX_USES ?? 10_000,
    },
    now: opts.now,
    kekRefreshMs: opts.kekRefreshMs,
  });
}

/** Vault deletions go to the hash-chained audit log (security/audit.ts, db/audit-repo.ts). */
export function auditHookFor(pool: Pool): AuditHook {
  const log = createAuditLog(pool);
  return async (e) => {
    await log.append({ ...e, outcome: e.outcome === 'success' ? 'success' : 'failure' });
  };
}

export function createVaultFromConfig(
  cfg: KeyConfig,
  pool: Pool,
  opts: { hierarchy?: KeyHierarchy; audit?: AuditHook; now?: () => Date } = {},
): Vault {
  return createVault({
    cards: createCardsRepo(pool),
    hierarchy: opts.hierarchy ?? createKeyHierarchyFromConfig(cfg, pool),
    fingerprintKey: Buffer.from(cfg.SETTLE_FINGERPRINT_KEY, 'base64'),
    audit: opts.audit ?? auditHookFor(pool),
    now: opts.now,
  });
}

/**
 * Install this process's Temporal payload keyring (vault/payload-keyring.ts). Call once at start,
 * before the first workflow call; payload keys come from the payload KEK through their own cache.
 * The current key is fetched at once in the background; later refreshes that fail (PostgreSQL or
 * KMS down) are logged and retried while the cached key keeps serving.
 */
export function configurePayloadEncryption(
  cfg: Omit<KeyConfig, 'SETTLE_FINGERPRINT_KEY'>,
  pool: Pool,
  opts: { onRefreshError?: (err: unknown) => void } = {},
): void {
  const log = opts.onRefreshError ? undefined : createLogger({ name: 'payload-keyring', level: 'warn' });
  const onRefreshError =
    opts.onRefreshError ??
    ((err: unknown) =>
      log?.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'payload key refresh failed; the cached key keeps serving',
      ));
  const keyring = keyringFromHierarchy(createKeyHierarchyFromConfig(cfg, pool), {
    rotateUses: cfg.SETTLE_KEY_CACHE_MAX_USES ?? 10_000,
    onRefreshError,
  });
  installPayloadKeyring(keyring);
  keyring.warm().catch(onRefreshError);
}
