/**
 * Vault integration fixtures: a KMS key provider against moto that counts its calls, vaults built the
 * way processes build them (vault-factory), and a client row for the cards' foreign key.
 */
import { randomBytes } from 'node:crypto';
import type { Pool } from '../../db/pool';
import { newId } from '../../domain/ids';
import type { DataKey, KeyProvider } from '../../security/key-provider';
import { KmsKeyProvider } from '../../security/kms-key-provider';
import {
  createKeyHierarchyFromConfig,
  createVaultFromConfig,
  type KeyConfig,
} from '../../vault/vault-factory';
import type { AuditHook } from '../../vault/vault';
import { MOTO_CREDENTIALS, MOTO_REGION, type Moto } from './moto';

export interface CountingProvider extends KeyProvider {
  calls: { generate: number; decrypt: number };
}

export function countingKms(moto: Moto): CountingProvider {
  const inner = new KmsKeyProvider({
    region: MOTO_REGION,
    endpoint: moto.endpoint,
    credentials: MOTO_CREDENTIALS,
  });
  const calls = { generate: 0, decrypt: 0 };
  return {
    name: 'aws-kms',
    calls,
    generateDataKey(kekId: string, context: Record<string, string>): Promise<DataKey> {
      calls.generate++;
      return inner.generateDataKey(kekId, context);
    },
    decryptDataKey(kekId: string, wrapped: Buffer, context: Record<string, string>): Promise<Buffer> {
      calls.decrypt++;
      return inner.decryptDataKey(kekId, wrapped, context);
    },
  };
}

export function kmsConfig(moto: Moto, defaultKey: string, perEntity: Record<string, string> = {}): KeyConfig {
  return {
    SETTLE_KEY_PROVIDER: 'aws-kms',
    SETTLE_KMS_KEY_ID: defaultKey,
    SETTLE_KMS_KEYS: Object.entries(perEntity)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    SETTLE_KMS_ENDPOINT: moto.endpoint,
    AWS_REGION: MOTO_REGION,
    SETTLE_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
  };
}

/** A vault as one process would build it, with its own key cache. */
export function kmsVault(
  pool: Pool,
  cfg: KeyConfig,
  provider: KeyProvider,
  opts: {
    maxUses?: number;
    maxAgeMs?: number;
    kekRefreshMs?: number;
    audit?: AuditHook;
    now?: () => Date;
  } = {},
) {
  const hierarchy = createKeyHierarchyFromConfig(
    { ...cfg, SETTLE_KEY_CACHE_MAX_USES: opts.maxUses, SETTLE_KEY_CACHE_MAX_AGE_MS: opts.maxAgeMs },
    pool,
    { keyProvider: provider, kekRefreshMs: opts.kekRefreshMs },
  );
  const vault = createVaultFromConfig(cfg, pool, { hierarchy, audit: opts.audit, now: opts.now });
  return { hierarchy, vault };
}

export async function insertClient(pool: Pool): Promise<string> {
  const id = newId('cli');
  await pool.query(`INSERT INTO clients (id, name, role, secret_hash) VALUES ($1, $2, 'service', 'unused')`, [
    id,
    `vault-test-${id}`,
  ]);
  return id;
}

/** A unique legal entity per test, so counts and rotations never see another test's rows. */
export const uniqueEntity = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

export const nextYear = () => new Date().getUTCFullYear() + 2;

/** The run's database (integration global setup); read here so vault tests need not load the API. */
export function testDatabaseUrl(): string {
  const url = process.env.SETTLE_TEST_DATABASE_URL;
  if (!url) throw new Error('integration global setup did not run');
  return url;
}
