/**
 * The three loads of the payments bench, each one authorize (manual capture) + one full capture per
 * payment, `concurrency` payments in flight: Settle through its HTTP API on a listening loopback
 * server (real sockets, the real Express app, its own workers), and the two ceilings straight through
 * a Temporal client (update-with-start, then a capture update).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { TypedSearchAttributes } from '@temporalio/common';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { PaymentInput } from '../../domain/payment';
import { SA_AMOUNT, SA_CURRENCY, SA_PROVIDER, SA_STATUS } from '../../workflows/search-attributes';
import { VISA } from '../../test/integration/payments-support';
import {
  minimalAuthorizeUpdate,
  minimalCaptureUpdate,
  minimalWorkflow,
  sameShapeWorkflow,
  shapeAuthorizeUpdate,
  shapeCaptureUpdate,
} from './workflows';

export interface Timings {
  /** ms from sending the authorization to its answer, and to the capture's answer. */
  authorize: number[];
  total: number[];
  /** Workflow ids, for sampling histories. */
  workflowIds: string[];
  wallMs: number;
}

/** A payment's work before its clock starts (a card token) and the timed part. */
export interface Load<P> {
  prepare(i: number): Promise<P>;
  run(prepared: P, mark: () => void): Promise<string>;
}

/** Each request gets this long; a bench that hangs is a failed bench, not a slow one. */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * `n` payments, `concurrency` at a time; preparation first, outside the timed window (`started` marks
 * where it begins: the caller reads CPU counters there).
 */
export async function drive<P>(
  load: Load<P>,
  n: number,
  concurrency: number,
  hooks: { started: () => void; progress: (done: number) => void; aborted: () => boolean },
): Promise<Timings> {
  const { progress, aborted } = hooks;
  const prepared = await pool(n, concurrency, aborted, (i) => load.prepare(i));
  const t: Timings = { authorize: [], total: [], workflowIds: [], wallMs: 0 };
  hooks.started();
  const started = performance.now();
  await pool(n, concurrency, aborted, async (i) => {
    const t0 = performance.now();
    let authorized = t0;
    t.workflowIds.push(await load.run(prepared[i]!, () => (authorized = performance.now())));
    const t1 = performance.now();
    t.authorize.push(authorized - t0);
    t.total.push(t1 - t0);
    progress(t.total.length);
  });
  t.wallMs = performance.now() - started;
  return t;
}

async function pool<T>(
  n: number,
  concurrency: number,
  aborted: () => boolean,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        if (aborted()) throw new Error('bench aborted');
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** Settle: POST /v1/payments (manual) then POST /v1/payments/:id/capture, over real HTTP. */
export function settleLoad(baseUrl: string, authorization: string): Load<string> {
  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: {
        Authorization: authorization,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${path} answered ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return {
    async prepare() {
      const card = await post('/v1/vault/cards', {
        number: VISA,
        expMonth: 12,
        expYear: new Date().getUTCFullYear() + 2,
        cvc: '123',
      });
      return card.token as string;
    },
    async run(token, mark) {
      const p = await post('/v1/payments', {
        amount: 1000,
        currency: 'USD',
        paymentMethod: { token },
        capture: 'manual',
      });
      if (p.status !== 'authorized') throw new Error(`payment answered ${String(p.status)}`);
      mark();
      const c = await post(`/v1/payments/${String(p.id)}/capture`, {});
      if (c.status !== 'captured') throw new Error(`capture answered ${String(c.status)}`);
      return `payment-${String(p.id)}`;
    },
  };
}

const ids = () => `pay_bench${randomBytes(10).toString('hex')}`;

/** Same shape as Settle's payment workflow, no-op activities; inputs shaped as the API makes them. */
export function sameShapeLoad(client: Client, taskQueue: string, cardTaskQueue: string): Load<PaymentInput> {
  return {
    prepare: () =>
      Promise.resolve({
        paymentId: ids(),
        clientId: `cli_bench${randomBytes(8).toString('hex')}`,
        legalEntity: 'default',
        amount: 1000,
        currency: 'USD',
        capture: 'manual',
        provider: 'sandbox',
        token: `tok_${randomBytes(12).toString('hex')}`,
        brand: 'visa',
        last4: '4242',
        createdAt: new Date().toISOString(),
        cardTaskQueue,
      }),
    async run(input, mark) {
      const workflowId = `bench-shape-${input.paymentId}`;
      await client.workflow.executeUpdateWithStart(shapeAuthorizeUpdate, {
        updateId: 'await-authorization',
        startWorkflowOperation: new WithStartWorkflowOperation(sameShapeWorkflow, {
          workflowId,
          taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: new TypedSearchAttributes([
            { key: SA_STATUS, value: 'processing' },
            { key: SA_PROVIDER, value: input.provider },
            { key: SA_AMOUNT, value: input.amount },
            { key: SA_CURRENCY, value: input.currency },
          ]),
        }),
      });
      mark();
      await client.workflow.getHandle(workflowId).executeUpdate(shapeCaptureUpdate, {
        args: [{}],
        updateId: randomUUID(),
      });
      return workflowId;
    },
  };
}

/** The least the business needs: update-with-start authorize + one call, update capture + one call. */
export function minimalLoad(client: Client, taskQueue: string, providerQueue?: string): Load<string> {
  return {
    prepare: () => Promise.resolve(ids()),
    async run(paymentId, mark) {
      const workflowId = `bench-minimal-${paymentId}`;
      await client.workflow.executeUpdateWithStart(minimalAuthorizeUpdate, {
        updateId: 'authorize',
        startWorkflowOperation: new WithStartWorkflowOperation(minimalWorkflow, {
          workflowId,
          taskQueue,
          args: [{ paymentId, amount: 1000, currency: 'USD', providerQueue }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      mark();
      await client.workflow
        .getHandle(workflowId)
        .executeUpdate(minimalCaptureUpdate, { updateId: randomUUID() });
      return workflowId;
    },
  };
}
