/**
 * The codec server only verifies access tokens, so it holds only the public verification key(s)
 * (SETTLE_JWT_PUBLIC_KEYS), never the signing key: a compromise of the process that can decrypt
 * history must not also mint tokens for the API. The real process starts without
 * SETTLE_JWT_PRIVATE_KEY and accepts an operator token signed by the API's key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { codecShape, parseEnv } from '../../config/shapes';
import { startStack, testEnv, testKeyEnv, type Stack } from '../support/stack';

const ROOT = path.join(__dirname, '../..');
const keys = testKeyEnv();
const publicPem = createPublicKey(keys.SETTLE_JWT_PRIVATE_KEY)
  .export({ type: 'spki', format: 'pem' })
  .toString();
let stack: Stack;
let child: ChildProcess | undefined;

beforeAll(async () => {
  stack = await startStack({ workers: false, keys });
}, 120_000);
afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await stack?.stop();
});

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

test('the codec server configuration has no signing key, and requires the public key', () => {
  expect(Object.keys(codecShape)).not.toContain('SETTLE_JWT_PRIVATE_KEY');
  const { SETTLE_JWT_PRIVATE_KEY: _private, ...rest } = keys;
  const env = { ...rest, DATABASE_URL: 'postgres://u@127.0.0.1/db' };
  expect(() => parseEnv(codecShape, env)).toThrow(/SETTLE_JWT_PUBLIC_KEYS: is required/);
  expect(() => parseEnv(codecShape, { ...env, SETTLE_JWT_PUBLIC_KEYS: keys.SETTLE_JWT_PRIVATE_KEY })).toThrow(
    /SETTLE_JWT_PUBLIC_KEYS: /,
  );
  expect(parseEnv(codecShape, { ...env, SETTLE_JWT_PUBLIC_KEYS: publicPem })).toMatchObject({
    SETTLE_JWT_PUBLIC_KEYS: publicPem,
  });
});

test('the process starts without SETTLE_JWT_PRIVATE_KEY and verifies operator tokens with the public key', async () => {
  const port = await freePort();
  const { SETTLE_JWT_PRIVATE_KEY: _private, ...rest } = keys;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ...rest,
    DATABASE_URL: testEnv().runtimeDatabaseUrl,
    SETTLE_JWT_PUBLIC_KEYS: publicPem,
    SETTLE_CODEC_PORT: String(port),
    SETTLE_CODEC_HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'api/codec-server-main.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child = proc;
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    proc.on('message', (m: unknown) => {
      if ((m as { ready?: string } | undefined)?.ready === 'codec-server') resolve();
    });
    proc.once('exit', (code) => reject(new Error(`codec server exited (${code}): ${stderr}`)));
  });

  const admin = await stack.operatorAuth('admin');
  const post = (authorization?: string) =>
    fetch(`http://127.0.0.1:${port}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ payloads: [] }),
    });
  expect((await post()).status).toBe(401);
  const ok = await post(admin.authorization);
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ payloads: [] });
}, 60_000);
