/**
 * Dispute evidence files, stored ENCRYPTED (vault/dispute-evidence.ts seals and opens them): this
 * repository only moves ciphertext and its wrapped data key.
 */
import type { Pool } from './pool';

export interface SealedEvidenceFile {
  id: string;
  disputeId: string;
  clientId: string;
  name: string;
  contentType: string;
  size: number;
  legalEntity: string;
  kekId: string;
  wrappedKey: Buffer;
  contentCt: Buffer;
}

export function createDisputeEvidenceRepo(pool: Pool) {
  return {
    /** Insert the files; a retried request with the same ids writes nothing twice. */
    async insert(files: readonly SealedEvidenceFile[]): Promise<void> {
      for (const f of files) {
        await pool.query(
          `INSERT INTO dispute_evidence_files (id, dispute_id, client_id, name, content_type, size, legal_entity,
                  kek_id, wrapped_key, content_ct)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO NOTHING`,
          [
            f.id,
            f.disputeId,
            f.clientId,
            f.name,
            f.contentType,
            f.size,
            f.legalEntity,
            f.kekId,
            f.wrappedKey,
            f.contentCt,
          ],
        );
      }
    },

    /** The dispute's files among `ids`, in the order asked. */
    async read(disputeId: string, ids: readonly string[]): Promise<SealedEvidenceFile[]> {
      const r = await pool.query<{
        id: string;
        dispute_id: string;
        client_id: string;
        name: string;
        content_type: string;
        size: number;
        legal_entity: string;
        kek_id: string;
        wrapped_key: Buffer;
        content_ct: Buffer;
      }>('SELECT * FROM dispute_evidence_files WHERE dispute_id = $1 AND id = ANY($2::text[])', [
        disputeId,
        [...ids],
      ]);
      const byId = new Map(r.rows.map((x) => [x.id, x]));
      return ids.flatMap((id) => {
        const x = byId.get(id);
        return x
          ? [
              {
                id: x.id,
                disputeId: x.dispute_id,
                clientId: x.client_id,
                name: x.name,
                contentType: x.content_type,
                size: x.size,
                legalEntity: x.legal_entity,
                kekId: x.kek_id,
                wrappedKey: x.wrapped_key,
                contentCt: x.content_ct,
              },
            ]
          : [];
      });
    },

    /** Files of evidence the workflow refused (nothing refers to them). */
    async delete(disputeId: string, ids: readonly string[]): Promise<void> {
      await pool.query('DELETE FROM dispute_evidence_files WHERE dispute_id = $1 AND id = ANY($2::text[])', [
        disputeId,
        [...ids],
      ]);
    },

    async countFor(disputeId: string): Promise<number> {
      const r = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM dispute_evidence_files WHERE dispute_id = $1',
        [disputeId],
      );
      return r.rows[0]?.n ?? 0;
    },
  };
}
export type DisputeEvidenceRepo = ReturnType<typeof createDisputeEvidenceRepo>;
