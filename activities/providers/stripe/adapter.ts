/**
 * Stripe adapter: PaymentIntents through the official `stripe` SDK.
 *
 *   authorize  PaymentMethod from the card (key `${key}:pm`), then one PaymentIntent created and
 *              confirmed in the same call (key `${key}`), capture_method manual|automatic,
 *              metadata.settle_payment_id = our payment id (how sync finds it without a reference).
 *   capture    POST /payment_intents/:id/capture with amount_to_capture (partial capture releases the
 *              rest unless `multicapture` is enabled and the capture is not final).
 *   void       POST /payment_intents/:id/cancel.
 *   refund     POST /refunds {payment_intent, amount}; several partial refunds are allowed.
 *   sync       retrieve by reference, else scan PaymentIntents for metadata.settle_payment_id.
 *   disputes   evidence: files uploaded (POST /files), then POST /disputes/:id {evidence, submit};
 *              accept: POST /disputes/:id/close (dispute-transformers.ts), keys `<dp_id>:evidence`
 *              / `<dp_id>:accept`. Refused because the dispute moved on (already submitted or
 *              closed, e.g. after the key's 24 h): answered from the dispute as Stripe has it.
 *
 * Every write carries our deterministic Idempotency-Key (never the SDK's random default) and the SDK's
 * own retries are off (`maxNetworkRetries: 0`): Temporal owns retrying, and a retried activity sends
 * the same key, so Stripe runs the write once and replays its result.
 *
 * Request params and result maps are built in transformers.ts; this file calls the SDK with them.
 * Card data goes to Stripe in one request body and nowhere else: errors are classified in errors.ts
 * with messages built from status and code, never from Stripe's message text.
 */
import Stripe from 'stripe';
import { FAILURE_TYPES } from '../../../domain/errors';
import {
  ProviderError,
  type AuthorizeRequest,
  type AcceptDisputeRequest,
  type AuthorizeResult,
  type CaptureRequest,
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
import { createStripeClient } from './client';
import { classifyStripeError, stripeErrorToProviderError, type CallKind } from './errors';
import {
  META_PAYMENT,
  authorizeResultFromPaymentIntent,
  captureResultFromPaymentIntent,
  capturedResultFromPaymentIntent,
  declinedResult,
  hasRefundsToList,
  paymentIntentCancelRequest,
  paymentIntentCaptureRequest,
  paymentIntentCreateRequest,
  paymentIntentRetrieveParams,
  paymentIntentScanParams,
  paymentMethodCreateRequest,
  pickPaymentIntent,
  refundCreateRequest,
  refundListParams,
  refundResultFromRefund,
  snapshotFromPaymentIntent,
} from './transformers';
import { normalizeStripeEvent, verifyStripeEvent } from './webhook';
import {
  acceptResultFromDispute,
  disputeCloseRequest,
  disputeEvidenceUpdateRequest,
  disputeFileCreateRequests,
  evidenceResultFromDispute,
  stripeDisputeAwaitsEvidence,
} from './dispute-transformers';

export interface StripeProviderOptions {
  apiKey: string;
  /** Endpoint signing secrets; two during a rotation (old and new), either is accepted. */
  webhookSecrets: string[];
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  /** Per-request timeout; after it a write's outcome is unknown (see errors.ts). */
  timeoutMs?: number;
  /**
   * Request multicapture at authorization and send `final_capture: false` on non-final captures.
   * Off by default: multicapture is an account-level Stripe feature. Without it, the first capture
   * releases the uncaptured remainder, whatever `final` says.
   */
  multicapture?: boolean;
  /**
   * Send `payment_method_types` (API versions before its rename to `allowed_payment_method_types`)
   * instead of the pinned version's field. Needed for localstripe, which predates the rename.
   */
  legacyPaymentMethodTypes?: boolean;
  /** Upper bound on PaymentIntents scanned by sync when no reference is known. */
  syncScanLimit?: number;
}

export function createStripeProvider(opts: StripeProviderOptions): PaymentProvider {
  return new StripeProvider(opts);
}

/** Run an SDK call; anything it throws becomes a ProviderError (declines included: see authorize). */
async function call<T>(kind: CallKind, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw stripeErrorToProviderError(err, kind);
  }
}

/** One method per flow; each calls the SDK with what transformers.ts builds. */
class StripeProvider implements PaymentProvider {
  readonly name = 'stripe';
  private readonly stripe: Stripe;
  private readonly secrets: string[];
  private readonly scanLimit: number;

  constructor(private readonly opts: StripeProviderOptions) {
    this.stripe = createStripeClient(opts);
    this.secrets = [...opts.webhookSecrets];
    this.scanLimit = opts.syncScanLimit ?? 1000;
  }

  async authorize(req: AuthorizeRequest): Promise<AuthorizeResult> {
    let paymentMethodId: string;
    try {
      const pm = paymentMethodCreateRequest(req);
      paymentMethodId = (await this.stripe.paymentMethods.create(pm.params, pm.options)).id;
    } catch (err) {
      const c = classifyStripeError(err, 'write');
      // A card error here (invalid number/expiry) is a decline; no PaymentIntent exists yet.
      if (c.kind === 'decline') return declinedResult(undefined, c.declineCode);
      throw c.error;
    }

    let pi: Stripe.PaymentIntent;
    try {
      const create = paymentIntentCreateRequest(req, paymentMethodId, this.opts);
      pi = await this.stripe.paymentIntents.create(create.params, create.options);
    } catch (err) {
      const c = classifyStripeError(err, 'write');
      if (c.kind === 'decline') return declinedResult(c.providerReference, c.declineCode);
      throw c.error;
    }
    return authorizeResultFromPaymentIntent(pi);
  }

  async capture(req: CaptureRequest): Promise<CaptureResult> {
    const c = paymentIntentCaptureRequest(req, this.opts);
    try {
      const pi = await call('write', () => this.stripe.paymentIntents.capture(c.id, c.params, c.options));
      return captureResultFromPaymentIntent(pi, req.amount);
    } catch (err) {
      // A replay of a capture that already happened (e.g. after an unknown outcome) is refused as
      // "unexpected state" by an emulator without idempotency keys; if the PaymentIntent is already
      // captured, report what Stripe says was captured instead of failing the retry.
      if (err instanceof ProviderError && err.failureType === FAILURE_TYPES.ProviderInvalidRequest) {
        const pi = await this.retrieve(req.providerReference);
        if (pi?.status === 'succeeded')
          return capturedResultFromPaymentIntent(pi, await this.listRefunds(pi.id));
      }
      throw err;
    }
  }

  async void(req: VoidRequest): Promise<void> {
    const c = paymentIntentCancelRequest(req);
    try {
      await call('write', () => this.stripe.paymentIntents.cancel(c.id, c.params, c.options));
    } catch (err) {
      // Cancelling an already-cancelled PaymentIntent is the same end state: the void is done.
      if (err instanceof ProviderError && err.failureType === FAILURE_TYPES.ProviderInvalidRequest) {
        const pi = await this.retrieve(req.providerReference);
        if (pi?.status === 'canceled') return;
      }
      throw err;
    }
  }

  async refund(req: RefundRequest): Promise<RefundResult> {
    const r = refundCreateRequest(req);
    return refundResultFromRefund(await call('write', () => this.stripe.refunds.create(r.params, r.options)));
  }

  async sync(req: SyncRequest): Promise<ProviderPaymentSnapshot> {
    const pi = req.providerReference
      ? await this.retrieve(req.providerReference)
      : await this.findByPaymentId(req.paymentId);
    if (!pi) return { found: false };
    return snapshotFromPaymentIntent(pi, hasRefundsToList(pi) ? await this.listRefunds(pi.id) : []);
  }

  async submitDisputeEvidence(req: DisputeEvidenceRequest): Promise<DisputeProviderResult> {
    try {
      // A repeat sends the same keys: Stripe replays the uploads and the submission's first answer.
      const fileIds: string[] = [];
      for (const f of disputeFileCreateRequests(req)) {
        fileIds.push((await call('write', () => this.stripe.files.create(f.params, f.options))).id);
      }
      const u = disputeEvidenceUpdateRequest(req, fileIds);
      return evidenceResultFromDispute(
        await call('write', () => this.stripe.disputes.update(u.id, u.params, u.options)),
      );
    } catch (err) {
      // Refused because it no longer takes evidence (submitted after the key expired, or decided):
      // answer with what Stripe says rather than fail the dispute.
      if (err instanceof ProviderError && err.failureType === FAILURE_TYPES.ProviderInvalidRequest) {
        const current = await this.retrieveDispute(req.providerDisputeId);
        if (current && !stripeDisputeAwaitsEvidence(current)) return evidenceResultFromDispute(current);
      }
      throw err;
    }
  }

  async acceptDispute(req: AcceptDisputeRequest): Promise<DisputeProviderResult> {
    const c = disputeCloseRequest(req);
    try {
      return acceptResultFromDispute(
        await call('write', () => this.stripe.disputes.close(c.id, c.params, c.options)),
      );
    } catch (err) {
      // Already closed (by an earlier attempt, or decided): the same end state or Stripe's decision.
      if (err instanceof ProviderError && err.failureType === FAILURE_TYPES.ProviderInvalidRequest) {
        const current = await this.retrieveDispute(req.providerDisputeId);
        if (current?.status === 'lost' || current?.status === 'won') return acceptResultFromDispute(current);
      }
      throw err;
    }
  }

  parseWebhook(rawBody: Buffer, headers: Record<string, string | undefined>): Promise<ProviderEvent> {
    // Synchronous verification; a rejected promise (not a throw) keeps the interface's contract.
    try {
      return Promise.resolve(
        normalizeStripeEvent(verifyStripeEvent(this.stripe.webhooks, rawBody, headers, this.secrets)),
      );
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async retrieveDispute(id: string): Promise<Stripe.Dispute | undefined> {
    try {
      return await this.stripe.disputes.retrieve(id);
    } catch (err) {
      const e = err as { statusCode?: unknown };
      if (e && e.statusCode === 404) return undefined;
      throw stripeErrorToProviderError(err, 'read');
    }
  }

  private async listRefunds(paymentIntentId: string): Promise<Stripe.Refund[]> {
    const out: Stripe.Refund[] = [];
    try {
      for await (const r of this.stripe.refunds.list(refundListParams(paymentIntentId))) out.push(r);
    } catch (err) {
      throw stripeErrorToProviderError(err, 'read');
    }
    return out;
  }

  private async retrieve(id: string): Promise<Stripe.PaymentIntent | undefined> {
    try {
      return await this.stripe.paymentIntents.retrieve(id, paymentIntentRetrieveParams());
    } catch (err) {
      const e = err as { statusCode?: unknown };
      if (e && e.statusCode === 404) return undefined;
      throw stripeErrorToProviderError(err, 'read');
    }
  }

  /**
   * Find our PaymentIntent without a reference. Not the Search API: Stripe documents search as
   * eventually consistent (unfit for read-after-write, which is exactly the timeout-then-sync case)
   * and localstripe does not implement it. Instead: list PaymentIntents (strongly consistent) and
   * filter on metadata.settle_payment_id, bounded by `syncScanLimit`.
   */
  private async findByPaymentId(paymentId: string): Promise<Stripe.PaymentIntent | undefined> {
    const matches: Stripe.PaymentIntent[] = [];
    let scanned = 0;
    try {
      for await (const pi of this.stripe.paymentIntents.list(paymentIntentScanParams())) {
        if (pi.metadata?.[META_PAYMENT] === paymentId) matches.push(pi);
        if (++scanned >= this.scanLimit) break;
      }
    } catch (err) {
      throw stripeErrorToProviderError(err, 'read');
    }
    return pickPaymentIntent(matches);
  }
}
