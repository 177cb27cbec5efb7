/**
 * Dispute evidence files, outside Temporal history: sealed by the API when the merchant sends them,
 * opened only by the card-data worker just before they go to the provider (it is the worker's
 * DisputeEvidenceStore, activities/providers/types.ts, by shape). Same envelope hierarchy as the card vault and bank accounts: a data
 * key per file from the KeyProvider, its encryption context naming the purpose
 * (`dispute_evidence`), the legal entity and the file; AES-256-GCM with associated data binding the
 * ciphertext to its file and dispute, so a blob copied to another row fails instead of decrypting.
 */
import type { DisputeEvidenceRepo } from '../db/dispute-evidence-repo';
import { open, seal } from '../security/envelope';
import type { KeyProvider } from '../security/key-provider';
import { createKeyProvider, type KeyConfig } from './vault-factory';

/** A decrypted file; structurally the card-data worker's DisputeEvidenceFile (no upward import). */
export interface DisputeEvidenceFile {
  name: string;
  contentType: string;
  content: Buffer;
}

export interface EvidenceFileInput {
  id: string;
  name: string;
  contentType: string;
  content: Buffer;
}

const keyContext = (id: string, legalEntity: string) => ({ purpose: 'dispute_evidence', legalEntity, id });
const aad = (id: string, disputeId: string, legalEntity: string) =>
  `settle:dispute_evidence:${legalEntity}:${disputeId}:${id}`;

export function createDisputeEvidence(deps: {
  repo: DisputeEvidenceRepo;
  keyProvider: KeyProvider;
  kekIdFor: (legalEntity: string) => string;
}) {
  return {
    /** Seal and store the files of one dispute (API side). */
    async store(
      a: { disputeId: string; clientId: string; legalEntity: string },
      files: readonly EvidenceFileInput[],
    ): Promise<void> {
      const kekId = deps.kekIdFor(a.legalEntity);
      const sealed = [];
      for (const f of files) {
        const dk = await deps.keyProvider.generateDataKey(kekId, keyContext(f.id, a.legalEntity));
        try {
          sealed.push({
            id: f.id,
            disputeId: a.disputeId,
            clientId: a.clientId,
            name: f.name,
            contentType: f.contentType,
            size: f.content.length,
            legalEntity: a.legalEntity,
            kekId,
            wrappedKey: dk.wrapped,
            contentCt: seal(dk.plaintext, f.content, aad(f.id, a.disputeId, a.legalEntity)),
          });
        } finally {
          dk.plaintext.fill(0);
        }
      }
      await deps.repo.insert(sealed);
    },

    /** Card-data worker only: the decrypted files, for the provider call. */
    async read(disputeId: string, fileIds: readonly string[]): Promise<DisputeEvidenceFile[]> {
      const rows = await deps.repo.read(disputeId, fileIds);
      if (rows.length !== fileIds.length) throw new Error(`evidence files of ${disputeId} are missing`);
      const out: DisputeEvidenceFile[] = [];
      for (const r of rows) {
        const key = await deps.keyProvider.decryptDataKey(
          r.kekId,
          r.wrappedKey,
          keyContext(r.id, r.legalEntity),
        );
        try {
          out.push({
            name: r.name,
            contentType: r.contentType,
            content: open(key, r.contentCt, aad(r.id, disputeId, r.legalEntity)),
          });
        } finally {
          key.fill(0);
        }
      }
      return out;
    },

    /** Files of evidence the workflow refused: nothing will ever send them. */
    discard: (disputeId: string, fileIds: readonly string[]) => deps.repo.delete(disputeId, fileIds),
  };
}
export type DisputeEvidence = ReturnType<typeof createDisputeEvidence>;

/** From configuration: the same key provider as the vault. */
export function disputeEvidenceFromConfig(
  cfg: Omit<KeyConfig, 'SETTLE_FINGERPRINT_KEY'>,
  repo: DisputeEvidenceRepo,
): DisputeEvidence {
  return createDisputeEvidence({ repo, ...createKeyProvider(cfg) });
}
