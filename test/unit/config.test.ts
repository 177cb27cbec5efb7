/** Configuration: a bad or missing value names the variable; defaults are as documented. */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { ConfigError } from '../../config/shapes';
import {
  loadApiConfig,
  loadCardWorkerConfig,
  loadPaymentWorkerConfig,
  loadWebhookWorkerConfig,
} from '../../config/load';
import { PROVIDER_NAMES } from '../../domain/providers';

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

test('the provider variables take exactly the provider names of domain/providers.ts', () => {
  const c = loadApiConfig({ ...good(), SETTLE_PROVIDERS: 'sandbox', SETTLE_DEFAULT_PROVIDER: 'sandbox' });
  expect(c.SETTLE_DEFAULT_PROVIDER).toBe('sandbox');
  expect(
    problems(() =>
      loadCardWorkerConfig({ ...good(), SETTLE_PROVIDERS: [...PROVIDER_NAMES, 'paypal'].join(',') }),
    ),
  ).toEqual([
    expect.stringMatching(/^SETTLE_PROVIDERS: must be a comma-separated list of sandbox, stripe, braintree/),
  ]);
  expect(problems(() => loadApiConfig({ ...good(), SETTLE_DEFAULT_PROVIDER: 'paypal' }))).toEqual([
    expect.stringMatching(/^SETTLE_DEFAULT_PROVIDER: /),
  ]);
});

test('every worker checks its key variables in its one parse', () => {
  const { SETTLE_LOCAL_MASTER_KEY: _m, ...env } = good();
  for (const load of [loadPaymentWorkerConfig, loadWebhookWorkerConfig, loadCardWorkerConfig]) {
    expect(problems(() => load(env))).toEqual([expect.stringMatching(/^SETTLE_LOCAL_MASTER_KEY: /)]);
    expect(problems(() => load({ ...good(), SETTLE_KMS_KEYS: 'not a map' }))).toEqual([
      expect.stringMatching(/^SETTLE_KMS_KEYS: /),
    ]);
  }
});

const ROOT = path.join(__dirname, '../..');
const run = (file: string, env: NodeJS.ProcessEnv, args: string[] = []) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, file), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });

// Nothing listens on port 1: a worker that got as far as the database would fail there, with exit 1.
test.each(['workers/payment-worker.ts', 'workers/webhook-worker.ts', 'workers/card-worker.ts'])(
  '%s refuses a bad key variable at its start, before any I/O (exit 78, variable named)',
  (file) => {
    const { SETTLE_LOCAL_MASTER_KEY: _m, ...env } = good();
    const r = run(file, { ...env, DATABASE_URL: 'postgres://u@127.0.0.1:1/db' });
    expect(r.stderr).toMatch(/SETTLE_LOCAL_MASTER_KEY: required when SETTLE_KEY_PROVIDER=local/);
    expect(r.status).toBe(78);
  },
  30_000,
);

test('the CLI parses its environment once, before the command, and names a missing variable', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-cli-'));
  try {
    const r = run('cli/index.ts', { SETTLE_DATA_DIR: empty }, ['clients', 'create', '--name', 'x']);
    expect(r.stderr).toMatch(/DATABASE_URL: is required/);
    expect(r.status).toBe(78);
    const bad = run('cli/index.ts', { SETTLE_DATA_DIR: empty, SETTLE_TOTP_KEY: 'c2hvcnQ=' }, [
      'operators',
      'unlock',
      '--username',
      'nobody',
    ]);
    expect(bad.stderr).toMatch(/SETTLE_TOTP_KEY: must be 32 bytes/);
    expect(bad.stderr).not.toContain('c2hvcnQ=');
    expect(bad.status).toBe(78);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
}, 60_000);
