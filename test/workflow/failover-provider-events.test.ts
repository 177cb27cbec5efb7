/**
 * paymentWorkflow's failover step (authorize() in workflows/payment.ts) and its `providerEvent`
 * signal (workflows/provider-events.ts) on the time-skipping server, with fake activities typed from
 * createActivities, createCardActivities and createRoutingActivities.
 *
 * Proves: an unavailable first provider fails over to the next, the winner becomes the payment's
 * provider (the 7-day expiry void goes there), the loser is released by the compensation child
 * workflow; a decline never fails over; a provider refund event that arrives while the payment is
 * still being captured waits, then applies once (duplicates, other providers' events and impossible
 * amounts are ignored).
 */
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import fs from 'node:fs';
import path from 'node:path';
import type { createActivities } from '../../activities';
import { historyFileText } from '../../cli/workflows';
import type { PaymentStep } from '../../db/payments-repo';
import type { ProviderName } from '../../domain/providers';
import type { createCardActivities } from '../../activities/card-activities';
import type { createRoutingActivities } from '../../activities/providers/routing';
import type { PaymentInput } from '../../domain/payment';
import { FAILURE_TYPES } from '../../domain/errors';

import { getPaymentQuery, paymentWorkflow } from '../../workflows/payment';
import { providerEventSignal, type ProviderEventSignal } from '../../workflows/provider-events';
import { SEARCH_ATTRIBUTE_REGISTRATIONS } from '../../workflows/search-attributes';
import { createTimeSkippingEnv, runTestWorker, teardownTimeSkippingEnv } from '../support/temporal-test-env';
import { partiallyCapturedState } from '../support/payment-fixtures';

type All = ReturnType<typeof createActivities> &
  ReturnType<typeof createCardActivities> &
  ReturnType<typeof createRoutingActivities>;

jest.setTimeout(60_000);
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  const types = temporal.api.enums.v1.IndexedValueType;
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      SEARCH_ATTRIBUTE_REGISTRATIONS.map(([name, type]) => [
        name,
        type === 'Int' ? types.INDEXED_VALUE_TYPE_INT : types.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
}, 120_000);
afterAll(async () => {
  await teardownTimeSkippingEnv(env);
});

function fakes(route: string[], authorize: All['authorizePayment']) {
  const calls: Array<{ name: string; arg: Record<string, unknown> }> = [];
  const rec = (name: string, arg: object) => calls.push({ name, arg: arg as Record<string, unknown> });
  /** Record the call, answer `value` (a resolved promise: these fakes do no I/O). */
  const r =
    <A extends object, T>(name: string, value: (a: A) => T) =>
    (a: A): Promise<Awaited<T>> => {
      rec(name, a);
      return Promise.resolve(value(a));
    };
  const acts: All = {
    commitPaymentStep: r('commitPaymentStep', () => undefined),
    projectPayment: r('projectPayment', () => undefined),
    projectRefund: r('projectRefund', () => undefined),
    recordEvent: r('recordEvent', () => undefined),
    routeAuthorization: r('routeAuthorization', () => route as never),
    authorizePayment: r('authorizePayment', (a: Parameters<All['authorizePayment']>[0]) => authorize(a)),
    capturePayment: r('capturePayment', (a: { amount: number }) => ({
      providerCaptureId: 'cap',
      amount: a.amount,
    })),
    voidPayment: r('voidPayment', () => undefined),
    releaseIfAuthorized: r('releaseIfAuthorized', () => true),
    refundPayment: r('refundPayment', () => ({ providerRefundId: 'r', status: 'succeeded' as const })),
    destroyExpiredCvcs: () => Promise.resolve(0),
    syncPayment: () => Promise.resolve({ found: false }),
    submitDisputeEvidence: () => Promise.reject(new Error('unused')),
    acceptDispute: () => Promise.reject(new Error('unused')),
  };
  const of = (name: string) => calls.filter((c) => c.name === name).map((c) => c.arg);
  return { acts, of, route };
}

let n = 0;
async function withWorker(
  f: ReturnType<typeof fakes>,
  body: (ctx: { input: PaymentInput; taskQueue: string }) => Promise<void>,
) {
  const taskQueue = `wf-failover-${process.pid}-${++n}`;
  const input: PaymentInput = {
    paymentId: `pay_wffailover${process.pid}x${n}aaaaaaaa`,
    clientId: 'cli_test',
    legalEntity: 'default',
    amount: 1000,
    currency: 'USD',
    capture: 'manual',
    provider: 'stripe',
    token: 'tok_testtesttest',
    brand: 'visa',
    last4: '4242',
    createdAt: new Date(await env.currentTimeMs()).toISOString(),
    cardTaskQueue: taskQueue,
    // The API decides the route from the merchant's rule when it starts the payment.
    route: f.route as ProviderName[],
  };
  await runTestWorker(env, { taskQueue, activities: f.acts }, () => body({ input, taskQueue }));
}

const outage = () => {
  throw ApplicationFailure.create({ type: FAILURE_TYPES.ProviderUnavailable, message: 'stripe: HTTP 503' });
};

test('an unavailable provider fails over; the winner holds the payment and the loser is released', async () => {
  const f = fakes(['stripe', 'sandbox'], (a) =>
    a.provider === 'stripe'
      ? outage()
      : Promise.resolve({ outcome: 'authorized', providerReference: 'sbx_ref', captured: false }),
  );
  await withWorker(f, async ({ input, taskQueue }) => {
    const handle = await env.client.workflow.start(paymentWorkflow, {
      args: [input],
      taskQueue,
      workflowId: `payment-${input.paymentId}`,
    });
    const view = await handle.result(); // no capture: voided at expiry, at the provider holding it
    expect(view).toMatchObject({ status: 'expired', provider: 'sandbox', providerReference: 'sbx_ref' });
    // RECORD_REPLAY=1 keeps this run as the corpus's failover history.
    if (process.env.RECORD_REPLAY) {
      const file = path.join(__dirname, '../replay/histories/failover-release-expiry.json');
      fs.writeFileSync(file, historyFileText(await handle.fetchHistory()));
    }
  });
  const auths = f.of('authorizePayment').map((a) => a.provider);
  expect(auths.filter((p) => p === 'stripe').length).toBe(3); // the authorizeFailover option set
  expect(auths.filter((p) => p === 'sandbox').length).toBe(1);
  expect(f.of('voidPayment')).toEqual([
    expect.objectContaining({ provider: 'sandbox', providerReference: 'sbx_ref' }),
  ]);
  expect(f.of('releaseIfAuthorized')).toEqual([expect.objectContaining({ provider: 'stripe' })]);
});

test('a decline never fails over', async () => {
  const f = fakes(['stripe', 'sandbox'], () =>
    Promise.resolve({ outcome: 'declined', declineCode: 'card_declined', message: 'The card was declined' }),
  );
  await withWorker(f, async ({ input, taskQueue }) => {
    const view = await env.client.workflow.execute(paymentWorkflow, {
      args: [input],
      taskQueue,
      workflowId: `payment-${input.paymentId}`,
    });
    expect(view).toMatchObject({ status: 'declined', provider: 'stripe', declineCode: 'card_declined' });
  });
  expect(f.of('authorizePayment').map((a) => a.provider)).toEqual(['stripe']);
  expect(f.of('releaseIfAuthorized')).toEqual([]);
});

test('an early provider refund waits for capturing to end, then applies once', async () => {
  const f = fakes(['sandbox'], () => Promise.reject(new Error('not called: resumed after authorization')));
  await withWorker(f, async ({ input, taskQueue }) => {
    const sandboxInput = { ...input, provider: 'sandbox' };
    const resumed = partiallyCapturedState(input.createdAt);
    const handle = await env.client.workflow.start(paymentWorkflow, {
      args: [sandboxInput, resumed],
      taskQueue,
      workflowId: `payment-${input.paymentId}`,
    });
    const event = (over: Partial<ProviderEventSignal>): ProviderEventSignal => ({
      eventId: 'sandbox:ev_1',
      provider: 'sandbox',
      kind: 'refund.succeeded',
      amount: 150,
      providerRefundId: 'sbxre_provider_1',
      refundId: 're_providerevent0000000001',
      merchantEventId: 'evt_providerevent000000001',
      occurredAt: input.createdAt,
      ...over,
    });
    await handle.signal(providerEventSignal, event({}));
    await handle.signal(providerEventSignal, event({})); // duplicate delivery
    await handle.signal(
      providerEventSignal,
      event({ eventId: 'stripe:x', provider: 'stripe', refundId: 're_other0000000000000001' }),
    );
    await handle.signal(
      providerEventSignal,
      event({
        eventId: 'sandbox:big',
        amount: 5000,
        refundId: 're_big00000000000000000001',
        providerRefundId: 'big',
      }),
    );
    // Still capturing: nothing applied yet.
    expect(await handle.query(getPaymentQuery)).toMatchObject({
      status: 'partially_captured',
      amountRefunded: 0,
    });
    await env.sleep('8 days'); // expiry ends capturing (captured 400), then the refund applies
    expect(await handle.query(getPaymentQuery)).toMatchObject({
      status: 'partially_refunded',
      amountCaptured: 400,
      amountRefunded: 150,
    });
    await handle.terminate('test done');
  });
  const steps = f.of('commitPaymentStep') as unknown as PaymentStep[];
  expect(steps.flatMap((st) => (st.refund ? [st.refund] : []))).toEqual([
    expect.objectContaining({
      id: 're_providerevent0000000001',
      amount: 150,
      providerRefundId: 'sbxre_provider_1',
    }),
  ]);
  expect(steps.flatMap((st) => st.events).filter((e) => e.type === 'refund.succeeded')).toHaveLength(1);
  expect(f.of('refundPayment')).toEqual([]); // nothing sent to the provider: it already refunded
});
