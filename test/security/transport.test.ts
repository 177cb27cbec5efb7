/**
 * Transport and request hygiene (PCI DSS 4.2.1, 6.2.4; API.md Conventions): the API's own HTTPS
 * server refuses TLS below 1.2 to a real TLS client and sends HSTS; helmet headers; body size limit;
 * strict JSON; rate limits answer 429 `rate_limit` in the contract shape. The certificate is
 * generated here, at test time.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import https from 'node:https';
import tls from 'node:tls';
import type { Server } from 'node:https';
import { createApiServer } from '../../api/server';
import { startStack, type Stack } from '../support/stack';
import { makeTestCert } from '../support/tls-cert';

let stack: Stack;
let server: Server;
let port: number;
let dir: string;

beforeAll(async () => {
  stack = await startStack({
    workers: false,
    rateLimits: { authPerMinute: 3, clientLimit: 5, clientWindowMs: 60_000 },
  });
  dir = makeTestCert('settle-tls-').dir;
  server = createApiServer(stack.app, {
    cert: fs.readFileSync(path.join(dir, 'cert.pem')),
    key: fs.readFileSync(path.join(dir, 'key.pem')),
  }) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}, 120_000);
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await stack?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function handshake(
  opts: tls.ConnectionOptions,
): Promise<{ ok: true; protocol: string | null } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const protocol = s.getProtocol();
      s.end();
      resolve({ ok: true, protocol });
    });
    s.on('error', (err) => resolve({ ok: false, error: err.message }));
  });
}

test('a client limited to TLS 1.1 (or 1.0) cannot complete a handshake; the server answers with a protocol alert', async () => {
  // SECLEVEL=0 lets the CLIENT offer the old protocols, so the refusal comes from the server.
  for (const maxVersion of ['TLSv1.1', 'TLSv1'] as const) {
    const r = await handshake({ minVersion: 'TLSv1', maxVersion, ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(r.ok).toBe(false);
    // "tlsv1 alert protocol version": the alert the SERVER sent back (not a client-side refusal).
    if (!r.ok) expect(r.error).toMatch(/alert protocol version/i);
  }
});

test('TLS 1.2 and 1.3 clients connect; HTTPS responses carry HSTS', async () => {
  expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toEqual({
    ok: true,
    protocol: 'TLSv1.2',
  });
  expect(await handshake({ minVersion: 'TLSv1.3' })).toEqual({ ok: true, protocol: 'TLSv1.3' });
  const res = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false }, (r) => {
        r.resume();
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers }));
      })
      .on('error', reject);
  });
  expect(res.status).toBe(200);
  expect(res.headers['strict-transport-security']).toMatch(/max-age=31536000/);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-powered-by']).toBeUndefined();
});

test('oversized bodies are 413 and malformed or non-object JSON is 400, in the contract shape', async () => {
  const { authorization } = await stack.serviceAuth();
  const big = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', authorization)
    .set('Idempotency-Key', 'big-1')
    .set('Content-Type', 'application/json')
    .send(`{"holderName":"${'a'.repeat(70 * 1024)}"}`);
  expect(big.status).toBe(413);
  expect(big.body.error).toMatchObject({ type: 'invalid_request', code: 'body_too_large' });
  const bad = await stack.http
    .post('/v1/auth/token')
    .set('Content-Type', 'application/json')
    .send('{"clientId": "x", ');
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatchObject({ type: 'invalid_request', code: 'invalid_json' });
  const scalar = await stack.http
    .post('/v1/auth/login')
    .set('Content-Type', 'application/json')
    .send('"admin"');
  expect(scalar.status).toBe(400);
});

test('auth routes are rate limited per source; /v1 per client; 429 rate_limit in the contract shape', async () => {
  // authPerMinute = 3 (requests rejected by the JSON parser never reach the limiter).
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await stack.http.post('/v1/auth/token').send({ clientId: 'cli_nobody0000', clientSecret: 'x' });
    statuses.push(r.status);
    if (r.status === 429) {
      expect(r.body.error).toMatchObject({
        type: 'rate_limit',
        code: 'rate_limited',
        requestId: expect.any(String),
      });
    }
  }
  expect(statuses).toEqual([401, 401, 401, 429]);

  const a = await stack.serviceAuth();
  const b = await stack.serviceAuth();
  const aStatuses: number[] = [];
  for (let i = 0; i < 6; i++)
    aStatuses.push((await stack.http.get('/v1/payments').set('Authorization', a.authorization)).status);
  expect(aStatuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
  expect(aStatuses[5]).toBe(429);
  // Another client is not starved by the first.
  expect((await stack.http.get('/v1/payments').set('Authorization', b.authorization)).status).toBe(200);
});
