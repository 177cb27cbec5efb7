/**
 * The payload keyring behind a process's Temporal codec (security/payload-codec.ts). It keeps the
 * codec off the database and KMS on the hot path, because a codec error is fatal to a Temporal worker
 * and a PostgreSQL restart must not be:
 *
 *   current key  served from memory. Once it is `refreshMs` old (a KEK rotation takes effect within
 *                this) or has sealed `rotateUses` payloads, the key hierarchy is asked again in the
 *                background. While it cannot answer (PostgreSQL or KMS down), the cached key keeps
 *                serving and the failure is reported, not thrown, up to hard bounds (`maxStaleMs`
 *                without a confirmation, `maxUses` payloads) past which encode waits for a fresh key.
 *   keys by id   every key this process sealed with or opened stays in memory (bounded count), so
 *                decoding a payload of a known key id needs neither the database nor KMS.
 */
import type { KeyPurpose } from '../db/keys-repo';
import type { KeyHierarchy } from './key-hierarchy';
import type { PayloadKeyring } from '../security/payload-codec';

export const PAYLOAD_ENTITY = '_payload';
const PURPOSE: KeyPurpose = 'payload';

/** Where keys come from: the key hierarchy (PostgreSQL + KMS). */
export interface PayloadKeySource {
  current(): Promise<{ id: string; key: Buffer }>;
  byId(id: string): Promise<Buffer>;
  /** Make the next current() hand out a new key (use-count bound reached). */
  retireCurrent(): void;
}

export interface PayloadKeyringOptions {
  refreshMs: number;
  rotateUses: number;
  maxStaleMs: number;
  /** Far below the 2^32 messages NIST SP 800-38D allows one AES-GCM key with random nonces. */
  maxUses: number;
  maxKeys: number;
  /** Backoff cap between failed background refreshes. */
  maxRetryMs: number;
  now: () => number;
  onRefreshError: (err: unknown) => void;
}

export const KEYRING_DEFAULTS: Omit<PayloadKeyringOptions, 'now' | 'onRefreshError'> = {
  refreshMs: 10_000,
  rotateUses: 10_000,
  maxStaleMs: 60 * 60_000,
  maxUses: 2 ** 24,
  maxKeys: 1000,
  maxRetryMs: 30_000,
};

interface Current {
  id: string;
  key: Buffer;
  confirmedAt: number;
  uses: number;
}

export function createCachingKeyring(
  source: PayloadKeySource,
  options: Partial<PayloadKeyringOptions> = {},
): PayloadKeyring & { warm(): Promise<void>; stats(): { known: number; failures: number } } {
  const o = { ...KEYRING_DEFAULTS, ...options };
  const now = o.now ?? Date.now;
  const report = o.onRefreshError ?? (() => undefined);
  let cur: Current | undefined;
  let refreshing: Promise<Current> | undefined;
  let failures = 0;
  let retryAt = 0;
  const known = new Map<string, Buffer>();
  const loading = new Map<string, Promise<Buffer>>();

  function remember(id: string, key: Buffer): void {
    known.delete(id);
    known.set(id, key);
    for (const oldest of known.keys()) {
      if (known.size <= o.maxKeys) break;
      if (oldest !== cur?.id) known.delete(oldest);
    }
  }

  /** One refresh at a time; every caller waiting on it shares its outcome. */
  function refresh(): Promise<Current> {
    refreshing ??= (async () => {
      if (cur && cur.uses >= o.rotateUses) source.retireCurrent();
      try {
        const k = await source.current();
        if (cur?.id === k.id) cur.confirmedAt = now();
        else cur = { id: k.id, key: k.key, confirmedAt: now(), uses: 0 };
        remember(k.id, k.key);
        failures = 0;
        return cur;
      } catch (err) {
        failures++;
        retryAt = now() + Math.min(500 * 2 ** Math.min(failures, 16), o.maxRetryMs);
        throw err;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  const usable = (c: Current, t: number) => t - c.confirmedAt < o.maxStaleMs && c.uses < o.maxUses;
  const due = (c: Current, t: number) => t - c.confirmedAt >= o.refreshMs || c.uses >= o.rotateUses;

  return {
    async current() {
      const t = now();
      const c = cur && usable(cur, t) ? cur : await refresh();
      if (due(c, t) && !refreshing && t >= retryAt) refresh().catch(report);
      c.uses++;
      return { id: c.id, key: c.key };
    },
    async byId(id) {
      const hit = known.get(id);
      if (hit) return hit;
      let p = loading.get(id);
      if (!p) {
        p = source
          .byId(id)
          .then((key) => {
            remember(id, key);
            return key;
          })
          .finally(() => loading.delete(id));
        loading.set(id, p);
      }
      return p;
    },
    async warm() {
      await refresh();
    },
    stats: () => ({ known: known.size, failures }),
  };
}

/** The keyring of payload keys under the payload KEK, through the hierarchy's own cache. */
export function keyringFromHierarchy(
  hierarchy: KeyHierarchy,
  options: Partial<PayloadKeyringOptions> = {},
): ReturnType<typeof createCachingKeyring> {
  return createCachingKeyring(
    {
      async current() {
        const k = await hierarchy.currentWrappingKey(PAYLOAD_ENTITY, PURPOSE);
        return { id: k.id, key: k.key };
      },
      async byId(id) {
        return (await hierarchy.wrappingKey(id, { legalEntity: PAYLOAD_ENTITY, purpose: PURPOSE })).key;
      },
      retireCurrent: () => hierarchy.retireCurrent(PAYLOAD_ENTITY, PURPOSE),
    },
    options,
  );
}
