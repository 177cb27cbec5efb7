/**
 * Provider webhooks in (API.md "Webhooks"): POST /webhooks/stripe, POST /webhooks/braintree, and
 * POST /webhooks/sandbox (the sandbox's disputes, `Sandbox-Signature`: activities/providers/sandbox).
 *
 * Mounted BEFORE express.json: signatures are over the RAW body bytes. Flow per request:
 *   verify (Stripe-Signature, 300 s tolerance, any configured secret | Braintree SDK parser)
 *     -> bad: 400 `invalid_signature`, nothing written
 *   bank_account.* -> the bank-accounts service (stores and applies once by itself)
 *   store in provider_events by (provider, event id) -> already delivered: 200, nothing else happens
 *   dispute.* with the dispute's facts -> the disputes service: start or signal `dispute-<dp_id>`
 *     (api/disputes-service.ts); without facts (events stored before disputes) as below
 *   signal `providerEvent` to `payment-<pay_id>` for events that change money, then mark delivered.
 * A failure between storing and marking delivered answers 500: the provider redelivers, the row is
 * found undelivered and the signal is sent again; the workflow side is idempotent
 * (workflows/provider-events.ts), so the event still takes effect once.
 */
import express, { type Router, type Request } from 'express';
import { createRouter } from '../router';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { ProviderError } from '../../activities/providers/types';
import type { ProviderEvent, ProviderName } from '../../domain/providers';
import type { WebhooksRepo } from '../../db/webhooks-repo';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../security/logger';
import type { WebhookVerifier } from '../../workers/providers';
import { providerEventSignal, type ProviderEventSignal } from '../../workflows/provider-events';
import { derivedId, workflowIdOf } from '../payments-service';

/** Kinds the payment workflow acts on; the rest are already reflected by our own operations. */
const PAYMENT_SIGNAL_KINDS: ReadonlySet<string> = new Set([
  'refund.succeeded',
  'dispute.opened',
  'dispute.closed',
  'settlement.failed',
]);

export interface ProviderWebhookDeps {
  verifiers: Map<ProviderName, WebhookVerifier>;
  webhooks: WebhooksRepo;
  temporal?: Client | undefined;
  /** Bank deposit events (the bank-accounts service); bank_account.* events are ignored without it. */
  bankAccounts?: { applyBankProviderEvent(e: ProviderEvent): Promise<{ outcome: string }> } | undefined;
  /** dispute.* events carrying the dispute (api/disputes-service.ts); without it they go the old way. */
  disputes?:
    | {
        onProviderEvent(
          e: ProviderEvent,
          paymentId: string,
        ): Promise<'applied' | 'closed' | 'unmatched' | 'invalid'>;
      }
    | undefined;
  logger: Logger;
}

export function toSignal(e: ProviderEvent): ProviderEventSignal {
  const tx = e.raw.transaction as { id?: string } | undefined;
  return {
    eventId: `${e.provider}:${e.eventId}`,
    provider: e.provider,
    kind: e.kind,
    amount: e.amount,
    // Stripe reports a refund through charge.refunded, whose amount is the charge's running total.
    cumulative: e.provider === 'stripe' && e.kind === 'refund.succeeded',
    providerRefundId: e.provider === 'braintree' ? tx?.id : undefined,
    refundId: derivedId('re', 'provider-event', e.provider, e.eventId),
    merchantEventId: derivedId('evt', 'provider-event', e.provider, e.eventId),
    occurredAt: e.occurredAt,
  };
}

export function providerWebhookService(deps: ProviderWebhookDeps) {
  return async function handle(
    provider: ProviderName,
    rawBody: Buffer,
    headers: Record<string, string | undefined>,
  ): Promise<{ received: true; outcome: string }> {
    const verify = deps.verifiers.get(provider);
    if (!verify)
      throw new AppError('not_found', 'provider_not_enabled', `Provider ${provider} is not enabled`);
    let event: ProviderEvent;
    try {
      event = await verify(rawBody, headers);
    } catch (err) {
      if (err instanceof ProviderError)
        throw new AppError('invalid_request', 'invalid_signature', err.message, { details: { provider } });
      throw err;
    }

    if (event.kind.startsWith('bank_account.')) {
      if (!deps.bankAccounts) return { received: true, outcome: 'ignored' };
      return { received: true, outcome: (await deps.bankAccounts.applyBankProviderEvent(event)).outcome };
    }

    const stored = await deps.webhooks.storeProviderEvent(event);
    if (stored.delivered) return { received: true, outcome: 'duplicate' };

    const paymentId =
      event.paymentId ??
      (event.providerReference
        ? await deps.webhooks.paymentIdByReference(provider, event.providerReference)
        : undefined);
    if (paymentId && event.dispute && event.kind.startsWith('dispute.') && deps.disputes) {
      const outcome = await deps.disputes.onProviderEvent(event, paymentId);
      await deps.webhooks.markProviderEventDelivered(provider, event.eventId, paymentId);
      if (outcome !== 'applied') return { received: true, outcome };
      return { received: true, outcome: stored.fresh ? 'applied' : 'redelivered' };
    }
    if (!paymentId || !PAYMENT_SIGNAL_KINDS.has(event.kind) || !deps.temporal) {
      await deps.webhooks.markProviderEventDelivered(provider, event.eventId, paymentId);
      return { received: true, outcome: paymentId ? 'recorded' : 'unmatched' };
    }
    try {
      await deps.temporal.workflow
        .getHandle(workflowIdOf(paymentId))
        .signal(providerEventSignal, toSignal(event));
    } catch (err) {
      // No such (running) payment workflow: nothing can change any more; keep the event for audit.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      await deps.webhooks.markProviderEventDelivered(provider, event.eventId, paymentId);
      return { received: true, outcome: 'closed' };
    }
    await deps.webhooks.markProviderEventDelivered(provider, event.eventId, paymentId);
    return { received: true, outcome: stored.fresh ? 'applied' : 'redelivered' };
  };
}

const headersOf = (req: Request): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
};

export function providerWebhookRoutes(deps: ProviderWebhookDeps): Router {
  const r = createRouter();
  const handle = providerWebhookService(deps);
  // Raw bytes whatever the content type (Stripe: JSON, Braintree: form): verification needs them as sent.
  const raw = express.raw({ type: () => true, limit: '256kb' });
  for (const provider of ['stripe', 'braintree', 'sandbox'] as const) {
    r.post(`/${provider}`, raw, async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      res.status(200).json(await handle(provider, body, headersOf(req)));
    });
  }
  return r;
}
