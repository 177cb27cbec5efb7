/**
 * Card numbers in the disguises an outside probe got through (API.md Conventions: free text and
 * metadata that could hold a 13-19 digit card number, in any common disguise, is a 400 naming the
 * field): PANs glued between hex, UUID-shaped, long separator runs, colons; and the webhook endpoint
 * URL, in any part and encoding. Each is refused before anything is stored, and the audit trail of
 * the refusals holds no card number.
 */
import request from 'supertest';
import { startStack, type Stack } from '../support/stack';

const VISA = '4242424242424242'; // Stripe's documented Visa test number
const DIGITS = new RegExp(`${VISA}|4242\\D{1,8}4242\\D{1,8}4242\\D{1,8}4242`);

const DISGUISES = [
  `aaaaaaaa${VISA}aaaaaaaa`,
  `cafebabe${VISA}cafebabecafe`,
  'deadbeef-4242-4242-4242-4242deadbeef',
  '4242----4242----4242----4242',
  '4242:4242:4242:4242',
];

let stack: Stack;
let service: string;
let n = 0;
const key = () => `disguise-${++n}`;

beforeAll(async () => {
  stack = await startStack({ workers: false, authWaitMs: 2_000 });
  service = (await stack.serviceAuth()).authorization;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function post(url: string, body: object, auth: string | undefined = service) {
  let req = stack.http.post(url).set('Idempotency-Key', key());
  if (auth) req = req.set('Authorization', auth);
  const r = await req.send(body);
  const err = (r.body as { error?: { type?: string; details?: { field?: string } } }).error;
  return { status: r.status, type: err?.type, field: err?.details?.field, text: JSON.stringify(r.body) };
}

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['payments', 'refunds', 'cards', 'bank_accounts', 'webhook_endpoints']) {
    const r = await stack.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`);
    out[t] = Number(r.rows[0]!.n);
  }
  return out;
}

const refused = (field: string) => ({ status: 400, type: 'invalid_request', field });

test('each disguise in each free-text field is a 400 naming the field, and nothing is stored', async () => {
  const card = await post('/v1/vault/cards', {
    number: VISA,
    expMonth: 12,
    expYear: new Date().getUTCFullYear() + 2,
  });
  expect(card.status).toBe(201);
  const token = (JSON.parse(card.text) as { token: string }).token;
  const before = await counts();
  const payment = (extra: Record<string, unknown>) => ({
    amount: 1000,
    currency: 'usd',
    paymentMethod: { token },
    capture: 'manual',
    ...extra,
  });
  const cases = (d: string): Array<[string, string, object, string | undefined]> => [
    ['merchantReference', '/v1/payments', payment({ merchantReference: d }), service],
    ['description', '/v1/payments', payment({ description: `order for ${d}` }), service],
    ['metadata.note', '/v1/payments', payment({ metadata: { note: d } }), service],
    ['metadata', '/v1/payments', payment({ metadata: { [d]: 'v' } }), service],
    ['reason', '/v1/payments/pay_AbCdEfGh12345678/refunds', { reason: d }, service],
    ['holderName', '/v1/vault/cards', { number: VISA, expMonth: 12, expYear: 2099, holderName: d }, service],
    [
      'holderName',
      '/v1/bank-accounts',
      { routingNumber: '110000000', accountNumber: '000123456789', holderName: d, accountType: 'checking' },
      service,
    ],
    ['username', '/v1/auth/login', { username: d, password: 'not-the-password' }, undefined],
  ];
  const got: unknown[] = [];
  const want: unknown[] = [];
  const echoed: string[] = [];
  for (const d of DISGUISES) {
    for (const [field, url, body, auth] of cases(d)) {
      const r = await post(url, body, auth);
      got.push({ d, url, status: r.status, type: r.type, field: r.field });
      want.push({ d, url, ...refused(field) });
      if (DIGITS.test(r.text)) echoed.push(`${url} ${d}`);
    }
  }
  expect(got).toEqual(want);
  expect(echoed).toEqual([]);
  expect(await counts()).toEqual(before);
});

test('a webhook endpoint URL holding a card number anywhere, in any encoding, is a 400 naming url', async () => {
  const pct = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
  const urls = [
    `https://example.com/p/${VISA}`,
    `https://example.com/p?card=${VISA}`,
    `https://${VISA}.example.com/p`,
    `https://example.com/p#${VISA}`,
    `https://example.com/p/${pct(VISA)}`,
    'https://example.com/p/4242%204242%204242%204242',
    'https://example.com/p/4242 4242 4242 4242',
    'https://example.com/p/4242:4242:4242:4242',
    `https://example.com/p/${'\uff14\uff12'.repeat(8)}`,
  ];
  const before = await counts();
  const got: unknown[] = [];
  const echoed: string[] = [];
  for (const url of urls) {
    const r = await post('/v1/webhook-endpoints', { url, events: ['payment.*'] });
    got.push({ url, status: r.status, type: r.type, field: r.field });
    if (DIGITS.test(r.text)) echoed.push(url);
  }
  expect(got).toEqual(urls.map((url) => ({ url, ...refused('url') })));
  expect(echoed).toEqual([]);
  expect(await counts()).toEqual(before);
  // A clean URL still works.
  const ok = await post('/v1/webhook-endpoints', { url: 'https://example.com/hooks/settle', events: ['*'] });
  expect(ok.status).toBe(201);
});

test('a failed login with a disguised card number as username leaves no card number in the audit trail', async () => {
  const requestIds: string[] = [];
  for (const username of DISGUISES) {
    const r = await request(stack.app)
      .post('/v1/auth/login')
      .send({ username, password: 'not-the-password' });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    requestIds.push(String(r.headers['request-id']));
  }
  const rows = await waitForAudit(requestIds);
  expect(rows.map((e) => e.action)).toHaveLength(DISGUISES.length);
  expect(JSON.stringify(rows)).not.toMatch(DIGITS);
});

type AuditRow = { actor: string; action: string; resource: string; details: unknown };

/** The audit append runs after the response is sent: wait until the rows of these requests are there. */
async function waitForAudit(requestIds: string[]): Promise<AuditRow[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await stack.pool.query<AuditRow>(
      `SELECT actor, action, resource, details FROM audit_events WHERE details->>'requestId' = ANY($1)`,
      [requestIds],
    );
    if (r.rows.length >= requestIds.length || Date.now() > deadline) return r.rows;
    await new Promise((res) => setTimeout(res, 50));
  }
}
