/**
 * Provider webhooks in, through the real API route (raw body), PostgreSQL and the payment workflow.
 *
 * A real Stripe payment is made through the API against localstripe; refunds are then made AT THE
 * PROVIDER (as from its dashboard) with the Stripe SDK. localstripe does not send webhooks, so the
 * test builds the `charge.refunded` events Stripe would send for them and signs them with the SDK's
 * own test-header helper (the endpoint secrets are generated here). Braintree notifications come
 * from the braintree SDK's sampleNotification (signed with keys generated here).
 *
 * Proves: bad / stale signatures are 400 in the contract error shape with nothing stored; both
 * secrets of a rotation are accepted; each provider event is stored once; duplicates and reordered
 * events take effect once (amounts stay consistent); a dispute opens one dispute (one
 * `dispute.created`, the disputed funds withdrawn once), however often it is delivered.
 */
import { randomBytes } from 'node:crypto';
import braintree from 'braintree';
import Stripe from 'stripe';
import { createProviderRegistry } from '../../activities/providers/registry';
import { createSandboxProvider } from '../../activities/providers/sandbox/adapter';
import { createStripeProvider } from '../../activities/providers/stripe/adapter';
import { buildWebhookVerifiers } from '../../workers/providers';
import { disputeIdOf } from '../../api/disputes-service';
import { startLocalStripe, type LocalStripe } from '../support/localstripe';
import { startStack, type Stack } from '../support/stack';
import { apiFor, waitFor, type Api } from './payments-support';

jest.setTimeout(60_000);

const SECRET_OLD = `whsec_${randomBytes(16).toString('hex')}`;
const SECRET_NEW = `whsec_${randomBytes(16).toString('hex')}`;
const BT = {
  merchantId: 'settle_test',
  publicKey: randomBytes(8).toString('hex'),
  privateKey: randomBytes(16).toString('hex'),
};

let ls: LocalStripe;
let direct: Stripe;
let stack: Stack;
let api: Api;

beforeAll(async () => {
  ls = await startLocalStripe();
  direct = new Stripe(ls.apiKey, {
    host: '127.0.0.1',
    port: ls.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const stripe = createStripeProvider({
    apiKey: ls.apiKey,
    webhookSecrets: [SECRET_OLD, SECRET_NEW],
    host: '127.0.0.1',
    port: ls.port,
    protocol: 'http',
    legacyPaymentMethodTypes: true,
  });
  stack = await startStack({
    providers: (pool) => createProviderRegistry([createSandboxProvider({ pool }), stripe]),
    webhooks: {
      verifiers: buildWebhookVerifiers({
        SETTLE_PROVIDERS: 'sandbox,stripe,braintree',
        STRIPE_WEBHOOK_SECRETS: `${SECRET_OLD},${SECRET_NEW}`,
        BRAINTREE_MERCHANT_ID: BT.merchantId,
        BRAINTREE_PUBLIC_KEY: BT.publicKey,
        BRAINTREE_PRIVATE_KEY: BT.privateKey,
        BRAINTREE_ENVIRONMENT: 'sandbox',
      }),
    },
  });
  api = apiFor(stack, (await stack.serviceAuth()).authorization);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await ls?.stop();
});

const stripeEvent = (id: string, type: string, object: Record<string, unknown>) =>
  JSON.stringify({ id, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object } });

function postStripe(body: string, secret = SECRET_NEW, timestamp = Math.floor(Date.now() / 1000)) {
  const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
  return stack.http
    .post('/webhooks/stripe')
    .set('Content-Type', 'application/json')
    .set('Stripe-Signature', header)
    .send(body);
}

const storedCount = async (provider: string, eventId: string) =>
  (
    await stack.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM provider_events WHERE provider = $1 AND event_id = $2',
      [provider, eventId],
    )
  ).rows[0]!.n;

async function stripePayment(amount: number) {
  const res = await api.pay(amount, { provider: 'stripe', capture: 'automatic' });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ provider: 'stripe', status: 'captured' });
  const pi = res.body.providerReference as string;
  const charge = (await direct.paymentIntents.retrieve(pi)).latest_charge;
  return { paymentId: res.body.id as string, pi, charge: typeof charge === 'string' ? charge : charge?.id };
}

test('bad and stale signatures are 400 in the contract shape, and nothing is stored', async () => {
  const id = `evt_${randomBytes(8).toString('hex')}`;
  const body = stripeEvent(id, 'charge.refunded', { object: 'charge', id: 'ch_x', amount_refunded: 1 });
  const wrong = await postStripe(body, 'whsec_not_ours');
  expect(wrong.status).toBe(400);
  expect(wrong.body.error).toMatchObject({ type: 'invalid_request', code: 'invalid_signature' });
  expect(typeof wrong.body.error.requestId).toBe('string');
  const stale = await postStripe(body, SECRET_NEW, Math.floor(Date.now() / 1000) - 301);
  expect(stale.status).toBe(400);
  expect(stale.body.error.message).toMatch(/tolerance/);
  const tampered = await stack.http
    .post('/webhooks/stripe')
    .set('Stripe-Signature', Stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET_NEW }))
    .set('Content-Type', 'application/json')
    .send(body.replace('"amount_refunded":1', '"amount_refunded":9'));
  expect(tampered.status).toBe(400);
  const missing = await stack.http
    .post('/webhooks/stripe')
    .set('Content-Type', 'application/json')
    .send(body);
  expect(missing.status).toBe(400);
  expect(await storedCount('stripe', id)).toBe(0);
});

test('provider-side refunds: reordered and duplicated events take effect once, amounts stay consistent', async () => {
  const { paymentId, pi, charge } = await stripePayment(10_000);
  // Two refunds made at the provider, not through Settle.
  await direct.refunds.create({ payment_intent: pi, amount: 3000 });
  await direct.refunds.create({ payment_intent: pi, amount: 2000 });
  const obj = (refunded: number) => ({
    object: 'charge',
    id: charge,
    payment_intent: pi,
    amount: 10_000,
    amount_refunded: refunded,
    currency: 'usd',
    status: 'succeeded',
  });
  const first = `evt_${randomBytes(8).toString('hex')}`;
  const second = `evt_${randomBytes(8).toString('hex')}`;

  // Delivered out of order (the later, cumulative 5000 first), and each twice; old and new secret.
  const r1 = await postStripe(stripeEvent(second, 'charge.refunded', obj(5000)), SECRET_OLD);
  expect(r1.status).toBe(200);
  expect(r1.body).toEqual({ received: true, outcome: 'applied' });
  expect((await postStripe(stripeEvent(first, 'charge.refunded', obj(3000)))).status).toBe(200);
  const dup = await postStripe(stripeEvent(second, 'charge.refunded', obj(5000)));
  expect(dup.body).toEqual({ received: true, outcome: 'duplicate' });
  expect(await storedCount('stripe', first)).toBe(1);
  expect(await storedCount('stripe', second)).toBe(1);

  const view = await api.waitForStatus(paymentId, 'partially_refunded');
  expect(view).toMatchObject({ amountCaptured: 10_000, amountRefunded: 5000 });
  // A refund through Settle is serialized after the signals: its result shows the true total.
  const ours = await api.refund(paymentId, { amount: 1000 });
  expect(ours.status).toBe(201);
  expect(ours.body.payment ?? (await api.get(paymentId)).body).toMatchObject({ amountRefunded: 6000 });
  const after = (await api.get(paymentId)).body;
  expect(after).toMatchObject({ status: 'partially_refunded', amountRefunded: 6000 });
  // The provider agrees: 3000 + 2000 at the provider, 1000 from Settle.
  expect((await direct.charges.retrieve(charge!)).amount_refunded).toBe(6000);
  // One refund.succeeded merchant event for the provider-side refund, one for ours.
  const refundEvents = await stack.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events WHERE type = 'refund.succeeded' AND data->>'paymentId' = $1`,
    [paymentId],
  );
  expect(refundEvents.rows[0]!.n).toBe(2);
});

test('a dispute opens one dispute, however often it is delivered', async () => {
  const { paymentId, pi, charge } = await stripePayment(4200);
  const id = `evt_${randomBytes(8).toString('hex')}`;
  const stripeDisputeId = `dp_${randomBytes(6).toString('hex')}`;
  const body = stripeEvent(id, 'charge.dispute.created', {
    object: 'dispute',
    id: stripeDisputeId,
    amount: 4200,
    currency: 'usd',
    charge,
    payment_intent: pi,
    reason: 'fraudulent',
    status: 'needs_response',
  });
  for (let i = 0; i < 3; i++) expect((await postStripe(body)).status).toBe(200);
  const rows = await waitFor(
    () =>
      stack.pool
        .query<{ id: string; data: Record<string, unknown> }>(
          `SELECT id, data FROM events WHERE resource_id = $1 AND type = 'dispute.created'`,
          [disputeIdOf('stripe', stripeDisputeId)],
        )
        .then((r) => r.rows),
    (r) => r.length > 0,
    20_000,
    'dispute event',
  );
  expect(rows).toHaveLength(1);
  expect(rows[0]!.data).toMatchObject({ paymentId, status: 'needs_response', amount: 4200 });
  expect(await storedCount('stripe', id)).toBe(1);
  // The disputed funds are withdrawn once; the payment's status does not change.
  const paid = await waitFor(
    () => api.get(paymentId),
    (r) => r.body?.amountDisputed === 4200,
    20_000,
    'withdrawal',
  );
  expect(paid.body).toMatchObject({ status: 'captured', amountRefunded: 0 });
});

test('braintree: the SDK-verified notification is stored once; a forged one is 400', async () => {
  const sdk = new braintree.BraintreeGateway({ environment: braintree.Environment.Sandbox, ...BT });
  const n = (await (sdk.webhookTesting.sampleNotification as (k: string, i: string) => unknown)(
    'transaction_settlement_declined',
    `txn_${randomBytes(4).toString('hex')}`,
  )) as { bt_signature: string; bt_payload: string };
  const post = (form: Record<string, string>) =>
    stack.http.post('/webhooks/braintree').type('form').send(new URLSearchParams(form).toString());

  const forged = await post({ bt_signature: `${BT.publicKey}|${'0'.repeat(40)}`, bt_payload: n.bt_payload });
  expect(forged.status).toBe(400);
  expect(forged.body.error).toMatchObject({ type: 'invalid_request', code: 'invalid_signature' });
  expect(
    (await stack.pool.query(`SELECT 1 FROM provider_events WHERE provider = 'braintree'`)).rowCount,
  ).toBe(0);

  expect((await post(n)).status).toBe(200);
  expect((await post(n)).body).toEqual({ received: true, outcome: 'duplicate' });
  const rows = await stack.pool.query<{ kind: string }>(
    `SELECT kind FROM provider_events WHERE provider = 'braintree'`,
  );
  expect(rows.rows).toEqual([{ kind: 'settlement.failed' }]);
});
