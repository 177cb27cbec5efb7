/**
 * Routing and failover on the real stack: the merchant's routing rule says Stripe first, then the
 * sandbox. Stripe is the real SDK against localstripe behind the recording proxy (faults injected
 * there), behind its circuit breaker; the sandbox keeps real books in PostgreSQL. Holds are counted
 * at BOTH providers: PaymentIntents at localstripe (by our payment id in metadata) and
 * sandbox_transactions.
 *
 * Proves: the rule picks the provider; a decline never fails over; a Stripe outage is absorbed by
 * the sandbox with exactly one hold, and the payment's `provider` (and later capture) is the sandbox;
 * an ambiguous Stripe attempt (authorized, answer lost, then Stripe down) fails over and is voided at
 * Stripe by the compensation once Stripe is back, so the customer is held once.
 */
import Stripe from 'stripe';
import { createProviderRegistry } from '../../activities/providers/registry';
import { createCircuitBreaker, withCircuitBreaker } from '../../activities/providers/breaker';
import { createSandboxProvider } from '../../activities/providers/sandbox/adapter';
import { createStripeProvider } from '../../activities/providers/stripe/adapter';
import {
  startLocalStripe,
  startStripeProxy,
  type LocalStripe,
  type StripeProxy,
} from '../support/localstripe';
import { startStack, type Stack } from '../support/stack';
import { apiFor, newKey, sandboxBooks, waitFor, type Api } from './payments-support';

jest.setTimeout(60_000);

let ls: LocalStripe;
let proxy: StripeProxy;
let direct: Stripe;
let stack: Stack;
let api: Api;

beforeAll(async () => {
  ls = await startLocalStripe();
  proxy = await startStripeProxy(ls.port);
  direct = new Stripe(ls.apiKey, {
    host: '127.0.0.1',
    port: ls.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const stripe = createStripeProvider({
    apiKey: ls.apiKey,
    webhookSecrets: [],
    host: '127.0.0.1',
    port: proxy.port,
    protocol: 'http',
    timeoutMs: 1500,
    legacyPaymentMethodTypes: true,
  });
  // A breaker that does not open during this file (its opening is unit-tested with a manual clock):
  // here the failover itself is under test, not the fail-fast.
  const breaker = createCircuitBreaker({
    windowMs: 60_000,
    minCalls: 50,
    failureRate: 0.99,
    coolDownMs: 1000,
  });
  stack = await startStack({
    providers: (pool) =>
      createProviderRegistry([withCircuitBreaker(stripe, breaker), createSandboxProvider({ pool })]),
  });
  const { clientId, authorization } = await stack.serviceAuth();
  await stack.pool.query('INSERT INTO provider_routes (client_id, providers) VALUES ($1, $2)', [
    clientId,
    ['stripe', 'sandbox'],
  ]);
  api = apiFor(stack, authorization);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
  await ls?.stop();
});

afterEach(() => proxy.reset());

async function stripeIntents(paymentId: string): Promise<Stripe.PaymentIntent[]> {
  const out: Stripe.PaymentIntent[] = [];
  for await (const pi of direct.paymentIntents.list({ limit: 100 }))
    if (pi.metadata?.settle_payment_id === paymentId) out.push(pi);
  return out;
}

test('the routing rule picks Stripe; capture goes to the provider that authorized', async () => {
  const res = await api.pay(2500);
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ provider: 'stripe', status: 'authorized' });
  const intents = await stripeIntents(res.body.id);
  expect(intents.map((pi) => pi.status)).toEqual(['requires_capture']);
  expect((await sandboxBooks(stack, res.body.id)).transactions).toBe(0);
  expect((await api.capture(res.body.id)).body).toMatchObject({ status: 'captured', provider: 'stripe' });
});

test("the request's explicit provider goes first", async () => {
  const res = await api.pay(2550, { provider: 'sandbox' });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ provider: 'sandbox', status: 'authorized' });
  expect(await stripeIntents(res.body.id)).toEqual([]);
  expect((await sandboxBooks(stack, res.body.id)).transactions).toBe(1);
});

test('a decline is an answer: it never fails over', async () => {
  const tok = await api.post('/v1/vault/cards', {
    number: '4000000000000341', // localstripe's charge-time decline test card
    expMonth: 12,
    expYear: new Date().getUTCFullYear() + 2,
    cvc: '123',
  });
  expect(tok.status).toBe(201);
  const res = await api.post(
    '/v1/payments',
    { amount: 2600, currency: 'USD', paymentMethod: { token: tok.body.token }, capture: 'manual' },
    newKey('pay'),
  );
  expect(res.status).toBe(402);
  const paymentId = res.body.error.details.paymentId as string;
  expect((await api.get(paymentId)).body).toMatchObject({ status: 'declined', provider: 'stripe' });
  expect((await sandboxBooks(stack, paymentId)).transactions).toBe(0);
});

test('a Stripe outage is absorbed by the sandbox with exactly one hold', async () => {
  proxy.failNext(10_000, 503);
  const before = proxy.requests.length;
  const res = await api.pay(2700);
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ provider: 'sandbox', status: 'authorized', amountCapturable: 2700 });
  const paymentId = res.body.id as string;
  // Stripe was really tried (and failed), then the sandbox authorized.
  expect(proxy.requests.slice(before).some((r) => r.method === 'POST')).toBe(true);
  proxy.reset();
  expect(await stripeIntents(paymentId)).toEqual([]);
  const books = await sandboxBooks(stack, paymentId);
  expect(books.transactions).toBe(1);
  expect(books.tx).toMatchObject({ status: 'authorized', amountAuthorized: 2700 });
  // The payment now lives at the sandbox: capture goes there.
  expect((await api.capture(paymentId)).body).toMatchObject({ status: 'captured', provider: 'sandbox' });
  expect((await sandboxBooks(stack, paymentId)).tx).toMatchObject({ amountCaptured: 2700 });
  expect((await stack.pool.query('SELECT provider FROM payments WHERE id = $1', [paymentId])).rows).toEqual([
    { provider: 'sandbox' },
  ]);
});

test('an ambiguous Stripe attempt that did authorize is voided after failover: held once', async () => {
  const before = proxy.requests.length;
  // Stripe authorizes but the answer is lost; then Stripe goes down (the retries' syncs fail too).
  proxy.loseNextWriteResponse((m, p) => m === 'POST' && p === '/v1/payment_intents');
  const pending = api.pay(2800);
  await waitFor(
    () => Promise.resolve(proxy.requests.slice(before)),
    (rs) => rs.some((r) => r.method === 'POST' && r.path === '/v1/payment_intents'),
    20_000,
    'the authorization to reach Stripe',
  );
  proxy.failNext(10_000, 503);
  const res = await pending;
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ provider: 'sandbox', status: 'authorized' });
  const paymentId = res.body.id as string;
  // Right now the customer has two holds: the lost one at Stripe and the sandbox's.
  expect((await stripeIntents(paymentId)).map((pi) => pi.status)).toEqual(['requires_capture']);

  proxy.reset(); // Stripe is back: the compensation (sync + void) finds the hold and releases it.
  const intents = await waitFor(
    () => stripeIntents(paymentId),
    (pis) => pis.length === 1 && pis[0]!.status === 'canceled',
    40_000,
    'the lost Stripe hold to be voided',
  );
  expect(intents).toHaveLength(1);
  const books = await sandboxBooks(stack, paymentId);
  expect(books.transactions).toBe(1);
  expect(books.tx).toMatchObject({ status: 'authorized', amountAuthorized: 2800 });
  expect((await api.get(paymentId)).body).toMatchObject({ status: 'authorized', provider: 'sandbox' });
});
