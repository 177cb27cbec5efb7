/**
 * AWS KMS as the KEK boundary: the KEK never leaves KMS. `GenerateDataKey` returns a fresh AES-256
 * key in clear plus wrapped; `Decrypt` unwraps it only with the same encryption context (KMS
 * authenticates the context as AAD and logs it in CloudTrail), which binds every wrapped key to its
 * legal entity and purpose. Tests run this against moto's KMS server (test/support/moto.ts).
 */
import {
  CreateKeyCommand,
  DecryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import type { DataKey, KeyProvider } from './key-provider';

export interface KmsKeyProviderOptions {
  region: string;
  /** Only for emulators (moto) or VPC endpoints; production uses the regional default. */
  endpoint?: string | undefined;
  /** Only for emulators; production uses the default credential chain (instance/task role). */
  credentials?: KMSClientConfig['credentials'];
}

export class KmsKeyProvider implements KeyProvider {
  readonly name = 'aws-kms' as const;
  private readonly kms: KMSClient;

  constructor(opts: KmsKeyProviderOptions) {
    this.kms = new KMSClient({
      region: opts.region,
      endpoint: opts.endpoint,
      credentials: opts.credentials,
      maxAttempts: 3,
    });
  }

  async generateDataKey(kekId: string, context: Record<string, string>): Promise<DataKey> {
    const out = await this.kms.send(
      new GenerateDataKeyCommand({ KeyId: kekId, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
    return { plaintext: Buffer.from(out.Plaintext), wrapped: Buffer.from(out.CiphertextBlob), kekId };
  }

  async decryptDataKey(kekId: string, wrapped: Buffer, context: Record<string, string>): Promise<Buffer> {
    // KeyId pins the KEK: a blob produced under another entity's key is refused, not silently decrypted.
    const out = await this.kms.send(
      new DecryptCommand({ KeyId: kekId, CiphertextBlob: wrapped, EncryptionContext: context }),
    );
    if (!out.Plaintext) throw new Error('KMS Decrypt returned no plaintext');
    return Buffer.from(out.Plaintext);
  }

  /** For `keys rotate` without an operator-supplied key: a new symmetric KMS key. */
  async createKey(description: string): Promise<string> {
    const out = await this.kms.send(
      new CreateKeyCommand({
        Description: description,
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
      }),
    );
    const id = out.KeyMetadata?.Arn ?? out.KeyMetadata?.KeyId;
    if (!id) throw new Error('KMS CreateKey returned no key id');
    return id;
  }

  destroy(): void {
    this.kms.destroy();
  }
}
