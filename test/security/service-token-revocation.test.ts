/**
 * Disabling a service client takes effect on its next request, not when its access tokens expire
 * (up to 15 minutes later): authentication checks the client's status on every request.
 */
import { startStack, type Stack } from '../support/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: false });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

test('a token of a client disabled by an admin is refused with 401 on the very next request', async () => {
  const svc = await stack.serviceAuth();
  const list = () => stack.http.get('/v1/payments?limit=1').set('Authorization', svc.authorization);
  expect((await list()).status).toBe(200);

  const admin = await stack.operatorAuth('admin');
  const disabled = await stack.http
    .post(`/v1/clients/${svc.clientId}/disable`)
    .set('Authorization', admin.authorization)
    .set('Idempotency-Key', `disable-${svc.clientId}`)
    .send({});
  expect(disabled.status).toBe(200);

  const after = await list();
  expect(after.status).toBe(401);
  expect(after.body.error).toMatchObject({ type: 'authentication' });
  expect(after.headers['request-id']).toBe(after.body.error.requestId);
  // Writes too, not only reads.
  const write = await stack.http
    .post('/v1/vault/cards')
    .set('Authorization', svc.authorization)
    .set('Idempotency-Key', `after-disable-${svc.clientId}`)
    .send({ number: '4242424242424242', expMonth: 12, expYear: 2040, cvc: '123' });
  expect(write.status).toBe(401);
});

test('other clients keep working', async () => {
  const a = await stack.serviceAuth();
  const b = await stack.serviceAuth();
  await stack.pool.query('UPDATE clients SET disabled_at = now() WHERE id = $1', [a.clientId]);
  expect((await stack.http.get('/v1/payments?limit=1').set('Authorization', a.authorization)).status).toBe(
    401,
  );
  expect((await stack.http.get('/v1/payments?limit=1').set('Authorization', b.authorization)).status).toBe(
    200,
  );
});
