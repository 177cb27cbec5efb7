/**
 * HTTP-level edges an outside probe found, each checked for its whole class: body encodings and
 * charsets the parser refuses, unknown body fields on EVERY POST/DELETE route (enumerated from the
 * router, so a new body-less route is covered automatically), an Idempotency-Key that holds a card
 * number, repeated headers the API reads, and requests Node answers itself (no Host, an Expect it
 * cannot meet, a request timeout). Every answer is a 4xx in the contract's error shape with a
 * Request-Id.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { listRoutes } from '../support/route-list';
import { roleToReach } from '../support/role-matrix';
import { malformedRequestResponse } from '../../api/client-error';
import { createApiServer } from '../../api/server';
import { newId, type IdPrefix } from '../../domain/ids';
import { startStack, testEnv, type Stack } from '../support/stack';

const VISA = '4242424242424242'; // Stripe's documented Visa test number

let stack: Stack;
let service: string;
let admin: string;
let n = 0;
const key = () => `edge-${++n}`;

beforeAll(async () => {
  stack = await startStack({ workers: false, authWaitMs: 2_000 });
  service = (await stack.serviceAuth()).authorization;
  admin = (await stack.operatorAuth('admin')).authorization;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

type Res = { status: number; body: unknown; headers: Record<string, string | string[] | undefined> };

/** The contract's error shape, with the body's requestId equal to the Request-Id header. */
function shapeProblem(r: Res): string | undefined {
  const e = (r.body as { error?: Record<string, unknown> } | undefined)?.error;
  if (!e) return `no error body: ${JSON.stringify(r.body)}`;
  for (const f of ['type', 'code', 'message', 'requestId'])
    if (typeof e[f] !== 'string') return `error.${f} missing: ${JSON.stringify(e)}`;
  if (r.headers['request-id'] !== e.requestId) return 'Request-Id header does not match error.requestId';
  return undefined;
}

describe('request bodies the parser cannot read', () => {
  const cases: Array<[string, Record<string, string>, number, string]> = [
    ['gzip that is not gzip', { 'Content-Encoding': 'gzip' }, 400, 'invalid_body_encoding'],
    ['br that is not br', { 'Content-Encoding': 'br' }, 400, 'invalid_body_encoding'],
    ['deflate that is not deflate', { 'Content-Encoding': 'deflate' }, 400, 'invalid_body_encoding'],
    ['an unknown encoding', { 'Content-Encoding': 'foo' }, 415, 'unsupported_encoding'],
    ['charset=latin1', { 'Content-Type': 'application/json; charset=latin1' }, 415, 'unsupported_charset'],
  ];
  test.each(cases)('%s: a 4xx invalid_request in the contract shape', async (_l, headers, status, code) => {
    let req = stack.http
      .post('/v1/payments')
      .set('Authorization', service)
      .set('Idempotency-Key', key())
      .set('Content-Type', 'application/json');
    for (const [h, v] of Object.entries(headers)) req = req.set(h, v);
    const r = await req.send('{"amount":100,"currency":"usd"}');
    expect(shapeProblem(r)).toBeUndefined();
    expect(r.status).toBe(status);
    expect(r.body.error).toMatchObject({ type: 'invalid_request', code });
  });
});

const ID_PREFIX: Record<string, IdPrefix> = {
  payments: 'pay',
  'bank-accounts': 'ba',
  'webhook-endpoints': 'we',
  events: 'evt',
  clients: 'cli',
  operators: 'op',
  disputes: 'dp',
  reconciliation: 'rc',
};

/** Credentials of the role the route is for (API.md role matrix). */
function authFor(method: string, path: string): string | undefined {
  const role = roleToReach(method, path);
  return role === 'admin' ? admin : role ? service : undefined;
}

test('an unknown body field is a 400 on EVERY POST and DELETE route, never a 2xx', async () => {
  const routes = listRoutes(stack.app).filter((r) => r.method === 'POST' || r.method === 'DELETE');
  // Sanity: the walk sees the body-less routes the probe found.
  expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
    expect.arrayContaining([
      'POST /v1/events/:id/redeliver',
      'POST /v1/operators/:id/unlock',
      'POST /v1/operators/:id/revoke-sessions',
      'POST /v1/clients/:id/disable',
      'POST /v1/signing-keys/rotate',
      'POST /v1/auth/logout',
      'DELETE /v1/vault/cards/:token',
    ]),
  );
  const wrong: string[] = [];
  for (const { method, path } of routes) {
    // Well-formed ids of the route's own type, so the path passes and only the body is at issue.
    const prefix = /^\/v1\/([a-z-]+)/.exec(path)?.[1] ?? '';
    const url = path.replace(/:(\w+)/g, (_m, name: string) =>
      newId(name === 'token' ? 'tok' : (ID_PREFIX[prefix] ?? 'req')),
    );
    let req = stack.http[method === 'POST' ? 'post' : 'delete'](url).set('Idempotency-Key', key());
    const auth = authFor(method, path);
    if (auth) req = req.set('Authorization', auth);
    const r = await req.send({ zzUnknown: 1 });
    const e = (r.body as { error?: { type?: string; details?: { field?: string } } }).error;
    // Provider webhooks take a raw signed body: refused (unsigned, or the provider is off), never 2xx.
    if (path.startsWith('/webhooks/')) {
      if (r.status < 400 || r.status >= 500) wrong.push(`${method} ${path}: ${r.status}`);
      continue;
    }
    const ok =
      r.status === 400 &&
      e?.type === 'invalid_request' &&
      typeof e.details?.field === 'string' &&
      !e.details.field.startsWith('path');
    if (!ok || shapeProblem(r)) wrong.push(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  expect(wrong).toEqual([]);
});

test('an Idempotency-Key holding a card number is never stored in clear; replay and scoping still work', async () => {
  const clearKey = `idem-${VISA}`;
  const body = { number: VISA, expMonth: 12, expYear: 2099 };
  const first = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', service)
    .set('Idempotency-Key', clearKey)
    .send(body);
  expect(first.status).toBe(201);

  const owner = new Pool({ connectionString: testEnv().databaseUrl, max: 1 });
  try {
    const dump = JSON.stringify(
      (await owner.query('SELECT * FROM idempotency_keys')).rows.concat(
        (await owner.query('SELECT details FROM audit_events')).rows,
      ),
    );
    expect(dump).not.toContain(VISA);
    expect(dump).not.toContain(clearKey);
  } finally {
    await owner.end();
  }

  const again = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', service)
    .set('Idempotency-Key', clearKey)
    .send(body);
  expect(again.status).toBe(201);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect(again.text).toBe(first.text);

  // Another client with the same key has its own record: a new card, not the first client's reply.
  const other = (await stack.serviceAuth()).authorization;
  const theirs = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', other)
    .set('Idempotency-Key', clearKey)
    .send(body);
  expect(theirs.status).toBe(201);
  expect(theirs.headers['idempotent-replayed']).toBeUndefined();
  expect(theirs.body.token).not.toBe(first.body.token);
});

/** Raw bytes over a socket to the server production creates (createApiServer). */
async function raw(text: string): Promise<{ status: number; head: string; body: unknown }> {
  const server = createApiServer(stack.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const out = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.write(text, 'latin1'));
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        // One response is all we wait for: the body is complete once Content-Length bytes arrived.
        const all = Buffer.concat(chunks).toString('utf8');
        const [h = '', b] = all.split('\r\n\r\n');
        const len = /\r\ncontent-length: (\d+)/i.exec(h)?.[1];
        if (b !== undefined && len !== undefined && Buffer.byteLength(b) >= Number(len)) s.end();
      });
      s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      s.on('error', reject);
    });
    const [head = '', body = ''] = out.split('\r\n\r\n');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = body;
    }
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), head, body: parsed };
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function rawShape(r: { head: string; body: unknown }): string | undefined {
  const id = /\r\nRequest-Id: (\S+)/i.exec(r.head)?.[1];
  return shapeProblem({ status: 0, body: r.body, headers: { 'request-id': id } });
}

describe('repeated headers the API reads', () => {
  const post = (headers: string, path = '/v1/payments') => {
    const body = '{}';
    return raw(
      `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n${headers}\r\n${body}`,
    );
  };
  test.each([
    [
      'authorization',
      () =>
        `Authorization: ${service}\r\nAuthorization: Bearer x.y.z\r\nIdempotency-Key: a\r\nContent-Type: application/json\r\n`,
    ],
    [
      'idempotency-key',
      () =>
        `Authorization: ${service}\r\nIdempotency-Key: a\r\nidempotency-key: b\r\nContent-Type: application/json\r\n`,
    ],
    [
      'content-type',
      () =>
        `Authorization: ${service}\r\nIdempotency-Key: a\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n`,
    ],
    [
      'stripe-signature',
      () => 'Stripe-Signature: t=1,v1=a\r\nStripe-Signature: t=2,v1=b\r\nContent-Type: application/json\r\n',
    ],
  ])('two %s headers: 400 invalid_request naming the header', async (name, headers) => {
    const r = await post(headers(), name === 'stripe-signature' ? '/webhooks/stripe' : '/v1/payments');
    expect(rawShape(r)).toBeUndefined();
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      error: { type: 'invalid_request', details: { field: `header.${name}` } },
    });
  });
});

describe('answers Node would give itself', () => {
  test('an HTTP/1.1 request without Host: 400 in the contract shape', async () => {
    const r = await raw('GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(rawShape(r)).toBeUndefined();
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { type: 'invalid_request', details: { field: 'header.host' } } });
  });

  test('an HTTP/1.0 request without Host is still served (Host is an HTTP/1.1 rule)', async () => {
    const r = await raw('GET /openapi.json HTTP/1.0\r\n\r\n');
    expect(r.head).toMatch(/^HTTP\/1\.1 200 /);
  });

  test('an Expect other than 100-continue: 417 in the contract shape', async () => {
    const r = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n');
    expect(rawShape(r)).toBeUndefined();
    expect(r.status).toBe(417);
    expect(r.body).toMatchObject({ error: { type: 'invalid_request', code: 'expectation_failed' } });
  });

  test("a request timeout is the client's problem: 408 invalid_request, not internal", () => {
    const text = malformedRequestResponse('ERR_HTTP_REQUEST_TIMEOUT');
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    const body = JSON.parse(text.split('\r\n\r\n')[1] ?? '') as { error: { type: string } };
    expect(body.error.type).toBe('invalid_request');
  });
});
