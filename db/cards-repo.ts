import type { Pool } from './pool';
import { inTransaction } from './transaction';

export interface CardMetadataRow {
  token: string;
  clientId: string;
  legalEntity: string;
  brand: string;
  bin: string;
  last4: string;
  expMonth: number;
  expYear: number;
  fingerprint: string;
  createdAt: Date;
  deletedAt: Date | null;
}
export interface CardSecretRow {
  token: string;
  legalEntity: string;
  dataKeyId: string;
  kekId: string;
  /** NULL for data keys wrapped directly by the KEK (written before the wrapping-key tier). */
  wrappingKeyId: string | null;
  wrappedKey: Buffer | null;
  panCt: Buffer | null;
  cvcCt: Buffer | null;
  cvcExpiresAt: Date | null;
  expMonth: number;
  expYear: number;
}

const META = `token, client_id AS "clientId", legal_entity AS "legalEntity", brand, bin, last4,
  exp_month AS "expMonth", exp_year AS "expYear", fingerprint, created_at AS "createdAt", deleted_at AS "deletedAt"`;

export class WrappingKeyGoneError extends Error {
  constructor(readonly wrappingKeyId: string) {
    super(`wrapping key ${wrappingKeyId} was destroyed by a rotation`);
    this.name = 'WrappingKeyGoneError';
  }
}

export function createCardsRepo(pool: Pool) {
  return {
    async insert(row: {
      token: string;
      clientId: string;
      legalEntity: string;
      dataKeyId: string;
      kekId: string;
      wrappingKeyId?: string | null;
      wrappedKey: Buffer;
      panCt: Buffer;
      cvcCt: Buffer | null;
      cvcExpiresAt: Date | null;
      brand: string;
      bin: string;
      last4: string;
      expMonth: number;
      expYear: number;
      fingerprint: string;
    }): Promise<void> {
      await inTransaction(pool, async (c) => {
        if (row.wrappingKeyId) {
          // FOR SHARE: a rotation destroying this wrapping key waits for us (and then sees our card);
          // if it won the race the key is gone and the caller retries with a fresh one.
          const wk = await c.query(
            'SELECT 1 FROM wrapping_keys WHERE id = $1 AND wrapped IS NOT NULL FOR SHARE',
            [row.wrappingKeyId],
          );
          if (wk.rowCount !== 1) throw new WrappingKeyGoneError(row.wrappingKeyId);
        }
        await c.query(
          'INSERT INTO data_keys (id, kek_id, legal_entity, wrapped, wrapping_key_id) VALUES ($1, $2, $3, $4, $5)',
          [row.dataKeyId, row.kekId, row.legalEntity, row.wrappedKey, row.wrappingKeyId ?? null],
        );
        await c.query(
          `INSERT INTO cards (token, client_id, legal_entity, data_key_id, pan_ct, cvc_ct, cvc_expires_at, brand, bin,
             last4, exp_month, exp_year, fingerprint)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          [
            row.token,
            row.clientId,
            row.legalEntity,
            row.dataKeyId,
            row.panCt,
            row.cvcCt,
            row.cvcExpiresAt,
            row.brand,
            row.bin,
            row.last4,
            row.expMonth,
            row.expYear,
            row.fingerprint,
          ],
        );
      });
    },
    async findMetadata(token: string): Promise<CardMetadataRow | undefined> {
      const r = await pool.query<CardMetadataRow>(`SELECT ${META} FROM cards WHERE token = $1`, [token]);
      return r.rows[0];
    },
    async findSecret(token: string): Promise<CardSecretRow | undefined> {
      const r = await pool.query<CardSecretRow>(
        `SELECT c.token, c.legal_entity AS "legalEntity", c.data_key_id AS "dataKeyId", k.kek_id AS "kekId",
                k.wrapping_key_id AS "wrappingKeyId", k.wrapped AS "wrappedKey", c.pan_ct AS "panCt", c.cvc_ct AS "cvcCt", c.cvc_expires_at AS "cvcExpiresAt",
                c.exp_month AS "expMonth", c.exp_year AS "expYear"
           FROM cards c JOIN data_keys k ON k.id = c.data_key_id
          WHERE c.token = $1 AND c.deleted_at IS NULL`,
        [token],
      );
      return r.rows[0];
    },
    /** PCI DSS 3.3.1.2: the CVC goes after first use; NULLing the column leaves nothing to decrypt. */
    async destroyCvc(token: string): Promise<void> {
      await pool.query('UPDATE cards SET cvc_ct = NULL, cvc_expires_at = NULL WHERE token = $1', [token]);
    },
    async destroyExpiredCvcs(now: Date): Promise<number> {
      const r = await pool.query(
        'UPDATE cards SET cvc_ct = NULL, cvc_expires_at = NULL WHERE cvc_ct IS NOT NULL AND cvc_expires_at <= $1',
        [now],
      );
      return r.rowCount ?? 0;
    },
    /** Live tokens with this fingerprint (a GDPR request names the card, not our token). */
    async liveTokensByFingerprint(fingerprint: string): Promise<string[]> {
      const r = await pool.query<{ token: string }>(
        'SELECT token FROM cards WHERE fingerprint = $1 AND deleted_at IS NULL ORDER BY created_at',
        [fingerprint],
      );
      return r.rows.map((x) => x.token);
    },
    /** Crypto-shredding: destroy the wrapped data key and drop the ciphertexts. Returns false if absent. */
    async shred(token: string, clientId?: string): Promise<boolean> {
      return inTransaction(pool, async (c) => {
        const r = await c.query<{ dataKeyId: string }>(
          `UPDATE cards SET deleted_at = now(), pan_ct = NULL, cvc_ct = NULL, cvc_expires_at = NULL
            WHERE token = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR client_id = $2)
            RETURNING data_key_id AS "dataKeyId"`,
          [token, clientId ?? null],
        );
        const row = r.rows[0];
        if (row)
          await c.query('UPDATE data_keys SET wrapped = NULL, destroyed_at = now() WHERE id = $1', [
            row.dataKeyId,
          ]);
        return row !== undefined;
      });
    },
  };
}
export type CardsRepo = ReturnType<typeof createCardsRepo>;
