/**
 * Start and stop of the API process are audit events (PCI DSS 10.2.1.6), and the process serves
 * HTTPS itself when given a certificate: the real `api/server.ts` is started as a child process,
 * called over TLS, then stopped with SIGTERM (graceful stop).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createPool, type Pool } from '../../db/pool';
import { freePort, ROOT } from '../../scripts/tools';
import { testEnv, testKeyEnv } from '../support/stack';
import { makeTestCert } from '../support/tls-cert';

let pool: Pool;
let dir: string;

beforeAll(() => {
  pool = createPool(testEnv().databaseUrl, 'settle-test-process-audit', 2);
  dir = makeTestCert('settle-api-tls-').dir;
});
afterAll(async () => {
  await pool?.end();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the API appends process.start when it listens and process.stop on SIGTERM', async () => {
  const { temporalAddress, databaseUrl } = testEnv();
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'api/server.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      ...testKeyEnv(),
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      PORT: String(port),
      METRICS_PORT: '0',
      SETTLE_TOTP_KEY: randomBytes(32).toString('base64'),
      SETTLE_TLS_CERT_FILE: path.join(dir, 'cert.pem'),
      SETTLE_TLS_KEY_FILE: path.join(dir, 'key.pem'),
    },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const resource = `process:api:${child.pid}`;
  const events = async () =>
    (
      await pool.query<{ action: string; actor: string; outcome: string }>(
        'SELECT action, actor, outcome FROM audit_events WHERE resource = $1 ORDER BY seq',
        [resource],
      )
    ).rows;
  const until = async (pred: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 60_000;
    while (!(await pred())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await until(async () => (await events()).length >= 1, 'process.start');
    expect(await events()).toEqual([{ action: 'process.start', actor: 'system:api', outcome: 'success' }]);

    // It serves HTTPS with HSTS on the configured port.
    const res = await new Promise<{ status: number; hsts: unknown }>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false }, (r) => {
          r.resume();
          r.on('end', () =>
            resolve({ status: r.statusCode ?? 0, hsts: r.headers['strict-transport-security'] }),
          );
        })
        .on('error', reject);
    });
    expect(res.status).toBe(200);
    expect(res.hsts).toMatch(/max-age=/);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await events()).map((e) => e.action)).toEqual(['process.start', 'process.stop']);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 90_000);
