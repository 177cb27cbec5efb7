/**
 * A value PostgreSQL refuses is refused on every attempt, so the activity boundary turns it into a
 * NON-retryable `DataRejected` failure instead of a retryable one that a workflow would retry
 * forever. Exercised on the real projection activity and repository, bypassing the API's input gate:
 * NUL in merchantReference / description / metadata and a lone surrogate in metadata; and on the
 * payments service, which projects `processing` before it starts anything.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import { createActivities } from '../../activities';
import { createEventsRepo } from '../../db/events-repo';
import { createPaymentsRepo } from '../../db/payments-repo';
import { createClientsRepo } from '../../db/clients-repo';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createPaymentsService, derivedId, workflowIdOf } from '../../api/payments-service';
import { canonical } from '../../api/middleware/idempotency';
import { createProviderRoutesRepo } from '../../db/provider-routes-repo';
import { AppError, FAILURE_TYPES } from '../../domain/errors';
import { startStack, type Stack } from '../support/stack';
import { apiFor } from './payments-support';
import type { PaymentView } from '../../domain/payment';

let pool: Pool;
let acts: ReturnType<typeof createActivities>;
const clientId = `cli_poison${process.pid}`;

beforeAll(async () => {
  pool = new Pool({ connectionString: process.env.SETTLE_TEST_DATABASE_URL, max: 2 });
  acts = createActivities({ payments: createPaymentsRepo(pool), events: createEventsRepo(pool) });
  await createClientsRepo(pool).insert({ id: clientId, name: clientId, role: 'service', secretHash: 'x' });
});
afterAll(async () => {
  await pool?.end();
});

let n = 0;
function view(extra: Partial<PaymentView>): PaymentView {
  const at = new Date().toISOString();
  return {
    id: `pay_poison${process.pid}x${++n}`,
    status: 'processing',
    amount: 1000,
    currency: 'USD',
    amountCapturable: 0,
    amountCaptured: 0,
    amountRefunded: 0,
    amountDisputed: 0,
    capture: 'manual',
    provider: 'sandbox',
    providerReference: null,
    paymentMethod: { token: 'tok_poisonpoison', brand: 'visa', last4: '4242' },
    createdAt: at,
    updatedAt: at,
    ...extra,
  };
}

const POISON: Array<[string, Partial<PaymentView>]> = [
  ['NUL in merchantReference', { merchantReference: 'ord\u0000er' }],
  ['NUL in description', { description: 'a\u0000b' }],
  ['NUL in a metadata value', { metadata: { k: 'v\u0000' } }],
  ['NUL in a metadata key', { metadata: { 'k\u0000': 'v' } }],
  ['lone surrogate in metadata', { metadata: { k: 'x\ud800y' } }],
];

test.each(POISON)('%s: projectPayment fails non-retryably as DataRejected', async (_name, extra) => {
  const err: unknown = await acts.projectPayment({ clientId, view: view(extra), version: 1 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  expect({ type: f.type, nonRetryable: f.nonRetryable }).toEqual({
    type: FAILURE_TYPES.DataRejected,
    nonRetryable: true,
  });
  // The message names the SQLSTATE, never the refused value.
  expect(f.message).toMatch(/SQLSTATE (22|23|42)[0-9A-Z]{3}/);
  expect(f.message).not.toContain('ord');
  expect(f.message).not.toContain('\u0000');
});

test('the same payment without the poison projects, and a refused one leaves no row', async () => {
  const good = view({ merchantReference: 'order-1', metadata: { k: 'v' } });
  await acts.projectPayment({ clientId, view: good, version: 1 });
  const rows = await pool.query('SELECT id FROM payments WHERE client_id = $1', [clientId]);
  expect(rows.rows).toEqual([{ id: good.id }]);
});

describe('a payment whose free text the database refuses, past the input gate', () => {
  // The API writes the `processing` projection before it starts the workflow: a value PostgreSQL
  // refuses is a 400 there, and nothing runs (no workflow, no provider call, no row).
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test.each(POISON)('%s: 400 invalid_value, no workflow started', async (_name, extra) => {
    const { clientId: sub, authorization } = await stack.serviceAuth();
    const token = await apiFor(stack, authorization).tokenize();
    const service = createPaymentsService({
      client: stack.client,
      payments: createPaymentsRepo(stack.pool),
      routes: createProviderRoutesRepo(stack.pool),
      vault: stack.vault,
      taskQueue: stack.taskQueue,
      cardTaskQueue: stack.cardTaskQueue,
      enabledProviders: ['sandbox'],
      defaultProvider: 'sandbox',
      authWaitMs: 20_000,
    });
    const key = `poison-${++n}`;
    const req = {
      amount: 1000,
      currency: 'USD',
      capture: 'manual' as const,
      paymentMethod: { token },
      merchantReference: extra.merchantReference,
      description: extra.description,
      metadata: extra.metadata,
    };
    const err: unknown = await service.create({ sub, role: 'service' }, key, req).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ type: 'invalid_request', code: 'invalid_value', status: 400 });
    const paymentId = derivedId('pay', sub, key, canonical(req));
    await expect(stack.client.workflow.getHandle(workflowIdOf(paymentId)).describe()).rejects.toThrow(
      WorkflowNotFoundError,
    );
    const rows = await stack.pool.query('SELECT id FROM payments WHERE id = $1', [paymentId]);
    expect(rows.rows).toEqual([]);
  });
});
