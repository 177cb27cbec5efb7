/**
 * Helpers shared by the payments integration tests: a small API client over supertest bound to one
 * service client, sandbox bookkeeping reads, and polling with a deadline (never a bare sleep).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Stack } from '../support/stack';

export const VISA = '4242424242424242'; // Stripe's documented Visa test number

let seq = 0;
export const newKey = (tag = 'k') => `${tag}-${process.pid}-${Date.now()}-${++seq}`;

/** Poll `probe` until `done` holds, or fail with the last value after `ms`. */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  ms = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await delay(200);
    last = await probe();
  }
  return last;
}

export function apiFor(stack: Stack, authorization: string) {
  const post = (path: string, body: unknown, key = newKey()) =>
    stack.http
      .post(path)
      .set('Authorization', authorization)
      .set('Idempotency-Key', key)
      .send(body as object);
  const api = {
    authorization,
    async tokenize(): Promise<string> {
      const res = await post('/v1/vault/cards', {
        number: VISA,
        expMonth: 12,
        expYear: new Date().getUTCFullYear() + 2,
        cvc: '123',
      });
      if (res.status !== 201) throw new Error(`tokenize failed: ${res.status} ${res.text}`);
      return res.body.token as string;
    },
    async pay(amount: number, extra: Record<string, unknown> = {}, key = newKey('pay')) {
      const token = await api.tokenize();
      return post(
        '/v1/payments',
        { amount, currency: 'USD', paymentMethod: { token }, capture: 'manual', ...extra },
        key,
      );
    },
    post,
    capture: (id: string, body: Record<string, unknown> = {}, key = newKey('cap')) =>
      post(`/v1/payments/${id}/capture`, body, key),
    void: (id: string, key = newKey('void')) => post(`/v1/payments/${id}/void`, {}, key),
    refund: (id: string, body: Record<string, unknown> = {}, key = newKey('re')) =>
      post(`/v1/payments/${id}/refunds`, body, key),
    get: (id: string) => stack.http.get(`/v1/payments/${id}`).set('Authorization', authorization),
    list: (query: Record<string, string | number>) =>
      stack.http.get('/v1/payments').query(query).set('Authorization', authorization),
    /** Poll GET /v1/payments/:id until its status is `status`. */
    async waitForStatus(id: string, status: string, ms = 30_000) {
      const res = await waitFor(
        () => api.get(id),
        (r) => r.body?.status === status,
        ms,
        `${id} to be ${status}`,
      );
      return res.body as Record<string, unknown>;
    },
  };
  return api;
}
export type Api = ReturnType<typeof apiFor>;

/** The sandbox's own books for one payment: what the "provider" actually did. */
export async function sandboxBooks(stack: Stack, paymentId: string) {
  const tx = await stack.pool.query<{
    reference: string;
    status: string;
    amount_authorized: string;
    amount_captured: string;
    amount_refunded: string;
  }>('SELECT * FROM sandbox_transactions WHERE payment_id = $1', [paymentId]);
  const ops = await stack.pool.query<{ idempotency_key: string; kind: string; amount: string }>(
    `SELECT o.idempotency_key, o.kind, o.amount FROM sandbox_operations o
       JOIN sandbox_transactions t ON t.reference = o.reference
      WHERE t.payment_id = $1 ORDER BY o.created_at`,
    [paymentId],
  );
  const row = tx.rows[0];
  return {
    transactions: tx.rows.length,
    tx: row && {
      reference: row.reference,
      status: row.status,
      amountAuthorized: Number(row.amount_authorized),
      amountCaptured: Number(row.amount_captured),
      amountRefunded: Number(row.amount_refunded),
    },
    ops: ops.rows.map((o) => ({ key: o.idempotency_key, kind: o.kind, amount: Number(o.amount) })),
  };
}

export async function eventsOf(stack: Stack, resourceId: string) {
  const r = await stack.pool.query<{ id: string; type: string; data: Record<string, unknown> }>(
    'SELECT id, type, data FROM events WHERE resource_id = $1 ORDER BY created_at, id',
    [resourceId],
  );
  return r.rows;
}
