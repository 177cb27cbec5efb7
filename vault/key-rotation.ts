/**
 * KEK rotation without downtime (PCI DSS 3.6.4, 3.7.4):
 *   1. the new KEK version becomes active at once: new cards go under a wrapping key of the new KEK
 *      (other processes switch within their KEK refresh interval);
 *   2. every live per-card data key still under an older KEK is unwrapped and re-wrapped under a
 *      wrapping key of the new KEK, in batches, with compare-and-set updates (a card shredded or
 *      re-wrapped meanwhile is skipped, never resurrected);
 *   3. old wrapping keys no live data key uses any more are destroyed and the old KEK versions retired.
 * Until step 3 both generations of wrapping keys exist, so every token decrypts during and after.
 * Interrupted? Run `keys rewrap`: the work list is "live data keys not under the active KEK".
 */
import type { KeysRepo, KekVersionRow } from '../db/keys-repo';
import { seal } from '../security/envelope';
import type { KeyHierarchy } from './key-hierarchy';
import { dataKeyAad, type Vault } from './vault';

export interface RewrapProgress {
  legalEntity: string;
  done: number;
  total: number;
  failed: number;
}

export interface RewrapReport extends RewrapProgress {
  kekId: string;
  wrappingKeysDestroyed: number;
  kekVersionsRetired: number;
}

export interface RewrapOptions {
  batchSize?: number;
  onProgress?: (p: RewrapProgress) => void;
  /** Give up if other processes keep writing under an old KEK for this long. */
  settleTimeoutMs?: number;
}

export interface KeyRotationDeps {
  keys: KeysRepo;
  hierarchy: KeyHierarchy;
  vault: Pick<Vault, 'unwrapDataKey'>;
}

export function createKeyRotation(deps: KeyRotationDeps) {
  async function rewrapAll(legalEntity: string, opts: RewrapOptions = {}): Promise<RewrapReport> {
    const batchSize = opts.batchSize ?? 200;
    const idleDeadline = Date.now() + (opts.settleTimeoutMs ?? 120_000);
    deps.hierarchy.refresh();
    const kekId = await deps.hierarchy.activeKek(legalEntity);
    const p: RewrapProgress = {
      legalEntity,
      done: 0,
      total: await deps.keys.countLive(legalEntity, kekId),
      failed: 0,
    };
    const failedIds = new Set<string>();
    let destroyed = 0;
    for (let pass = 0; pass < 1000; pass++) {
      const batch = (await deps.keys.rewrapCandidates(legalEntity, kekId, batchSize + failedIds.size)).filter(
        (c) => !failedIds.has(c.id),
      );
      if (batch.length === 0) {
        const r = await deps.keys.destroyUnusedWrappingKeys(legalEntity, kekId);
        destroyed += r.destroyed;
        // A key still in use here means a card was written under an old wrapping key after our last
        // read (a process that had not yet seen the new KEK): wait a moment and move it too. Other
        // processes switch within their KEK refresh interval, so this ends.
        if (r.inUse === 0 || failedIds.size > 0) break;
        if (Date.now() > idleDeadline)
          throw new Error(`re-wrap of ${legalEntity} did not settle; run keys rewrap again`);
        await new Promise((res) => setTimeout(res, 250));
        continue;
      }
      for (const c of batch) {
        const wk = await deps.hierarchy.currentWrappingKey(legalEntity, 'card');
        if (wk.kekId !== kekId)
          throw new Error(`the active KEK of ${legalEntity} changed during re-wrap; run it again`);
        if (!c.token) {
          failedIds.add(c.id);
          p.failed++;
          continue;
        }
        let dk: Buffer | undefined;
        try {
          dk = await deps.vault.unwrapDataKey({
            token: c.token,
            legalEntity,
            kekId: c.kekId,
            wrappingKeyId: c.wrappingKeyId,
            wrappedKey: c.wrapped,
          });
          const moved = await deps.keys.rewrap(c.id, c.wrapped, {
            wrapped: seal(wk.key, dk, dataKeyAad(c.token, legalEntity, wk.id)),
            kekId: wk.kekId,
            wrappingKeyId: wk.id,
          });
          if (moved) p.done++;
        } catch {
          // Unreadable key (corrupt or foreign row): report it, never destroy its wrapping key.
          failedIds.add(c.id);
          p.failed++;
        } finally {
          dk?.fill(0);
        }
      }
      opts.onProgress?.({ ...p, total: Math.max(p.total, p.done + p.failed) });
    }
    const retired = failedIds.size === 0 ? await deps.keys.retireKeks(legalEntity, kekId) : 0;
    return {
      ...p,
      total: Math.max(p.total, p.done + p.failed),
      kekId,
      wrappingKeysDestroyed: destroyed,
      kekVersionsRetired: retired,
    };
  }

  return {
    rewrapAll,
    /** Make `newKekId` the entity's active KEK, then re-wrap everything under it. */
    async rotate(
      legalEntity: string,
      newKekId: string,
      opts: RewrapOptions = {},
    ): Promise<RewrapReport & { version: number }> {
      const current = await deps.hierarchy.activeKek(legalEntity); // ensures version 1 exists
      if (current === newKekId) throw new Error(`${newKekId} is already the active KEK of ${legalEntity}`);
      const row = await deps.keys.addKekVersion(legalEntity, newKekId);
      return { ...(await rewrapAll(legalEntity, opts)), version: row.version };
    },
  };
}
export type KeyRotation = ReturnType<typeof createKeyRotation>;

export interface KekStatus {
  legalEntity: string;
  version: number;
  kekId: string;
  state: KekVersionRow['state'];
  ageDays: number;
  cryptoperiodDays: number;
  rotateBy: string;
  overdue: boolean;
  liveDataKeys: number;
}

/** Cryptoperiod report (PCI DSS 3.6.4): every KEK version, its age and when it must be rotated. */
export async function kekStatus(
  keys: KeysRepo,
  cryptoperiodDays: number,
  now = new Date(),
): Promise<KekStatus[]> {
  const out: KekStatus[] = [];
  for (const k of await keys.listKeks()) {
    const rotateBy = new Date(k.createdAt.getTime() + cryptoperiodDays * 86_400_000);
    out.push({
      legalEntity: k.legalEntity,
      version: k.version,
      kekId: k.kekId,
      state: k.state,
      ageDays: Math.floor((now.getTime() - k.createdAt.getTime()) / 86_400_000),
      cryptoperiodDays,
      rotateBy: rotateBy.toISOString(),
      overdue: k.state === 'active' && rotateBy.getTime() <= now.getTime(),
      liveDataKeys: await keys.countLiveUnder(k.legalEntity, k.kekId),
    });
  }
  return out;
}
