/**
 * AES-256-GCM with a self-describing blob: version(1) | iv(12) | tag(16) | ciphertext.
 * Associated data binds a ciphertext to where it belongs (token, legal entity, field), so a blob
 * copied to another row fails authentication instead of decrypting.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_LEN = 12;
const TAG_LEN = 16;

export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  if (key.length !== 32) throw new RangeError('AES-256-GCM needs a 32-byte key');
  const iv = randomBytes(IV_LEN);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LEN });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ct]);
}

export function open(key: Buffer, blob: Buffer, aad: string): Buffer {
  if (key.length !== 32) throw new RangeError('AES-256-GCM needs a 32-byte key');
  if (blob.length < 1 + IV_LEN + TAG_LEN || blob[0] !== VERSION) throw new Error('malformed ciphertext');
  const iv = blob.subarray(1, 1 + IV_LEN);
  const tag = blob.subarray(1 + IV_LEN, 1 + IV_LEN + TAG_LEN);
  const ct = blob.subarray(1 + IV_LEN + TAG_LEN);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LEN });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]);
}

/** Canonical encryption context: sorted keys, so the same context always gives the same AAD. */
export function canonicalContext(context: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(context)
      .sort()
      .map((k) => [k, context[k]]),
  );
}
