import { randomBytes } from 'node:crypto';

/** Contract id prefixes (API.md "Conventions"). */
export type IdPrefix =
  'pay' | 're' | 'tok' | 'ba' | 'evt' | 'we' | 'cli' | 'op' | 'req' | 'cap' | 'aud' | 'dp' | 'rc' | 'je';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `<prefix>_<24 base62 chars>` from 18 random bytes (~143 bits). Not for workflow code. */
export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(24);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % 62];
  return `${prefix}_${out}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return new RegExp(`^${prefix}_[0-9A-Za-z]{8,64}$`).test(id);
}
