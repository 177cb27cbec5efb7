/**
 * Key hierarchy tables: KEK versions per legal entity and wrapping keys (compliance/key-hierarchy.md).
 * Per-card data keys stay in data_keys (db/cards-repo.ts); re-wrapping them for rotation lives here
 * because it is a key operation, not a card operation.
 */
import type { Pool } from './pool';
import { inTransaction } from './transaction';

export type KeyPurpose = 'card' | 'payload';
export interface KekVersionRow {
  legalEntity: string;
  version: number;
  kekId: string;
  state: 'active' | 'retiring' | 'retired';
  createdAt: Date;
  retiredAt: Date | null;
}
export interface WrappingKeyRow {
  id: string;
  legalEntity: string;
  purpose: KeyPurpose;
  kekId: string;
  wrapped: Buffer | null;
  createdAt: Date;
}
export interface RewrapCandidate {
  id: string;
  token: string | null;
  legalEntity: string;
  kekId: string;
  wrappingKeyId: string | null;
  wrapped: Buffer;
}

const KEK = `legal_entity AS "legalEntity", version, kek_id AS "kekId", state, created_at AS "createdAt",
  retired_at AS "retiredAt"`;
const WK = `id, legal_entity AS "legalEntity", purpose, kek_id AS "kekId", wrapped, created_at AS "createdAt"`;

export function createKeysRepo(pool: Pool) {
  return {
    async activeKek(legalEntity: string): Promise<KekVersionRow | undefined> {
      const r = await pool.query<KekVersionRow>(
        `SELECT ${KEK} FROM kek_versions WHERE legal_entity = $1 AND state = 'active'`,
        [legalEntity],
      );
      return r.rows[0];
    },
    /** First use of an entity: record the configured KEK as version 1 (idempotent across processes). */
    async ensureKek(legalEntity: string, kekId: string): Promise<KekVersionRow> {
      await pool.query(
        `INSERT INTO kek_versions (legal_entity, version, kek_id, state) VALUES ($1, 1, $2, 'active')
         ON CONFLICT DO NOTHING`,
        [legalEntity, kekId],
      );
      const row = await this.activeKek(legalEntity);
      if (!row) throw new Error(`no active KEK for legal entity ${legalEntity}`);
      return row;
    },
    async listKeks(legalEntity?: string): Promise<KekVersionRow[]> {
      const r = await pool.query<KekVersionRow>(
        `SELECT ${KEK} FROM kek_versions WHERE ($1::text IS NULL OR legal_entity = $1)
          ORDER BY legal_entity, version`,
        [legalEntity ?? null],
      );
      return r.rows;
    },
    /** Rotation step 1: the new version becomes active at once; older ones are 'retiring'. */
    async addKekVersion(legalEntity: string, kekId: string): Promise<KekVersionRow> {
      return inTransaction(pool, async (c) => {
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`kek:${legalEntity}`]);
        const v = await c.query<{ max: number | null }>(
          'SELECT max(version) AS max FROM kek_versions WHERE legal_entity = $1',
          [legalEntity],
        );
        await c.query(
          `UPDATE kek_versions SET state = 'retiring' WHERE legal_entity = $1 AND state = 'active'`,
          [legalEntity],
        );
        const r = await c.query<KekVersionRow>(
          `INSERT INTO kek_versions (legal_entity, version, kek_id, state) VALUES ($1, $2, $3, 'active')
           RETURNING ${KEK}`,
          [legalEntity, (v.rows[0]?.max ?? 0) + 1, kekId],
        );
        return r.rows[0]!;
      });
    },
    async retireKeks(legalEntity: string, exceptKekId: string): Promise<number> {
      const r = await pool.query(
        `UPDATE kek_versions SET state = 'retired', retired_at = now()
          WHERE legal_entity = $1 AND state = 'retiring' AND kek_id <> $2`,
        [legalEntity, exceptKekId],
      );
      return r.rowCount ?? 0;
    },

    async insertWrappingKey(row: Omit<WrappingKeyRow, 'createdAt'> & { wrapped: Buffer }): Promise<void> {
      await pool.query(
        'INSERT INTO wrapping_keys (id, legal_entity, purpose, kek_id, wrapped) VALUES ($1, $2, $3, $4, $5)',
        [row.id, row.legalEntity, row.purpose, row.kekId, row.wrapped],
      );
    },
    async findWrappingKey(id: string): Promise<WrappingKeyRow | undefined> {
      const r = await pool.query<WrappingKeyRow>(`SELECT ${WK} FROM wrapping_keys WHERE id = $1`, [id]);
      return r.rows[0];
    },

    /** Live data keys of an entity not yet under `kekId` (the rotation work list), oldest first. */
    async rewrapCandidates(legalEntity: string, kekId: string, limit: number): Promise<RewrapCandidate[]> {
      const r = await pool.query<RewrapCandidate>(
        `SELECT d.id, c.token, d.legal_entity AS "legalEntity", d.kek_id AS "kekId",
                d.wrapping_key_id AS "wrappingKeyId", d.wrapped
           FROM data_keys d LEFT JOIN cards c ON c.data_key_id = d.id
          WHERE d.legal_entity = $1 AND d.wrapped IS NOT NULL AND d.kek_id <> $2
          ORDER BY d.created_at LIMIT $3`,
        [legalEntity, kekId, limit],
      );
      return r.rows;
    },
    async countLive(legalEntity: string, kekId?: string): Promise<number> {
      const r = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM data_keys WHERE legal_entity = $1 AND wrapped IS NOT NULL
           AND ($2::text IS NULL OR kek_id <> $2)`,
        [legalEntity, kekId ?? null],
      );
      return r.rows[0]?.n ?? 0;
    },
    async countLiveUnder(legalEntity: string, kekId: string): Promise<number> {
      const r = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM data_keys WHERE legal_entity = $1 AND wrapped IS NOT NULL AND kek_id = $2',
        [legalEntity, kekId],
      );
      return r.rows[0]?.n ?? 0;
    },
    /**
     * Compare-and-set: replace the wrapped key only if it is still the one we read, so a card shredded
     * (wrapped = NULL) or re-wrapped by someone else meanwhile is never resurrected or clobbered.
     */
    async rewrap(
      id: string,
      expected: Buffer,
      next: { wrapped: Buffer; kekId: string; wrappingKeyId: string },
    ): Promise<boolean> {
      const r = await pool.query(
        `UPDATE data_keys SET wrapped = $3, kek_id = $4, wrapping_key_id = $5 WHERE id = $1 AND wrapped = $2`,
        [id, expected, next.wrapped, next.kekId, next.wrappingKeyId],
      );
      return (r.rowCount ?? 0) === 1;
    },
    /**
     * Destroy the entity's wrapping keys under KEKs other than `kekId` that no live data key uses.
     * The row lock (FOR UPDATE) waits for any card insert holding FOR SHARE on the key, and the count
     * runs as a new statement (fresh snapshot), so a card written under the key meanwhile is seen.
     */
    async destroyUnusedWrappingKeys(
      legalEntity: string,
      kekId: string,
    ): Promise<{ destroyed: number; inUse: number }> {
      const ids = await pool.query<{ id: string }>(
        `SELECT id FROM wrapping_keys WHERE legal_entity = $1 AND purpose = 'card' AND kek_id <> $2
           AND wrapped IS NOT NULL`,
        [legalEntity, kekId],
      );
      let destroyed = 0;
      let inUse = 0;
      for (const { id } of ids.rows) {
        const wasDestroyed = await inTransaction(pool, async (c) => {
          await c.query('SELECT id FROM wrapping_keys WHERE id = $1 FOR UPDATE', [id]);
          const n = await c.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM data_keys WHERE wrapping_key_id = $1 AND wrapped IS NOT NULL',
            [id],
          );
          if ((n.rows[0]?.n ?? 0) !== 0) return false;
          await c.query('UPDATE wrapping_keys SET wrapped = NULL, destroyed_at = now() WHERE id = $1', [id]);
          return true;
        });
        if (wasDestroyed) destroyed++;
        else inUse++;
      }
      return { destroyed, inUse };
    },
    async wrappingKeyStats(): Promise<
      Array<{ legalEntity: string; purpose: string; kekId: string; live: number; destroyed: number }>
    > {
      const r = await pool.query(
        `SELECT legal_entity AS "legalEntity", purpose, kek_id AS "kekId",
                count(*) FILTER (WHERE wrapped IS NOT NULL)::int AS live,
                count(*) FILTER (WHERE wrapped IS NULL)::int AS destroyed
           FROM wrapping_keys GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      );
      return r.rows as Array<{
        legalEntity: string;
        purpose: string;
        kekId: string;
        live: number;
        destroyed: number;
      }>;
    },
  };
}
export type KeysRepo = ReturnType<typeof createKeysRepo>;
