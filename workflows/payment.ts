/**
 * PaymentWorkflow: one payment from authorization to its last refund. Workflow id `payment-<pay_id>`.
 *
 * Steps
 *   1. project `processing`; a payment whose own data the database refuses (DataRejected: a NUL
 *      byte in its free text...) ends `failed` (declineCode `data_rejected`) without that free text
 *      and never reaches a provider. Then authorize at the provider (card-data worker; key `<pay>:authorize`)
 *        approved -> authorized (manual) | captured (automatic); declined -> declined (terminal)
 *        no answer within the authorize option set -> failed, then compensation: release any hold
 *        the provider may have made (sync + void)
 *   2. while authorized / partially_captured: Updates capture (key `<pay>:capture:<n>`) and void,
 *        and an expiry TIMER at the provider's capture_before (else createdAt + 7 days) minus a safety
 *        margin: it voids the remaining authorization -> expired (or captured when part was captured)
 *   3. while captured / partially_refunded: Update refund (key `<pay>:refund:<re_id>`) until refunded
 *        or the refund window (180 days) ends.
 * Every transition goes through domain/payment-state.ts; validators reject illegal updates before
 * they enter history. Each transition is projected to PostgreSQL and appended to the merchant-event
 * outbox (`payment.<status>`, `refund.succeeded`) with an id derived from (payment, version).
 * Operations are serialized (one provider call at a time per payment).
 * Queries: getPayment. Update awaitAuthorization returns once the authorization outcome is known
 * (used with update-with-start for the synchronous POST /v1/payments).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  setHandler,
  patched,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { createCardActivities } from '../activities/card-activities';
import {
  initialState,
  toView,
  type PaymentInput,
  type PaymentState,
  type PaymentView,
  type RefundRecord,
} from '../domain/payment';
import { TERMINAL_STATUSES, transition, type Operation, type PaymentStatus } from '../domain/payment-state';
import { FAILURE_TYPES } from '../domain/errors';
import * as options from './activity-options';
import { SA_STATUS } from './search-attributes';
import { createSerial } from './serial';
// --- issue 4 (providers): failover + provider events; logic lives in these two files ---
import { authorizeWithFailover } from './authorize-with-failover';
import { providerEventHandler, providerEventSignal } from './provider-events';
// --- end issue 4 ---

export interface CaptureRequest {
  amount?: number | undefined;
  final?: boolean | undefined;
}
export interface RefundRequest {
  refundId: string;
  amount?: number | undefined;
  reason?: string | undefined;
  createdAt: string;
}
export interface RefundResponse {
  refund: RefundRecord;
  payment: PaymentView;
}

export const getPaymentQuery = defineQuery<PaymentView>('getPayment');
export const awaitAuthorizationUpdate = defineUpdate<PaymentView>('awaitAuthorization');
export const captureUpdate = defineUpdate<PaymentView, [CaptureRequest]>('capture');
export const voidUpdate = defineUpdate<PaymentView>('void');
export const refundUpdate = defineUpdate<RefundResponse, [RefundRequest]>('refund');

/** Failure types an update can fail with; the API maps them to 409 / 422 / 503. */
export const UPDATE_FAILURES = {
  Conflict: 'PaymentConflict',
  AmountRejected: 'PaymentAmountRejected',
} as const;

const DEFAULT_AUTH_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
const REFUND_WINDOW_MS = 180 * 24 * 60 * 60 * 1000;
/** Void this long before the authorization lapses at the provider, so the release happens in time. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

const acts = proxyActivities<ReturnType<typeof createActivities>>(options.projection);

/** The reason a payment whose own data the database refused reads back with (`declineCode`). */
export const DATA_REJECTED_CODE = 'data_rejected';

/** The database refused a value of this payment (NUL byte, bad encoding...): no retry can store it. */
const isDataRejected = (err: unknown) =>
  err instanceof ActivityFailure &&
  err.cause instanceof ApplicationFailure &&
  err.cause.type === FAILURE_TYPES.DataRejected;

/** `evt_<payment id body>v<version>`: one event per status change, stable across retries and replay. */
export const paymentEventId = (paymentId: string, version: number) =>
  `evt_${paymentId.replace(/^pay_/, '')}v${version}`;
/** `evt_<refund id body>r`: the refund.succeeded event of one refund. */
export const refundEventId = (refundId: string) => `evt_${refundId.replace(/^re_/, '')}r`;

export async function paymentWorkflow(input: PaymentInput, resumed?: PaymentState): Promise<PaymentView> {
  const card = (opts: typeof options.authorize) =>
    proxyActivities<ReturnType<typeof createCardActivities>>({ ...opts, taskQueue: input.cardTaskQueue });
  const operationActs = card(options.providerOperation);
  const compensationActs = card(options.compensation);

  let s: PaymentState = resumed ?? initialState(input);
  /** Set when the merchant's free text could not be stored: the payment is shown without it. */
  let freeTextRejected = false;
  const view = (): PaymentView => {
    const v = toView(input, s);
    if (!freeTextRejected) return v;
    const { merchantReference: _r, description: _d, metadata: _m, ...rest } = v;
    return rest;
  };
  /** Highest version written to the PostgreSQL projection: answers wait for it (read-your-writes). */
  let projected = 0;

  // Serialize operations: each runs after the previous one settled, and re-checks the state.
  const serial = createSerial();

  const reject = (state: PaymentState, op: Operation): void => {
    const t = transition(state, op);
    if (t.ok) return;
    throw ApplicationFailure.create({
      type: t.rejection.kind === 'conflict' ? UPDATE_FAILURES.Conflict : UPDATE_FAILURES.AmountRejected,
      message: t.rejection.message,
      nonRetryable: true,
      details: [{ code: t.rejection.code, status: state.status }],
    });
  };

  async function commit(next: PaymentState): Promise<void> {
    const statusChanged = next.status !== s.status;
    s = { ...next, version: s.version + 1, updatedAt: new Date().toISOString() };
    if (statusChanged) upsertSearchAttributes([{ key: SA_STATUS, value: s.status }]);
    const version = s.version;
    const snapshot = view();
    await acts.projectPayment({ clientId: input.clientId, view: snapshot, version });
    // Every commit after `processing` is a transition the merchant hears about (a second partial
    // capture changes the amounts, not the status). The id is derived from (payment, version): an
    // activity retry or a replay appends the same row, never a second event.
    await acts.recordEvent({
      id: paymentEventId(input.paymentId, version),
      clientId: input.clientId,
      type: `payment.${s.status}`,
      resourceId: input.paymentId,
      data: { ...snapshot },
      createdAt: s.updatedAt,
    });
    projected = Math.max(projected, version);
  }

  function apply(op: Operation): PaymentState {
    const t = transition(s, op);
    if (!t.ok)
      throw ApplicationFailure.create({
        type: UPDATE_FAILURES.Conflict,
        message: t.rejection.message,
        nonRetryable: true,
      });
    return t.next;
  }

  {
    setHandler(getPaymentQuery, view);
    // --- issue 4: provider webhooks (refunds / disputes / settlement failures) -> workflows/provider-events.ts
    setHandler(
      providerEventSignal,
      providerEventHandler({ input: () => input, state: () => s, serial, commit, refundEventId }),
    );
    // --- end issue 4 ---
    setHandler(awaitAuthorizationUpdate, async () => {
      await condition(() => s.status !== 'processing' && projected >= s.version);
      return view();
    });

    setHandler(
      captureUpdate,
      (req) =>
        serial(async () => {
          reject(s, { kind: 'capture', amount: req.amount, final: req.final });
          const t = transition(s, { kind: 'capture', amount: req.amount, final: req.final });
          if (!t.ok) throw new Error('unreachable');
          const n = s.captures.length + 1;
          const res = await operationActs.capturePayment({
            paymentId: input.paymentId,
            provider: input.provider,
            providerReference: s.providerReference ?? '',
            n,
            amount: t.amount,
            currency: input.currency,
            final: t.next.amountCapturable === 0,
          });
          await commit({
            ...t.next,
            captures: [
              ...s.captures,
              { n, amount: t.amount, providerCaptureId: res.providerCaptureId, at: new Date().toISOString() },
            ],
          });
          return view();
        }),
      {
        validator: (req: CaptureRequest) =>
          reject(s, { kind: 'capture', amount: req.amount, final: req.final }),
      },
    );

    setHandler(
      voidUpdate,
      () =>
        serial(async () => {
          reject(s, { kind: 'void' });
          await operationActs.voidPayment({
            paymentId: input.paymentId,
            provider: input.provider,
            providerReference: s.providerReference ?? '',
          });
          await commit(apply({ kind: 'void' }));
          return view();
        }),
      { validator: () => reject(s, { kind: 'void' }) },
    );

    setHandler(
      refundUpdate,
      (req) =>
        serial(async () => {
          const existing = s.refunds.find((r) => r.id === req.refundId);
          if (existing) return { refund: existing, payment: view() };
          reject(s, { kind: 'refund', amount: req.amount });
          const t = transition(s, { kind: 'refund', amount: req.amount });
          if (!t.ok) throw new Error('unreachable');
          const res = await operationActs.refundPayment({
            paymentId: input.paymentId,
            refundId: req.refundId,
            provider: input.provider,
            providerReference: s.providerReference ?? '',
            amount: t.amount,
            currency: input.currency,
            reason: req.reason,
          });
          const refund: RefundRecord = {
            id: req.refundId,
            paymentId: input.paymentId,
            amount: t.amount,
            status: res.status,
            reason: req.reason,
            providerRefundId: res.providerRefundId,
            createdAt: req.createdAt,
          };
          await acts.projectRefund(refund);
          await commit({ ...t.next, refunds: [...s.refunds, refund] });
          if (refund.status === 'succeeded') {
            await acts.recordEvent({
              id: refundEventId(refund.id),
              clientId: input.clientId,
              type: 'refund.succeeded',
              resourceId: refund.id,
              data: { ...refund },
              createdAt: s.updatedAt,
            });
          }
          return { refund, payment: view() };
        }),
      {
        validator: (req: RefundRequest) => {
          if (s.refunds.some((r) => r.id === req.refundId)) return;
          reject(s, { kind: 'refund', amount: req.amount });
        },
      },
    );
  }

  // 1. Authorization (skipped when resumed through continue-as-new).
  if (s.status === 'processing') {
    try {
      await acts.projectPayment({ clientId: input.clientId, view: view(), version: s.version });
    } catch (err) {
      if (!isDataRejected(err) || !patched('data-rejected-fails-payment')) throw err;
      // Retrying cannot store this payment's free text (merchantReference, description, metadata):
      // end it `failed` without them, readable and announced, and never send it to a provider.
      freeTextRejected = true;
      await commit({ ...apply({ kind: 'failed' }), declineCode: DATA_REJECTED_CODE });
    }
  }
  if (s.status === 'processing') {
    try {
      // --- issue 4: routing + failover (workflows/authorize-with-failover.ts). From here on the payment's
      // provider is the one that answered (it holds the authorization); captures/voids/refunds go there.
      const routed = await authorizeWithFailover(input, {
        paymentId: input.paymentId,
        token: input.token,
        amount: input.amount,
        currency: input.currency,
        capture: input.capture,
        description: input.description,
        merchantReference: input.merchantReference,
      });
      const res = routed.result;
      input = { ...input, provider: routed.provider };
      // --- end issue 4 ---
      if (res.outcome === 'authorized') {
        const window = input.authorizationWindowMs ?? DEFAULT_AUTH_WINDOW_MS;
        const expiresAt = res.captureBefore ?? new Date(Date.parse(input.createdAt) + window).toISOString();
        const next = apply({
          kind: 'authorized',
          capture: res.captured || input.capture === 'automatic' ? 'automatic' : 'manual',
        });
        await commit({
          ...next,
          providerReference: res.providerReference,
          authorizationExpiresAt: expiresAt,
        });
      } else {
        await commit({
          ...apply({ kind: 'declined' }),
          providerReference: res.providerReference ?? null,
          declineCode: res.declineCode,
        });
      }
    } catch (err) {
      await commit({ ...apply({ kind: 'failed' }) });
      // The last attempt may have authorized before its answer was lost: release any such hold.
      if (!(err instanceof ApplicationFailure && err.type === FAILURE_TYPES.CardUnavailable)) {
        await compensationActs.releaseIfAuthorized({ paymentId: input.paymentId, provider: input.provider });
      }
    }
  }

  // 2. Capture phase with the expiry timer.
  const capturing = (st: PaymentStatus) => st === 'authorized' || st === 'partially_captured';
  while (capturing(s.status)) {
    const deadline = Date.parse(s.authorizationExpiresAt ?? input.createdAt) - EXPIRY_MARGIN_MS;
    const settled = await condition(() => !capturing(s.status), Math.max(deadline - Date.now(), 1));
    if (!settled) {
      await serial(async () => {
        if (!capturing(s.status)) return;
        await compensationActs.voidPayment({
          paymentId: input.paymentId,
          provider: input.provider,
          providerReference: s.providerReference ?? '',
        });
        await commit(apply({ kind: 'expire' }));
      });
    }
  }

  // 3. Refund phase: open until fully refunded or the refund window closes.
  const refundDeadline = Date.parse(input.createdAt) + REFUND_WINDOW_MS;
  while (!TERMINAL_STATUSES.has(s.status) && Date.now() < refundDeadline) {
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof paymentWorkflow>(input, s);
    }
    await condition(
      () => TERMINAL_STATUSES.has(s.status) || workflowInfo().continueAsNewSuggested,
      Math.max(refundDeadline - Date.now(), 1),
    );
  }

  await condition(allHandlersFinished);
  return view();
}
