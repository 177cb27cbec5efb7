/** Configuration: a bad or missing value names the variable; defaults are as documented. */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadApiConfig } from '../../api/config';
import { ConfigError } from '../../domain/config';
import { loadCardWorkerConfig } from '../../workers/config';

const good = () => ({
  DATABASE_URL: 'postgres://u@127.0.0.1:5432/db',
  SETTLE_LOCAL_MASTER_KEY: randomBytes(32).toString('base64'),
  SETTLE_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
  SETTLE_SECRET_ROOT_KEY: randomBytes(32).toString('base64'),
  SETTLE_JWT_PRIVATE_KEY: generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString(),
});

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

test('defaults apply when only the required variables are set', () => {
  const c = loadApiConfig(good());
  expect(c).toMatchObject({
    PORT: 3000,
    TEMPORAL_ADDRESS: '127.0.0.1:7233',
    SETTLE_TOKEN_TTL_SECONDS: 900,
    SETTLE_ADMIN_ALLOWLIST: '127.0.0.1/32,::1/128',
  });
});

test('a missing required variable is named', () => {
  const { DATABASE_URL: _omit, ...env } = good();
  expect(problems(() => loadApiConfig(env))).toEqual([expect.stringMatching(/^DATABASE_URL: is required/)]);
});

test.each([
  ['PORT', 'eighty'],
  ['SETTLE_TOKEN_TTL_SECONDS', '3600'],
  ['TEMPORAL_ADDRESS', 'no-port'],
  ['SETTLE_FINGERPRINT_KEY', 'c2hvcnQ='],
  ['SETTLE_SECRET_ROOT_KEY', 'c2hvcnQ='],
  ['LOG_LEVEL', 'loud'],
])('a bad %s is named and its value is not echoed', (name, value) => {
  const p = problems(() => loadApiConfig({ ...good(), [name]: value }));
  expect(p.length).toBe(1);
  expect(p[0]).toMatch(new RegExp(`^${name}: `));
  expect(p[0]).not.toContain(value);
});

test('the local key provider needs its master key; KMS needs a key id', () => {
  const { SETTLE_LOCAL_MASTER_KEY: _m, ...env } = good();
  expect(problems(() => loadCardWorkerConfig(env))).toEqual([
    expect.stringMatching(/^SETTLE_LOCAL_MASTER_KEY: /),
  ]);
  expect(problems(() => loadCardWorkerConfig({ ...env, SETTLE_KEY_PROVIDER: 'aws-kms' }))).toEqual([
    expect.stringMatching(/^SETTLE_KMS_KEY_ID: /),
  ]);
});

test('a process with a bad value exits non-zero with the variable name and no stack trace', () => {
  const root = path.join(__dirname, '../..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'api/server.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH, ...good(), PORT: 'abc' },
    encoding: 'utf8',
  });
  expect(r.status).toBe(78);
  expect(r.stderr).toMatch(/PORT: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}, 30_000);
