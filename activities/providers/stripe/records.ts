/**
 * Stripe's records for reconciliation: PaymentIntents created in the window (`created[gte]`,
 * `created[lt]`, newest first as Stripe lists them, paged with `starting_after`), with their latest
 * charge expanded, and its balance transaction with it (`data.latest_charge.balance_transaction`:
 * Stripe's fee for the charge); a captured one's refunds are listed too. The amounts come from the same
 * map sync uses (transformers.ts snapshotFromPaymentIntent), so reconciliation and repair read Stripe
 * alike. The fee is the balance transaction's `fee` when the charge was captured and its balance
 * transaction is in the payment's currency (a fee in another settlement currency is not one the
 * payment's ledger can hold: absent). Reads only: no idempotency key needed, nothing is written.
 */
import Stripe from 'stripe';
import type { ProviderRecord } from '../../../domain/reconciliation';
import type { ProviderRecordSource, RecordPage, RecordPageRequest } from '../records';
import { createStripeClient, type StripeClientOptions } from './client';
import { stripeErrorToProviderError } from './errors';
import { fromStripeAmount } from './codes';
import { META_PAYMENT, hasRefundsToList, refundListParams, snapshotFromPaymentIntent } from './transformers';

export type StripeRecordOptions = StripeClientOptions;

/** The list request of one page (a table test checks it). */
export function paymentIntentWindowParams(req: RecordPageRequest): Stripe.PaymentIntentListParams {
  return {
    created: {
      gte: Math.floor(Date.parse(req.window.from) / 1000),
      lt: Math.ceil(Date.parse(req.window.to) / 1000),
    },
    limit: Math.min(Math.max(req.limit, 1), 100),
    expand: ['data.latest_charge.balance_transaction'],
    ...(req.cursor ? { starting_after: req.cursor } : {}),
  };
}

/** Stripe's fee for the PaymentIntent's captured charge, in minor units (undefined: not known). */
export function stripeFee(pi: Stripe.PaymentIntent): number | undefined {
  const charge = typeof pi.latest_charge === 'object' ? pi.latest_charge : null;
  const bt = charge && typeof charge.balance_transaction === 'object' ? charge.balance_transaction : null;
  if (!charge?.captured || !bt || bt.currency.toLowerCase() !== pi.currency.toLowerCase()) return undefined;
  return fromStripeAmount(bt.fee, pi.currency);
}

export function recordFromPaymentIntent(pi: Stripe.PaymentIntent, refunds: Stripe.Refund[]): ProviderRecord {
  const s = snapshotFromPaymentIntent(pi, refunds);
  const fee = stripeFee(pi);
  return {
    providerReference: pi.id,
    paymentId: pi.metadata?.[META_PAYMENT] || undefined,
    currency: pi.currency.toUpperCase(),
    amountCaptured: s.amountCaptured ?? 0,
    amountRefunded: s.amountRefunded ?? 0,
    ...(fee !== undefined ? { fee } : {}),
    createdAt: new Date(pi.created * 1000).toISOString(),
  };
}

export function createStripeRecordSource(opts: StripeRecordOptions): ProviderRecordSource {
  const stripe = createStripeClient(opts);
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
