/**
 * The key-encryption-key (KEK) boundary. Data keys are generated and unwrapped here; the KEK itself
 * never leaves the provider. Two implementations behind one interface:
 *   - aws-kms: AWS KMS GenerateDataKey / Decrypt with an encryption context (security/kms-key-provider.ts)
 *   - local:   a 32-byte master key from the environment. NOT FOR PRODUCTION: it exists so the
 *              embedded default runs without AWS; it offers no separation between key and data.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { canonicalContext, open, seal } from './envelope';

export interface DataKey {
  /** Plaintext data key (32 bytes). Zero it when done where practical; never log it. */
  plaintext: Buffer;
  /** Data key wrapped by the KEK: safe to store. */
  wrapped: Buffer;
  /** Which KEK wrapped it (KMS key ARN/id, or `local:<n>`). */
  kekId: string;
}

export interface KeyProvider {
  readonly name: 'local' | 'aws-kms';
  /** Generate a data key under `kekId` bound to `context` (e.g. { legalEntity, purpose }). */
  generateDataKey(kekId: string, context: Record<string, string>): Promise<DataKey>;
  /** Unwrap a data key; fails if the context differs from the one it was generated with. */
  decryptDataKey(kekId: string, wrapped: Buffer, context: Record<string, string>): Promise<Buffer>;
}

export class LocalKeyProvider implements KeyProvider {
  readonly name = 'local' as const;
  private readonly master: Buffer;
  private readonly cache = new Map<string, Buffer>();

  /**
   * Every KEK id (`local:<legalEntity>:v<n>`) gets its own key, derived from the master key with
   * HKDF-SHA256, so legal entities and rotations are separated as they would be with KMS keys.
   */
  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new RangeError('local master key must be 32 bytes');
    this.master = masterKey;
  }

  private kek(kekId: string): Buffer {
    let k = this.cache.get(kekId);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', this.master, 'settle-local-kek', kekId, 32));
      this.cache.set(kekId, k);
    }
    return k;
  }

  generateDataKey(kekId: string, context: Record<string, string>): Promise<DataKey> {
    const plaintext = randomBytes(32);
    const wrapped = seal(this.kek(kekId), plaintext, canonicalContext({ ...context, kek: kekId }));
    return Promise.resolve({ plaintext, wrapped, kekId });
  }

  decryptDataKey(kekId: string, wrapped: Buffer, context: Record<string, string>): Promise<Buffer> {
    return Promise.resolve().then(() =>
      open(this.kek(kekId), wrapped, canonicalContext({ ...context, kek: kekId })),
    );
  }
}
