/**
 * PaymentWorkflow: one payment from authorization to its last refund. Workflow id `payment-<pay_id>`.
 * The API starts it with update-with-start and has already projected it as `processing`, with the
 * search attributes and the provider route (the merchant's rule) in the start.
 *
 * Steps
 *   1. authorize(): each provider of `input.route` in order (card-data worker; key `<pay>:authorize`);
 *      only an unavailable provider moves on to the next (failover), and every provider tried before
 *      the winner gets a release child (release-hold.ts).
 *        approved -> authorized (manual) | captured (automatic); declined -> declined (terminal)
 *        no answer within the authorize option set -> failed, then compensation: release any hold
 *        the providers tried may have made (sync + void)
 *      The update awaitAuthorization (POST /v1/payments) waits for this step and its projection.
 *   2. while authorized / partially_captured: Updates capture (key `<pay>:capture:<n>`) and void
 *        (payment-operations.ts, with refund),
 *        and an expiry TIMER at the provider's capture_before (else createdAt + 7 days) minus a safety
 *        margin: it voids the remaining authorization -> expired (or captured when part was captured)
 *   3. while captured / partially_refunded: Update refund (key `<pay>:refund:<re_id>`) until refunded
 *        or the refund window (180 days) ends.
 * Every transition goes through domain/payment-state.ts; validators reject illegal updates before
 * they enter history. Each transition is one local activity, one PostgreSQL transaction: the
 * projection, the refund it made, the merchant events (`payment.<status>`, `refund.succeeded`,
 * ids derived from (payment, version)) and the ledger entries of the money it moved (domain/ledger.ts,
 * keyed by the step); search attributes change only with the status or provider.
 * Operations are serialized (one provider call at a time per payment).
 * Payments started before patch `one-step-writes` replay their recorded steps (payment-legacy.ts).
 * Signals: `providerEvent` (provider-events.ts), `repair` (payment-repair.ts: the sweeper's and the
 * CLI's repairs) and `paymentDispute` (payment-disputes.ts: a dispute's withdrawal and reinstatement
 * of funds), all applied through the same commit path.
 */
import {
  ApplicationFailure,
  condition,
  makeContinueAsNewFunc,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  setHandler,
  patched,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { createActivities } from '../activities';
import type { createCardActivities } from '../activities/card-activities';
import type { AuthorizeResult } from '../activities/providers/types';
import type { EventRecord } from '../domain/merchant-event';
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
import { stepEntries } from '../domain/ledger';
import * as options from './activity-options';
import { onCardQueue } from './card-queue';
import {
  legacyAuthorize,
  legacyProcessingStep,
  legacyProjectRefund,
  legacyRecordEvent,
  legacyWrites,
} from './payment-legacy';
import { providerEventHandler, providerEventSignal } from './provider-events';
import { paymentDisputeHandler, paymentDisputeSignal } from './payment-disputes';
import { setOperationHandlers } from './payment-operations';
import { repairHandler, repairSignal } from './payment-repair';
import { authorizeOnRoute, releaseHolds } from './release-hold';
import { SA_PROVIDER, SA_STATUS } from './search-attributes';
import { createSerial } from './serial';

export * from './payment-messages';
import {
  awaitAuthorizationUpdate,
  getPaymentQuery,
  paymentEventId,
  refundSucceededEvent,
  UPDATE_FAILURES,
} from './payment-messages';

const DEFAULT_AUTH_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
const REFUND_WINDOW_MS = 180 * 24 * 60 * 60 * 1000;
/** Void this long before the authorization lapses at the provider, so the release happens in time. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

const local = proxyLocalActivities<ReturnType<typeof createActivities>>(options.localWrite);
type CardActs = ReturnType<typeof createCardActivities>;

/** Payments started from here on write each step in one local activity; see payment-legacy.ts. */
export const ONE_STEP_WRITES_PATCH = 'one-step-writes';

/** The reason a payment whose own data the database refused reads back with (`declineCode`). */
export const DATA_REJECTED_CODE = 'data_rejected';

/**
 * Worker Versioning: PINNED (the payment worker's default, workers/versioning.ts). Each task runs on
 * the build that wrote the history, so no ramp or rollback hands an in-flight payment to other code;
 * the refund phase continues-as-new onto the current build once a deploy changes the target. A
 * message a pinned older build has no handler for is dropped there: senders of a new one repeat it
 * until answered (payment-disputes.ts). See docs/deploy.md "Worker Versioning".
 */

export async function paymentWorkflow(input: PaymentInput, resumed?: PaymentState): Promise<PaymentView> {
  const oneStep = patched(ONE_STEP_WRITES_PATCH);
  const operationActs = onCardQueue<CardActs>(input.cardTaskQueue, options.providerOperation);
  const compensationActs = onCardQueue<CardActs>(input.cardTaskQueue, options.compensation);

  let s: PaymentState = resumed ?? initialState(input);
  // Payments that were already running when the ledger started (the legacy path) have no entries: the
  // first step of a later run (continue-as-new moves them onto the one-step path) posts an opening
  // balance (domain/ledger.ts). A fresh one-step run posts from its start; a resumed run trusts the
  // state it was handed, which says whether the runs before it posted. The ledger came with the
  // one-step writes, so their patch tells both.
  let ledgerOpened = resumed ? resumed.ledgerPosted === true : oneStep;
  /** The provider holding the authorization (after failover, the one that answered). */
  const provider = () => s.provider ?? input.provider;
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

  /**
   * Make `next` the payment's state: search attributes when the status or provider changes, then the
   * projection, the refund (if any) and the merchant events in one transaction. Every commit is a
   * transition the merchant hears about (`payment.<status>`; a second partial capture changes the
   * amounts, not the status) with an id derived from (payment, version): a retry or a replay writes
   * the same rows, never a second event.
   */
  async function commit(
    next: PaymentState,
    extra: { refund?: RefundRecord; events?: (snapshotAt: string) => EventRecord[]; silent?: boolean } = {},
  ): Promise<void> {
    // Payments on the legacy path projected a refund before anything else of its step.
    if (!oneStep && extra.refund) await legacyProjectRefund(extra.refund);
    const before = { status: s.status, provider: provider() };
    const prev = s;
    s = {
      ...next,
      version: s.version + 1,
      updatedAt: new Date().toISOString(),
      ...(oneStep ? { ledgerPosted: true } : {}),
    };
    const changed: SearchAttributeUpdatePair[] = [];
    if (s.status !== before.status) changed.push({ key: SA_STATUS, value: s.status });
    // Payments on the legacy path upserted the provider inside legacyAuthorize.
    if (oneStep && provider() !== before.provider) changed.push({ key: SA_PROVIDER, value: provider() });
    if (changed.length) upsertSearchAttributes(changed);
    const version = s.version;
    const snapshot = view();
    const step = {
      clientId: input.clientId,
      view: snapshot,
      version,
      refund: extra.refund,
      events: [
        ...(extra.silent && s.status === before.status
          ? []
          : [
              {
                id: paymentEventId(input.paymentId, version),
                clientId: input.clientId,
                type: `payment.${s.status}`,
                resourceId: input.paymentId,
                data: { ...snapshot },
                createdAt: s.updatedAt,
              },
            ]),
        ...(extra.events?.(s.updatedAt) ?? []),
      ],
      // The money this step moved, posted in the same statement (the legacy path posts nothing).
      ledger: oneStep
        ? stepEntries(
            {
              clientId: input.clientId,
              paymentId: input.paymentId,
              currency: input.currency,
              version,
              at: s.updatedAt,
            },
            prev,
            s,
            { opening: !ledgerOpened },
          )
        : [],
    };
    await (oneStep ? local.commitPaymentStep(step) : legacyWrites(step));
    if (oneStep) ledgerOpened = true;
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

  /** Step 1: authorize at the route's providers; the payment ends authorized, declined or failed. */
  async function authorize(): Promise<void> {
    const args = {
      paymentId: input.paymentId,
      token: input.token,
      amount: input.amount,
      currency: input.currency,
      capture: input.capture,
      description: input.description,
      merchantReference: input.merchantReference,
    };
    /** Providers that may hold an authorization whose answer we do not have. */
    const mayHold: string[] = [];
    let answer: { result: AuthorizeResult; provider: string };
    try {
      if (oneStep) {
        answer = await authorizeOnRoute(input, args, mayHold);
        await releaseHolds({
          paymentId: input.paymentId,
          providers: mayHold.filter((p) => p !== answer.provider),
          cardTaskQueue: input.cardTaskQueue,
        });
      } else {
        answer = await legacyAuthorize(input, args);
      }
    } catch (err) {
      await commit({ ...apply({ kind: 'failed' }) });
      // The last attempt may have authorized before its answer was lost: release any such hold.
      // The payment ends once the providers tried have answered for it (compensation retries).
      if (oneStep) {
        for (const p of mayHold) {
          await compensationActs.releaseIfAuthorized({ paymentId: input.paymentId, provider: p });
        }
      } else if (!(err instanceof ApplicationFailure && err.type === FAILURE_TYPES.CardUnavailable)) {
        await compensationActs.releaseIfAuthorized({ paymentId: input.paymentId, provider: input.provider });
      }
      return;
    }
    const res = answer.result;
    if (res.outcome === 'authorized') {
      const window = input.authorizationWindowMs ?? DEFAULT_AUTH_WINDOW_MS;
      const expiresAt = res.captureBefore ?? new Date(Date.parse(input.createdAt) + window).toISOString();
      const next = apply({
        kind: 'authorized',
        capture: res.captured || input.capture === 'automatic' ? 'automatic' : 'manual',
      });
      await commit({
        ...next,
        provider: answer.provider,
        providerReference: res.providerReference,
        authorizationExpiresAt: expiresAt,
      });
    } else {
      await commit({
        ...apply({ kind: 'declined' }),
        provider: answer.provider,
        providerReference: res.providerReference ?? null,
        declineCode: res.declineCode,
      });
    }
  }

  setHandler(getPaymentQuery, view);
  setHandler(
    providerEventSignal,
    providerEventHandler({
      input,
      state: () => s,
      provider,
      serial,
      commit,
      recordEvent: (e) => (oneStep ? local.recordEvent(e) : legacyRecordEvent(e)),
      refundSucceededEvent,
    }),
  );
  setHandler(
    paymentDisputeSignal,
    paymentDisputeHandler({ input, state: () => s, provider, serial, commit }),
  );
  // Stuck-payment sweeper and `cli payments resync`: apply what the provider shows, or re-project.
  setHandler(
    repairSignal,
    repairHandler({
      input,
      state: () => s,
      provider,
      serial,
      commit,
      reproject: async () => {
        await local.commitPaymentStep({
          clientId: input.clientId,
          view: view(),
          version: s.version,
          events: [],
        });
        projected = Math.max(projected, s.version);
      },
      refundSucceededEvent,
    }),
  );
  // POST /v1/payments (update-with-start) waits here for step 1, authorize(), and its projection.
  setHandler(awaitAuthorizationUpdate, async () => {
    await condition(() => s.status !== 'processing' && projected >= s.version);
    return view();
  });

  // Capture, void and refund (payment-operations.ts).
  setOperationHandlers({
    input,
    state: () => s,
    provider,
    serial,
    commit,
    view,
    reject,
    apply,
    acts: operationActs,
  });

  // 1. Authorization (skipped when resumed through continue-as-new). Payments started before
  // `one-step-writes` projected `processing` themselves; the API does it now, with the start.
  if (s.status === 'processing' && !oneStep) {
    await legacyProcessingStep({
      clientId: input.clientId,
      view: view(),
      version: s.version,
      // Retrying cannot store this payment's free text (merchantReference, description, metadata):
      // end it `failed` without them, readable and announced, and never send it to a provider.
      failWithoutFreeText: async () => {
        freeTextRejected = true;
        await commit({ ...apply({ kind: 'failed' }), declineCode: DATA_REJECTED_CODE });
      },
    });
  }
  if (s.status === 'processing') await authorize();

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
          provider: provider(),
          providerReference: s.providerReference ?? '',
        });
        await commit(apply({ kind: 'expire' }));
      });
    }
  }

  // 3. Refund phase: open until fully refunded or the refund window closes.
  const refundDeadline = Date.parse(input.createdAt) + REFUND_WINDOW_MS;
  while (!TERMINAL_STATUSES.has(s.status) && Date.now() < refundDeadline) {
    // Unversioned (replay corpus, tests) the target never changes: same commands as before.
    const moveOn = () =>
      workflowInfo().continueAsNewSuggested || workflowInfo().targetWorkerDeploymentVersionChanged;
    if (moveOn()) {
      await condition(allHandlersFinished);
      // The next run starts on the deployment's current build.
      await makeContinueAsNewFunc<typeof paymentWorkflow>({ initialVersioningBehavior: 'AUTO_UPGRADE' })(
        input,
        s,
      );
    }
    await condition(
      () => TERMINAL_STATUSES.has(s.status) || moveOn(),
      Math.max(refundDeadline - Date.now(), 1),
    );
  }

  await condition(allHandlersFinished);
  return view();
}
