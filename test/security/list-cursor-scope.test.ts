/**
 * List cursors are scoped to the caller: `startingAfter` naming another client's resource answers
 * exactly like an id that does not exist, so a list cannot be used to probe which ids exist (or when
 * they were created) elsewhere.
 */
import { newId } from '../../domain/ids';
import { startStack, type Stack } from '../support/stack';
import { apiFor } from '../integration/payments-support';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

test("another client's payment id as startingAfter is indistinguishable from an unknown id", async () => {
  const mine = apiFor(stack, (await stack.serviceAuth()).authorization);
  const theirs = apiFor(stack, (await stack.serviceAuth()).authorization);
  // Mine first, so that under an unscoped cursor it would sort "after" their payment.
  const own = await mine.pay(1111);
  expect(own.status).toBe(201);
  const foreign = await theirs.pay(2222);
  expect(foreign.status).toBe(201);

  const viaForeign = await mine.list({ startingAfter: foreign.body.id as string });
  const viaUnknown = await mine.list({ startingAfter: newId('pay') });
  expect(viaForeign.status).toBe(viaUnknown.status);
  expect(viaForeign.body).toEqual(viaUnknown.body);
  expect(viaForeign.body).toEqual({ data: [], hasMore: false });
  // Their own cursor still pages normally.
  const page = await theirs.list({ startingAfter: foreign.body.id as string });
  expect(page.body.data.map((p: { id: string }) => p.id)).not.toContain(own.body.id);
});

test("another client's webhook endpoint id as startingAfter is indistinguishable from an unknown id", async () => {
  const mine = await stack.serviceAuth();
  const theirs = await stack.serviceAuth();
  const create = (authorization: string, n: number) =>
    stack.http
      .post('/v1/webhook-endpoints')
      .set('Authorization', authorization)
      .set('Idempotency-Key', `ep-${n}-${newId('we')}`)
      .send({ url: `https://hooks-${n}.example.com/settle`, events: ['payment.*'] });
  // Theirs first, so that under an unscoped cursor mine would sort after it.
  const foreign = await create(theirs.authorization, 1);
  expect(foreign.status).toBe(201);
  expect((await create(mine.authorization, 2)).status).toBe(201);
  const list = (startingAfter: string) =>
    stack.http.get('/v1/webhook-endpoints').query({ startingAfter }).set('Authorization', mine.authorization);
  const viaForeign = await list(foreign.body.id as string);
  const viaUnknown = await list(newId('we'));
  expect(viaForeign.status).toBe(viaUnknown.status);
  expect(viaForeign.body).toEqual(viaUnknown.body);
});
