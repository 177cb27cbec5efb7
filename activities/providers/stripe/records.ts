/**
 * Stripe's records for reconciliation: PaymentIntents created in the window (`created[gte]`,
 * `created[lt]`, newest first as Stripe lists them, paged with `starting_after`), with their latest
 * charge expanded; a captured one's refunds are listed too. The amounts come from the same map sync
 * uses (transformers.ts snapshotFromPaymentIntent), so reconciliation and repair read Stripe alike.
 * Reads only: no idempotency key needed, nothing is written.
 */
import Stripe from 'stripe';
import type { ProviderRecord } from '../../../domain/reconciliation';
import type { ProviderRecordSource, RecordPage, RecordPageRequest } from '../records';
import { stripeErrorToProviderError } from './errors';
import { META_PAYMENT, hasRefundsToList, refundListParams, snapshotFromPaymentIntent } from './transformers';

export interface StripeRecordOptions {
  apiKey: string;
  host?: string | undefined;
  port?: number | undefined;
  protocol?: 'http' | 'https' | undefined;
  timeoutMs?: number | undefined;
}

/** The list request of one page (a table test checks it). */
export function paymentIntentWindowParams(req: RecordPageRequest): Stripe.PaymentIntentListParams {
  return {
    created: {
      gte: Math.floor(Date.parse(req.window.from) / 1000),
      lt: Math.ceil(Date.parse(req.window.to) / 1000),
    },
    limit: Math.min(Math.max(req.limit, 1), 100),
    expand: ['data.latest_charge'],
    ...(req.cursor ? { starting_after: req.cursor } : {}),
  };
}

export function recordFromPaymentIntent(pi: Stripe.PaymentIntent, refunds: Stripe.Refund[]): ProviderRecord {
  const s = snapshotFromPaymentIntent(pi, refunds);
  return {
    providerReference: pi.id,
    paymentId: pi.metadata?.[META_PAYMENT] || undefined,
    currency: pi.currency.toUpperCase(),
    amountCaptured: s.amountCaptured ?? 0,
    amountRefunded: s.amountRefunded ?? 0,
    createdAt: new Date(pi.created * 1000).toISOString(),
  };
}

export function createStripeRecordSource(opts: StripeRecordOptions): ProviderRecordSource {
  const stripe = new Stripe(opts.apiKey, {
    maxNetworkRetries: 0,
    timeout: opts.timeoutMs ?? 30_000,
    telemetry: false,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.protocol !== undefined ? { protocol: opts.protocol } : {}),
  });
  async function refundsOf(pi: Stripe.PaymentIntent): Promise<Stripe.Refund[]> {
    if (!hasRefundsToList(pi)) return [];
    const out: Stripe.Refund[] = [];
    for await (const r of stripe.refunds.list(refundListParams(pi.id))) out.push(r);
    return out;
  }
  return {
    name: 'stripe',
    async page(req: RecordPageRequest): Promise<RecordPage> {
      try {
        const list = await stripe.paymentIntents.list(paymentIntentWindowParams(req));
        const records: ProviderRecord[] = [];
        for (const pi of list.data) records.push(recordFromPaymentIntent(pi, await refundsOf(pi)));
        const last = list.data[list.data.length - 1];
        return { records, next: list.has_more && last ? last.id : null };
      } catch (err) {
        throw stripeErrorToProviderError(err, 'read');
      }
    },
  };
}
