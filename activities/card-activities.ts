/**
 * Card-data activities: the only code that decrypts cards and calls providers. Registered ONLY by the
 * card-data worker (workers/card-worker.ts) on its own task queue. Arguments and results carry tokens
 * and references, never card data.
 *
 * Exactly-once at the provider: every call carries a deterministic idempotency key (payment id +
 * step), and every retry (attempt > 1) first asks the provider what happened (sync) before sending
 * anything again, so a timeout with an unknown outcome, or a worker killed mid-call, never produces
 * a second authorization, capture or refund.
 */
import { Context } from '@temporalio/activity';
import type { CaptureMode } from '../domain/payment-state';
import { FAILURE_TYPES } from '../domain/errors';
import type { Vault } from '../vault/vault';
import type { ProviderRegistry } from './providers/registry';
import type {
  AuthorizeResult,
  CaptureResult,
  DisputeEvidenceStore,
  DisputeProviderResult,
  ProviderPaymentSnapshot,
  RefundResult,
} from './providers/types';
import { atBoundary, failure, toFailure } from './errors';
import { withProviderSpans } from './providers/traced';

export interface CardActivityDeps {
  vault: Vault;
  providers: ProviderRegistry;
  /** Dispute evidence files (decrypted only here); evidence with files fails retryably without it. */
  evidence?: DisputeEvidenceStore | undefined;
}

export interface AuthorizeArgs {
  paymentId: string;
  provider: string;
  token: string;
  amount: number;
  currency: string;
  capture: CaptureMode;
  description?: string | undefined;
  merchantReference?: string | undefined;
}
export interface CaptureArgs {
  paymentId: string;
  provider: string;
  providerReference: string;
  n: number;
  amount: number;
  currency: string;
  final: boolean;
}
export interface VoidArgs {
  paymentId: string;
  provider: string;
  providerReference: string;
}
export interface RefundArgs {
  paymentId: string;
  refundId: string;
  provider: string;
  providerReference: string;
  amount: number;
  currency: string;
  reason?: string | undefined;
}

/** A dispute at its provider; the adapters derive `<dp_id>:evidence` / `<dp_id>:accept` keys. */
export interface AcceptDisputeArgs {
  disputeId: string;
  provider: string;
  providerDisputeId: string;
  paymentId: string;
  providerReference: string;
}
/** Evidence: the text and the ids of files stored by the API (contents never cross Temporal). */
export interface DisputeEvidenceArgs extends AcceptDisputeArgs {
  text: string;
  fileIds: string[];
}

export const idempotencyKeys = {
  authorize: (paymentId: string) => `${paymentId}:authorize`,
  capture: (paymentId: string, n: number) => `${paymentId}:capture:${n}`,
  void: (paymentId: string) => `${paymentId}:void`,
  refund: (paymentId: string, refundId: string) => `${paymentId}:refund:${refundId}`,
};

const isRetry = () => Context.current().info.attempt > 1;

/**
 * Provider calls can legitimately take a long time (startToClose stays generous), but a card worker
 * that dies mid-call must be noticed quickly so the retry (which syncs first) runs in seconds, not
 * after the full timeout: heartbeat while the call is in flight; the option sets give a short
 * heartbeatTimeout. The SDK throttles the actual RPCs. The server counts the heartbeat timeout from
 * the attempt's start, so the first beat waits a second: a call that answers sooner (most do) costs
 * no heartbeat round trip at all.
 */
const HEARTBEAT_EVERY_MS = 1_000;
async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

export function createCardActivities(deps: CardActivityDeps) {
  const { vault } = deps;
  // Each provider call gets its own span in the payment's trace (ids and outcomes only).
  const providers = withProviderSpans(deps.providers);

  /** Sync first on a retry (the first attempt may have reached the provider), else authorize. */
  async function authorizeOnce(a: AuthorizeArgs): Promise<AuthorizeResult> {
    const provider = providers.get(a.provider);
    if (isRetry()) {
      const snap = await provider.sync({ paymentId: a.paymentId });
      if (snap.found && snap.providerReference) {
        if (snap.status === 'declined') {
          return {
            outcome: 'declined',
            providerReference: snap.providerReference,
            declineCode: snap.declineCode ?? 'card_declined',
            message: 'The card was declined',
          };
        }
        if (snap.status === 'authorized' || snap.status === 'captured') {
          return {
            outcome: 'authorized',
            providerReference: snap.providerReference,
            captured: snap.status === 'captured',
            captureBefore: snap.captureBefore,
          };
        }
      }
    }
    const card = await vault.reveal(a.token);
    if (!card) throw failure(FAILURE_TYPES.CardUnavailable, 'the card token is deleted or unreadable');
    return provider.authorize({
      paymentId: a.paymentId,
      idempotencyKey: idempotencyKeys.authorize(a.paymentId),
      amount: a.amount,
      currency: a.currency,
      capture: a.capture,
      card,
      description: a.description,
      merchantReference: a.merchantReference,
    });
  }

  return {
    /**
     * PCI DSS 3.3.1.2: the CVC serves one authorization attempt. Whatever ends the attempt (a fresh
     * answer, an outcome found by a retry's sync, a failure no retry can change) destroys it; only a
     * retryable failure keeps it, because the retry or the failover provider sends the card again
     * (the vault's one-hour expiry bounds that case). A destroy that fails is not swallowed: the
     * activity fails retryably and the retry, which syncs first, finds the outcome and destroys again.
     */
    async authorizePayment(a: AuthorizeArgs): Promise<AuthorizeResult> {
      return atBoundary(() =>
        heartbeating(async () => {
          let result: AuthorizeResult;
          try {
            result = await authorizeOnce(a);
          } catch (err) {
            if (toFailure(err).nonRetryable) await vault.destroyCvc(a.token);
            throw err;
          }
          await vault.destroyCvc(a.token);
          return result;
        }),
      );
    },

    async capturePayment(a: CaptureArgs): Promise<CaptureResult> {
      return atBoundary(() =>
        heartbeating(async () => {
          const provider = providers.get(a.provider);
          const key = idempotencyKeys.capture(a.paymentId, a.n);
          if (isRetry()) {
            const snap = await provider.sync({
              paymentId: a.paymentId,
              providerReference: a.providerReference,
            });
            const done = snap.captures?.find((c) => c.idempotencyKey === key);
            if (done) return { providerCaptureId: done.providerCaptureId, amount: done.amount };
          }
          return provider.capture({ ...a, idempotencyKey: key });
        }),
      );
    },

    async voidPayment(a: VoidArgs): Promise<void> {
      return atBoundary(() =>
        heartbeating(async () => {
          const provider = providers.get(a.provider);
          if (isRetry()) {
            const snap = await provider.sync({
              paymentId: a.paymentId,
              providerReference: a.providerReference,
            });
            if (snap.found && snap.status === 'voided') return;
          }
          await provider.void({
            paymentId: a.paymentId,
            providerReference: a.providerReference,
            idempotencyKey: idempotencyKeys.void(a.paymentId),
          });
        }),
      );
    },

    /**
     * Compensation after an authorization whose outcome stayed unknown: if the provider did authorize,
     * release the hold so the customer is not held for a payment we report as failed.
     */
    async releaseIfAuthorized(a: { paymentId: string; provider: string }): Promise<boolean> {
      return atBoundary(() =>
        heartbeating(async () => {
          const provider = providers.get(a.provider);
          const snap = await provider.sync({ paymentId: a.paymentId });
          if (!snap.found || !snap.providerReference || snap.status !== 'authorized') return false;
          await provider.void({
            paymentId: a.paymentId,
            providerReference: snap.providerReference,
            idempotencyKey: idempotencyKeys.void(a.paymentId),
          });
          return true;
        }),
      );
    },

    async refundPayment(a: RefundArgs): Promise<RefundResult> {
      return atBoundary(() =>
        heartbeating(async () => {
          const provider = providers.get(a.provider);
          const key = idempotencyKeys.refund(a.paymentId, a.refundId);
          if (isRetry()) {
            const snap = await provider.sync({
              paymentId: a.paymentId,
              providerReference: a.providerReference,
            });
            const done = snap.refunds?.find((r) => r.idempotencyKey === key);
            if (done) return { providerRefundId: done.providerRefundId, status: 'succeeded' };
          }
          return provider.refund({ ...a, idempotencyKey: key });
        }),
      );
    },

    /**
     * What the provider says happened to a payment (the stuck-payment sweeper and `cli payments
     * inspect`): amounts, status, captures and refunds, card-free. Read-only at the provider.
     */
    async syncPayment(a: {
      paymentId: string;
      provider: string;
      providerReference?: string | undefined;
    }): Promise<ProviderPaymentSnapshot> {
      return atBoundary(() =>
        providers.get(a.provider).sync({ paymentId: a.paymentId, providerReference: a.providerReference }),
      );
    },

    /**
     * Send a dispute's evidence and submit it. Each adapter guards a repeat (Stripe: the dispute is
     * read first and the write carries `<dp_id>:evidence`; Braintree: looked up, only missing pieces
     * sent; sandbox: its books), so a retry after an unknown outcome submits once. Files are read and
     * decrypted here, just before they go out; results and errors name no file content.
     */
    async submitDisputeEvidence(a: DisputeEvidenceArgs): Promise<DisputeProviderResult> {
      return atBoundary(() =>
        heartbeating(async () => {
          const provider = providers.get(a.provider);
          let files: Awaited<ReturnType<DisputeEvidenceStore['read']>> = [];
          if (a.fileIds.length > 0) {
            if (!deps.evidence)
              throw failure(FAILURE_TYPES.InternalError, 'no dispute evidence store in this worker');
            files = await deps.evidence.read(a.disputeId, a.fileIds);
          }
          return provider.submitDisputeEvidence({
            disputeId: a.disputeId,
            providerDisputeId: a.providerDisputeId,
            paymentId: a.paymentId,
            providerReference: a.providerReference,
            text: a.text,
            files,
          });
        }),
      );
    },

    /** Concede a dispute at its provider (guarded like the evidence: a repeat changes nothing). */
    async acceptDispute(a: AcceptDisputeArgs): Promise<DisputeProviderResult> {
      return atBoundary(() =>
        heartbeating(() =>
          providers.get(a.provider).acceptDispute({
            disputeId: a.disputeId,
            providerDisputeId: a.providerDisputeId,
            paymentId: a.paymentId,
            providerReference: a.providerReference,
          }),
        ),
      );
    },

    /** Housekeeping: destroy CVCs unused for an hour (PCI DSS 3.3.1.2). */
    async destroyExpiredCvcs(): Promise<number> {
      return atBoundary(() => vault.destroyExpiredCvcs());
    },
  };
}
export type CardActivities = ReturnType<typeof createCardActivities>;
