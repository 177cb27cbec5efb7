/**
 * The two ceilings the payments bench compares Settle with (their own bundle: this file is the
 * bench worker's workflowsPath). Every activity is a no-op (bench/payments/activities.ts), so what is
 * left is Temporal's own cost for the shape.
 *
 * sameShapeWorkflow: the command sequence of workflows/payment.ts for authorize (manual) + capture,
 *   step for step: a patch marker where paymentWorkflow calls patched('one-step-writes');
 *   authorizePayment on the card queue; commit (search-attribute upsert on a status change, one
 *   local activity for the step's writes); the expiry timer while authorized; the capture update
 *   (serialized, capturePayment on the card queue, commit); the refund-window timer. Same activity
 *   option sets, same payload shapes (domain/payment views). The `processing` projection is the
 *   API's, outside the workflow, as in Settle.
 * minimalWorkflow: what the same business needs at the least: an authorize update (sent with
 *   update-with-start) that makes one provider call, a capture update that makes one, then done.
 *   By default the calls run on the card queue, as Settle's provider calls must (the card-data
 *   worker is its own process); on the workflow's own queue the server may hand them to the worker
 *   with the workflow task (eager activities), which Settle cannot use for them.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  initialState,
  toView,
  type PaymentInput,
  type PaymentState,
  type PaymentView,
} from '../../domain/payment';
import { transition, type Operation } from '../../domain/payment-state';
import * as options from '../../workflows/activity-options';
import { SA_STATUS } from '../../workflows/search-attributes';
import type { createNoopActivities } from './activities';

type Acts = ReturnType<typeof createNoopActivities>;

export const shapeQuery = defineQuery<PaymentView>('getPayment');
export const shapeAuthorizeUpdate = defineUpdate<PaymentView>('awaitAuthorization');
export const shapeCaptureUpdate = defineUpdate<PaymentView, [{ amount?: number }]>('capture');

const DAY_MS = 24 * 60 * 60 * 1000;

export async function sameShapeWorkflow(input: PaymentInput): Promise<PaymentView> {
  const local = proxyLocalActivities<Acts>(options.localWrite);
  const card = (opts: typeof options.authorize) =>
    proxyActivities<Acts>({ ...opts, taskQueue: input.cardTaskQueue });
  let s: PaymentState = initialState(input);
  let projected = 0;
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => undefined);
    return run;
  };
  const apply = (op: Operation): PaymentState => {
    const t = transition(s, op);
    if (!t.ok)
      throw ApplicationFailure.create({ type: 'Conflict', message: t.rejection.message, nonRetryable: true });
    return t.next;
  };
  async function commit(next: PaymentState): Promise<void> {
    const statusChanged = next.status !== s.status;
    s = { ...next, version: s.version + 1, updatedAt: new Date().toISOString() };
    if (statusChanged) upsertSearchAttributes([{ key: SA_STATUS, value: s.status }]);
    const snapshot = toView(input, s);
    await local.commitPaymentStep({
      clientId: input.clientId,
      view: snapshot,
      version: s.version,
      events: [
        {
          id: `evt_${input.paymentId}v${s.version}`,
          clientId: input.clientId,
          type: `payment.${s.status}`,
          resourceId: input.paymentId,
          data: { ...snapshot },
          createdAt: s.updatedAt,
        },
      ],
    });
    projected = Math.max(projected, s.version);
  }

  setHandler(shapeQuery, () => toView(input, s));
  setHandler(shapeAuthorizeUpdate, async () => {
    await condition(() => s.status !== 'processing' && projected >= s.version);
    return toView(input, s);
  });
  const rejectCapture = (req: { amount?: number }) => {
    const t = transition(s, { kind: 'capture', amount: req.amount });
    if (!t.ok)
      throw ApplicationFailure.create({ type: 'Conflict', message: t.rejection.message, nonRetryable: true });
  };
  setHandler(
    shapeCaptureUpdate,
    (req) =>
      serial(async () => {
        const t = transition(s, { kind: 'capture', amount: req.amount });
        if (!t.ok)
          throw ApplicationFailure.create({
            type: 'Conflict',
            message: t.rejection.message,
            nonRetryable: true,
          });
        const res = await card(options.providerOperation).capturePayment({
          paymentId: input.paymentId,
          providerReference: s.providerReference ?? '',
          amount: t.amount,
        });
        await commit({
          ...t.next,
          captures: [
            ...s.captures,
            {
              n: 1,
              amount: t.amount,
              providerCaptureId: res.providerCaptureId,
              at: new Date().toISOString(),
            },
          ],
        });
        return toView(input, s);
      }),
    { validator: rejectCapture },
  );

  // paymentWorkflow's patched('one-step-writes') records a marker in every new history.
  patched('bench-same-shape');
  const res = await card(options.authorize).authorizePayment({
    paymentId: input.paymentId,
    provider: input.provider,
    amount: input.amount,
    currency: input.currency,
  });
  await commit({
    ...apply({ kind: 'authorized', capture: 'manual' }),
    providerReference: res.providerReference,
    authorizationExpiresAt: new Date(Date.parse(input.createdAt) + 7 * DAY_MS).toISOString(),
  });
  // The expiry timer while authorized, then the refund window, as paymentWorkflow waits.
  await condition(() => s.status !== 'authorized', 7 * DAY_MS);
  await condition(() => s.status === 'refunded', 180 * DAY_MS);
  await condition(allHandlersFinished);
  return toView(input, s);
}

export interface MinimalView {
  id: string;
  status: 'processing' | 'authorized' | 'captured';
  providerReference?: string | undefined;
}
export const minimalAuthorizeUpdate = defineUpdate<MinimalView>('authorize');
export const minimalCaptureUpdate = defineUpdate<MinimalView>('capture');

export async function minimalWorkflow(input: {
  paymentId: string;
  amount: number;
  currency: string;
  /** Where the provider calls run: the card queue, as Settle's must; absent: this workflow's own. */
  providerQueue?: string | undefined;
}) {
  const acts = proxyActivities<Acts>({ ...options.providerOperation, taskQueue: input.providerQueue });
  const view: MinimalView = { id: input.paymentId, status: 'processing' };
  setHandler(minimalAuthorizeUpdate, async () => {
    if (view.status === 'processing') {
      const r = await acts.providerCall({
        op: 'authorize',
        paymentId: input.paymentId,
        amount: input.amount,
      });
      view.providerReference = r.reference;
      view.status = 'authorized';
    }
    return { ...view };
  });
  setHandler(
    minimalCaptureUpdate,
    async () => {
      await acts.providerCall({ op: 'capture', paymentId: input.paymentId, amount: input.amount });
      view.status = 'captured';
      return { ...view };
    },
    {
      validator: () => {
        if (view.status !== 'authorized') throw new Error(`cannot capture a ${view.status} payment`);
      },
    },
  );
  await condition(() => view.status === 'captured');
  await condition(allHandlersFinished);
  return { ...view };
}
