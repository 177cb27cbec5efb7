/**
 * Secret hashing with argon2id (OWASP parameters: m=19 MiB, t=2, p=1) through @node-rs/argon2.
 * Verification is constant time inside the library. `dummyVerify` burns the same time for unknown
 * principals so response timing does not reveal whether a client or operator exists.
 */
import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

const OPTS = { algorithm: 2 /* Argon2id */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashSecret(secret: string): Promise<string> {
  return hash(secret, OPTS);
}

export async function verifySecret(hashed: string, secret: string): Promise<boolean> {
  try {
    return await verify(hashed, secret);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;
export async function dummyVerify(secret: string): Promise<false> {
  dummyHash ??= hashSecret(randomBytes(16).toString('hex'));
  await verifySecret(await dummyHash, secret);
  return false;
}

/** A client secret: 32 random bytes, base64url, prefixed so it is recognisable in secret scanners. */
export function newClientSecret(): string {
  return `sk_settle_${randomBytes(32).toString('base64url')}`;
}
