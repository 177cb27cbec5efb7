/**
 * Braintree adapter: transactions through the official `braintree` SDK.
 *
 *   authorize  transaction.sale (orderId = our payment id); options.submitForSettlement only for
 *              automatic capture. Without it the sale is an authorization.
 *   capture    final capture, nothing captured yet: submitForSettlement(id, amount);
 *              otherwise submitForPartialSettlement(id, amount, { orderId: key, finalCapture }).
 *   void       transaction.void (before settlement).
 *   refund     transaction.refund(id, { amount, orderId: key }) on the settled sale, or spread over
 *              its partial settlements (each is its own settled transaction).
 *   sync       find by reference, else search by orderId.
 *
 * Amounts cross as decimal strings converted from minor units by string arithmetic
 * (minorToDecimalString / decimalStringToMinor): 1234 JPY -> "1234", 1234 USD -> "12.34",
 * 1234 KWD -> "1.234". No floats.
 *
 * IDEMPOTENCY. Braintree has no idempotency keys, so every write is guarded by a lookup first. A
 * retried activity therefore finds the effect of the attempt whose response was lost instead of
 * repeating it:
 *   authorize  search transactions with orderId == paymentId. A live one (authorizing, authorized or
 *              any settlement status) is reused; a processor_declined / gateway_rejected one returns
 *              the same decline (the issuer already answered). Only `failed` (processor unreachable),
 *              voided and expired ones are ignored, and then a new sale is sent.
 *   capture    find the sale; a partial-settlement child whose orderId equals this capture's key
 *              means this capture already happened: return it. A sale already submitted as a whole
 *              (no children) means the single capture already happened: return it.
 *   void       find the sale; already voided: done, nothing sent.
 *   refund     collect every refund of the sale (or of its partial settlements); refunds whose
 *              orderId is this refund's key (or `${key}#n` for pieces spread over several partial
 *              settlements) are this refund: only the remainder, if any, is sent.
 *   disputes  dispute.find first: evidence sends only the pieces not there yet (text, then each
 *              file as a documentUpload + addFileEvidence), then finalize; a dispute no longer open
 *              is answered as it stands. Accept likewise (dispute-transformers.ts).
 * The lookup and the write are two calls, so two concurrent attempts could both miss each other;
 * Temporal runs one attempt of an activity at a time, which is what this relies on.
 *
 * The SDK arguments and the guards' decisions are built in transformers.ts, the gateway in
 * gateway.ts; this file calls the SDK with them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { normalizeCurrency } from '../../../domain/money';
import {
  ProviderError,
  type AuthorizeRequest,
  type AcceptDisputeRequest,
  type AuthorizeResult,
  type CaptureRequest,
  type DisputeEvidenceFile,
  type DisputeEvidenceRequest,
  type DisputeProviderResult,
  type CaptureResult,
  type PaymentProvider,
  type ProviderPaymentSnapshot,
  type RefundRequest,
  type RefundResult,
  type SyncRequest,
  type VoidRequest,
} from '../types';
import type { ProviderEvent } from '../../../domain/providers';
import {
  classifyBraintreeResult,
  classifyBraintreeThrown,
  type BraintreeFailedResult,
  type CallKind,
} from './errors';
import {
  createBraintreeGateway,
  type BraintreeGatewayOptions,
  type BtDispute,
  type BtGateway,
  type BtTransaction,
} from './gateway';
import {
  authorizedResult,
  capturePlan,
  declinedResult,
  merchantAccountFor,
  pickSale,
  previousAuthorization,
  refundPlan,
  refundResultFromTransactions,
  refundTargets,
  saleRequest,
  snapshotFromTransactions,
} from './transformers';
import { parseBraintreeWebhook } from './webhook';
import { acceptPlan, evidencePlan, uploadFileName } from './dispute-transformers';

export interface BraintreeProviderOptions extends BraintreeGatewayOptions {
  /** Braintree fixes the currency per merchant account: ISO currency -> merchant account id. */
  merchantAccountIds?: Record<string, string>;
}

const isNotFound = (err: unknown) =>
  !!err && typeof err === 'object' && (err as { type?: unknown }).type === 'notFoundError';

export function createBraintreeProvider(opts: BraintreeProviderOptions): PaymentProvider {
  return new BraintreeProvider(opts);
}

async function call<T>(kind: CallKind, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifyBraintreeThrown(err, kind);
  }
}

/** A result without `success` as a ProviderError (a decline of a capture or refund is refused). */
function failure(result: BraintreeFailedResult): ProviderError {
  const c = classifyBraintreeResult(result);
  return c.kind === 'error'
    ? c.error
    : ProviderError.invalid('braintree', `Braintree declined the operation (${c.declineCode})`, 422);
}

/** One method per flow; each guards by a lookup, then calls the SDK with what transformers.ts builds. */
class BraintreeProvider implements PaymentProvider {
  readonly name = 'braintree';
  private readonly gateway: BtGateway;

  constructor(private readonly opts: BraintreeProviderOptions) {
    this.gateway = createBraintreeGateway(opts);
  }

  async authorize(req: AuthorizeRequest): Promise<AuthorizeResult> {
    const currency = normalizeCurrency(req.currency);
    if (!currency) throw ProviderError.invalid('braintree', 'Unsupported currency');
    const merchantAccountId = merchantAccountFor(this.opts.merchantAccountIds, currency);

    // Guard (see header): reuse what an earlier attempt for this payment left behind.
    const previous = previousAuthorization(await this.searchByOrderId(req.paymentId));
    if (previous) return previous;

    const result = await call('write', () =>
      this.gateway.transaction.sale(saleRequest(req, currency, merchantAccountId)),
    );
    if (result.success && result.transaction) {
      const t = result.transaction;
      if (t.currencyIsoCode !== currency) {
        // The merchant account charges another currency: release the hold and refuse, loudly.
        await call('write', () => this.gateway.transaction.void(t.id)).catch(() => undefined);
        throw ProviderError.invalid('braintree', `Braintree merchant account is not in ${currency}`);
      }
      return authorizedResult(t);
    }
    const c = classifyBraintreeResult(result);
    if (c.kind === 'decline') return declinedResult(result.transaction, c.declineCode);
    throw c.error;
  }

  async capture(req: CaptureRequest): Promise<CaptureResult> {
    const sale = await this.find(req.providerReference);
    const plan = capturePlan(req, sale, await this.childrenOf(sale));
    switch (plan.kind) {
      case 'done':
        return plan.result;
      case 'submitForSettlement': {
        const result = await call('write', () =>
          this.gateway.transaction.submitForSettlement(plan.id, plan.amount),
        );
        if (!result.success) throw failure(result);
        return { providerCaptureId: sale.id, amount: req.amount };
      }
      case 'submitForPartialSettlement': {
        const result = await call('write', () =>
          this.gateway.transaction.submitForPartialSettlement(plan.id, plan.amount, plan.options),
        );
        if (!result.success || !result.transaction) throw failure(result);
        return { providerCaptureId: result.transaction.id, amount: req.amount };
      }
    }
  }

  async void(req: VoidRequest): Promise<void> {
    const sale = await this.find(req.providerReference);
    if (sale.status === 'voided') return; // guard: an earlier attempt already voided it
    const result = await call('write', () => this.gateway.transaction.void(sale.id));
    if (!result.success) throw failure(result);
  }

  async refund(req: RefundRequest): Promise<RefundResult> {
    const sale = await this.find(req.providerReference);
    const targets = await Promise.all(
      refundTargets(sale, await this.childrenOf(sale)).map(async (t) => ({
        t,
        refunds: await Promise.all((t.refundIds ?? []).map((id) => this.find(id))),
      })),
    );
    // Guard: only what earlier attempts did not refund yet is planned.
    const plan = refundPlan(req, targets);
    const made = [...plan.made];
    for (const piece of plan.pieces) {
      const result = await call('write', () => this.gateway.transaction.refund(piece.id, piece.options));
      if (!result.transaction || !(result.success || result.transaction.status === 'processor_declined'))
        throw failure(result);
      made.push(result.transaction);
      if (!result.success) return { providerRefundId: result.transaction.id, status: 'failed' };
    }
    if (plan.excess) {
      // More than what is left to refund; nothing was sent for the excess.
      throw ProviderError.invalid('braintree', 'Refund exceeds the refundable amount at Braintree', 422);
    }
    return refundResultFromTransactions(made);
  }

  async sync(req: SyncRequest): Promise<ProviderPaymentSnapshot> {
    const sale = req.providerReference
      ? await this.findOrUndefined(req.providerReference)
      : pickSale(await this.searchByOrderId(req.paymentId));
    if (!sale) return { found: false };
    const children = await this.childrenOf(sale);
    const refunds = await Promise.all(
      refundTargets(sale, children).flatMap((t) => (t.refundIds ?? []).map((id) => this.find(id))),
    );
    return snapshotFromTransactions(sale, children, refunds);
  }

  async submitDisputeEvidence(req: DisputeEvidenceRequest): Promise<DisputeProviderResult> {
    const id = req.providerDisputeId;
    const plan = evidencePlan(await this.findDispute(id), req.text, req.files);
    if (plan.kind === 'done') return plan.result;
    if (plan.addText) {
      const r = await call('write', () => this.gateway.dispute.addTextEvidence(id, req.text));
      if (!r.success) throw failure(r);
    }
    const already = req.files.length - plan.files.length;
    for (const [i, f] of plan.files.entries()) {
      const documentId = await this.uploadEvidence(f, already + i);
      const r = await call('write', () => this.gateway.dispute.addFileEvidence(id, documentId));
      if (!r.success) throw failure(r);
    }
    const r = await call('write', () => this.gateway.dispute.finalize(id));
    if (!r.success) throw failure(r);
    return { status: 'under_review' };
  }

  async acceptDispute(req: AcceptDisputeRequest): Promise<DisputeProviderResult> {
    const plan = acceptPlan(await this.findDispute(req.providerDisputeId));
    if (plan.kind === 'done') return plan.result;
    const r = await call('write', () => this.gateway.dispute.accept(req.providerDisputeId));
    if (!r.success) throw failure(r);
    return { status: 'accepted' };
  }

  async parseWebhook(rawBody: Buffer, _headers: Record<string, string | undefined>): Promise<ProviderEvent> {
    return parseBraintreeWebhook(this.gateway.webhookNotification, rawBody);
  }

  private async findDispute(id: string): Promise<BtDispute> {
    const r = await call('read', () => this.gateway.dispute.find(id));
    if (!r.dispute) throw ProviderError.invalid('braintree', 'Braintree dispute lookup returned no dispute');
    return r.dispute;
  }

  /**
   * The SDK uploads a document by reading a file by its path: the decrypted evidence goes to a
   * private temporary directory (0700, file 0600) for the upload only and is removed at once. A lost
   * upload answer leaves an unattached document at Braintree, which is harmless.
   */
  private async uploadEvidence(f: DisputeEvidenceFile, index: number): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'settle-evidence-'));
    try {
      const file = path.join(dir, uploadFileName(f, index));
      await writeFile(file, f.content, { mode: 0o600 });
      const stream = createReadStream(file);
      try {
        const r = await call('write', () =>
          this.gateway.documentUpload.create({ kind: 'evidence_document', file: stream }),
        );
        if (!r.success || !r.documentUpload) throw failure(r);
        return r.documentUpload.id;
      } finally {
        stream.destroy();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private find(id: string): Promise<BtTransaction> {
    return call('read', () => this.gateway.transaction.find(id));
  }

  private async findOrUndefined(id: string): Promise<BtTransaction | undefined> {
    try {
      return await this.gateway.transaction.find(id);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw classifyBraintreeThrown(err, 'read');
    }
  }

  /** The partial settlements of a sale (each its own transaction). */
  private childrenOf(sale: BtTransaction): Promise<BtTransaction[]> {
    return Promise.all((sale.partialSettlementTransactionIds ?? []).map((id) => this.find(id)));
  }

  /** Search is a stream in the SDK; collect it. */
  private searchByOrderId(orderId: string): Promise<BtTransaction[]> {
    return new Promise((resolve, reject) => {
      const out: BtTransaction[] = [];
      let stream: NodeJS.ReadableStream;
      try {
        stream = this.gateway.transaction.search((s) => s.orderId().is(orderId));
      } catch (err) {
        reject(classifyBraintreeThrown(err, 'read'));
        return;
      }
      stream.on('data', (t: BtTransaction) => out.push(t));
      stream.on('error', (err: unknown) => reject(classifyBraintreeThrown(err, 'read')));
      stream.on('end', () => resolve(out.filter((t) => t.orderId === orderId)));
    });
  }
}
