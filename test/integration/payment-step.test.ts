/**
 * One payment step in one statement (db/payments-repo.ts commitStep, run by the payment workflow's
 * commitPaymentStep local activity): the projection, the refund and the merchant events land together
 * or not at all; a retried or replayed step writes nothing twice; an older step never overwrites a
 * newer projection; a value the database refuses fails the whole step as non-retryable DataRejected.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import { createActivities } from '../../activities';
import { createClientsRepo } from '../../db/clients-repo';
import { createEventsRepo } from '../../db/events-repo';
import { createPaymentsRepo } from '../../db/payments-repo';
import { FAILURE_TYPES } from '../../domain/errors';
import type { PaymentStep, PaymentView, RefundRecord } from '../../domain/payment';

let pool: Pool;
let acts: ReturnType<typeof createActivities>;
const clientId = `cli_step${process.pid}`;

beforeAll(async () => {
  pool = new Pool({ connectionString: process.env.SETTLE_TEST_DATABASE_URL, max: 2 });
  acts = createActivities({ payments: createPaymentsRepo(pool), events: createEventsRepo(pool) });
  await createClientsRepo(pool).insert({ id: clientId, name: clientId, role: 'service', secretHash: 'x' });
});
afterAll(async () => {
  await pool?.end();
});

let n = 0;
function payment(over: Partial<PaymentView> = {}): PaymentView {
  const at = new Date().toISOString();
  return {
    id: `pay_step${process.pid}x${++n}`,
    status: 'captured',
    amount: 1000,
    currency: 'USD',
    amountCapturable: 0,
    amountCaptured: 1000,
    amountRefunded: 0,
    amountDisputed: 0,
    capture: 'manual',
    provider: 'sandbox',
    providerReference: 'sbx_ref',
    paymentMethod: { token: 'tok_steptesttest', brand: 'visa', last4: '4242' },
    createdAt: at,
    updatedAt: at,
    ...over,
  };
}
const step = (view: PaymentView, version: number, extra: Partial<PaymentStep> = {}): PaymentStep => ({
  clientId,
  view,
  version,
  events: [
    {
      id: `evt_${view.id}v${version}`,
      clientId,
      type: `payment.${view.status}`,
      resourceId: view.id,
      data: { ...view },
      createdAt: view.updatedAt,
    },
  ],
  ...extra,
});
const row = async (id: string) =>
  (await pool.query('SELECT status, amount_refunded, version FROM payments WHERE id = $1', [id])).rows[0] as
    { status: string; amount_refunded: number; version: number } | undefined;
const eventIds = async (resource: string) =>
  (await pool.query('SELECT id FROM events WHERE resource_id = $1 ORDER BY id', [resource])).rows.map(
    (r: { id: string }) => r.id,
  );

test('a step writes the projection, its refund and its events; a replayed step writes nothing twice', async () => {
  const v = payment();
  await acts.commitPaymentStep(step(v, 2));
  const refund: RefundRecord = {
    id: `re_step${process.pid}x${n}`,
    paymentId: v.id,
    amount: 300,
    status: 'succeeded',
    providerRefundId: 'sbxre_1',
    createdAt: v.createdAt,
  };
  const refunded = { ...v, status: 'partially_refunded' as const, amountRefunded: 300 };
  const s3 = step(refunded, 3, { refund });
  s3.events.push({
    id: `evt_${refund.id}r`,
    clientId,
    type: 'refund.succeeded',
    resourceId: refund.id,
    data: { ...refund },
    createdAt: v.updatedAt,
  });
  await acts.commitPaymentStep(s3);
  await acts.commitPaymentStep(s3); // an activity retry, or a replay
  expect(await row(v.id)).toEqual({ status: 'partially_refunded', amount_refunded: 300, version: 3 });
  expect(await eventIds(v.id)).toEqual([`evt_${v.id}v2`, `evt_${v.id}v3`]);
  expect(await eventIds(refund.id)).toEqual([`evt_${refund.id}r`]);
  const refunds = await pool.query('SELECT amount, status FROM refunds WHERE payment_id = $1', [v.id]);
  expect(refunds.rows).toEqual([{ amount: 300, status: 'succeeded' }]);
});

test('an older step never overwrites a newer projection', async () => {
  const v = payment();
  await acts.commitPaymentStep(step({ ...v, status: 'refunded', amountRefunded: 1000 }, 5));
  await acts.commitPaymentStep(step(v, 4));
  expect(await row(v.id)).toMatchObject({ status: 'refunded', version: 5 });
});

test('a value the database refuses fails the whole step, non-retryably, and writes nothing', async () => {
  const v = payment();
  const bad = step(v, 2);
  bad.events[0]!.data = { note: 'a\u0000b' };
  const err: unknown = await acts.commitPaymentStep(bad).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: FAILURE_TYPES.DataRejected, nonRetryable: true });
  expect(await row(v.id)).toBeUndefined();
  expect(await eventIds(v.id)).toEqual([]);
});
