/**
 * One loader per process root: its shape (config/shapes.ts) parsed from the environment once, with the
 * checks that span variables (a key provider's settings, TLS files in pairs, the credentials a
 * process's role needs). A bad value is a ConfigError naming the variable.
 */
import { parseEnv, type Env } from './parse';
import {
  apiShape,
  cardWorkerShape,
  cliShape,
  codecShape,
  keyProviderRefinement,
  migrateShape,
  paymentWorkerShape,
  providerCredentialRefinement,
  startShape,
  webhookWorkerShape,
  type ApiConfig,
  type CardWorkerConfig,
  type CliConfig,
  type CodecConfig,
  type MigrateConfig,
  type PaymentWorkerConfig,
  type StartConfig,
  type WebhookWorkerConfig,
} from './shapes';

export function loadApiConfig(env: Env): ApiConfig {
  return parseEnv(apiShape, env, (c) => [
    ...keyProviderRefinement(c),
    ...(!!c.SETTLE_TLS_CERT_FILE === !!c.SETTLE_TLS_KEY_FILE
      ? []
      : ['SETTLE_TLS_CERT_FILE: SETTLE_TLS_CERT_FILE and SETTLE_TLS_KEY_FILE go together']),
    ...(c.SETTLE_PROVIDERS.split(',').includes(c.SETTLE_DEFAULT_PROVIDER)
      ? []
      : ['SETTLE_DEFAULT_PROVIDER: must be one of SETTLE_PROVIDERS']),
    // The API only verifies provider webhooks: the Stripe endpoint secrets, the Braintree key pair.
    ...providerCredentialRefinement(c, {
      stripe: ['STRIPE_WEBHOOK_SECRETS'],
      braintree: ['BRAINTREE_MERCHANT_ID', 'BRAINTREE_PUBLIC_KEY', 'BRAINTREE_PRIVATE_KEY'],
    }),
  ]);
}

export const loadPaymentWorkerConfig = (env: Env): PaymentWorkerConfig =>
  parseEnv(paymentWorkerShape, env, keyProviderRefinement);

export const loadWebhookWorkerConfig = (env: Env): WebhookWorkerConfig =>
  parseEnv(webhookWorkerShape, env, keyProviderRefinement);

export const loadCardWorkerConfig = (env: Env): CardWorkerConfig =>
  parseEnv(cardWorkerShape, env, (c) => [
    ...keyProviderRefinement(c),
    // The card worker calls the providers: it needs the API credentials.
    ...providerCredentialRefinement(c, {
      stripe: ['STRIPE_API_KEY'],
      braintree: ['BRAINTREE_MERCHANT_ID', 'BRAINTREE_PUBLIC_KEY', 'BRAINTREE_PRIVATE_KEY'],
    }),
  ]);

export const loadCodecConfig = (env: Env): CodecConfig => parseEnv(codecShape, env, keyProviderRefinement);

export const loadMigrateConfig = (env: Env): MigrateConfig =>
  parseEnv(migrateShape, env, (c) =>
    c.DATABASE_OWNER_URL || c.DATABASE_URL ? [] : ['DATABASE_OWNER_URL: is required'],
  );

export const loadStartConfig = (env: Env): StartConfig => parseEnv(startShape, env);

export const loadCliConfig = (env: Env): CliConfig => parseEnv(cliShape, env);
