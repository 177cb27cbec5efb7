/**
 * Keys for the embedded default only: generated on first start into <data dir>/secrets.env (0600,
 * gitignored) so state survives a restart. Production supplies them through the environment / KMS.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const KEY_NAMES = [
  'SETTLE_LOCAL_MASTER_KEY',
  'SETTLE_FINGERPRINT_KEY',
  'SETTLE_SECRET_ROOT_KEY',
  // The runtime login role's database password (db/roles.ts); npm start keeps it out of the children.
  'SETTLE_DB_RUNTIME_PASSWORD',
  'SETTLE_TOTP_KEY',
  'SETTLE_WEBHOOK_KEY',
  // Signs the sandbox's webhooks (card worker) and verifies them (API).
  'SETTLE_SANDBOX_WEBHOOK_SECRET',
] as const;
export type EmbeddedSecrets = Record<(typeof KEY_NAMES)[number] | 'SETTLE_JWT_PRIVATE_KEY', string>;

export function loadOrCreateSecrets(dataDir: string): EmbeddedSecrets {
  const file = path.join(dataDir, 'secrets.json');
  const known = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<EmbeddedSecrets>)
    : {};
  // Keys added by later versions are generated once and kept; existing keys never change.
  const secrets = { ...known } as EmbeddedSecrets;
  for (const k of KEY_NAMES) secrets[k] ??= randomBytes(32).toString('base64');
  secrets.SETTLE_JWT_PRIVATE_KEY ??= generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
  if (JSON.stringify(secrets) !== JSON.stringify(known)) {
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    // `mode` applies only when the file is created: an existing one is narrowed too.
    fs.chmodSync(file, 0o600);
  }
  return secrets;
}
