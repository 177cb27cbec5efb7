/**
 * The vertical slice through the real stack: service token, vault tokenization, a payment authorized
 * by the sandbox provider through the PaymentWorkflow, answered in one round trip.
 */
import { startStack, type Stack } from '../support/stack';

const VISA = '4242424242424242'; // Stripe's documented Visa test number

let stack: Stack;
let auth: string;
let n = 0;
const key = () => `it-${Date.now()}-${++n}`;

beforeAll(async () => {
  stack = await startStack();
  auth = (await stack.serviceAuth()).authorization;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function tokenize(): Promise<string> {
  const res = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', auth)
    .set('Idempotency-Key', key())
    .send({ number: VISA, expMonth: 12, expYear: new Date().getUTCFullYear() + 2, cvc: '123' });
  expect(res.status).toBe(201);
  return res.body.token as string;
}

test('a service client gets a token of at most 15 minutes; bad secrets are 401 in the contract shape', async () => {
  const { clientId, clientSecret } = await stack.createClient('service');
  const ok = await stack.http.post('/v1/auth/token').send({ clientId, clientSecret });
  expect(ok.status).toBe(200);
  expect(ok.body.tokenType).toBe('Bearer');
  expect(ok.body.expiresIn).toBeLessThanOrEqual(900);
  const claims = await stack.tokens.verify(ok.body.accessToken);
  expect(claims.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(900);

  const bad = await stack.http.post('/v1/auth/token').send({ clientId, clientSecret: `${clientSecret}x` });
  expect(bad.status).toBe(401);
  expect(bad.body.error).toMatchObject({ type: 'authentication', code: 'invalid_client' });
  expect(bad.body.error.requestId).toBe(bad.headers['request-id']);
});

test('tokenizing stores the card encrypted and returns metadata only', async () => {
  const res = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', auth)
    .set('Idempotency-Key', key())
    .send({ number: VISA, expMonth: 1, expYear: new Date().getUTCFullYear() + 3, cvc: '123' });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ brand: 'visa', bin: '42424242', last4: '4242' });
  expect(res.body.token).toMatch(/^tok_/);
  expect(JSON.stringify(res.body)).not.toContain(VISA);
  const row = await stack.pool.query('SELECT pan_ct, cvc_ct FROM cards WHERE token = $1', [res.body.token]);
  expect(Buffer.from(row.rows[0].pan_ct).toString('latin1')).not.toContain(VISA);
  expect(row.rows[0].cvc_ct).not.toBeNull();
});

test('a Luhn-invalid number is 400 naming the field, never echoing the number', async () => {
  const bad = '4242424242424241';
  const res = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', auth)
    .set('Idempotency-Key', key())
    .send({ number: bad, expMonth: 1, expYear: new Date().getUTCFullYear() + 1 });
  expect(res.status).toBe(400);
  expect(res.body.error).toMatchObject({ type: 'invalid_request', details: { field: 'number' } });
  expect(JSON.stringify(res.body)).not.toContain(bad);
});

test('POST /v1/payments authorizes synchronously through the sandbox provider (manual capture)', async () => {
  const token = await tokenize();
  const res = await stack.http
    .post('/v1/payments')
    .set('Authorization', auth)
    .set('Idempotency-Key', key())
    .send({
      amount: 1999,
      currency: 'usd',
      paymentMethod: { token },
      capture: 'manual',
      merchantReference: 'order-1',
    });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({
    status: 'authorized',
    amount: 1999,
    currency: 'USD',
    amountCapturable: 1999,
    amountCaptured: 0,
    amountRefunded: 0,
    capture: 'manual',
    provider: 'sandbox',
    paymentMethod: { token, brand: 'visa', last4: '4242' },
    merchantReference: 'order-1',
  });
  expect(res.body.id).toMatch(/^pay_/);
  expect(res.body.providerReference).toMatch(/^sbx_/);
  expect(Date.parse(res.body.authorizationExpiresAt)).toBeGreaterThan(Date.now() + 6 * 86_400_000);

  const got = await stack.http.get(`/v1/payments/${res.body.id}`).set('Authorization', auth);
  expect(got.status).toBe(200);
  expect(got.body.status).toBe('authorized');
  // The CVC was destroyed by the first authorization (PCI DSS 3.3.1.2).
  const cvc = await stack.pool.query('SELECT cvc_ct FROM cards WHERE token = $1', [token]);
  expect(cvc.rows[0].cvc_ct).toBeNull();
});

test('automatic capture returns captured', async () => {
  const token = await tokenize();
  const res = await stack.http
    .post('/v1/payments')
    .set('Authorization', auth)
    .set('Idempotency-Key', key())
    .send({ amount: 500, currency: 'JPY', paymentMethod: { token }, capture: 'automatic' });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({
    status: 'captured',
    amountCaptured: 500,
    amountCapturable: 0,
    currency: 'JPY',
  });
});

test('a decline is 402 card_error with details.paymentId, and reads back declined', async () => {
  const token = await tokenize();
  const res = await stack.http
    .post('/v1/payments')
    .set('Authorization', auth)
    .set('Idempotency-Key', key())
    .send({ amount: 40051, currency: 'USD', paymentMethod: { token }, capture: 'manual' });
  expect(res.status).toBe(402);
  expect(res.body.error).toMatchObject({ type: 'card_error', code: 'insufficient_funds' });
  const id = res.body.error.details.paymentId as string;
  const got = await stack.http.get(`/v1/payments/${id}`).set('Authorization', auth);
  expect(got.body).toMatchObject({ status: 'declined', declineCode: 'insufficient_funds' });
});

test('idempotency: replay, reuse with another body, missing key', async () => {
  const token = await tokenize();
  const k = key();
  const body = { amount: 700, currency: 'EUR', paymentMethod: { token }, capture: 'manual' };
  const first = await stack.http
    .post('/v1/payments')
    .set('Authorization', auth)
    .set('Idempotency-Key', k)
    .send(body);
  expect(first.status).toBe(201);
  const again = await stack.http
    .post('/v1/payments')
    .set('Authorization', auth)
    .set('Idempotency-Key', k)
    .send(body);
  expect(again.status).toBe(201);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect(again.text).toBe(first.text);

  const other = await stack.http
    .post('/v1/payments')
    .set('Authorization', auth)
    .set('Idempotency-Key', k)
    .send({ ...body, amount: 701 });
  expect(other.status).toBe(422);
  expect(other.body.error).toMatchObject({ type: 'idempotency', code: 'idempotency_key_reused' });

  const missing = await stack.http.post('/v1/payments').set('Authorization', auth).send(body);
  expect(missing.status).toBe(400);
  expect(missing.body.error.code).toBe('idempotency_key_required');
});

test('unknown fields are rejected with 400 invalid_request', async () => {
  const token = await tokenize();
  const res = await stack.http
    .post('/v1/payments')
    .set('Authorization', auth)
    .set('Idempotency-Key', key())
    .send({ amount: 100, currency: 'USD', paymentMethod: { token }, capture: 'manual', surprise: true });
  expect(res.status).toBe(400);
  expect(res.body.error).toMatchObject({
    type: 'invalid_request',
    code: 'unknown_field',
    details: { field: 'surprise' },
  });
});

test('routes need a bearer token', async () => {
  const res = await stack.http.get('/v1/payments');
  expect(res.status).toBe(401);
  expect(res.body.error.type).toBe('authentication');
});
