/**
 * Braintree's records for reconciliation: sales created in the window, through the SDK's
 * transaction.search (`createdAt` between the bounds). Braintree search has no cursor: it answers all
 * ids of a search, then the SDK fetches them in pages of 50. So a page here is a TIME SLICE of the
 * window (SLICE_MS, the cursor being the slice's start): each call's cost is bounded by the slice's
 * traffic, not the window's. A sale's partial settlements and refunds are fetched by id, and its
 * amounts come from the same map sync uses (transformers.ts snapshotFromTransactions). Reads only.
 * No fee: a Braintree transaction does not state its processing fee (fees come with the merchant
 * account's disbursement and statement reports, not the transaction API), so `fee` stays absent and
 * reconciliation posts no provider_fee for Braintree payments.
 */
import type { ProviderRecord } from '../../../domain/reconciliation';
import type { ProviderRecordSource, RecordPage, RecordPageRequest } from '../records';
import { classifyBraintreeThrown } from './errors';
import { createBraintreeGateway, type BraintreeGatewayOptions, type BtTransaction } from './gateway';
import { paymentIdFromOrderId, snapshotFromTransactions } from './transformers';

export const SLICE_MS = 60 * 60_000;

/** The search API as used here (the adapter's BtGateway types only orderId). */
interface RangeSearch {
  createdAt(): { between(min: Date, max: Date): void };
}
type SearchingGateway = {
  transaction: {
    search(fn: (s: RangeSearch) => void): NodeJS.ReadableStream;
    find(id: string): Promise<BtTransaction>;
  };
};

/** A child of a partial settlement carries its parent's id: it is part of the parent, not a record. */
const isSale = (t: BtTransaction) =>
  (t.type ?? 'sale') === 'sale' &&
  !(t as { authorizedTransactionId?: string | null }).authorizedTransactionId;

/** The slice [start, end) a page covers; its `next` is the following slice or null. */
export function sliceOf(req: RecordPageRequest): { start: Date; end: Date; next: string | null } {
  const start = new Date(req.cursor ?? req.window.from);
  const to = Date.parse(req.window.to);
  const end = new Date(Math.min(start.getTime() + SLICE_MS, to));
  return { start, end, next: end.getTime() < to ? end.toISOString() : null };
}

export function recordFromTransactions(
  sale: BtTransaction,
  children: BtTransaction[],
  refunds: BtTransaction[],
): ProviderRecord {
  const s = snapshotFromTransactions(sale, children, refunds);
  return {
    providerReference: sale.id,
    paymentId: paymentIdFromOrderId(sale.orderId),
    currency: sale.currencyIsoCode.toUpperCase(),
    amountCaptured: s.amountCaptured ?? 0,
    amountRefunded: s.amountRefunded ?? 0,
    createdAt: new Date(sale.createdAt ?? 0).toISOString(),
  };
}

export function createBraintreeRecordSource(opts: BraintreeGatewayOptions): ProviderRecordSource {
  const gateway = createBraintreeGateway(opts) as unknown as SearchingGateway;
  const find = (id: string) => gateway.transaction.find(id);

  function search(start: Date, end: Date): Promise<BtTransaction[]> {
    return new Promise((resolve, reject) => {
      const out: BtTransaction[] = [];
      const stream = gateway.transaction.search((s) => s.createdAt().between(start, end));
      stream.on('data', (t: BtTransaction) => out.push(t));
      stream.on('error', reject);
      // `between` is inclusive at both ends: the slice keeps [start, end).
      stream.on('end', () =>
        resolve(
          out.filter((t) => {
            const at = Date.parse(t.createdAt ?? '');
            return at >= start.getTime() && at < end.getTime();
          }),
        ),
      );
    });
  }

  return {
    name: 'braintree',
    async page(req: RecordPageRequest): Promise<RecordPage> {
      const slice = sliceOf(req);
      try {
        const sales = (await search(slice.start, slice.end)).filter(isSale);
        const records: ProviderRecord[] = [];
        for (const sale of sales) {
          const children = await Promise.all((sale.partialSettlementTransactionIds ?? []).map(find));
          const refundIds = [sale, ...children].flatMap((t) => t.refundIds ?? []);
          const refunds = await Promise.all(refundIds.map(find));
          records.push(recordFromTransactions(sale, children, refunds));
        }
        return { records, next: slice.next };
      } catch (err) {
        throw classifyBraintreeThrown(err, 'read');
      }
    },
  };
}
