/** Configuration of the API process. */
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
import { trustProxyProblem } from './rbac';

export const apiShape = {
  ...shared,
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Prometheus metrics; always bound to loopback. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** CIDRs allowed to reach admin and auditor routes (API.md: default loopback only). */
  SETTLE_ADMIN_ALLOWLIST: z.string().min(1).default('127.0.0.1/32,::1/128'),
  /**
   * Express `trust proxy` (hop count or CIDR list); explicit, default off: X-Forwarded-For is ignored.
   * `true` and catch-all ranges (wider than /8 or /32 for IPv6) are refused: any client could then
   * choose its own source address and walk past the admin allowlist (api/rbac.ts trustProxyProblem).
   */
  SETTLE_TRUST_PROXY: z
    .string()
    .superRefine((v, ctx) => {
      const problem = trustProxyProblem(v);
      if (problem)
        ctx.addIssue({ code: 'custom', message: `must be false, a hop count or proxy CIDRs: ${problem}` });
    })
    .default('false'),
  /** Seals operators' TOTP secrets (AES-256-GCM), base64 32 bytes. Operator login is off without it. */
  SETTLE_TOTP_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  /** Retired Ed25519 public keys (PEM, concatenated) still accepted during a signing-key rotation. */
  SETTLE_JWT_PREVIOUS_PUBLIC_KEYS: z.string().includes('PUBLIC KEY').optional(),
  /** HTTPS served by the API itself (TLS 1.2 minimum + HSTS): PEM certificate chain and key files. */
  SETTLE_TLS_CERT_FILE: z.string().min(1).optional(),
  SETTLE_TLS_KEY_FILE: z.string().min(1).optional(),
  SETTLE_RATE_LIMIT_AUTH_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(20),
  SETTLE_RATE_LIMIT_CLIENT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** How often the API writes a keyed anchor of the audit chain head (also at start). */
  SETTLE_AUDIT_ANCHOR_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(300_000),
  /** How long POST /v1/payments waits for the authorization outcome before answering 503. */
  SETTLE_AUTH_WAIT_MS: z.coerce.number().int().min(100).max(60000).default(10000),
  SETTLE_PROVIDERS: z
    .string()
    .regex(/^(sandbox|stripe|braintree)(,(sandbox|stripe|braintree))*$/)
    .default('sandbox'),
  SETTLE_DEFAULT_PROVIDER: z.enum(['sandbox', 'stripe', 'braintree']).default('sandbox'),
  /** Provider webhooks in: the API verifies them (Stripe secrets, Braintree keys; no Stripe API key needed). */
  ...providerShape,
  /** Merchant webhooks out: seals endpoint signing secrets; the endpoint routes are off without it. */
  SETTLE_WEBHOOK_KEY: webhookKey,
  /** SSRF guard for merchant endpoint URLs: http and non-public targets are off by default. */
  ...urlPolicyEnvShape,
  /** Legal entity (merchant account) whose keys protect this deployment's cards. */
  SETTLE_LEGAL_ENTITY: z
    .string()
    .regex(/^[a-z0-9_-]{1,64}$/)
    .default('default'),
};

export type ApiConfig = z.infer<z.ZodObject<typeof apiShape>>;

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
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
