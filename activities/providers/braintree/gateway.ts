/**
 * The Braintree SDK gateway for the adapter: its construction (environment, credentials, timeout)
 * and the shapes of the SDK objects we read, which its published types describe incompletely.
 */
import braintree from 'braintree';
import type { BtGateway } from './sdk-types';

export type { BtDispute, BtGateway, BtResult, BtTransaction } from './sdk-types';

export interface BraintreeGatewayOptions {
  merchantId: string;
  publicKey: string;
  privateKey: string;
  environment: 'development' | 'sandbox' | 'production';
  /** Development only: where the (local) gateway listens. Defaults as the SDK: localhost:3000. */
  gatewayHost?: string;
  gatewayPort?: number;
  /** Per-request timeout; after it a write's outcome is unknown. SDK default is 60 s. */
  timeoutMs?: number;
}

function environmentFor(opts: BraintreeGatewayOptions): braintree.Environment {
  switch (opts.environment) {
    case 'production':
      return braintree.Environment.Production;
    case 'sandbox':
      return braintree.Environment.Sandbox;
    case 'development':
    default:
      // Environment.Development is built once, at require time, from process.env GATEWAY_HOST /
      // GATEWAY_PORT / GATEWAY_SSL (lib/braintree/environment.js). Rather than mutate process.env,
      // build an equivalent Environment for the given host and port; the SDK's HTTP layer reads
      // `server`, `port` and `ssl` from it directly.
      return new braintree.Environment(
        opts.gatewayHost ?? 'localhost',
        String(opts.gatewayPort ?? 3000),
        'http://auth.venmo.dev:9292',
        false,
        'graphql.bt.local',
        '8080',
      );
  }
}

export function createBraintreeGateway(opts: BraintreeGatewayOptions): BtGateway {
  const gateway = new braintree.BraintreeGateway({
    environment: environmentFor(opts),
    merchantId: opts.merchantId,
    publicKey: opts.publicKey,
    privateKey: opts.privateKey,
  }) as unknown as BtGateway;
  // Config has no constructor option for the timeout; the HTTP layer reads it from here per request.
  gateway.config.timeout = opts.timeoutMs ?? 30_000;
  return gateway;
}
