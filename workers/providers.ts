/**
 * Which providers the card-data worker enables, from configuration, each behind its own circuit
 * breaker (activities/providers/breaker.ts; in this process's memory). Also the webhook verifiers the
 * API builds from the same variables (verification needs the webhook secrets, not the API keys).
 */
import Stripe from 'stripe';
import { createBraintreeProvider } from '../activities/providers/braintree/adapter';
import { createProviderRegistry, type ProviderRegistry } from '../activities/providers/registry';
import {
  createCircuitBreaker,
  withCircuitBreaker,
  type BreakerOptions,
} from '../activities/providers/breaker';
import { withCallMetrics } from '../activities/providers/metered';
import { createSandboxProvider } from '../activities/providers/sandbox/adapter';
import { verifySandboxWebhook } from '../activities/providers/sandbox/webhook';
import { createStripeProvider } from '../activities/providers/stripe/adapter';
import { normalizeStripeEvent, verifyStripeEvent } from '../activities/providers/stripe/webhook';
import type { PaymentProvider } from '../activities/providers/types';
import type { ProviderRecordSource } from '../activities/providers/records';
import { createSandboxRecordSource } from '../activities/providers/sandbox/records';
import { createStripeRecordSource } from '../activities/providers/stripe/records';
import { createBraintreeRecordSource } from '../activities/providers/braintree/records';
import type { ProviderEvent, ProviderName } from '../domain/providers';
import type { ProviderConfig } from '../config/shapes';
import type { Pool } from '../db/pool';

type Cfg = Partial<ProviderConfig> & { SETTLE_PROVIDERS: string };

const secretsOf = (cfg: Cfg) => (cfg.STRIPE_WEBHOOK_SECRETS ?? '').split(',').filter(Boolean);

function missing(name: string): never {
  // config/shapes.ts already refuses this; a direct caller gets the same message.
  throw new Error(`${name}: required when SETTLE_PROVIDERS includes this provider`);
}

/** One provider's credentials and address, for its adapter and its record source alike. */
const braintreeGateway = (cfg: Cfg) => ({
  merchantId: cfg.BRAINTREE_MERCHANT_ID ?? missing('BRAINTREE_MERCHANT_ID'),
  publicKey: cfg.BRAINTREE_PUBLIC_KEY ?? missing('BRAINTREE_PUBLIC_KEY'),
  privateKey: cfg.BRAINTREE_PRIVATE_KEY ?? missing('BRAINTREE_PRIVATE_KEY'),
  environment: cfg.BRAINTREE_ENVIRONMENT ?? 'sandbox',
  ...(cfg.GATEWAY_HOST ? { gatewayHost: cfg.GATEWAY_HOST } : {}),
  ...(cfg.GATEWAY_PORT ? { gatewayPort: cfg.GATEWAY_PORT } : {}),
});
const stripeApi = (cfg: Cfg) => ({
  apiKey: cfg.STRIPE_API_KEY ?? missing('STRIPE_API_KEY'),
  ...(cfg.STRIPE_API_HOST ? { host: cfg.STRIPE_API_HOST } : {}),
  ...(cfg.STRIPE_API_PORT ? { port: cfg.STRIPE_API_PORT } : {}),
  ...(cfg.STRIPE_API_PROTOCOL ? { protocol: cfg.STRIPE_API_PROTOCOL } : {}),
});

export function buildProviders(cfg: Cfg, pool: Pool, breaker?: BreakerOptions): ProviderRegistry {
  const wanted = new Set(cfg.SETTLE_PROVIDERS.split(','));
  const list: PaymentProvider[] = [];
  if (wanted.has('sandbox')) list.push(createSandboxProvider({ pool }));
  if (wanted.has('stripe')) {
    list.push(createStripeProvider({ ...stripeApi(cfg), webhookSecrets: secretsOf(cfg) }));
  }
  if (wanted.has('braintree')) list.push(createBraintreeProvider(braintreeGateway(cfg)));
  // Timed inside the breaker: a call the open circuit refuses never reached the provider.
  return createProviderRegistry(
    list.map((p) => withCircuitBreaker(withCallMetrics(p), createCircuitBreaker(breaker))),
  );
}

/**
 * Reconciliation's record sources for the enabled providers (activities/providers/records.ts), built
 * from the same credentials as the adapters. Reads only, so no circuit breaker: a failing read fails
 * that run's page, which Temporal retries.
 */
export function buildRecordSources(cfg: Cfg, pool: Pool): Map<ProviderName, ProviderRecordSource> {
  const wanted = new Set(cfg.SETTLE_PROVIDERS.split(','));
  const out = new Map<ProviderName, ProviderRecordSource>();
  if (wanted.has('sandbox')) out.set('sandbox', createSandboxRecordSource({ pool }));
  if (wanted.has('stripe')) out.set('stripe', createStripeRecordSource(stripeApi(cfg)));
  if (wanted.has('braintree')) out.set('braintree', createBraintreeRecordSource(braintreeGateway(cfg)));
  return out;
}

export type WebhookVerifier = (
  rawBody: Buffer,
  headers: Record<string, string | undefined>,
) => Promise<ProviderEvent>;

/** Provider name -> verifier of its inbound webhooks, for the enabled providers that have webhooks. */
export function buildWebhookVerifiers(cfg: Cfg): Map<ProviderName, WebhookVerifier> {
  const wanted = new Set(cfg.SETTLE_PROVIDERS.split(','));
  const out = new Map<ProviderName, WebhookVerifier>();
  if (wanted.has('stripe')) {
    const secrets = secretsOf(cfg);
    // Verification is local HMAC work: the static helper needs no API key.
    out.set('stripe', (body, headers) => {
      try {
        return Promise.resolve(
          normalizeStripeEvent(verifyStripeEvent(Stripe.webhooks, body, headers, secrets)),
        );
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
  if (wanted.has('braintree')) {
    const bt = createBraintreeProvider(braintreeGateway(cfg));
    out.set('braintree', (body, headers) => bt.parseWebhook(body, headers));
  }
  const sandboxSecret = cfg.SETTLE_SANDBOX_WEBHOOK_SECRET;
  if (wanted.has('sandbox') && sandboxSecret) {
    // The sandbox's own signed webhooks (disputes); local HMAC work, no database needed.
    out.set('sandbox', (body, headers) => {
      try {
        return Promise.resolve(verifySandboxWebhook(body, headers, sandboxSecret));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
  return out;
}
