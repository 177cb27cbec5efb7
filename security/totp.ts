/**
 * TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s) through otplib. Verification accepts the current step
 * and one step either side (clock drift), and returns the matched time step: the caller makes the
 * code single-use by atomically advancing the operator's last used step in the database
 * (db/operators-repo.ts consumeTotpStep). Secrets are sealed with AES-256-GCM under SETTLE_TOTP_KEY.
 */
// The otplib facade pulls ESM-only plugins (@scure/base, @noble/hashes) that Jest's CommonJS
// runtime cannot load, so we use otplib's own TOTP engine and URI builder (the packages the facade
// wraps) with a node:crypto plugin. The secret goes in as bytes, so no base32 plugin is needed.
import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../domain/constant-time';
import type { CryptoPlugin } from '@otplib/core';
import { generate, verify } from '@otplib/totp';
import { generateTOTP } from '@otplib/uri';
import { open, seal } from './envelope';

const nodeCrypto: CryptoPlugin = {
  name: 'node',
  hmac: (algorithm, key, data) => new Uint8Array(createHmac(algorithm, key).update(data).digest()),
  randomBytes: (n) => new Uint8Array(randomBytes(n)),
  constantTimeEqual,
};

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (the otpauth:// `secret` format). */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(s: string): Uint8Array {
  const clean = s.toUpperCase().replace(/=+$/, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const i = B32.indexOf(ch);
    if (i < 0) throw new Error('invalid base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

export const PERIOD_SECONDS = 30;

export function newTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

export function enrolmentUri(secret: string, username: string, issuer = 'Settle'): string {
  return generateTOTP({
    issuer,
    label: username,
    secret,
    period: PERIOD_SECONDS,
    digits: 6,
    algorithm: 'sha1',
  });
}

/** The code for `at`, as an authenticator app would show it (the operator-login tests sign in with it). */
export function totpCode(secret: string, at: Date): Promise<string> {
  return generate({
    secret: base32Decode(secret),
    crypto: nodeCrypto,
    epoch: Math.floor(at.getTime() / 1000),
    period: PERIOD_SECONDS,
  });
}

/** The matched time step, or undefined. The library compares codes in constant time. */
export async function verifyTotp(secret: string, code: string, at: Date): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  try {
    const r = await verify({
      secret: base32Decode(secret),
      crypto: nodeCrypto,
      token: code,
      epoch: Math.floor(at.getTime() / 1000),
      period: PERIOD_SECONDS,
      epochTolerance: PERIOD_SECONDS,
    });
    return r.valid ? r.timeStep : undefined;
  } catch {
    return undefined;
  }
}

/** AAD binds a sealed secret to its operator: a blob copied to another row does not open. */
const aad = (operatorId: string) => `settle:totp:${operatorId}`;

export function sealTotpSecret(key: Buffer, operatorId: string, secret: string): Buffer {
  return seal(key, Buffer.from(secret, 'utf8'), aad(operatorId));
}

export function openTotpSecret(key: Buffer, operatorId: string, blob: Buffer): string {
  return open(key, blob, aad(operatorId)).toString('utf8');
}
