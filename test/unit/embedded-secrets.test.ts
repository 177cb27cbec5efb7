/**
 * npm start's generated secrets: a .data/ from before a key existed gets the new key added (the
 * secret root, the runtime role's password) while every existing key stays as it was.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateSecrets } from '../../scripts/secrets';

test('an existing secrets.json without the secret root gets one added; existing keys never change', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-secrets-'));
  try {
    const old = {
      SETTLE_LOCAL_MASTER_KEY: randomBytes(32).toString('base64'),
      SETTLE_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
      SETTLE_JWT_PRIVATE_KEY: 'kept as is',
    };
    fs.writeFileSync(path.join(dir, 'secrets.json'), JSON.stringify(old));
    const s = loadOrCreateSecrets(dir);
    expect(s).toMatchObject(old);
    expect(Buffer.from(s.SETTLE_SECRET_ROOT_KEY, 'base64')).toHaveLength(32);
    expect(s.SETTLE_SECRET_ROOT_KEY).not.toBe(s.SETTLE_FINGERPRINT_KEY);
    expect(s.SETTLE_DB_RUNTIME_PASSWORD.length).toBeGreaterThanOrEqual(16);
    // Written back (0600) and stable from then on.
    expect(fs.statSync(path.join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecrets(dir)).toEqual(s);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
