/**
 * A payment whose own data the database refuses (a NUL byte in its free text reached the projection)
 * ends `failed` with declineCode `data_rejected`, readable without the refused fields, announced by a
 * `payment.failed` event, and never sent to a provider; it is not retried forever. The projection
 * fake raises exactly what the real activity boundary raises for PostgreSQL's SQLSTATE 22021.
 *
 * RECORD_REPLAY=1 also writes this run's history to test/replay/histories/data-rejected-fails.json.
 */
/* eslint-disable @typescript-eslint/require-await -- the fakes keep the activities' async signatures */
import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { createActivities } from '../../activities';
import type { createCardActivities } from '../../activities/card-activities';
import { toFailure } from '../../activities/errors';
import type { createRoutingActivities } from '../../activities/providers/routing';
import type { EventRecord } from '../../db/events-repo';
import type { PaymentInput, PaymentView } from '../../domain/payment';
import { historyToCorpusJSON } from '../../cli/workflows';
import { DATA_REJECTED_CODE, paymentWorkflow } from '../../workflows/payment';
import { createTimeSkippingEnv, runTestWorker, teardownTimeSkippingEnv } from '../support/temporal-test-env';

type AllActivities = ReturnType<typeof createActivities> &
  ReturnType<typeof createCardActivities> &
  ReturnType<typeof createRoutingActivities>;

jest.setTimeout(60_000);

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv({ searchAttributes: true });
}, 120_000);
afterAll(async () => {
  await teardownTimeSkippingEnv(env);
});

/** What node-postgres throws for a NUL byte in a text parameter. */
const nulError = () =>
  Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });

test('a NUL in the free text ends the payment failed (data_rejected) at once, without a provider call', async () => {
  const taskQueue = `wf-poison-${process.pid}`;
  const projected: PaymentView[] = [];
  const events: EventRecord[] = [];
  const providerCalls: string[] = [];
  let projectionAttempts = 0;
  const unexpected = (name: string) => async () => {
    providerCalls.push(name);
    throw new Error(`${name} must not be called`);
  };
  const acts = {
    async projectPayment(a: { view: PaymentView }) {
      projectionAttempts++;
      if (JSON.stringify(a.view).includes('\\u0000')) throw toFailure(nulError());
      projected.push(a.view);
    },
    async projectRefund() {},
    async recordEvent(e: EventRecord) {
      events.push(e);
    },
    authorizePayment: unexpected('authorizePayment'),
    routeAuthorization: unexpected('routeAuthorization'),
    capturePayment: unexpected('capturePayment'),
    voidPayment: unexpected('voidPayment'),
    releaseIfAuthorized: unexpected('releaseIfAuthorized'),
    refundPayment: unexpected('refundPayment'),
  } as unknown as AllActivities;
  const input: PaymentInput = {
    paymentId: `pay_wfpoison${process.pid}aaaaaaaaaaaa`,
    clientId: 'cli_test',
    legalEntity: 'default',
    amount: 1000,
    currency: 'USD',
    capture: 'manual',
    provider: 'sandbox',
    token: 'tok_testtesttest',
    brand: 'visa',
    last4: '4242',
    merchantReference: 'order\u0000-7',
    description: 'ok',
    metadata: { k: 'v' },
    createdAt: new Date(await env.currentTimeMs()).toISOString(),
    cardTaskQueue: taskQueue,
  };
  await runTestWorker(env, { taskQueue, activities: acts }, async () => {
    const handle = await env.client.workflow.start(paymentWorkflow, {
      args: [input],
      taskQueue,
      workflowId: `payment-${input.paymentId}`,
    });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', declineCode: DATA_REJECTED_CODE });
    expect(result).not.toHaveProperty('merchantReference');
    expect(result).not.toHaveProperty('description');
    expect(result).not.toHaveProperty('metadata');
    if (process.env.RECORD_REPLAY) {
      const file = path.join(__dirname, '../replay/histories/data-rejected-fails.json');
      fs.writeFileSync(file, `${historyToCorpusJSON(await handle.fetchHistory())}\n`);
    }
  });
  // One refused attempt (non-retryable), then the sanitized `failed` projection landed.
  expect(projectionAttempts).toBe(2);
  expect(projected.map((v) => [v.status, v.declineCode, v.merchantReference])).toEqual([
    ['failed', DATA_REJECTED_CODE, undefined],
  ]);
  expect(events.map((e) => e.type)).toEqual(['payment.failed']);
  expect(JSON.stringify(events)).not.toContain('\\u0000');
  expect(providerCalls).toEqual([]);
});
