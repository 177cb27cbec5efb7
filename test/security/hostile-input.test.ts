/**
 * Hostile input against EVERY route of the real app (enumerated from the router, so a new route is
 * covered automatically): malformed Unicode, NUL and other control characters, undecodable
 * percent-escapes in the path and the query, control characters in the headers the API reads,
 * JSON nested thousands deep or with thousands of keys, card numbers in disguise in free text and
 * metadata keys. Each answer is a 4xx in the contract's error shape with a Request-Id, nothing is
 * stored, and the audit chain still verifies. Node's own parser errors get the same shape.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { errorHandler, requestId } from '../../api/middleware/common';
import { listRoutes } from '../support/route-list';
import { roleToReach } from '../support/role-matrix';
import { createApiServer } from '../../api/server';
import { createLogger } from '../../security/logger';
import { containsCardNumber } from '../../security/redaction';
import { startStack, type Stack } from '../support/stack';

const VISA = '4242424242424242'; // Stripe's documented Visa test number

let stack: Stack;
let service: string;
let admin: string;
let n = 0;
const key = () => `hostile-${++n}`;

beforeAll(async () => {
  // No workers: every request here must be refused before any work is started.
  stack = await startStack({ workers: false, authWaitMs: 2_000 });
  service = (await stack.serviceAuth()).authorization;
  admin = (await stack.operatorAuth('admin')).authorization;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

type Res = { status: number; body: unknown; headers: Record<string, string | string[] | undefined> };

/** Credentials that get past authentication and authorization for the route, if any are needed. */
function authFor(method: string, path: string): string | undefined {
  const role = roleToReach(method, path);
  return role === 'admin' ? admin : role ? service : undefined;
}

async function send(
  method: string,
  url: string,
  opts: { auth?: string | undefined; body?: unknown; raw?: Buffer; headers?: Record<string, string> } = {},
): Promise<Res> {
  let req = stack.http[method.toLowerCase() as 'post'](url).set('Idempotency-Key', key());
  if (opts.auth) req = req.set('Authorization', opts.auth);
  for (const [h, v] of Object.entries(opts.headers ?? {})) req = req.set(h, v);
  // The bytes as they are: superagent would serialize a Buffer as JSON.
  if (opts.raw)
    req = req
      .type('json')
      .serialize((b: unknown) => b as string)
      .send(opts.raw);
  else if (opts.body !== undefined) req = req.send(opts.body as object);
  const r = await req;
  return { status: r.status, body: r.body as unknown, headers: r.headers };
}

/** The contract's error shape, a Request-Id header equal to the body's, and the field named. */
function rejection(r: Res) {
  const err = (r.body as { error?: Record<string, unknown> } | undefined)?.error;
  const shaped =
    !!err &&
    typeof err.type === 'string' &&
    typeof err.code === 'string' &&
    typeof err.message === 'string' &&
    typeof err.requestId === 'string' &&
    err.requestId === r.headers['request-id'];
  return {
    status: r.status,
    shaped,
    type: err?.type,
    field: (err?.details as { field?: string } | undefined)?.field,
  };
}

const PARAM_SEGMENTS = ['x%00', '%FF', '%ED%A0%80', 'tok_abc%C2%85def', 'pay_abc%0Adef', VISA];
const QUERIES: Array<[string, string]> = [
  ['startingAfter=x%00', 'query.startingAfter'],
  ['startingAfter=%ED%A0%80', 'query.startingAfter'],
  ['limit=%FF', 'query.limit'],
  ['limit=1%C2%9B', 'query.limit'],
  ['x%00y=1', 'query'],
];
const HEADERS: Array<[string, string, string]> = [
  ['Idempotency-Key', 'key\x85', 'header.idempotency-key'],
  ['Authorization', 'Bearer abc\x9bdef', 'header.authorization'],
];
/** Sent as raw text: serializing it in the client would itself overflow the stack. */
const deep = (depth: number) => Buffer.from(`{"metadata":${'['.repeat(depth)}${']'.repeat(depth)}}`);
const manyKeys = (count: number) => Object.fromEntries([...Array(count).keys()].map((i) => [`k${i}`, i]));
const BODIES: Array<[string, unknown, string | RegExp]> = [
  ['lone surrogate', { metadata: { note: 'a\ud800b' } }, 'metadata.note'],
  ['NUL', { metadata: { note: 'a\u0000b' } }, 'metadata.note'],
  ['C1 control', { metadata: { note: 'a\u0085b' } }, 'metadata.note'],
  ['NUL in a key', { metadata: { 'no\u0000te': 'v' } }, 'metadata'],
  ['lone surrogate in a top-level key', { ['a\udc00']: 1 }, 'body'],
  ['nested 10,000 deep', deep(10_000), /^metadata(\.0)+$/],
  ['nested 33 deep', deep(33), /^metadata(\.0)+$/],
  ['101 keys in one object', { metadata: manyKeys(101) }, 'metadata'],
];

const STORES = ['payments', 'refunds', 'cards', 'bank_accounts', 'webhook_endpoints'];

/**
 * Rows of the business tables. Idempotency keys are not counted: a refusal at the route (the id
 * rule, a schema) is an answer the idempotency layer keeps for replay, as the contract asks.
 */
async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of STORES) {
    const r = await stack.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`);
    out[t] = Number(r.rows[0]!.n);
  }
  return out;
}

test('every route answers hostile paths, queries, headers and bodies with a 400 naming the field; nothing is stored', async () => {
  const routes = listRoutes(stack.app);
  expect(routes.length).toBeGreaterThan(20);
  const before = await counts();
  const violations: string[] = [];
  const check = (label: string, got: ReturnType<typeof rejection>, field?: RegExp | string) => {
    const fieldOk =
      field === undefined ||
      (typeof field === 'string'
        ? got.field === field
        : typeof got.field === 'string' && field.test(got.field));
    if (!got.shaped || got.status >= 500 || got.status < 400 || !fieldOk)
      violations.push(`${label}: ${JSON.stringify(got)}`);
  };

  for (const { method, path } of routes) {
    const auth = authFor(method, path);
    const base = path.replace(/:(\w+)/g, 'xxx_0000000000000000');
    const webhook = path.startsWith('/webhooks/');
    for (const seg of path.includes(':') ? PARAM_SEGMENTS : []) {
      const url = path.replace(/:(\w+)/, seg).replace(/:(\w+)/g, 'xxx_0000000000000000');
      const r = await send(method, url, { auth, body: method === 'POST' ? {} : undefined });
      check(`${method} ${url}`, rejection(r), /^path(\.|$)/);
      if (r.status !== 400) violations.push(`${method} ${url}: ${r.status}, expected 400`);
    }
    for (const [q, field] of QUERIES) {
      const r = await send(method, `${base}?${q}`, { auth, body: method === 'POST' ? {} : undefined });
      check(`${method} ${base}?${q}`, rejection(r), field);
    }
    for (const [h, v, field] of HEADERS) {
      const headers = { [h]: v };
      const r = await send(method, base, { auth: h === 'Authorization' ? undefined : auth, headers });
      check(`${method} ${base} with ${h}`, rejection(r), field);
    }
    if (method !== 'POST') continue;
    for (const [label, body, field] of BODIES) {
      const r = await send(method, base, Buffer.isBuffer(body) ? { auth, raw: body } : { auth, body });
      check(`${method} ${base} ${label}`, rejection(r), webhook ? undefined : field);
    }
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"metadata":{"note":"a'),
      Buffer.from([0xff]),
      Buffer.from('"}}'),
    ]);
    const r = await send(method, base, { auth, raw: invalidUtf8 });
    check(`${method} ${base} invalid UTF-8 bytes`, rejection(r), webhook ? undefined : 'body');
  }

  expect(violations).toEqual([]);
  expect(await counts()).toEqual(before);
  expect(await stack.audit.verify()).toMatchObject({ valid: true });
}, 300_000);

const DISGUISES = [
  '4242.4242.4242.4242',
  '4242/4242/4242/4242',
  '4242_4242_4242_4242',
  'card 4242  4242  4242  4242 x',
  '\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12', // full-width
  '\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662\u0664\u0662', // Arabic-Indic
  `${VISA}deadbeefdeadbeef`,
  `ref-${VISA}deadbeefdeadbeefdeadbeefdeadbeef`,
  '4242\u200b4242\u200b4242\u200b4242', // zero-width spaces
  `4242 4242 ${VISA.slice(8)}-abcd-4bcd-abcd-abcdefabcdef`, // PAN tail as a UUID's first group
];

test('a card number in any disguise, in free text or a metadata key, is a 400 naming the field and is stored nowhere', async () => {
  const card = await send('POST', '/v1/vault/cards', {
    auth: service,
    body: { number: VISA, expMonth: 12, expYear: new Date().getUTCFullYear() + 2 },
  });
  expect(card.status).toBe(201);
  const token = (card.body as { token: string }).token;
  const before = await counts();
  const payment = (extra: Record<string, unknown>) => ({
    amount: 1000,
    currency: 'usd',
    paymentMethod: { token },
    capture: 'manual',
    ...extra,
  });
  const got: unknown[] = [];
  for (const d of DISGUISES) {
    for (const body of [
      payment({ merchantReference: d }),
      payment({ description: `order for ${d}` }),
      payment({ metadata: { note: d } }),
      payment({ metadata: { [`card ${d} x`]: 'v' } }),
    ]) {
      const r = await send('POST', '/v1/payments', { auth: service, body });
      got.push({ d, ...rejection(r) });
      expect(JSON.stringify(r.body)).not.toContain(VISA);
    }
    const vault = await send('POST', '/v1/vault/cards', {
      auth: service,
      body: { number: VISA, expMonth: 12, expYear: 2099, holderName: d },
    });
    got.push({ d, ...rejection(vault) });
  }
  const want = (field: string) => ({ status: 400, shaped: true, type: 'invalid_request', field });
  expect(got).toEqual(
    DISGUISES.flatMap((d) => [
      { d, ...want('merchantReference') },
      { d, ...want('description') },
      { d, ...want('metadata.note') },
      { d, ...want('metadata') },
      { d, ...want('holderName') },
    ]),
  );
  // Control characters and lone surrogates in the same fields of an otherwise valid payment.
  for (const bad of ['ref\u0000x', 'ref\ud800x', 'ref\u009bx']) {
    const r = await send('POST', '/v1/payments', {
      auth: service,
      body: payment({ merchantReference: bad }),
    });
    expect(rejection(r)).toEqual(want('merchantReference'));
  }
  expect(await counts()).toEqual(before);
});

test('a card number as a clientId is refused by the id rule and never reaches the audit trail', async () => {
  for (const clientId of [`cli_${VISA}`, `cli_4242 4242 4242 4242`, VISA]) {
    const r = await send('POST', '/v1/auth/token', { body: { clientId, clientSecret: 's' } });
    expect(rejection(r)).toEqual({
      status: 400,
      shaped: true,
      type: 'invalid_request',
      field: 'clientId',
    });
  }
  // A well-formed but unknown client id is audited as a failure; the request above produced rows too.
  const ok = await send('POST', '/v1/auth/token', {
    body: { clientId: 'cli_unknown00000', clientSecret: 's' },
  });
  expect(ok.status).toBe(401);
  const rows = await waitForAudit("actor = 'cli_unknown00000'");
  expect(rows).toBeGreaterThan(0);
  const all = await stack.pool.query<{ actor: string; action: string; resource: string; details: unknown }>(
    'SELECT actor, action, resource, details FROM audit_events',
  );
  const leaking = all.rows.filter((e) => containsCardNumber(`${e.actor} ${e.action} ${e.resource}`));
  expect(leaking).toEqual([]);
  expect(JSON.stringify(all.rows)).not.toContain(VISA);
});

async function waitForAudit(where: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await stack.pool.query<{ n: string }>(`SELECT count(*) AS n FROM audit_events WHERE ${where}`);
    if (Number(r.rows[0]!.n) > 0 || Date.now() > deadline) return Number(r.rows[0]!.n);
    await new Promise((res) => setTimeout(res, 50));
  }
}

test('routing is case-sensitive and strict: /V1/... is 404 on every route, and a card read is audited by its route', async () => {
  const wrong: string[] = [];
  for (const { method, path } of listRoutes(stack.app)) {
    const url = path.replace(/:(\w+)/g, 'xxx_0000000000000000');
    // All upper case, one literal segment upper case (inside a sub-router), a trailing slash.
    const segs = url.split('/');
    const lit = segs.map((x, i) => (x && !x.startsWith('xxx_') ? i : -1)).filter((i) => i > 0);
    const one = segs.map((x, i) => (i === lit[lit.length - 1] ? x.toUpperCase() : x)).join('/');
    for (const variant of [url.toUpperCase(), one, `${url}/`]) {
      // Authenticated, so a path that falls through to /v1 is refused by routing, not by authentication.
      const r = await send(method, variant, {
        auth: authFor(method, path) ?? service,
        body: method === 'POST' ? {} : undefined,
      });
      const e = rejection(r);
      if (r.status !== 404 || !e.shaped) wrong.push(`${method} ${variant}: ${r.status}`);
    }
  }
  expect(wrong).toEqual([]);

  const card = await send('POST', '/v1/vault/cards', {
    auth: service,
    body: { number: VISA, expMonth: 12, expYear: 2099 },
  });
  const token = (card.body as { token: string }).token;
  const upper = await send('GET', `/V1/VAULT/CARDS/${token}`, { auth: service });
  expect(upper.status).toBe(404);
  expect((await send('GET', `/v1/vault/cards/${token}`, { auth: service })).status).toBe(200);
  expect(await waitForAudit(`resource = '/v1/vault/cards/${token}' AND action LIKE 'GET %'`)).toBe(1);
});

/** Raw bytes over a socket: Node's HTTP parser rejects these before Express ever sees them. */
async function raw(bytes: Buffer): Promise<{ head: string; body: string }> {
  const server = createApiServer(stack.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const text = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.end(bytes));
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      s.on('error', reject);
    });
    const [head = '', body = ''] = text.split('\r\n\r\n');
    return { head, body };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

test.each([
  ['a DEL in a header value', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x7fb\r\n\r\n'],
  ['an unknown method', 'FROB /healthz HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['a malformed request line', 'GET /healthz HTTP/9 9\r\nHost: x\r\n\r\n'],
  ['a NUL in the request target', 'GET /v1/pay\x00ments HTTP/1.1\r\nHost: x\r\n\r\n'],
])("Node's parser errors (%s) answer 400 in the contract's shape with a Request-Id", async (_label, req) => {
  const { head, body } = await raw(Buffer.from(req, 'latin1'));
  expect(head).toMatch(/^HTTP\/1\.1 400 /);
  const id = /\r\nRequest-Id: (req_\w+)/i.exec(head)?.[1];
  expect(id).toBeDefined();
  expect(JSON.parse(body)).toEqual({
    error: { type: 'invalid_request', code: 'malformed_request', message: expect.any(String), requestId: id },
  });
});

test('a method Express does not route is a 404 in the contract shape', async () => {
  const { head, body } = await raw(
    Buffer.from('PROPFIND /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
  );
  expect(head).toMatch(/^HTTP\/1\.1 404 /);
  const id = /\r\nRequest-Id: (req_\w+)/i.exec(head)?.[1];
  expect(JSON.parse(body)).toMatchObject({ error: { type: 'not_found', requestId: id } });
});

test('the error middleware maps a decode failure to 400 and keeps an unknown error a bare 500 internal', async () => {
  const app = express();
  app.use(requestId);
  app.get('/uri', () => {
    decodeURIComponent('%E0%A4%A');
  });
  app.get('/bug', () => {
    throw new Error('relation "payments" does not exist at SELECT * FROM payments');
  });
  app.use(errorHandler(createLogger({ level: 'silent' })));
  const uri = await request(app).get('/uri');
  expect([uri.status, uri.body.error.type, uri.body.error.code]).toEqual([
    400,
    'invalid_request',
    'invalid_encoding',
  ]);
  const bug = await request(app).get('/bug');
  expect(bug.status).toBe(500);
  expect(bug.body).toEqual({
    error: {
      type: 'internal',
      code: 'internal_error',
      message: 'An internal error occurred',
      requestId: bug.headers['request-id'],
    },
  });
});
