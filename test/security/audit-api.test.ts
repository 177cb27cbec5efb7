/**
 * The audit trail through the API (API.md "Audit"; PCI DSS 10.2.1, 10.2.2): card-data access,
 * object creation/deletion and payment creation produce events with the 10.2.2 fields; reading
 * the log is itself audited; pagination and verification follow the contract; no card number
 * ever lands in the trail.
 */
import { startStack, type Stack } from '../support/stack';

const VISA = '4242424242424242'; // Stripe's documented Visa test number

let stack: Stack;
let n = 0;
const key = () => `audit-${Date.now()}-${++n}`;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function eventsFor(where: string, params: unknown[], atLeast: number) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await stack.pool.query<{
      actor: string;
      action: string;
      resource: string;
      outcome: string;
      source_ip: string;
      at: Date;
      details: Record<string, unknown>;
    }>(
      `SELECT actor, action, resource, outcome, source_ip, at, details FROM audit_events WHERE ${where} ORDER BY seq`,
      params,
    );
    if (r.rows.length >= atLeast || Date.now() > deadline) return r.rows;
    await new Promise((res) => setTimeout(res, 50));
  }
}

test('tokenize, card read, payment creation and card deletion are audited with who/what/when/outcome/where', async () => {
  const { clientId, authorization } = await stack.serviceAuth();
  const tok = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', authorization)
    .set('Idempotency-Key', key())
    .send({ number: VISA, expMonth: 12, expYear: new Date().getUTCFullYear() + 2, cvc: '123' });
  expect(tok.status).toBe(201);
  const token = tok.body.token as string;
  expect((await stack.http.get(`/v1/vault/cards/${token}`).set('Authorization', authorization)).status).toBe(
    200,
  );
  const pay = await stack.http
    .post('/v1/payments')
    .set('Authorization', authorization)
    .set('Idempotency-Key', key())
    .send({ amount: 1000, currency: 'usd', paymentMethod: { token }, capture: 'automatic' });
  expect({ status: pay.status, body: pay.body }).toMatchObject({ status: 201 });
  expect(
    (await stack.http.delete(`/v1/vault/cards/${token}`).set('Authorization', authorization)).status,
  ).toBe(204);

  // The HTTP layer records every request; the vault adds its own domain event for the shred.
  const rows = await eventsFor('actor = $1', [clientId], 5);
  const http = rows.filter((r) => r.action.includes(' /v1/'));
  expect(http.map((r) => [r.action, r.resource, r.outcome])).toEqual([
    ['POST /v1/vault/cards', '/v1/vault/cards', 'success'],
    ['GET /v1/vault/cards/:id', `/v1/vault/cards/${token}`, 'success'],
    ['POST /v1/payments', '/v1/payments', 'success'],
    ['DELETE /v1/vault/cards/:id', `/v1/vault/cards/${token}`, 'success'],
  ]);
  expect(rows.map((r) => [r.action, r.resource, r.outcome])).toEqual(
    expect.arrayContaining([['vault.card.shred', `card:${token}`, 'success']]),
  );
  for (const r of http) {
    expect(r.source_ip).toMatch(/127\.0\.0\.1|::1/);
    expect(r.at).toBeInstanceOf(Date);
    expect(r.details).toMatchObject({ role: 'service', requestId: expect.stringMatching(/^req_/) });
  }
});

test('GET /v1/audit-events pages in the contract shape, and every read is itself an audit event', async () => {
  const auditor = await stack.operatorAuth('auditor');
  const page1 = await stack.http.get('/v1/audit-events?limit=2').set('Authorization', auditor.authorization);
  expect(page1.status).toBe(200);
  expect(page1.body.hasMore).toBe(true);
  expect(page1.body.data).toHaveLength(2);
  for (const e of page1.body.data as Array<Record<string, unknown>>) {
    expect(Object.keys(e).sort()).toEqual(
      ['action', 'actor', 'at', 'hash', 'id', 'outcome', 'prevHash', 'resource', 'sourceIp'].sort(),
    );
    expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
  }
  const [first, second] = page1.body.data as Array<{ id: string; hash: string; prevHash: string }>;
  expect(second!.prevHash).toBe(first!.hash);
  const page2 = await stack.http
    .get(`/v1/audit-events?limit=2&startingAfter=${second!.id}`)
    .set('Authorization', auditor.authorization);
  expect(page2.status).toBe(200);
  expect((page2.body.data as Array<{ prevHash: string }>)[0]!.prevHash).toBe(second!.hash);
  const bad = await stack.http.get('/v1/audit-events?limit=500').set('Authorization', auditor.authorization);
  expect(bad.status).toBe(400);

  const reads = await eventsFor("actor = $1 AND action = 'audit.list'", [auditor.operatorId], 2);
  expect(reads.length).toBeGreaterThanOrEqual(2);
  expect(reads[0]).toMatchObject({ resource: 'audit-events', outcome: 'success' });
});

test('GET /v1/audit-events/verify reports the chain valid against the latest keyed anchor (and its read is audited)', async () => {
  const admin = await stack.operatorAuth('admin');
  const anchor = await stack.audit.anchor();
  const v = await stack.http.get('/v1/audit-events/verify').set('Authorization', admin.authorization);
  expect(v.status).toBe(200);
  expect(v.body).toEqual({ valid: true, checked: expect.any(Number), anchoredAt: expect.any(String) });
  expect(v.body.checked).toBeGreaterThan(0);
  // Another file's stack may have anchored since: the latest anchor is at least as recent as ours.
  expect(Date.parse(v.body.anchoredAt as string)).toBeGreaterThanOrEqual(Date.parse(anchor!.at));
  const rows = await eventsFor("actor = $1 AND action = 'audit.verify'", [admin.operatorId], 1);
  expect(rows).toHaveLength(1);
});

test('no card number appears anywhere in the audit trail', async () => {
  const r = await stack.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM audit_events
      WHERE (actor || action || resource || coalesce(source_ip, '') || details::text) LIKE $1`,
    [`%${VISA}%`],
  );
  expect(r.rows[0]).toEqual({ n: 0 });
});

test('no request, authenticated or not, can make the valid chain fail verification (lone surrogate, NUL)', async () => {
  // Legal JSON whose strings PostgreSQL cannot store as sent: a lone surrogate (stored as U+FFFD) and NUL.
  for (const body of [
    '{"clientId":"cli_\\ud800x","clientSecret":"s"}',
    '{"clientId":"cli_\\u0000x","clientSecret":"s"}',
    '{"clientId":"cli_x","clientSecret":"s\\udc00","extra":{"k\\u0000":[1e21,-0]}}',
  ]) {
    await stack.http.post('/v1/auth/token').set('Content-Type', 'application/json').send(body);
  }
  await stack.http
    .post('/v1/auth/login')
    .set('Content-Type', 'application/json')
    .send('{"username":"op\\u0000\\ud800","password":"p"}');
  const admin = await stack.operatorAuth('admin');
  const v = await stack.http.get('/v1/audit-events/verify').set('Authorization', admin.authorization);
  expect(v.body).toMatchObject({ valid: true });
});
