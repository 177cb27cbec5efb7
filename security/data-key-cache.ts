/**
 * In-memory cache of plaintext wrapping keys, bounded by age AND by use count (AWS Encryption SDK's
 * caching CMM uses the same two limits). An entry past either limit is never handed out again; the
 * caller then fetches or generates a fresh key, so KMS calls grow with time and key count, not with
 * payment volume. Concurrent misses for the same slot share one load (single flight).
 */
export interface CacheLimits {
  /** Maximum age of an entry in ms. */
  maxAgeMs: number;
  /** Maximum number of times an entry may be handed out. */
  maxUses: number;
  /** Hard cap on entries (oldest dropped first). */
  maxEntries?: number;
  now?: () => number;
}

export interface CachedKey {
  id: string;
  key: Buffer;
  /** The KEK that wraps this key (informational; rotation compares it). */
  kekId: string;
}

interface Entry {
  value: CachedKey;
  createdAt: number;
  uses: number;
}

export function createDataKeyCache(limits: CacheLimits) {
  if (limits.maxAgeMs <= 0 || limits.maxUses <= 0) throw new RangeError('cache limits must be positive');
  const now = limits.now ?? Date.now;
  const maxEntries = limits.maxEntries ?? 1000;
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Entry>>();
  const stats = { hits: 0, misses: 0, expired: 0 };

  const fresh = (e: Entry) => now() - e.createdAt < limits.maxAgeMs && e.uses < limits.maxUses;

  function drop(slot: string): void {
    entries.delete(slot);
  }

  function put(slot: string, value: CachedKey): Entry {
    const e: Entry = { value, createdAt: now(), uses: 0 };
    entries.set(slot, e);
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) break;
      entries.delete(oldest);
    }
    return e;
  }

  return {
    /**
     * The key in `slot`, counting one use; `load` runs when the slot is empty or past a limit.
     * The returned buffer is shared: callers must not zero it.
     */
    async use(slot: string, load: () => Promise<CachedKey>): Promise<CachedKey> {
      for (;;) {
        const e = entries.get(slot);
        if (e && fresh(e)) {
          e.uses++;
          stats.hits++;
          return e.value;
        }
        if (e) {
          stats.expired++;
          drop(slot);
        }
        let p = inflight.get(slot);
        if (!p) {
          stats.misses++;
          p = load()
            .then((v) => put(slot, v))
            .finally(() => inflight.delete(slot));
          inflight.set(slot, p);
        }
        const loaded = await p;
        if (fresh(loaded)) {
          loaded.uses++;
          return loaded.value;
        }
        // Someone else's single-flight result was used up before we got it: load again.
      }
    },
    evict(slot: string): void {
      drop(slot);
    },
    clear(): void {
      entries.clear();
    },
    stats: () => ({ ...stats, size: entries.size }),
  };
}
export type DataKeyCache = ReturnType<typeof createDataKeyCache>;
