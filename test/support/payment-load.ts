/**
 * A load of payments through the real API, as careful merchants send it: each retries its own
 * Idempotency-Key until the payment has an outcome, as the contract says. Records every HTTP status
 * seen and every 500, and checks afterwards at the sandbox provider and in PostgreSQL that nothing
 * was lost, doubled or left processing. Used by test/integration/infra-faults*.test.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from 'pg';

export interface Outcome {
  key: string;
  paymentId?: string;
  status?: string;
  /** Every HTTP status this payment's client saw, in order. */
  seen: number[];
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

export function paymentLoad(opts: { api: string; accessToken: string; card: string; keyPrefix: string }) {
  const auth = { Authorization: `Bearer ${opts.accessToken}` };
  const fiveHundreds: Array<{ path: string; body: string }> = [];

  /** A GET; a refused connection is recorded as status 0: the API process is gone. */
  const get = async (p: string): Promise<Reply> => {
    const r = await fetch(`${opts.api}${p}`, { headers: auth }).catch(() => undefined);
    if (!r) return { status: 0, body: {} };
    const text = await r.text();
    if (r.status === 500) fiveHundreds.push({ path: p, body: text });
    return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  /** One create, without retrying; a refused connection is status 0. */
  const create = async (key: string, amount: number): Promise<Reply> => {
    const r = await fetch(`${opts.api}/v1/payments`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({
        amount,
        currency: 'USD',
        paymentMethod: { token: opts.card },
        capture: 'manual',
      }),
    }).catch(() => undefined);
    if (!r) return { status: 0, body: {} };
    const text = await r.text();
    if (r.status === 500) fiveHundreds.push({ path: '/v1/payments', body: text });
    return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  /** One merchant: retries the same key until the payment has an outcome. */
  async function pay(i: number): Promise<Outcome> {
    const o: Outcome = { key: `${opts.keyPrefix}-${i}`, seen: [] };
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (o.paymentId) {
        const g = await get(`/v1/payments/${o.paymentId}`);
        o.seen.push(g.status);
        if (g.status === 200 && g.body.status !== 'processing') {
          o.status = g.body.status as string;
          return o;
        }
      } else {
        const r = await create(o.key, 1000 + i);
        o.seen.push(r.status);
        const body = r.body as { id?: string; status?: string; error?: { details?: { paymentId?: string } } };
        if (r.status === 201 && body.id) {
          o.paymentId = body.id;
          o.status = body.status;
          return o;
        }
        if (body.error?.details?.paymentId) o.paymentId = body.error.details.paymentId;
      }
      await delay(300);
    }
    return o;
  }

  /** `n` merchants, one every 150 ms, so payments are at every stage when a fault hits. */
  const start = (n: number) => Array.from({ length: n }, (_, i) => delay(i * 150).then(() => pay(i)));

  return { get, create, pay, start, fiveHundreds };
}

/** [status, error.type, error.code] of a reply: what a 503 in the contract's shape looks like. */
export const errorShape = (r: Reply): [number, string | undefined, string | undefined] => {
  const err = (r.body as { error?: { type?: string; code?: string } }).error;
  return [r.status, err?.type, err?.code];
};

/**
 * What the provider and the database say about the given payments: authorizations at the sandbox
 * per payment that did not happen exactly once, how many had one, and payments still processing.
 */
export async function ledgerCheck(databaseUrl: string, ids: string[]) {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const ops = await db.query<{ payment_id: string; n: number }>(
      `SELECT t.payment_id, count(*)::int AS n FROM sandbox_transactions t
        JOIN sandbox_operations o ON o.reference = t.reference AND o.kind = 'authorize'
       WHERE t.payment_id = ANY($1) GROUP BY 1`,
      [ids],
    );
    const stuck = await db.query<{ id: string }>(
      `SELECT id FROM payments WHERE status = 'processing' AND id = ANY($1)`,
      [ids],
    );
    return {
      authorized: ops.rows.length,
      notExactlyOnce: ops.rows.filter((r) => r.n !== 1),
      stuck: stuck.rows.map((r) => r.id),
    };
  } finally {
    await db.end();
  }
}
