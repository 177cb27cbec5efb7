/**
 * 503 provider_unavailable: the provider stays down longer than the API waits (a short authWaitMs
 * and the sandbox's outage trigger); the payment keeps going durably and its final state is
 * readable later through the API.
 */
import { startStack, type Stack } from '../support/stack';
import { apiFor, sandboxBooks, type Api } from './payments-support';

jest.setTimeout(60_000);

let stack: Stack;
let api: Api;

beforeAll(async () => {
  stack = await startStack({ authWaitMs: 1_500 });
  api = apiFor(stack, (await stack.serviceAuth()).authorization);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

test('an outage longer than the API waits is 503; the payment completes durably and reads back', async () => {
  // 50303: the sandbox answers 503 to the first 3 attempts; with 1 s, 2 s, 4 s backoff the 4th
  // attempt succeeds ~7 s in, well after the API's 1.5 s wait.
  const res = await api.pay(50303);
  expect(res.status).toBe(503);
  expect(res.body.error).toMatchObject({ type: 'provider_unavailable', code: 'provider_unavailable' });
  const id = res.body.error.details.paymentId as string;
  expect(id).toMatch(/^pay_/);
  expect(JSON.stringify(res.body)).not.toMatch(/stack|SELECT|at .*\.ts/);

  const now = await api.get(id);
  expect(now.status).toBe(200);
  expect(['processing', 'authorized']).toContain(now.body.status);

  const final = await api.waitForStatus(id, 'authorized', 30_000);
  expect(final).toMatchObject({ amountCapturable: 50303 });
  const books = await sandboxBooks(stack, id);
  expect(books.transactions).toBe(1);
  const attempts = await stack.pool.query(
    'SELECT attempts FROM sandbox_attempts WHERE idempotency_key = $1',
    [`${id}:authorize`],
  );
  expect(attempts.rows[0]?.attempts).toBe(4);
  // And it is usable: capture it.
  expect((await api.capture(id, {})).body).toMatchObject({ status: 'captured', amountCaptured: 50303 });
});
