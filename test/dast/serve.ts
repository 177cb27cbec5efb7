/**
 * The stack Schemathesis fuzzes (`npm run dast`): the integration tests' own Temporal dev server and
 * fresh migrated PostgreSQL database (test/support/global-setup.ts), a real stack with payment and
 * card workers (test/support/stack.ts), and the API listening on a loopback port. Seeds what a fuzzer
 * cannot guess (a vault card, payments in each state, a bank account, a webhook endpoint, a dispute
 * opened by the sandbox's own signed webhook after a capture of 41300, a reconciliation run) through
 * the API itself, then writes the base URL, credentials and seeds as JSON to the file named by argv[2]
 * (mode 0600) and serves until SIGTERM/SIGINT.
 *
 *   tsx test/dast/serve.ts /tmp/settle-dast.json
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApiServer } from '../../api/server';
import globalSetup from '../support/global-setup';
import { startStack, type Stack } from '../support/stack';

/** The card networks' documented test Visa number (test code only). */
const TEST_VISA = '4242424242424242';
/** docs/sandbox-provider.md "Disputes": a capture of this amount is disputed by the sandbox. */
const DISPUTE_TRIGGER = 41300;

type Json = Record<string, unknown>;
type Fetch = (method: string, path: string, body?: unknown) => Promise<Json>;

function api(baseUrl: string, authorization: string, accept: (status: number, json: Json) => boolean): Fetch {
  return async (method, path, body) => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        authorization,
        'content-type': 'application/json',
        ...(method === 'POST' ? { 'idempotency-key': `dast-seed-${randomUUID()}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Json;
    if (res.status >= 300 && !accept(res.status, json))
      throw new Error(`seed ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** Seeded payments whose sandbox webhooks (disputes) the stack's sender delivers to this API. */
const disputed: string[] = [];

/** Poll `probe` (bounded) until `done` holds. */
async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 120; i++) {
    const v = await probe();
    if (done(v)) return v;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`seed: ${what} did not happen in 60 s`);
}

async function seed(stack: Stack, baseUrl: string) {
  const service = await stack.createClient('service');
  // Several admins: a fresh admin token needs a TOTP code, and a code is accepted once.
  const admins = [];
  for (let i = 0; i < 12; i++) admins.push(await stack.createOperator('admin'));
  const token = await stack.tokens.issue({ sub: service.clientId, role: 'service' });
  const call = api(baseUrl, `Bearer ${token}`, () => false);
  // The first payments may outlast the API's wait while the worker warms up: 503 carries the id,
  // and the payment continues durably, so follow it to its outcome.
  const pending = (status: number, json: Json) =>
    status === 503 && typeof (json.error as Json | undefined)?.details === 'object';
  const payCall = api(baseUrl, `Bearer ${token}`, pending);
  const tokenize = () => call('POST', '/v1/vault/cards', { number: TEST_VISA, expMonth: 12, expYear: 2099 });
  const card = await tokenize();
  // DELETE shreds a card for good: it gets cards of its own, never the one payments use.
  const doomed: string[] = [];
  for (let i = 0; i < 4; i++) doomed.push(String((await tokenize()).token));
  const pay = async (capture: 'manual' | 'automatic', amount = 5000) => {
    const out = await payCall('POST', '/v1/payments', {
      amount,
      currency: 'usd',
      paymentMethod: { token: card.token },
      capture,
    });
    const id = String(out.id ?? ((out.error as Json).details as Json).paymentId);
    if (amount === DISPUTE_TRIGGER) disputed.push(id);
    for (let i = 0; i < 120; i++) {
      const p = await call('GET', `/v1/payments/${id}`).catch(() => ({ status: 'processing' }));
      if (p.status !== 'processing') return id;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`seed payment ${id} did not leave processing`);
  };
  const authorized = [await pay('manual'), await pay('manual'), await pay('manual')];
  const captured = [await pay('automatic'), await pay('automatic')];
  // A capture of 41300: the sandbox disputes it and tells the API by a signed webhook.
  const disputedPayment = await pay('manual', DISPUTE_TRIGGER);
  await call('POST', `/v1/payments/${disputedPayment}/capture`, {});
  const dispute = await until(
    'the sandbox dispute',
    () => call('GET', `/v1/disputes?paymentId=${disputedPayment}`),
    (r) => Array.isArray(r.data) && r.data.length === 1,
  );
  const disputeId = String(((dispute.data as Json[])[0] as Json).id);
  const admin = api(baseUrl, (await stack.operatorAuth('admin')).authorization, () => false);
  const now = Date.now();
  const run = await admin('POST', '/v1/reconciliation/runs', {
    provider: 'sandbox',
    from: new Date(now - 86_400_000).toISOString(),
    to: new Date(now + 60_000).toISOString(),
  });
  const runId = String(run.id);
  await until(
    'the reconciliation run',
    () => admin('GET', `/v1/reconciliation/runs/${runId}`),
    (r) => r.status !== 'running',
  );
  const bank = await call('POST', '/v1/bank-accounts', {
    routingNumber: '011000015',
    accountNumber: '000123456789',
    holderName: 'Dast Tester',
    accountType: 'checking',
  });
  const endpoint = await call('POST', '/v1/webhook-endpoints', {
    url: 'https://example.com/settle-dast',
    events: ['payment.*'],
  });
  const other = await stack.createClient('service');
  return {
    service,
    admins: admins.map((a) => ({ username: a.username, password: a.password, totpSecret: a.totpSecret })),
    seeds: {
      cardToken: String(card.token),
      deletableCardTokens: doomed,
      paymentIds: [...authorized, ...captured, disputedPayment],
      disputeId,
      reconciliationRunId: runId,
      bankAccountId: String(bank.id),
      endpointId: String(endpoint.id),
      // Ids the admin routes may act on without locking the fuzzer itself out.
      clientId: other.clientId,
      operatorId: (await stack.createOperator('auditor')).id,
    },
    // The fuzzer learns ids from list responses; these must never be disabled or revoked under it.
    own: { clientIds: [service.clientId], operatorIds: admins.map((a) => a.id) },
  };
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: tsx test/dast/serve.ts <output.json>');
  await globalSetup();
  const teardown = (globalThis as Record<string, unknown>).__settleTeardown as () => Promise<void>;
  const stack = await startStack({ authWaitMs: 10_000, sandboxWebhooks: { onlyPayments: () => disputed } });
  // The server production creates (its client-error and expectation handlers, Host refused in the
  // contract's shape), so the fuzzer also reaches what Node's parser answers before Express.
  const server: Server = createApiServer(stack.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await stack.stop();
      await teardown();
    })());
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      void stop().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error('dast: stop failed', err);
          process.exit(1);
        },
      );
    });
  }

  try {
    const config = { baseUrl, ...(await seed(stack, baseUrl)) };
    fs.writeFileSync(out, JSON.stringify(config, null, 2), { mode: 0o600 });
    console.log(`dast: stack ready at ${baseUrl} (config in ${out})`);
  } catch (err) {
    console.error('dast: seeding failed', err);
    await stop();
    process.exit(1);
  }
}

void main().catch((err: unknown) => {
  console.error('dast: harness failed', err);
  process.exit(1);
});
