/**
 * The dead-endpoint load shared by test/integration/webhook-isolation.test.ts and
 * bench/webhook-isolation.ts: a TCP endpoint that accepts and never answers, a merchant with 1,000
 * events for it, and timed batches of real payments through the API.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Stack } from './stack';
import { apiFor } from '../integration/payments-support';

export interface DeadEndpoint {
  url: string;
  /** Connections accepted so far / the most ever open at once. */
  accepted(): number;
  maxOpen(): number;
  close(): Promise<void>;
}

/** Accepts, reads, never answers: every attempt ends on the sender's own timeout. */
export async function startDeadEndpoint(): Promise<DeadEndpoint> {
  const open = new Set<net.Socket>();
  let accepted = 0;
  let maxOpen = 0;
  const server = net.createServer((s) => {
    accepted++;
    open.add(s);
    maxOpen = Math.max(maxOpen, open.size);
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    accepted: () => accepted,
    maxOpen: () => maxOpen,
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A merchant with one endpoint at `url` (every event type) and `events` outbox events for it. */
export async function loadDeadMerchant(
  stack: Stack,
  url: string,
  events: number,
): Promise<{ clientId: string; authorization: string; endpointId: string }> {
  const m = await stack.serviceAuth();
  const ep = await stack.http
    .post('/v1/webhook-endpoints')
    .set('Authorization', m.authorization)
    .set('Idempotency-Key', `dead-${m.clientId}`)
    .send({ url, events: ['*'] });
  if (ep.status !== 201) throw new Error(`endpoint creation failed: ${ep.status} ${ep.text}`);
  await stack.pool.query(
    `INSERT INTO events (id, client_id, type, resource_id, data)
     SELECT 'evt_dead' || lpad(g::text, 20, '0') || $2, $1, 'payment.captured', 'pay_dead', '{}'::jsonb
     FROM generate_series(1, $3::int) g`,
    [m.clientId, m.clientId.slice(4, 12), events],
  );
  return { clientId: m.clientId, authorization: m.authorization, endpointId: ep.body.id as string };
}

/**
 * `n` automatic-capture payments, `parallel` at a time: each POST's latency in ms. Throws on any
 * answer but 201 `captured` (a payment that did not complete is not a latency sample).
 */
export async function timePayments(
  stack: Stack,
  authorization: string,
  n: number,
  parallel: number,
): Promise<number[]> {
  const api = apiFor(stack, authorization);
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        next++;
        const token = await api.tokenize();
        const t0 = performance.now();
        const res = await api.post('/v1/payments', {
          amount: 1000,
          currency: 'USD',
          paymentMethod: { token },
          capture: 'automatic',
        });
        latencies.push(performance.now() - t0);
        if (res.status !== 201 || res.body.status !== 'captured') {
          throw new Error(`payment answered ${res.status} ${res.body?.status ?? res.text}`);
        }
      }
    }),
  );
  return latencies;
}

export const percentile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(xs.length * q) - 1)]!;
