/**
 * Braintree adapter through the real `braintree` SDK (Development environment pointed at a local
 * gateway emulator, test/support/braintree-gateway) that speaks the SDK's XML wire format, enforces
 * the transaction state rules and reproduces the sandbox amount triggers (2000.00-2999.99 processor
 * declines, 3000.00 processor failure). The emulator settles submitted transactions at once unless a
 * test turns that off (real Braintree settles in a daily batch and refuses refunds before it).
 */
import braintree from 'braintree';
import { FAILURE_TYPES } from '../../../domain/errors';
import { newId } from '../../../domain/ids';
import {
  createBraintreeProvider,
  type BraintreeProviderOptions,
} from '../../../activities/providers/braintree/adapter';
import type { PaymentProvider } from '../../../activities/providers/types';
import type { CardData } from '../../../domain/card';
import { isSale, startBraintreeGateway, type BraintreeEmulator } from '../../support/braintree-gateway';
import { freePort } from '../../support/localstripe';
import { describeProviderScenarios, providerFailure } from './scenarios';

const VISA: CardData = { number: '4111111111111111', expMonth: 12, expYear: 2030, cvc: '123' };
const KEYS = { merchantId: 'settle_merchant', publicKey: 'settle_public', privateKey: 'settle_private' };
const ACCOUNTS = { usd_account: 'USD', jpy_account: 'JPY', kwd_account: 'KWD' };
const ACCOUNT_IDS = { USD: 'usd_account', JPY: 'jpy_account', KWD: 'kwd_account' };

interface Env {
  gw: BraintreeEmulator;
  provider: PaymentProvider;
  options: BraintreeProviderOptions;
}

let envPromise: Promise<Env> | undefined;
function env(): Promise<Env> {
  envPromise ??= (async () => {
    const gw = await startBraintreeGateway({ ...KEYS, merchantAccounts: ACCOUNTS });
    const options: BraintreeProviderOptions = {
      ...KEYS,
      environment: 'development',
      gatewayHost: '127.0.0.1',
      gatewayPort: gw.port,
      merchantAccountIds: ACCOUNT_IDS,
      timeoutMs: 1500,
    };
    return { gw, provider: createBraintreeProvider(options), options };
  })();
  return envPromise;
}

afterAll(async () => {
  if (envPromise) await (await envPromise).gw.stop();
});

describeProviderScenarios('braintree (local gateway)', async () => {
  const { gw, provider } = await env();
  return {
    provider,
    card: VISA,
    // Sandbox trigger: 2001.00 -> processor declined 2001 "Insufficient Funds".
    decline: { amount: 200_100, expectedCode: 'insufficient_funds' },
    faults: {
      failNext: (n, status) => gw.failNext(n, status),
      loseNextAuthorizationResponse: () => gw.loseNextResponse(isSale),
      reset: () => gw.reset(),
    },
    countAuthorizations: (paymentId) => Promise.resolve(gw.salesFor(paymentId).length),
    cleanup: () => Promise.resolve(),
  };
});

describe('braintree adapter specifics', () => {
  jest.setTimeout(30_000);
  afterEach(async () => {
    const { gw } = await env();
    gw.reset();
    gw.store.settleOnSubmit = true;
  });

  const auth = (
    provider: PaymentProvider,
    paymentId: string,
    amount: number,
    currency = 'USD',
    capture: 'manual' | 'automatic' = 'manual',
  ) =>
    provider.authorize({
      paymentId,
      idempotencyKey: `${paymentId}:authorize`,
      amount,
      currency,
      capture,
      card: VISA,
    });

  it('the orderId guard turns a retried authorization into a lookup: one sale, same reference', async () => {
    const { gw, provider } = await env();
    const p = newId('pay');
    gw.loseNextResponse(isSale);
    expect((await providerFailure(auth(provider, p, 4200))).failureType).toBe(
      FAILURE_TYPES.ProviderOutcomeUnknown,
    );
    expect(gw.salesFor(p)).toHaveLength(1);

    const salesBefore = gw.requests.filter((r) => isSale(r.method, r.path)).length;
    const retry = await auth(provider, p, 4200);
    expect(retry).toMatchObject({
      outcome: 'authorized',
      providerReference: gw.salesFor(p)[0]!.id,
      captured: false,
    });
    expect(gw.requests.filter((r) => isSale(r.method, r.path)).length).toBe(salesBefore); // no second POST /transactions
    expect(gw.salesFor(p)).toHaveLength(1);
  });

  it('a declined payment retried gets the same decline without asking the issuer again', async () => {
    const { gw, provider } = await env();
    const p = newId('pay');
    const first = await auth(provider, p, 200_400); // 2004.00 -> Expired Card
    expect(first).toMatchObject({ outcome: 'declined', declineCode: 'expired_card' });
    expect(await auth(provider, p, 200_400)).toEqual(first);
    expect(gw.salesFor(p)).toHaveLength(1);
  });

  it('3000.00 (processor network unavailable) is ProviderUnavailable and is not an authorization', async () => {
    const { gw, provider } = await env();
    const p = newId('pay');
    const err = await providerFailure(auth(provider, p, 300_000));
    expect(err.failureType).toBe(FAILURE_TYPES.ProviderUnavailable);
    expect(gw.salesFor(p).map((t) => [t.status, t.processorResponseCode])).toEqual([['failed', '3000']]);
    expect(await provider.sync({ paymentId: p })).toEqual({ found: false });
    // A retry is not blocked by the failed transaction: a new sale is attempted.
    await providerFailure(auth(provider, p, 300_000));
    expect(gw.salesFor(p)).toHaveLength(2);
  });

  it.each([
    ['USD', 1234, '12.34', 'usd_account'],
    ['JPY', 1234, '1234', 'jpy_account'],
    ['KWD', 1234, '1.234', 'kwd_account'],
    ['USD', 99_999_999_999, '999999999.99', 'usd_account'],
    ['KWD', 5, '0.005', 'kwd_account'],
  ])(
    'converts %s %d minor units to the decimal string %s on the wire, and back',
    async (currency, amount, wire, account) => {
      const { gw, provider } = await env();
      const p = newId('pay');
      const r = await auth(provider, p, amount, currency);
      if (r.outcome !== 'authorized') throw new Error('expected authorization');
      const t = gw.store.get(r.providerReference)!;
      expect([t.currency, t.merchantAccountId, t.wireAmount]).toEqual([currency, account, wire]);
      expect(await provider.sync({ paymentId: p })).toMatchObject({
        status: 'authorized',
        amountAuthorized: amount,
      });
    },
  );

  it('several partial captures and a refund spread over them, each safe to retry', async () => {
    const { gw, provider } = await env();
    const p = newId('pay');
    const r = await auth(provider, p, 10_000);
    if (r.outcome !== 'authorized') throw new Error('expected authorization');
    const ref = r.providerReference;
    const capture = (n: number, amount: number, final: boolean) =>
      provider.capture({
        paymentId: p,
        providerReference: ref,
        idempotencyKey: `${p}:capture:${n}`,
        amount,
        currency: 'USD',
        final,
      });
    const c1 = await capture(1, 3000, false);
    const c2 = await capture(2, 2000, false);
    expect(await capture(2, 2000, false)).toEqual(c2); // retry: found by its key, nothing sent
    await capture(3, 1000, true);
    expect(gw.store.get(ref)!.partialSettlementTransactionIds).toHaveLength(3);

    const refundId = newId('re');
    const refund = () =>
      provider.refund({
        paymentId: p,
        refundId,
        providerReference: ref,
        idempotencyKey: `${p}:refund:${refundId}`,
        amount: 4500,
        currency: 'USD',
      });
    const rf = await refund();
    expect(await refund()).toEqual(rf); // retry: no new refund transactions
    const snap = await provider.sync({ paymentId: p });
    expect(snap).toMatchObject({
      status: 'captured',
      amountAuthorized: 10_000,
      amountCaptured: 6000,
      amountRefunded: 4500,
    });
    expect(snap.captures?.map((c) => [c.amount, c.idempotencyKey])).toEqual([
      [3000, `${p}:capture:1`],
      [2000, `${p}:capture:2`],
      [1000, `${p}:capture:3`],
    ]);
    // 4500 over captures of 3000, 2000, 1000: two pieces, both tagged with the refund's key.
    expect(snap.refunds?.map((x) => [x.amount, x.idempotencyKey])).toEqual([
      [3000, `${p}:refund:${refundId}`],
      [1500, `${p}:refund:${refundId}`],
    ]);
    expect(c1.providerCaptureId).not.toBe(ref);
  });

  it('a retried full capture and a retried refund do not charge or refund twice', async () => {
    const { gw, provider } = await env();
    const p = newId('pay');
    const r = await auth(provider, p, 8000);
    if (r.outcome !== 'authorized') throw new Error('expected authorization');
    const cap = {
      paymentId: p,
      providerReference: r.providerReference,
      idempotencyKey: `${p}:capture:1`,
      amount: 8000,
      currency: 'USD',
      final: true,
    };
    gw.loseNextResponse((m, path) => m === 'PUT' && path.endsWith('/submit_for_settlement'));
    expect((await providerFailure(provider.capture(cap))).failureType).toBe(
      FAILURE_TYPES.ProviderOutcomeUnknown,
    );
    expect(await provider.capture(cap)).toEqual({ providerCaptureId: r.providerReference, amount: 8000 });

    const refundId = newId('re');
    const rq = {
      paymentId: p,
      refundId,
      providerReference: r.providerReference,
      idempotencyKey: `${p}:refund:${refundId}`,
      amount: 3000,
      currency: 'USD',
    };
    gw.loseNextResponse((m, path) => m === 'POST' && path.endsWith('/refund'));
    expect((await providerFailure(provider.refund(rq))).failureType).toBe(
      FAILURE_TYPES.ProviderOutcomeUnknown,
    );
    const again = await provider.refund(rq);
    expect(gw.store.get(r.providerReference)!.refundIds).toEqual([again.providerRefundId]);
    expect(await provider.sync({ paymentId: p })).toMatchObject({
      amountCaptured: 8000,
      amountRefunded: 3000,
    });
  });

  it('enforces the state rules: no refund before settlement, no void after it', async () => {
    const { gw, provider } = await env();
    gw.store.settleOnSubmit = false;
    const p = newId('pay');
    const r = await auth(provider, p, 5000, 'USD', 'automatic');
    if (r.outcome !== 'authorized') throw new Error('expected authorization');
    expect(gw.store.get(r.providerReference)!.status).toBe('submitted_for_settlement');
    const refundId = newId('re');
    const rq = {
      paymentId: p,
      refundId,
      providerReference: r.providerReference,
      idempotencyKey: `${p}:refund:${refundId}`,
      amount: 1000,
      currency: 'USD',
    };
    const early = await providerFailure(provider.refund(rq));
    expect(early.failureType).toBe(FAILURE_TYPES.ProviderInvalidRequest);
    expect(early.message).toContain('91506');

    // Settle through the SDK's own testing gateway, then the refund goes through.
    const sdk = new braintree.BraintreeGateway({
      environment: new braintree.Environment(
        '127.0.0.1',
        String(gw.port),
        'http://auth.venmo.dev:9292',
        false,
        'graphql.bt.local',
        '8080',
      ),
      ...KEYS,
    });
    await sdk.testing.settle(r.providerReference);
    // The refund (a credit transaction) is itself only submitted until the next batch: pending.
    const refunded = await provider.refund(rq);
    expect(refunded.status).toBe('pending');
    expect(gw.store.get(refunded.providerRefundId)).toMatchObject({
      type: 'credit',
      status: 'submitted_for_settlement',
      amount: 1000,
    });

    const voidErr = await providerFailure(
      provider.void({ paymentId: p, providerReference: r.providerReference, idempotencyKey: `${p}:void` }),
    );
    expect(voidErr.failureType).toBe(FAILURE_TYPES.ProviderInvalidRequest);
    expect(voidErr.message).toContain('91504');
  });

  it('rejects wrong credentials (basic auth) as a non-retryable error', async () => {
    const { options } = await env();
    const bad = createBraintreeProvider({ ...options, privateKey: 'not_the_key' });
    const err = await providerFailure(auth(bad, newId('pay'), 1000));
    expect(err.failureType).toBe(FAILURE_TYPES.ProviderInvalidRequest);
    expect(err.message).toContain('authenticationError');
  });

  it('a gateway that is down is ProviderUnavailable', async () => {
    const { options } = await env();
    const down = createBraintreeProvider({ ...options, gatewayPort: await freePort() });
    const err = await providerFailure(auth(down, newId('pay'), 1000));
    expect(err.failureType).toBe(FAILURE_TYPES.ProviderUnavailable);
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('braintree webhooks', () => {
  const sdk = new braintree.BraintreeGateway({ environment: braintree.Environment.Sandbox, ...KEYS });
  const provider = createBraintreeProvider({ ...KEYS, environment: 'sandbox' });
  const formOf = (n: { bt_signature: string; bt_payload: string }) =>
    Buffer.from(new URLSearchParams(n).toString());
  const sample = async (kind: string, id: string) =>
    (await (sdk.webhookTesting.sampleNotification as (k: string, i: string) => unknown)(kind, id)) as {
      bt_signature: string;
      bt_payload: string;
    };

  it.each([
    ['dispute_opened', 'dispute.opened', 25_000],
    ['dispute_lost', 'dispute.closed', 25_000],
    ['transaction_settlement_declined', 'settlement.failed', 10_000],
    ['transaction_settled', 'other', 10_000],
  ])('parses a signed %s notification as %s', async (kind, expected, amount) => {
    const ev = await provider.parseWebhook(formOf(await sample(kind, 'txn_abc')), {});
    expect(ev).toMatchObject({ provider: 'braintree', kind: expected, providerReference: 'txn_abc', amount });
    expect(ev.eventId).toContain(kind);
  });

  it('gives a redelivered notification the same event id', async () => {
    const n = await sample('dispute_opened', 'dp_1');
    const a = await provider.parseWebhook(formOf(n), {});
    const b = await provider.parseWebhook(formOf(n), {});
    expect(b.eventId).toBe(a.eventId);
  });

  it('keeps no card data from the notification in raw', async () => {
    // The SDK's refund_failed sample includes a card number and CVV in its subject.
    const ev = await provider.parseWebhook(formOf(await sample('refund_failed', 'txn_r')), {});
    expect(ev.kind).toBe('refund.failed');
    expect(JSON.stringify(ev.raw)).not.toMatch(/1234560000001234|<cvv>|"cvv"/);
  });

  it('rejects a tampered signature, a tampered payload, another key pair and missing fields', async () => {
    const n = await sample('dispute_opened', 'dp_2');
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
    const badSig = { ...n, bt_signature: flip(n.bt_signature, n.bt_signature.length - 2) };
    const badPayload = { ...n, bt_payload: flip(n.bt_payload, 10) };
    const otherKeys = createBraintreeProvider({
      ...KEYS,
      privateKey: 'other_private',
      environment: 'sandbox',
    });
    for (const [p, body] of [
      [provider, formOf(badSig)],
      [provider, formOf(badPayload)],
      [otherKeys, formOf(n)],
      [provider, Buffer.from('bt_signature=x')],
    ] as const) {
      const err = await providerFailure(p.parseWebhook(body, {}));
      expect(err.failureType).toBe(FAILURE_TYPES.ProviderInvalidRequest);
    }
  });
});
