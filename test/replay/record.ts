/**
 * Records the replay corpus: runs every payment flow through the real API on a throwaway stack (a
 * Temporal dev server + a fresh PostgreSQL database, as the integration tests use) and writes each
 * workflow's history to test/replay/histories/<flow>.json, in Temporal's JSON export format (as
 * `temporal workflow show -o json` writes it), payloads decrypted.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx test/replay/record.ts [flow...]
 *
 * Histories carry tokens, last 4 and references only; the script refuses to write one that contains
 * anything that looks like a card number.
 */
import fs from 'node:fs';
import path from 'node:path';
import { workflowIdOf } from '../../api/payments-service';
import { getPaymentQuery } from '../../workflows/payment';
import globalSetup from '../support/global-setup';
import { startStack, type Stack } from '../support/stack';
import { apiFor, type Api } from '../integration/payments-support';
import { decodeHistoryPayloads, historyFileText } from '../../cli/workflows';
import { findCardNumber } from '../../security/redaction';

const OUT = path.join(__dirname, 'histories');

type Flow = (api: Api) => Promise<string>;
const idOf = (r: { status: number; body: { id?: string; error?: { details?: { paymentId?: string } } } }) =>
  r.body.id ?? r.body.error?.details?.paymentId ?? '';

/** Each flow returns the payment id; the history is taken once the workflow has done its part. */
const FLOWS: Record<string, { run: Flow; until: string }> = {
  'authorize-manual': { run: async (api) => idOf(await api.pay(1000)), until: 'authorized' },
  'authorize-automatic': {
    run: async (api) => idOf(await api.pay(1000, { capture: 'automatic' })),
    until: 'captured',
  },
  'capture-partial-multi-final': {
    run: async (api) => {
      const id = idOf(await api.pay(1000));
      await api.capture(id, { amount: 300 });
      await api.capture(id, { amount: 200 });
      await api.capture(id, { amount: 100, final: true });
      return id;
    },
    until: 'captured',
  },
  void: {
    run: async (api) => {
      const id = idOf(await api.pay(800));
      await api.void(id);
      return id;
    },
    until: 'voided',
  },
  'refunds-partial-then-full': {
    run: async (api) => {
      const id = idOf(await api.pay(1000, { capture: 'automatic' }));
      await api.refund(id, { amount: 200, reason: 'damaged' });
      await api.refund(id, { amount: 300 });
      await api.refund(id, {});
      return id;
    },
    until: 'refunded',
  },
  expiry: { run: async (api) => idOf(await api.pay(40710)), until: 'expired' },
  'expiry-after-partial-capture': {
    run: async (api) => {
      const id = idOf(await api.pay(40710));
      await api.capture(id, { amount: 10_000 });
      return id;
    },
    until: 'captured',
  },
  decline: { run: async (api) => idOf(await api.pay(40051)), until: 'declined' },
  'refund-during-partial-capture': {
    run: async (api) => {
      const id = idOf(await api.pay(1000));
      await api.capture(id, { amount: 400 });
      await api.refund(id, { amount: 100 });
      await api.capture(id, { amount: 200, final: true });
      return id;
    },
    until: 'partially_refunded',
  },
  'failed-invalid-request': { run: async (api) => idOf(await api.pay(40400)), until: 'failed' },
  'authorize-outage-retries': { run: async (api) => idOf(await api.pay(50302)), until: 'authorized' },
  'authorize-lost-response': { run: async (api) => idOf(await api.pay(50400)), until: 'authorized' },
  'capture-outage-and-lost-response': {
    run: async (api) => {
      const id = idOf(await api.pay(200_000));
      await api.capture(id, { amount: 50400 });
      await api.capture(id, { amount: 50302, final: true });
      return id;
    },
    until: 'captured',
  },
};

async function record(stack: Stack, api: Api, name: string): Promise<void> {
  const flow = FLOWS[name];
  if (!flow) throw new Error(`unknown flow ${name}; known: ${Object.keys(FLOWS).join(', ')}`);
  const id = await flow.run(api);
  if (!id) throw new Error(`${name}: no payment id`);
  await api.waitForStatus(id, flow.until, 60_000);
  const handle = stack.client.workflow.getHandle(workflowIdOf(id));
  await handle.query(getPaymentQuery); // the workflow has processed everything sent to it
  // Payloads are encrypted in history: the corpus keeps them decrypted (and card-free) so it
  // replays without this run's throwaway keys.
  const text = historyFileText(await decodeHistoryPayloads(await handle.fetchHistory()));
  const found = findCardNumber(JSON.parse(text));
  if (found) throw new Error(`${name}: history contains card data at ${found}; not written`);
  fs.writeFileSync(path.join(OUT, `${name}.json`), text);
  process.stdout.write(`recorded ${name} (${workflowIdOf(id)})\n`);
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  await globalSetup();
  const stack = await startStack();
  try {
    const api = apiFor(stack, (await stack.serviceAuth()).authorization);
    fs.mkdirSync(OUT, { recursive: true });
    await Promise.all((only.length ? only : Object.keys(FLOWS)).map((name) => record(stack, api, name)));
  } finally {
    await stack.stop();
    await ((globalThis as Record<string, unknown>).__settleTeardown as () => Promise<void>)();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
