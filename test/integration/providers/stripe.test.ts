/**
 * Stripe adapter through the real `stripe` SDK against localstripe (started here, on a free port).
 *
 * Between the SDK and localstripe sits a recording proxy (test/support/localstripe.ts), because
 * localstripe lacks behaviours these tests need:
 *   - it ignores Idempotency-Key: the proxy records the header of every request, and the test below
 *     proves every write carried OUR deterministic key (the SDK would otherwise add a random one);
 *   - it never fails: the proxy injects 5xx answers and withholds a response after its effect;
 *   - it never returns `capture_before` nor issuer `decline_code`s: the proxy rewrites/cans those
 *     responses, so the adapter's reading of them is exercised through the real SDK;
 *   - it declines test card 4000000000000002 only when attaching to a customer; the charge-time
 *     decline card in localstripe is 4000000000000341, used for the shared decline scenario.
 */
import Stripe from 'stripe';
import { FAILURE_TYPES } from '../../../domain/errors';
import { newId } from '../../../domain/ids';
import { createStripeProvider } from '../../../activities/providers/stripe/adapter';
import { ProviderError, type PaymentProvider } from '../../../activities/providers/types';
import type { CardData } from '../../../domain/card';
import {
  freePort,
  startLocalStripe,
  startStripeProxy,
  type LocalStripe,
  type StripeProxy,
} from '../../support/localstripe';
import { describeProviderScenarios, providerFailure } from './scenarios';
import http from 'node:http';

const VISA: CardData = { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' };
const DECLINING: CardData = { number: '4000000000000341', expMonth: 12, expYear: 2030, cvc: '123' };
const SECRET_OLD = 'whsec_old_settle_test';
const SECRET_NEW = 'whsec_new_settle_test';

interface Env {
  ls: LocalStripe;
  proxy: StripeProxy;
  provider: PaymentProvider;
  /** Talks to localstripe directly (no proxy): the test's own view of provider-side objects. */
  direct: Stripe;
}

let envPromise: Promise<Env> | undefined;
function env(): Promise<Env> {
  envPromise ??= (async () => {
    const ls = await startLocalStripe();
    const proxy = await startStripeProxy(ls.port);
    const provider = createStripeProvider({
      apiKey: ls.apiKey,
      webhookSecrets: [SECRET_OLD, SECRET_NEW],
      host: '127.0.0.1',
      port: proxy.port,
      protocol: 'http',
      timeoutMs: 1500,
      legacyPaymentMethodTypes: true,
    });
    const direct = new Stripe(ls.apiKey, {
      host: '127.0.0.1',
      port: ls.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    return { ls, proxy, provider, direct };
  })();
  return envPromise;
}

afterAll(async () => {
  if (!envPromise) return;
  const e = await envPromise;
  await e.proxy.stop();
  await e.ls.stop();
});

async function paymentIntentsFor(direct: Stripe, paymentId: string): Promise<Stripe.PaymentIntent[]> {
  const out: Stripe.PaymentIntent[] = [];
  for await (const pi of direct.paymentIntents.list({ limit: 100 }))
    if (pi.metadata?.settle_payment_id === paymentId) out.push(pi);
  return out;
}

describeProviderScenarios('stripe (localstripe)', async () => {
  const e = await env();
  return {
    provider: e.provider,
    card: VISA,
    decline: { card: DECLINING, expectedCode: 'card_declined' },
    faults: {
      failNext: (n, status) => e.proxy.failNext(n, status),
      loseNextAuthorizationResponse: () =>
        e.proxy.loseNextWriteResponse((m, p) => m === 'POST' && p === '/v1/payment_intents'),
      reset: () => e.proxy.reset(),
    },
    countAuthorizations: async (paymentId) => (await paymentIntentsFor(e.direct, paymentId)).length,
    cleanup: () => Promise.resolve(),
  };
});

describe('stripe adapter specifics', () => {
  jest.setTimeout(30_000);
  afterEach(async () => (await env()).proxy.reset());

  it('sends our deterministic Idempotency-Key on every write (recorded by the proxy; localstripe ignores keys)', async () => {
    const { provider, proxy } = await env();
    const start = proxy.requests.length;
    const a = newId('pay');
    const auth = await provider.authorize({
      paymentId: a,
      idempotencyKey: `${a}:authorize`,
      amount: 5000,
      currency: 'usd',
      capture: 'manual',
      card: VISA,
    });
    if (auth.outcome !== 'authorized') throw new Error('expected authorization');
    await provider.capture({
      paymentId: a,
      providerReference: auth.providerReference,
      idempotencyKey: `${a}:capture:1`,
      amount: 4000,
      currency: 'USD',
      final: true,
    });
    const refundId = newId('re');
    await provider.refund({
      paymentId: a,
      refundId,
      providerReference: auth.providerReference,
      idempotencyKey: `${a}:refund:${refundId}`,
      amount: 1000,
      currency: 'USD',
    });
    await provider.sync({ paymentId: a, providerReference: auth.providerReference });
    const b = newId('pay');
    const auth2 = await provider.authorize({
      paymentId: b,
      idempotencyKey: `${b}:authorize`,
      amount: 5000,
      currency: 'USD',
      capture: 'manual',
      card: VISA,
    });
    if (auth2.outcome !== 'authorized') throw new Error('expected authorization');
    await provider.void({
      paymentId: b,
      providerReference: auth2.providerReference,
      idempotencyKey: `${b}:void`,
    });

    const seen = proxy.requests.slice(start);
    const writes = seen.filter((r) => r.method === 'POST');
    expect(writes.map((w) => [w.path.replace(/pi_\w+/, 'pi_*'), w.idempotencyKey])).toEqual([
      ['/v1/payment_methods', `${a}:authorize:pm`],
      ['/v1/payment_intents', `${a}:authorize`],
      ['/v1/payment_intents/pi_*/capture', `${a}:capture:1`],
      ['/v1/refunds', `${a}:refund:${refundId}`],
      ['/v1/payment_methods', `${b}:authorize:pm`],
      ['/v1/payment_intents', `${b}:authorize`],
      ['/v1/payment_intents/pi_*/cancel', `${b}:void`],
    ]);
    // Reads were made too, and carry no key.
    expect(seen.filter((r) => r.method === 'GET').length).toBeGreaterThan(0);
    expect(seen.filter((r) => r.method === 'GET').every((r) => r.idempotencyKey === undefined)).toBe(true);
  });

  it('sends the same keys again when an authorization is retried', async () => {
    const { provider, proxy } = await env();
    const p = newId('pay');
    const req = {
      paymentId: p,
      idempotencyKey: `${p}:authorize`,
      amount: 1200,
      currency: 'USD',
      capture: 'manual' as const,
      card: VISA,
    };
    const keysOf = async () => {
      const start = proxy.requests.length;
      await provider.authorize(req);
      return proxy.requests
        .slice(start)
        .filter((r) => r.method === 'POST')
        .map((r) => r.idempotencyKey);
    };
    const first = await keysOf();
    expect(await keysOf()).toEqual(first);
    expect(first).toEqual([`${p}:authorize:pm`, `${p}:authorize`]);
  });

  it('reads capture_before from the latest charge into captureBefore', async () => {
    const { provider, proxy } = await env();
    const deadline = Math.floor(Date.now() / 1000) + 7 * 24 * 3600;
    proxy.rewriteNextResponse(
      (m, p) => m === 'POST' && p === '/v1/payment_intents',
      (body) => {
        const pi = body as { latest_charge: Record<string, unknown> };
        pi.latest_charge.payment_method_details = { type: 'card', card: { capture_before: deadline } };
        return pi;
      },
    );
    const p = newId('pay');
    const r = await provider.authorize({
      paymentId: p,
      idempotencyKey: `${p}:authorize`,
      amount: 2500,
      currency: 'USD',
      capture: 'manual',
      card: VISA,
    });
    expect(r).toMatchObject({
      outcome: 'authorized',
      captureBefore: new Date(deadline * 1000).toISOString(),
    });
  });

  it("maps an issuer decline_code (402 card_error) to the DeclineCode, without Stripe's message", async () => {
    const { provider, proxy } = await env();
    proxy.respondNext((m, p) => m === 'POST' && p === '/v1/payment_intents', 402, {
      error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        message: `Card ${VISA.number} declined`,
        payment_intent: { id: 'pi_canned' },
      },
    });
    const p = newId('pay');
    const r = await provider.authorize({
      paymentId: p,
      idempotencyKey: `${p}:authorize`,
      amount: 2500,
      currency: 'USD',
      capture: 'manual',
      card: VISA,
    });
    expect(r).toEqual({
      outcome: 'declined',
      providerReference: 'pi_canned',
      declineCode: 'insufficient_funds',
      message: 'The card has insufficient funds.',
    });
  });

  it('a capture whose response was lost is retried without failing and reports what was captured', async () => {
    const { provider, proxy, direct } = await env();
    const p = newId('pay');
    const auth = await provider.authorize({
      paymentId: p,
      idempotencyKey: `${p}:authorize`,
      amount: 9000,
      currency: 'USD',
      capture: 'manual',
      card: VISA,
    });
    if (auth.outcome !== 'authorized') throw new Error('expected authorization');
    const cap = {
      paymentId: p,
      providerReference: auth.providerReference,
      idempotencyKey: `${p}:capture:1`,
      amount: 7000,
      currency: 'USD',
      final: true,
    };
    proxy.loseNextWriteResponse((m, path) => m === 'POST' && path.endsWith('/capture'));
    const err = await providerFailure(provider.capture(cap));
    expect(err.failureType).toBe(FAILURE_TYPES.ProviderOutcomeUnknown);
    const again = await provider.capture(cap);
    expect(again.amount).toBe(7000);
    const snap = await provider.sync({ paymentId: p, providerReference: auth.providerReference });
    expect(snap).toMatchObject({ status: 'captured', amountCaptured: 7000, amountRefunded: 0 });
    expect((await direct.paymentIntents.retrieve(auth.providerReference)).status).toBe('succeeded');
  });

  it('connection refused is ProviderUnavailable (nothing was sent)', async () => {
    const port = await freePort();
    const provider = createStripeProvider({
      apiKey: 'sk_test_x',
      webhookSecrets: [],
      host: '127.0.0.1',
      port,
      protocol: 'http',
      timeoutMs: 1000,
    });
    const p = newId('pay');
    const err = await providerFailure(
      provider.authorize({
        paymentId: p,
        idempotencyKey: `${p}:authorize`,
        amount: 100,
        currency: 'USD',
        capture: 'manual',
        card: VISA,
      }),
    );
    expect(err.failureType).toBe(FAILURE_TYPES.ProviderUnavailable);
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('stripe webhooks', () => {
  const webhooks = Stripe.webhooks;
  const provider = createStripeProvider({
    apiKey: 'sk_test_unused',
    webhookSecrets: [SECRET_OLD, SECRET_NEW],
  });

  const event = (type: string, object: Record<string, unknown>) =>
    JSON.stringify({
      id: `evt_${type.replace(/\W/g, '')}`,
      object: 'event',
      type,
      created: Math.floor(Date.now() / 1000),
      data: { object },
    });
  const sign = (payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) =>
    webhooks.generateTestHeaderString({ payload, secret, timestamp });

  const succeeded = event('payment_intent.succeeded', {
    id: 'pi_123',
    object: 'payment_intent',
    status: 'succeeded',
    amount: 5000,
    amount_received: 4000,
    currency: 'usd',
    metadata: { settle_payment_id: 'pay_abc' },
  });

  it('accepts a valid signature and normalizes the event', async () => {
    const ev = await provider.parseWebhook(Buffer.from(succeeded), {
      'Stripe-Signature': sign(succeeded, SECRET_NEW),
    });
    expect(ev).toMatchObject({
      provider: 'stripe',
      eventId: 'evt_payment_intentsucceeded',
      kind: 'payment.captured',
      providerReference: 'pi_123',
      paymentId: 'pay_abc',
      amount: 4000,
    });
  });

  it('accepts either secret during a rotation, and only those', async () => {
    for (const secret of [SECRET_OLD, SECRET_NEW]) {
      await expect(
        provider.parseWebhook(Buffer.from(succeeded), { 'stripe-signature': sign(succeeded, secret) }),
      ).resolves.toMatchObject({ kind: 'payment.captured' });
    }
    const onlyNew = createStripeProvider({ apiKey: 'sk_test_unused', webhookSecrets: [SECRET_NEW] });
    const err = await providerFailure(
      onlyNew.parseWebhook(Buffer.from(succeeded), { 'stripe-signature': sign(succeeded, SECRET_OLD) }),
    );
    expect(err.failureType).toBe(FAILURE_TYPES.ProviderInvalidRequest);
  });

  it('rejects a wrong secret, a tampered body and a missing header', async () => {
    const wrong = await providerFailure(
      provider.parseWebhook(Buffer.from(succeeded), {
        'stripe-signature': sign(succeeded, 'whsec_attacker'),
      }),
    );
    expect(wrong).toBeInstanceOf(ProviderError);
    expect(wrong.failureType).toBe(FAILURE_TYPES.ProviderInvalidRequest);
    expect(wrong.message).toMatch(/does not match/);
    const tampered = succeeded.replace('"amount_received":4000', '"amount_received":1');
    expect(tampered).not.toBe(succeeded);
    expect(
      (
        await providerFailure(
          provider.parseWebhook(Buffer.from(tampered), { 'stripe-signature': sign(succeeded, SECRET_NEW) }),
        )
      ).failureType,
    ).toBe(FAILURE_TYPES.ProviderInvalidRequest);
    expect((await providerFailure(provider.parseWebhook(Buffer.from(succeeded), {}))).failureType).toBe(
      FAILURE_TYPES.ProviderInvalidRequest,
    );
  });

  it('rejects a signature older than 300 s, and one far in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    const stale = await providerFailure(
      provider.parseWebhook(Buffer.from(succeeded), {
        'stripe-signature': sign(succeeded, SECRET_NEW, now - 301),
      }),
    );
    expect(stale.failureType).toBe(FAILURE_TYPES.ProviderInvalidRequest);
    expect(stale.message).toMatch(/tolerance/);
    await expect(
      provider.parseWebhook(Buffer.from(succeeded), {
        'stripe-signature': sign(succeeded, SECRET_NEW, now - 250),
      }),
    ).resolves.toBeDefined();
    const future = await providerFailure(
      provider.parseWebhook(Buffer.from(succeeded), {
        'stripe-signature': sign(succeeded, SECRET_NEW, now + 600),
      }),
    );
    expect(future.failureType).toBe(FAILURE_TYPES.ProviderInvalidRequest);
  });

  it.each([
    [
      'payment_intent.amount_capturable_updated',
      'payment.authorized',
      { id: 'pi_1', object: 'payment_intent', amount_capturable: 700, amount: 700 },
      700,
    ],
    ['payment_intent.canceled', 'payment.voided', { id: 'pi_1', object: 'payment_intent', amount: 700 }, 700],
    [
      'payment_intent.payment_failed',
      'payment.failed',
      { id: 'pi_1', object: 'payment_intent', amount: 700 },
      700,
    ],
    [
      'charge.refunded',
      'refund.succeeded',
      { id: 'ch_1', object: 'charge', payment_intent: 'pi_1', amount: 700, amount_refunded: 300 },
      300,
    ],
    [
      'charge.dispute.created',
      'dispute.opened',
      {
        id: 'dp_1',
        object: 'dispute',
        payment_intent: 'pi_1',
        charge: 'ch_1',
        amount: 700,
        reason: 'fraudulent',
      },
      700,
    ],
    [
      'charge.dispute.closed',
      'dispute.closed',
      { id: 'dp_1', object: 'dispute', payment_intent: 'pi_1', charge: 'ch_1', amount: 700, status: 'lost' },
      700,
    ],
    ['customer.created', 'other', { id: 'cus_1', object: 'customer' }, undefined],
  ] as const)('maps %s to %s', async (type, kind, object, amount) => {
    const body = event(type, object);
    const ev = await provider.parseWebhook(Buffer.from(body), { 'stripe-signature': sign(body, SECRET_OLD) });
    expect(ev.kind).toBe(kind);
    expect(ev.amount).toBe(amount);
    if (kind !== 'other') expect(ev.providerReference).toBe('pi_1');
  });

  it('verifies a webhook actually signed and delivered by localstripe', async () => {
    const { ls, provider: live } = await env();
    const p = newId('pay');
    // A receiver that waits for OUR payment's event (localstripe may also deliver events of earlier
    // tests that were still queued when the endpoint was registered).
    let deliver!: (d: { body: Buffer; headers: Record<string, string | undefined> }) => void;
    const received = new Promise<{ body: Buffer; headers: Record<string, string | undefined> }>(
      (r) => (deliver = r),
    );
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.end('ok');
        const body = Buffer.concat(chunks);
        if (body.toString('utf8').includes(p))
          deliver({
            body,
            headers: { 'stripe-signature': req.headers['stripe-signature'] as string | undefined },
          });
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const addr = receiver.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      // localstripe's own config endpoint: deliver payment_intent.succeeded, signed with SECRET_OLD.
      const status = await new Promise<number>((resolve, reject) => {
        const cfg = http.request(
          {
            host: '127.0.0.1',
            port: ls.port,
            method: 'POST',
            path: '/_config/webhooks/settle',
            headers: { 'Content-Type': 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        cfg.on('error', reject);
        cfg.end(
          JSON.stringify({
            url: `http://127.0.0.1:${port}/webhooks/stripe`,
            secret: SECRET_OLD,
            events: ['payment_intent.succeeded'],
          }),
        );
      });
      expect(status).toBe(200);
      await live.authorize({
        paymentId: p,
        idempotencyKey: `${p}:authorize`,
        amount: 3100,
        currency: 'USD',
        capture: 'automatic',
        card: VISA,
      });
      const { body, headers } = await received;
      const ev = await live.parseWebhook(body, headers);
      expect(ev).toMatchObject({ kind: 'payment.captured', paymentId: p, amount: 3100 });
    } finally {
      receiver.closeAllConnections();
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  });
});
