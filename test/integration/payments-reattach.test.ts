/**
 * A 503 `provider_unavailable` is not the key's final answer (API.md "Conventions"): a retry with the
 * same key and body re-attaches to the same payment and answers its outcome once known (201 or 402,
 * then replayed byte for byte), or 503 again while it is still unknown. The provider's answer is held
 * back by a gate the test opens, so "after the API's wait" never depends on timing.
 */
import type { AuthorizeRequest } from '../../activities/providers/types';
import { createProviderRegistry } from '../../activities/providers/registry';
import { createSandboxProvider } from '../../activities/providers/sandbox/adapter';
import { startStack, type Stack } from '../support/stack';
import { apiFor, newKey, sandboxBooks, type Api } from './payments-support';

jest.setTimeout(60_000);

/** Authorizations of a gated amount wait until the test opens its gate; every call is counted. */
const gates = new Map<number, { opened: Promise<void>; open: () => void }>();
const authorizeCalls = new Map<string, number>();
function gate(amount: number): () => void {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  gates.set(amount, { opened, open });
  return open;
}

let stack: Stack;
let api: Api;

beforeAll(async () => {
  stack = await startStack({
    authWaitMs: 1_500,
    providers: (pool) => {
      const sandbox = createSandboxProvider({ pool });
      return createProviderRegistry([
        {
          ...sandbox,
          async authorize(req: AuthorizeRequest) {
            authorizeCalls.set(req.paymentId, (authorizeCalls.get(req.paymentId) ?? 0) + 1);
            await gates.get(req.amount)?.opened;
            return sandbox.authorize(req);
          },
        },
      ]);
    },
  });
  api = apiFor(stack, (await stack.serviceAuth()).authorization);
}, 120_000);
afterAll(async () => {
  for (const g of gates.values()) g.open();
  await stack?.stop();
});

async function payOnce(amount: number) {
  const token = await api.tokenize();
  const key = newKey('reattach');
  const body = { amount, currency: 'USD', paymentMethod: { token }, capture: 'manual' };
  return { send: () => api.post('/v1/payments', body, key) };
}

test('503, then the same-key retry answers 201 for the same payment, then replays byte for byte', async () => {
  const open = gate(7_301);
  const pay = await payOnce(7_301);

  const first = await pay.send();
  expect(first.status).toBe(503);
  expect(first.body.error).toMatchObject({ type: 'provider_unavailable', code: 'provider_unavailable' });
  const id = first.body.error.details.paymentId as string;
  expect(id).toMatch(/^pay_/);

  // Still unknown: 503 again, answered afresh (not a replay of the first 503).
  const again = await pay.send();
  expect(again.status).toBe(503);
  expect(again.headers['idempotent-replayed']).toBeUndefined();
  expect(again.body.error).toMatchObject({ type: 'provider_unavailable', details: { paymentId: id } });

  open();
  await api.waitForStatus(id, 'authorized');

  const known = await pay.send();
  expect(known.status).toBe(201);
  expect(known.headers['idempotent-replayed']).toBeUndefined();
  expect(known.body).toMatchObject({ id, status: 'authorized', amountCapturable: 7_301 });

  const replay = await pay.send();
  expect(replay.status).toBe(201);
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(replay.text).toBe(known.text);

  // One payment, one authorization: every retry re-attached to the same workflow.
  const books = await sandboxBooks(stack, id);
  expect(books.transactions).toBe(1);
  expect(books.ops.filter((o) => o.kind === 'authorize')).toHaveLength(1);
  expect(authorizeCalls.get(id)).toBe(1);
  const rows = await stack.pool.query('SELECT count(*)::int AS n FROM payments WHERE id = $1', [id]);
  expect(rows.rows[0]?.n).toBe(1);
});

test('503, then a decline: the retry after the payment workflow ended answers 402 for the same payment', async () => {
  const open = gate(40_051); // sandbox: declined, insufficient_funds
  const pay = await payOnce(40_051);

  const first = await pay.send();
  expect(first.status).toBe(503);
  const id = first.body.error.details.paymentId as string;

  open();
  // A declined payment's workflow ends: the retry must answer from it, never start a second run.
  await stack.client.workflow.getHandle(`payment-${id}`).result();

  const known = await pay.send();
  expect(known.status).toBe(402);
  expect(known.headers['idempotent-replayed']).toBeUndefined();
  expect(known.body.error).toMatchObject({
    type: 'card_error',
    code: 'insufficient_funds',
    details: { paymentId: id },
  });

  const replay = await pay.send();
  expect(replay.status).toBe(402);
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(replay.text).toBe(known.text);

  expect(authorizeCalls.get(id)).toBe(1);
  expect((await api.get(id)).body).toMatchObject({
    id,
    status: 'declined',
    declineCode: 'insufficient_funds',
  });
  const runs = [];
  for await (const w of stack.client.workflow.list({ query: `WorkflowId = 'payment-${id}'` })) runs.push(w);
  expect(runs).toHaveLength(1);
});
