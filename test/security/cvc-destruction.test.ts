/**
 * PCI DSS 3.3.1.2 on the real stack: once a payment's authorization attempt is over, the card's CVC
 * ciphertext is gone from PostgreSQL, whichever way the attempt ended. The sandbox's amount triggers
 * (docs/sandbox-provider.md) drive each path: approved, declined, rejected as invalid (failed, not
 * retryable), outage ridden out, and a lost response whose retry finds the authorization by sync.
 */
import { startStack, type Stack } from '../support/stack';
import { apiFor, sandboxBooks, type Api } from '../integration/payments-support';

jest.setTimeout(60_000);

let stack: Stack;
let api: Api;

beforeAll(async () => {
  stack = await startStack();
  api = apiFor(stack, (await stack.serviceAuth()).authorization);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function cvcStored(token: string): Promise<boolean> {
  const r = await stack.pool.query<{ has: boolean }>(
    'SELECT cvc_ct IS NOT NULL AS has FROM cards WHERE token = $1',
    [token],
  );
  return r.rows[0]!.has;
}

test.each([
  [1234, 'authorized', 'a fresh approval'],
  [40002, 'declined', 'a decline'],
  [40400, 'failed', 'a request the provider rejects as invalid (non-retryable)'],
  [50302, 'authorized', 'an outage ridden out (two 503s, then approved)'],
  [50400, 'authorized', "a lost response: the retry's sync finds the authorization"],
])('amount %i ends %s (%s): the CVC is destroyed', async (amount, status) => {
  const token = await api.tokenize();
  expect(await cvcStored(token)).toBe(true);
  const res = await api.post('/v1/payments', {
    amount,
    currency: 'USD',
    paymentMethod: { token },
    capture: 'manual',
  });
  expect([201, 402, 422, 502, 503]).toContain(res.status);
  const id = (res.body.id ?? res.body.error?.details?.paymentId) as string;
  expect(id).toMatch(/^pay_/);
  await api.waitForStatus(id, status);
  expect(await cvcStored(token)).toBe(false);
  if (amount === 50400) {
    // The sync path was taken: one authorization at the provider, asked for twice at most.
    expect((await sandboxBooks(stack, id)).ops.filter((o) => o.kind === 'authorize')).toHaveLength(1);
  }
});
