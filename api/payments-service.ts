/**
 * The API's side of payments: starts and drives PaymentWorkflows, reads projections. Ids are derived
 * from (client, Idempotency-Key), so a retried request (even after the API crashed mid-way) lands on
 * the same workflow and the same update instead of creating a second payment or refund.
 */
import { createHash } from 'node:crypto';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type Client,
} from '@temporalio/client';
import { TypedSearchAttributes, WorkflowNotFoundError } from '@temporalio/common';
import type { PaymentsRepo } from '../db/payments-repo';
import type { ProviderRoutesRepo } from '../db/provider-routes-repo';
import { classifyDbError } from '../db/errors';
import { orderRoute, type ProviderName } from '../domain/providers';
import { canonical } from './middleware/idempotency';
import { AppError, notFound, serviceUnavailable } from '../domain/errors';
import { isDependencyUnavailable } from './unavailable';
import { updateFailureError } from './update-errors';
import { initialState, toView, type PaymentInput, type PaymentView } from '../domain/payment';
import type { CaptureMode, PaymentStatus } from '../domain/payment-state';
import type { Vault } from '../vault/vault';
import {
  awaitAuthorizationUpdate,
  captureUpdate,
  refundUpdate,
  voidUpdate,
  type RefundResponse,
} from '../workflows/payment';
import { paymentWorkflow } from '../workflows';
import {
  SA_AMOUNT,
  SA_CURRENCY,
  SA_MERCHANT_REFERENCE,
  SA_PROVIDER,
  SA_STATUS,
} from '../workflows/search-attributes';

const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `<prefix>_` + 24 base62 chars of SHA-256(parts): stable for the same client and key. */
export function derivedId(prefix: string, ...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  let out = '';
  for (let i = 0; i < 24; i++) out += BASE62[(h[i] ?? 0) % 62];
  return `${prefix}_${out}`;
}

export const workflowIdOf = (paymentId: string) => `payment-${paymentId}`;

export interface Caller {
  sub: string;
  role: string;
}
const scope = (c: Caller) => (c.role === 'service' ? c.sub : undefined);

export interface CreatePaymentRequest {
  amount: number;
  currency: string;
  paymentMethod: { token: string };
  capture: CaptureMode;
  provider?: ProviderName | undefined;
  merchantReference?: string | undefined;
  description?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

export interface PaymentsServiceDeps {
  client: Client;
  payments: PaymentsRepo;
  routes: ProviderRoutesRepo;
  vault: Vault;
  taskQueue: string;
  cardTaskQueue: string;
  enabledProviders: string[];
  defaultProvider: string;
  authWaitMs: number;
  now?: () => Date;
}

export function createPaymentsService(deps: PaymentsServiceDeps) {
  const now = deps.now ?? (() => new Date());

  function declineError(view: PaymentView): AppError {
    const code = view.status === 'failed' ? 'processing_error' : (view.declineCode ?? 'card_declined');
    const message = view.status === 'failed' ? 'The payment could not be processed' : 'The card was declined';
    return new AppError('card_error', code, message, { details: { paymentId: view.id, declineCode: code } });
  }

  /** POST /v1/payments' answer once the outcome is known: the payment (201) or its decline (402). */
  function authorizationOutcome(view: PaymentView): PaymentView {
    if (view.status === 'declined' || view.status === 'failed') throw declineError(view);
    return view;
  }

  /** Map a failed update to the contract (api/update-errors.ts); a closed payment is a 409 with its status. */
  async function mapUpdateError(err: unknown, paymentId: string): Promise<never> {
    const failed = updateFailureError(err, { paymentId });
    if (failed) throw failed;
    if (
      err instanceof WorkflowNotFoundError ||
      (err instanceof Error && /workflow execution already completed/i.test(err.message))
    ) {
      const p = await deps.payments.get(paymentId, undefined);
      if (!p) throw notFound('payment');
      throw new AppError('conflict', 'invalid_state', `Cannot change a payment in status ${p.status}`, {
        details: { status: p.status, paymentId },
      });
    }
    throw err;
  }

  /**
   * The payment is readable as `processing` from its start: written here, before the workflow exists,
   * so a value the database refuses is a 400 before anything runs, and a same-key retry (or a workflow
   * already further along) leaves a newer projection as it is (versioned upsert).
   */
  async function projectProcessing(input: PaymentInput): Promise<void> {
    try {
      await deps.payments.upsert(
        input.clientId,
        toView(input, initialState(input)),
        initialState(input).version,
      );
    } catch (err) {
      if (classifyDbError(err) !== 'poison') throw err;
      throw new AppError('invalid_request', 'invalid_value', 'A field holds a value that cannot be stored', {
        details: { paymentId: input.paymentId },
      });
    }
  }

  async function requireOwned(caller: Caller, id: string): Promise<void> {
    if (!(await deps.payments.exists(id, scope(caller)))) throw notFound('payment');
  }

  return {
    async create(caller: Caller, idempotencyKey: string, req: CreatePaymentRequest): Promise<PaymentView> {
      const provider = req.provider ?? deps.defaultProvider;
      if (!deps.enabledProviders.includes(provider)) {
        throw new AppError('invalid_request', 'provider_not_enabled', `Provider ${provider} is not enabled`, {
          details: { field: 'provider' },
        });
      }
      const card = await deps.vault.metadata(req.paymentMethod.token, caller.sub);
      if (!card) {
        throw new AppError('invalid_request', 'invalid_payment_method', 'No such card token', {
          details: { field: 'paymentMethod.token' },
        });
      }
      // The body is part of the id: a key reused with another body after the 24 h retention starts a
      // new payment instead of landing on the old workflow.
      const paymentId = derivedId('pay', caller.sub, idempotencyKey, canonical(req));
      const input: PaymentInput = {
        paymentId,
        clientId: caller.sub,
        legalEntity: card.legalEntity,
        amount: req.amount,
        currency: req.currency,
        capture: req.capture,
        provider,
        requestedProvider: req.provider,
        token: card.token,
        brand: card.brand,
        last4: card.last4,
        merchantReference: req.merchantReference,
        description: req.description,
        metadata: req.metadata,
        createdAt: now().toISOString(),
        cardTaskQueue: deps.cardTaskQueue,
      };
      // The route (failover order, from the merchant's rule) is decided here and travels in the input.
      const route = orderRoute({
        rule: await deps.routes.get(caller.sub),
        requested: req.provider,
        preferred: provider,
        enabled: (p) => deps.enabledProviders.includes(p),
      });
      if (route.length) input.route = route;
      await projectProcessing(input);
      const sa = [
        { key: SA_STATUS, value: 'processing' },
        { key: SA_PROVIDER, value: provider },
        { key: SA_AMOUNT, value: req.amount },
        { key: SA_CURRENCY, value: req.currency },
        ...(req.merchantReference ? [{ key: SA_MERCHANT_REFERENCE, value: req.merchantReference }] : []),
      ];
      const start = new WithStartWorkflowOperation(paymentWorkflow, {
        workflowId: workflowIdOf(paymentId),
        taskQueue: deps.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // A same-key retry (after a 503) re-attaches to this workflow and its `await-authorization`
        // update, even once the workflow has closed. A payment id never gets a second run: one that
        // ended without that update in its last run (continued as new) answers from the projection.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: new TypedSearchAttributes(sa),
      });
      let view: PaymentView;
      const wait = AbortSignal.timeout(deps.authWaitMs);
      try {
        view = await deps.client.withAbortSignal(wait, async () => {
          const handle = await deps.client.workflow.startUpdateWithStart(awaitAuthorizationUpdate, {
            startWorkflowOperation: start,
            waitForStage: WorkflowUpdateStage.ACCEPTED,
            updateId: 'await-authorization',
          });
          return handle.result();
        });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) return mapUpdateError(err, paymentId);
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          const ended = await deps.payments.get(paymentId, scope(caller));
          if (!ended) throw err;
          return authorizationOutcome(ended);
        }
        // Temporal down: nothing may have started; a retry with the same key lands on the same id.
        if (isDependencyUnavailable(err)) throw serviceUnavailable();
        // Anything but our own wait running out is not an outage of a provider: 500 `internal`.
        if (!wait.aborted) throw err;
        // No outcome in time: the workflow keeps going durably; the client reads the result later.
        throw new AppError(
          'provider_unavailable',
          'provider_unavailable',
          'No provider answered in time; the payment continues and can be read later',
          {
            details: { paymentId },
          },
        );
      }
      return authorizationOutcome(view);
    },

    async get(caller: Caller, id: string): Promise<PaymentView> {
      const p = await deps.payments.get(id, scope(caller));
      if (!p) throw notFound('payment');
      return p;
    },

    list(
      caller: Caller,
      q: { status?: PaymentStatus | undefined; limit: number; startingAfter?: string | undefined },
    ) {
      return deps.payments.list({ clientId: scope(caller), ...q });
    },

    async capture(
      caller: Caller,
      id: string,
      idempotencyKey: string,
      body: { amount?: number | undefined; final?: boolean | undefined },
    ): Promise<PaymentView> {
      await requireOwned(caller, id);
      try {
        return await deps.client.workflow.getHandle(workflowIdOf(id)).executeUpdate(captureUpdate, {
          args: [body],
          updateId: derivedId('upd', caller.sub, idempotencyKey, 'capture', canonical(body)),
        });
      } catch (err) {
        return mapUpdateError(err, id);
      }
    },

    async void(caller: Caller, id: string, idempotencyKey: string): Promise<PaymentView> {
      await requireOwned(caller, id);
      try {
        return await deps.client.workflow.getHandle(workflowIdOf(id)).executeUpdate(voidUpdate, {
          updateId: derivedId('upd', caller.sub, idempotencyKey, 'void'),
        });
      } catch (err) {
        return mapUpdateError(err, id);
      }
    },

    async refund(
      caller: Caller,
      id: string,
      idempotencyKey: string,
      body: { amount?: number | undefined; reason?: string | undefined },
    ): Promise<RefundResponse> {
      await requireOwned(caller, id);
      const refundId = derivedId('re', caller.sub, idempotencyKey, id, canonical(body));
      try {
        return await deps.client.workflow.getHandle(workflowIdOf(id)).executeUpdate(refundUpdate, {
          args: [{ refundId, amount: body.amount, reason: body.reason, createdAt: now().toISOString() }],
          updateId: refundId,
        });
      } catch (err) {
        return mapUpdateError(err, id);
      }
    },
  };
}
export type PaymentsService = ReturnType<typeof createPaymentsService>;
