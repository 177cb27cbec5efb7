/**
 * The per-client limit on /v1 (api/middleware/rate-limit.ts): by default a service client may send
 * 100 requests per second (Stripe's per-account rate); the 101st within the second is 429 `rate_limit`
 * in the contract's shape, another client is unaffected, and the next second the client is served
 * again. The clock is frozen (only Date and the store's interval are faked), so "within one second"
 * never depends on how fast the machine is.
 */
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { clientRateLimit, DEFAULT_RATE_LIMITS } from '../../api/middleware/rate-limit';
import { errorHandler, requestId } from '../../api/middleware/common';
import { createLogger } from '../../security/logger';

let server: Server;

beforeEach(() => {
  jest.useFakeTimers({
    doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'setTimeout', 'clearTimeout'],
  });
  const app = express();
  app.use(requestId);
  // Stands in for authentication: the limiter keys on the token's subject.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    req.auth = { sub: req.get('X-Test-Client') ?? 'cli_none', role: 'service' };
    next();
  });
  app.use(clientRateLimit(DEFAULT_RATE_LIMITS));
  app.get('/v1/payments', (_req, res) => {
    res.json({ data: [], hasMore: false });
  });
  app.use(errorHandler(createLogger({ level: 'silent' })));
  server = app.listen(0, '127.0.0.1');
});
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  jest.useRealTimers();
});

const get = (client: string) => request(server).get('/v1/payments').set('X-Test-Client', client);

test('defaults: auth stays at 20 a minute; a client gets 100 requests per 1-second window', () => {
  expect(DEFAULT_RATE_LIMITS).toEqual({ authPerMinute: 20, clientLimit: 100, clientWindowMs: 1_000 });
});

test('100 requests in one second pass, the 101st is 429 rate_limit; another client and the next second are served', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 100; i++) statuses.push((await get('cli_a')).status);
  expect(statuses).toEqual(Array.from({ length: 100 }, () => 200));

  const over = await get('cli_a');
  expect(over.status).toBe(429);
  expect(over.body).toEqual({
    error: {
      type: 'rate_limit',
      code: 'rate_limited',
      message: expect.any(String),
      requestId: over.headers['request-id'],
    },
  });
  expect(over.headers['ratelimit-policy']).toMatch(/q=100; w=1\b/);

  expect((await get('cli_b')).status).toBe(200);

  jest.setSystemTime(Date.now() + 1_000);
  expect((await get('cli_a')).status).toBe(200);
});
