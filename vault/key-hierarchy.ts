/**
 * The three-tier key hierarchy (compliance/key-hierarchy.md):
 *
 *   KEK (KMS key, one per legal entity, versioned)      never leaves KMS
 *     └─ wrapping key (KMS data key, AES-256)           wrapped by the KEK, cached (bounded age + uses)
 *          └─ per-card data key (random AES-256)        wrapped locally by a wrapping key
 *               └─ PAN / CVC ciphertexts                AES-256-GCM, AAD = token + legal entity + field
 *
 * KMS sees one GenerateDataKey per wrapping key and one Decrypt per wrapping key per process per cache
 * period, so KMS traffic follows time and key count, not card volume; deleting a card destroys its
 * own data key (crypto-shredding) without touching its neighbours; rotation re-wraps data keys under
 * a wrapping key of the new KEK (vault/key-rotation.ts).
 */
import type { KeyPurpose, KeysRepo } from '../db/keys-repo';
import { newId } from '../domain/ids';
import { createDataKeyCache, type CachedKey, type CacheLimits } from '../security/data-key-cache';
import type { KeyProvider } from '../security/key-provider';

export interface KeyHierarchyDeps {
  keys: KeysRepo;
  keyProvider: KeyProvider;
  /** The configured KEK of an entity that has no kek_versions row yet (becomes version 1). */
  defaultKekFor: (legalEntity: string) => string;
  cache?: Partial<CacheLimits>;
  /** How long a process trusts its view of the active KEK; a rotation takes effect within this. */
  kekRefreshMs?: number;
  now?: () => number;
}

/** Encryption context of a wrapping key at KMS: binds it to its entity, purpose and row. */
export const wrappingKeyContext = (purpose: KeyPurpose, legalEntity: string, id: string) => ({
  purpose: `settle-${purpose}-wrapping-key`,
  legalEntity,
  wrappingKeyId: id,
});

export const DEFAULT_CACHE: CacheLimits = { maxAgeMs: 5 * 60_000, maxUses: 10_000 };

export function createKeyHierarchy(deps: KeyHierarchyDeps) {
  const now = deps.now ?? Date.now;
  const cache = createDataKeyCache({ ...DEFAULT_CACHE, ...deps.cache, now });
  const kekRefreshMs = deps.kekRefreshMs ?? 10_000;
  const keks = new Map<string, { kekId: string; at: number }>();

  async function activeKek(legalEntity: string): Promise<string> {
    const hit = keks.get(legalEntity);
    if (hit && now() - hit.at < kekRefreshMs) return hit.kekId;
    const row =
      (await deps.keys.activeKek(legalEntity)) ??
      (await deps.keys.ensureKek(legalEntity, deps.defaultKekFor(legalEntity)));
    keks.set(legalEntity, { kekId: row.kekId, at: now() });
    return row.kekId;
  }

  /** The wrapping key new data is sealed under for (entity, purpose); generated at KMS on a miss. */
  async function currentWrappingKey(legalEntity: string, purpose: KeyPurpose): Promise<CachedKey> {
    const kekId = await activeKek(legalEntity);
    return cache.use(`enc:${purpose}:${legalEntity}:${kekId}`, async () => {
      const id = `wk_${newId('tok').slice(4)}`;
      const dk = await deps.keyProvider.generateDataKey(kekId, wrappingKeyContext(purpose, legalEntity, id));
      await deps.keys.insertWrappingKey({ id, legalEntity, purpose, kekId, wrapped: dk.wrapped });
      return { id, key: dk.plaintext, kekId };
    });
  }

  /** A wrapping key by id, for decryption; unwrapped at KMS on a miss. Throws if destroyed. */
  async function wrappingKey(
    id: string,
    expect: { legalEntity: string; purpose: KeyPurpose },
  ): Promise<CachedKey> {
    return cache.use(`dec:${id}`, async () => {
      const row = await deps.keys.findWrappingKey(id);
      if (!row?.wrapped) throw new Error(`wrapping key ${id} is unknown or destroyed`);
      if (row.legalEntity !== expect.legalEntity || row.purpose !== expect.purpose) {
        throw new Error(`wrapping key ${id} belongs to another legal entity or purpose`);
      }
      const key = await deps.keyProvider.decryptDataKey(
        row.kekId,
        row.wrapped,
        wrappingKeyContext(row.purpose, row.legalEntity, row.id),
      );
      return { id, key, kekId: row.kekId };
    });
  }

  return {
    keyProvider: deps.keyProvider,
    activeKek,
    currentWrappingKey,
    wrappingKey,
    /** Forget cached KEK choices and encryption slots (after a rotation in this process). */
    refresh(): void {
      keks.clear();
      cache.clear();
    },
    evict: (slot: string) => cache.evict(slot),
    /** Stop handing out the current wrapping key of (entity, purpose): the next call makes a new one. */
    retireCurrent(legalEntity: string, purpose: KeyPurpose): void {
      const kek = keks.get(legalEntity);
      if (kek) cache.evict(`enc:${purpose}:${legalEntity}:${kek.kekId}`);
    },
    cacheStats: () => cache.stats(),
  };
}
export type KeyHierarchy = ReturnType<typeof createKeyHierarchy>;
