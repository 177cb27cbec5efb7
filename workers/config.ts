/** Configuration of the worker processes (payment, merchant-webhook and card-data workers). */
import { z } from 'zod';
import {
  keyProviderRefinement,
  parseEnv,
  providerCredentialRefinement,
  providerShape,
  shared,
  webhookKey,
} from '../domain/config';
import { urlPolicyEnvShape } from '../security/url-guard';

export const workerShape = {
  DATABASE_URL: shared.DATABASE_URL,
  TEMPORAL_ADDRESS: shared.TEMPORAL_ADDRESS,
  TEMPORAL_NAMESPACE: shared.TEMPORAL_NAMESPACE,
  SETTLE_TASK_QUEUE: shared.SETTLE_TASK_QUEUE,
  SETTLE_CARD_TASK_QUEUE: shared.SETTLE_CARD_TASK_QUEUE,
  LOG_LEVEL: shared.LOG_LEVEL,
  /** Audit chain keys (process start/stop events) and, in the card worker, bank secrets. */
  SETTLE_SECRET_ROOT_KEY: shared.SETTLE_SECRET_ROOT_KEY,
};

/** The merchant-webhook worker: its own task queue, the key that unseals endpoint secrets. */
export const webhookWorkerShape = {
  ...workerShape,
  SETTLE_WEBHOOK_TASK_QUEUE: shared.SETTLE_WEBHOOK_TASK_QUEUE,
  SETTLE_WEBHOOK_KEY: webhookKey,
  /** SSRF guard for deliveries: http and non-public targets are off by default. */
  ...urlPolicyEnvShape,
};

export const cardWorkerShape = {
  ...workerShape,
  SETTLE_KEY_PROVIDER: shared.SETTLE_KEY_PROVIDER,
  SETTLE_LOCAL_MASTER_KEY: shared.SETTLE_LOCAL_MASTER_KEY,
  SETTLE_KMS_KEY_ID: shared.SETTLE_KMS_KEY_ID,
  SETTLE_KMS_ENDPOINT: shared.SETTLE_KMS_ENDPOINT,
  AWS_REGION: shared.AWS_REGION,
  SETTLE_FINGERPRINT_KEY: shared.SETTLE_FINGERPRINT_KEY,
  /** Comma-separated providers to enable; sandbox is always available unless removed here. */
  SETTLE_PROVIDERS: z
    .string()
    .regex(/^(sandbox|stripe|braintree)(,(sandbox|stripe|braintree))*$/)
    .default('sandbox'),
  ...providerShape,
};

export type WorkerConfig = z.infer<z.ZodObject<typeof workerShape>>;
export type WebhookWorkerConfig = z.infer<z.ZodObject<typeof webhookWorkerShape>>;
export type CardWorkerConfig = z.infer<z.ZodObject<typeof cardWorkerShape>>;

export const loadWorkerConfig = (env: NodeJS.ProcessEnv = process.env): WorkerConfig =>
  parseEnv(workerShape, env);
export const loadWebhookWorkerConfig = (env: NodeJS.ProcessEnv = process.env): WebhookWorkerConfig =>
  parseEnv(webhookWorkerShape, env);
export const loadCardWorkerConfig = (env: NodeJS.ProcessEnv = process.env): CardWorkerConfig =>
  parseEnv(cardWorkerShape, env, (c) => [
    ...keyProviderRefinement(c),
    // The card worker calls the providers: it needs the API credentials.
    ...providerCredentialRefinement(c, {
      stripe: ['STRIPE_API_KEY'],
      braintree: ['BRAINTREE_MERCHANT_ID', 'BRAINTREE_PUBLIC_KEY', 'BRAINTREE_PRIVATE_KEY'],
    }),
  ]);
