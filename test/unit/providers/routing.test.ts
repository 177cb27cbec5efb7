/**
 * Routing rule, circuit breaker, provider configuration and merchant webhook signatures: pure code,
 * a manual clock for the breaker's window and cool-down.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { signPayload, verifySettleSignature } from '../../../activities/webhook-activities';
import { createProviderRegistry } from '../../../activities/providers/registry';
import { createCircuitBreaker, withCircuitBreaker } from '../../../activities/providers/breaker';
import { createProviderRouter } from '../../../activities/providers/routing';
import { ProviderError, type PaymentProvider } from '../../../activities/providers/types';
import type { ProviderName } from '../../../domain/providers';
import { ConfigError } from '../../../config/shapes';
import { loadApiConfig, loadCardWorkerConfig } from '../../../config/load';
import { subscribed } from '../../../db/webhooks-repo';
import { buildWebhookVerifiers } from '../../../workers/providers';

/** A provider whose sync answers as told: `ok`, an outage, or a decline-like invalid request. */
function scripted(name: ProviderName) {
  let next: 'ok' | 'down' | 'invalid' = 'ok';
  let calls = 0;
  const p: PaymentProvider = {
    name,
    authorize: () => Promise.reject(new Error('unused')),
    capture: () => Promise.reject(new Error('unused')),
    void: () => Promise.reject(new Error('unused')),
    refund: () => Promise.reject(new Error('unused')),
    sync: () => {
      calls++;
      if (next === 'down') return Promise.reject(ProviderError.unavailable(name, 'HTTP 503', 503));
      if (next === 'invalid') return Promise.reject(ProviderError.invalid(name, 'bad request', 400));
      return Promise.resolve({ found: false });
    },
    submitDisputeEvidence: () => Promise.reject(new Error('unused')),
    acceptDispute: () => Promise.reject(new Error('unused')),
    parseWebhook: () => Promise.reject(new Error('unused')),
  };
  return {
    p,
    set: (v: typeof next) => {
      next = v;
    },
    calls: () => calls,
  };
}

describe('circuit breaker', () => {
  let now = 0;
  const opts = { windowMs: 10_000, minCalls: 4, failureRate: 0.5, coolDownMs: 5_000, now: () => now };

  test('opens on the failure rate, fails fast while open, half-opens one probe after the cool-down', async () => {
    now = 0;
    const s = scripted('stripe');
    const breaker = createCircuitBreaker(opts);
    const guarded = withCircuitBreaker(s.p, breaker);
    await guarded.sync({ paymentId: 'pay_1' });
    await guarded.sync({ paymentId: 'pay_1' });
    s.set('down');
    await expect(guarded.sync({ paymentId: 'pay_1' })).rejects.toThrow('HTTP 503');
    expect(breaker.state()).toBe('closed'); // 1 of 3: below minCalls
    await expect(guarded.sync({ paymentId: 'pay_1' })).rejects.toThrow('HTTP 503');
    expect(breaker.state()).toBe('open'); // 2 of 4 = 50 %

    const before = s.calls();
    const fast = await guarded.sync({ paymentId: 'pay_1' }).catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(ProviderError);
    expect((fast as ProviderError).failureType).toBe('ProviderUnavailable');
    expect((fast as ProviderError).message).toBe('circuit open');
    expect(s.calls()).toBe(before); // nothing reached the provider

    now += 5_000;
    expect(breaker.state()).toBe('half_open');
    // The probe fails: open again for a new cool-down.
    await expect(guarded.sync({ paymentId: 'pay_1' })).rejects.toThrow('HTTP 503');
    expect(breaker.state()).toBe('open');
    now += 5_000;
    s.set('ok');
    expect(breaker.tryAcquire()).toBe(true); // the probe
    expect(breaker.tryAcquire()).toBe(false); // only one at a time
    breaker.record(true);
    expect(breaker.state()).toBe('closed');
    await expect(guarded.sync({ paymentId: 'pay_1' })).resolves.toEqual({ found: false });
  });

  test('answers (invalid requests, declines) are not failures; old failures leave the window', async () => {
    now = 0;
    const s = scripted('braintree');
    const breaker = createCircuitBreaker(opts);
    const guarded = withCircuitBreaker(s.p, breaker);
    s.set('invalid');
    for (let i = 0; i < 6; i++)
      await expect(guarded.sync({ paymentId: 'pay_2' })).rejects.toThrow('bad request');
    expect(breaker.state()).toBe('closed');

    const b2 = createCircuitBreaker(opts);
    const g2 = withCircuitBreaker(s.p, b2);
    s.set('down');
    for (let i = 0; i < 3; i++) await expect(g2.sync({ paymentId: 'pay_2' })).rejects.toThrow();
    now += 11_000; // the three failures age out
    s.set('ok');
    for (let i = 0; i < 3; i++) await g2.sync({ paymentId: 'pay_2' });
    s.set('down');
    await expect(g2.sync({ paymentId: 'pay_2' })).rejects.toThrow();
    expect(b2.state()).toBe('closed'); // 1 failure of 4 in the window
  });
});

describe('routing rule', () => {
  const registry = createProviderRegistry([scripted('sandbox').p, scripted('stripe').p]);

  test('without a merchant rule: one provider, the explicit one else the default (no failover)', async () => {
    const router = createProviderRouter({ providers: registry });
    expect(await router.route({ clientId: 'cli_x', preferred: 'sandbox' })).toEqual(['sandbox']);
    expect(await router.route({ clientId: 'cli_x', requested: 'stripe', preferred: 'sandbox' })).toEqual([
      'stripe',
    ]);
    // Not enabled: nothing (the workflow then uses the payment's provider and fails as before).
    expect(await router.route({ clientId: 'cli_x', requested: 'braintree' })).toEqual([]);
  });
});

describe('provider configuration', () => {
  const base = () => ({
    DATABASE_URL: 'postgres://u@127.0.0.1:5432/db',
    SETTLE_LOCAL_MASTER_KEY: randomBytes(32).toString('base64'),
    SETTLE_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
    SETTLE_SECRET_ROOT_KEY: randomBytes(32).toString('base64'),
    SETTLE_JWT_PRIVATE_KEY: generateKeyPairSync('ed25519')
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString(),
  });
  const problems = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  test('with no credentials only the sandbox is enabled', () => {
    expect(loadCardWorkerConfig(base()).SETTLE_PROVIDERS).toBe('sandbox');
    expect(buildWebhookVerifiers(loadApiConfig(base())).size).toBe(0);
  });

  test('a provider listed without its credentials names the missing variable', () => {
    expect(problems(() => loadCardWorkerConfig({ ...base(), SETTLE_PROVIDERS: 'sandbox,stripe' }))).toEqual([
      'STRIPE_API_KEY: required when SETTLE_PROVIDERS includes stripe',
    ]);
    expect(
      problems(() =>
        loadCardWorkerConfig({ ...base(), SETTLE_PROVIDERS: 'braintree', BRAINTREE_MERCHANT_ID: 'm' }),
      ),
    ).toEqual([
      'BRAINTREE_PUBLIC_KEY: required when SETTLE_PROVIDERS includes braintree',
      'BRAINTREE_PRIVATE_KEY: required when SETTLE_PROVIDERS includes braintree',
    ]);
    expect(problems(() => loadApiConfig({ ...base(), SETTLE_PROVIDERS: 'sandbox,stripe' }))).toEqual([
      'STRIPE_WEBHOOK_SECRETS: required when SETTLE_PROVIDERS includes stripe',
    ]);
  });

  test('credentials and emulator coordinates are read', () => {
    const c = loadCardWorkerConfig({
      ...base(),
      SETTLE_PROVIDERS: 'stripe,sandbox',
      STRIPE_API_KEY: 'sk_test_x',
      STRIPE_WEBHOOK_SECRETS: 'whsec_old,whsec_new',
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: '12111',
      STRIPE_API_PROTOCOL: 'http',
    });
    expect(c).toMatchObject({ STRIPE_API_PORT: 12111, STRIPE_API_PROTOCOL: 'http' });
    expect(problems(() => loadApiConfig({ ...base(), STRIPE_WEBHOOK_SECRETS: 'a,,b' }))).toEqual([
      expect.stringMatching(/^STRIPE_WEBHOOK_SECRETS: /),
    ]);
  });
});

describe('merchant webhook signature', () => {
  test('t=,v1= HMAC-SHA256 over "t.body": verifies, and rejects other secrets, bodies and stale times', () => {
    const body = JSON.stringify({ id: 'evt_1', type: 'payment.captured', createdAt: 'x', data: {} });
    const t = 1_800_000_000;
    const header = signPayload('whsec_a', body, t);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifySettleSignature('whsec_a', body, header, 300, t * 1000 + 10_000)).toBe(true);
    expect(verifySettleSignature('whsec_b', body, header, 300, t * 1000)).toBe(false);
    expect(verifySettleSignature('whsec_a', `${body} `, header, 300, t * 1000)).toBe(false);
    expect(verifySettleSignature('whsec_a', body, header, 300, t * 1000 + 301_000)).toBe(false);
    expect(verifySettleSignature('whsec_a', body, undefined)).toBe(false);
  });

  test('subscriptions: exact types, prefixes and *', () => {
    expect(subscribed(['payment.*'], 'payment.captured')).toBe(true);
    expect(subscribed(['payment.*'], 'refund.succeeded')).toBe(false);
    expect(subscribed(['refund.succeeded'], 'refund.succeeded')).toBe(true);
    expect(subscribed(['*'], 'bank_account.verified')).toBe(true);
  });
});
