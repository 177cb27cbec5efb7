/**
 * The one way a Stripe SDK client is made (the adapter's and reconciliation's record source): no SDK
 * retries (Temporal retries, with the same idempotency key), a per-request timeout, no telemetry, and
 * an optional host/port/protocol (the local emulator in tests).
 */
import Stripe from 'stripe';

export interface StripeClientOptions {
  apiKey: string;
  host?: string | undefined;
  port?: number | undefined;
  protocol?: 'http' | 'https' | undefined;
  /** Per-request timeout; after it a write's outcome is unknown (see errors.ts). */
  timeoutMs?: number | undefined;
}

export function createStripeClient(opts: StripeClientOptions): Stripe {
  return new Stripe(opts.apiKey, {
    maxNetworkRetries: 0,
    timeout: opts.timeoutMs ?? 30_000,
    telemetry: false,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.protocol !== undefined ? { protocol: opts.protocol } : {}),
  });
}
