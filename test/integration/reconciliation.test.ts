/**
 * Reconciliation on the real stack (Temporal dev server, PostgreSQL, the card-data worker with record
 * sources, localstripe behind its proxy, the Braintree gateway emulator): for the sandbox, Stripe and
 * Braintree, a window of clean data reconciles `matched` with no discrepancy, and a window with one
 * injected case of each kind (a capture only at the provider, a payment only in the ledger, an amount
 * off by one minor unit, a refund only at the provider) reports exactly those four, each once, as a
 * merchant event and an audit entry. Ledger sides are seeded with SQL (test/support/reconciliation-
 * seed.ts); provider sides are made through the providers' own SDKs (the sandbox: its books), plus
 * real payments through the API for the sandbox.
 *
 * Provider fees: a run posts one provider_fee journal entry per compared payment whose provider states
 * a fee (the sandbox's price list, Stripe's balance transaction; Braintree states none), and a second
 * run over the same window posts nothing; the merchant's balances show the `fees` account and the
 * ledger verifier stays clean.
 *
 * Emulator gaps filled for this (see each file): localstripe cannot filter or order the PaymentIntent
 * list by `created` (test/support/localstripe-records.ts); the Braintree emulator could not search by
 * `created_at` (test/support/braintree-gateway/search.ts).
 */
import { randomBytes } from 'node:crypto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createBraintreeProvider } from '../../activities/providers/braintree/adapter';
import { createBraintreeRecordSource } from '../../activities/providers/braintree/records';
import type { ProviderRecordSource } from '../../activities/providers/records';
import { createProviderRegistry } from '../../activities/providers/registry';
import { createSandboxProvider } from '../../activities/providers/sandbox/adapter';
import { createSandboxRecordSource } from '../../activities/providers/sandbox/records';
import { createStripeProvider } from '../../activities/providers/stripe/adapter';
import { createStripeRecordSource } from '../../activities/providers/stripe/records';
import type { PaymentProvider } from '../../activities/providers/types';
import { createReconciliationRepo } from '../../db/reconciliation-repo';
import type { ProviderName } from '../../domain/providers';
import { createCardWorker } from '../../workers/card-worker';
import {
  reconciliationWorkflow,
  reconciliationWorkflowId,
  reconciliationProgressQuery,
} from '../../workflows/reconciliation';
import { startBraintreeGateway, type BraintreeEmulator } from '../support/braintree-gateway';
import {
  startLocalStripe,
  startStripeProxy,
  type LocalStripe,
  type StripeProxy,
} from '../support/localstripe';
import { localStripeRecords, stripeTestFee } from '../support/localstripe-records';
import { sandboxFee } from '../../activities/providers/sandbox/records';
import { createLedgerRepo } from '../../db/ledger-repo';
import { seedLedgerPayments, seedSandboxBooks, type SeedPayment } from '../support/reconciliation-seed';
import { startStack, testEnv, testKeyEnv, type Stack } from '../support/stack';
import { loadCliConfig } from '../../config/load';
import { reconcileCommands } from '../../cli/reconcile';
import fs from 'node:fs';
import path from 'node:path';
import { decodeHistoryPayloads, historyFileText } from '../../cli/workflows';
import { findCardNumber } from '../../security/redaction';
import { apiFor } from './payments-support';

jest.setTimeout(120_000);

const BT = { merchantId: 'settle_merchant', publicKey: 'settle_public', privateKey: 'settle_private' };
const CARD = { number: '4242424242424242', expMonth: 12, expYear: 2034, cvc: '123' };

let stack: Stack;
let clientId: string;
let ls: LocalStripe;
let proxy: StripeProxy;
let gw: BraintreeEmulator;
let worker: Worker;
let workerRun: Promise<void>;
let connection: NativeConnection;
let recordsQueue: string;
const adapters = new Map<ProviderName, PaymentProvider>();

const keys = testKeyEnv();

beforeAll(async () => {
  stack = await startStack({ keys });
  clientId = (await stack.serviceAuth()).clientId;
  ls = await startLocalStripe();
  proxy = await startStripeProxy(ls.port, { extensions: [localStripeRecords(ls.port)] });
  gw = await startBraintreeGateway(BT);
  const stripe = { apiKey: ls.apiKey, host: '127.0.0.1', port: proxy.port, protocol: 'http' as const };
  const braintree = {
    ...BT,
    environment: 'development' as const,
    gatewayHost: '127.0.0.1',
    gatewayPort: gw.port,
  };
  adapters.set('sandbox', createSandboxProvider({ pool: stack.pool }));
  adapters.set(
    'stripe',
    createStripeProvider({ ...stripe, webhookSecrets: ['whsec_test'], legacyPaymentMethodTypes: true }),
  );
  adapters.set('braintree', createBraintreeProvider(braintree));
  const sources = new Map<ProviderName, ProviderRecordSource>([
    ['sandbox', createSandboxRecordSource({ pool: stack.pool })],
    ['stripe', createStripeRecordSource(stripe)],
    ['braintree', createBraintreeRecordSource(braintree)],
  ]);
  // A card-data worker with record sources, on its own queue (the stack's has none).
  recordsQueue = `settle-test-records-${randomBytes(4).toString('hex')}`;
  connection = await NativeConnection.connect({ address: testEnv().temporalAddress });
  worker = await createCardWorker({
    connection,
    namespace: 'default',
    taskQueue: recordsQueue,
    vault: stack.vault,
    providers: createProviderRegistry([...adapters.values()]),
    records: { sources, reconciliation: createReconciliationRepo(stack.pool) },
  });
  workerRun = worker.run();
}, 180_000);

afterAll(async () => {
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  await connection?.close();
  await proxy?.stop();
  await ls?.stop();
  await gw?.stop();
  await stack?.stop();
});

/** RECORD_REPLAY=1 keeps a run's history in the replay corpus (payloads decoded, card-free). */
async function record(runId: string, name: string): Promise<void> {
  if (!process.env.RECORD_REPLAY) return;
  const history = await decodeHistoryPayloads(
    await stack.client.workflow.getHandle(reconciliationWorkflowId(runId)).fetchHistory(),
  );
  const text = historyFileText(history);
  expect(findCardNumber(JSON.parse(text))).toBeUndefined();
  fs.writeFileSync(path.join(__dirname, '../replay/histories', `${name}.json`), text);
}

/** A run as the API starts it: the run row first, then the workflow; its result and stored view. */
async function reconcile(provider: ProviderName, from: string, to: string, pageSize = 2) {
  const runId = `rc_${randomBytes(12).toString('hex')}`;
  await createReconciliationRepo(stack.pool).createRun({
    id: runId,
    provider,
    from,
    to,
    requestedBy: 'test',
  });
  const handle = await stack.client.workflow.start(reconciliationWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId: reconciliationWorkflowId(runId),
    args: [{ runId, provider, from, to, cardTaskQueue: recordsQueue, actor: 'test', pageSize }],
  });
  const result = await handle.result();
  const progress = await handle.query(reconciliationProgressQuery);
  const view = (await createReconciliationRepo(stack.pool).getRun(runId))!;
  return { runId, result, progress, view };
}

const seq = { n: 0 };
const payId = () =>
  `pay_rc${Date.now().toString(36)}${(++seq.n).toString(36)}${randomBytes(4).toString('hex')}`;

/** A captured payment at the provider through its adapter (and an optional refund). */
async function providerCapture(provider: ProviderName, amount: number, refund = 0) {
  const paymentId = payId();
  const a = adapters.get(provider)!;
  const r = await a.authorize({
    paymentId,
    idempotencyKey: `${paymentId}:authorize`,
    amount,
    currency: 'USD',
    capture: 'automatic',
    card: CARD,
  });
  if (r.outcome !== 'authorized') throw new Error(`not authorized: ${JSON.stringify(r)}`);
  if (refund > 0) {
    await a.refund({
      paymentId,
      refundId: `re_${paymentId.slice(4)}`,
      providerReference: r.providerReference,
      idempotencyKey: `${paymentId}:refund:re_${paymentId.slice(4)}`,
      amount: refund,
      currency: 'USD',
    });
  }
  return { paymentId, reference: r.providerReference };
}

const ledgerRow = (
  provider: ProviderName,
  p: { paymentId: string; reference: string },
  captured: number,
  refunded = 0,
): SeedPayment => ({
  id: p.paymentId,
  clientId,
  provider,
  reference: p.reference,
  currency: 'USD',
  captured,
  refunded,
  createdAt: new Date().toISOString(),
});

async function eventsAndAudit(runId: string) {
  const ev = await stack.pool.query<{ resource_id: string; data: { kind: string } }>(
    `SELECT resource_id, data FROM events WHERE type = 'reconciliation.discrepancy' AND data->>'reconciliationId' = $1`,
    [runId],
  );
  const au = await stack.pool.query<{ resource: string; details: { kind: string } }>(
    `SELECT resource, details FROM audit_events WHERE action = 'reconciliation.discrepancy' AND details->>'reconciliationId' = $1`,
    [runId],
  );
  return { events: ev.rows, audit: au.rows };
}

/** Per payment: its provider_fee entries and the sum of its `fees` lines. */
async function feesOf(paymentIds: string[]): Promise<Record<string, { entries: number; fees: number }>> {
  const r = await stack.pool.query<{ payment_id: string; entries: string; fees: string }>(
    `SELECT e.payment_id, count(DISTINCT e.id)::text AS entries,
            coalesce(sum(l.amount) FILTER (WHERE l.account = 'fees'), 0)::text AS fees
       FROM ledger_entries e JOIN ledger_lines l ON l.entry_id = e.id
      WHERE e.kind = 'provider_fee' AND e.payment_id = ANY($1::text[])
      GROUP BY e.payment_id`,
    [paymentIds],
  );
  const out: Record<string, { entries: number; fees: number }> = {};
  for (const id of paymentIds) out[id] = { entries: 0, fees: 0 };
  for (const x of r.rows) out[x.payment_id] = { entries: Number(x.entries), fees: Number(x.fees) };
  return out;
}

/** The four injected kinds, found once each and nothing else. */
function expectInjected(view: Awaited<ReturnType<typeof reconcile>>['view'], ids: Record<string, string>) {
  expect(view.status).toBe('discrepancies');
  const got = view.discrepancies.map((d) => [d.kind, d.paymentId ?? d.providerReference]).sort();
  expect(got).toEqual(
    [
      ['amount_mismatch', ids.amount],
      ['missing_at_provider', ids.ledgerOnly],
      ['missing_in_ledger', ids.providerOnly],
      ['status_mismatch', ids.status],
    ].sort(),
  );
  const amount = view.discrepancies.find((d) => d.kind === 'amount_mismatch')!;
  expect(amount.expected!.amountCaptured - amount.actual!.amountCaptured).toBe(1);
  const status = view.discrepancies.find((d) => d.kind === 'status_mismatch')!;
  expect([status.expected!.status, status.actual!.status]).toEqual(['captured', 'refunded']);
}

describe.each(['stripe', 'braintree'] as const)('%s through its emulator', (provider) => {
  test('clean data reconciles matched; each injected kind is found once, none false', async () => {
    const from = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
    // Clean: two captures and a partial refund, the same on both sides.
    const clean = [
      await providerCapture(provider, 1200),
      await providerCapture(provider, 1300),
      await providerCapture(provider, 1400, 400),
    ];
    await seedLedgerPayments(stack.pool, [
      ledgerRow(provider, clean[0]!, 1200),
      ledgerRow(provider, clean[1]!, 1300),
      ledgerRow(provider, clean[2]!, 1400, 400),
    ]);
    const cleanTo = new Date(Date.now() + 1000).toISOString();
    const ok = await reconcile(provider, from, cleanTo);
    expect(ok.view).toMatchObject({ status: 'matched', provider, checked: 3, discrepancies: [] });
    expect(ok.progress.pages).toBeGreaterThan(1);
    // Stripe states its fee on the charge's balance transaction; Braintree's transactions state none.
    const cleanIds = clean.map((c) => c.paymentId);
    const feeWanted = (amount: number) =>
      provider === 'stripe' ? { entries: 1, fees: stripeTestFee(amount) } : { entries: 0, fees: 0 };
    const cleanFees = {
      [cleanIds[0]!]: feeWanted(1200),
      [cleanIds[1]!]: feeWanted(1300),
      [cleanIds[2]!]: feeWanted(1400),
    };
    expect(await feesOf(cleanIds)).toEqual(cleanFees);
    expect(ok.result.fees).toBe(provider === 'stripe' ? 3 : 0);

    // Injected, on top of the clean ones (which must stay silent).
    const providerOnly = await providerCapture(provider, 1500);
    const amount = await providerCapture(provider, 1600);
    const status = await providerCapture(provider, 1700, 1700);
    const ledgerOnly = {
      paymentId: payId(),
      reference: `${provider}_ref_gone_${randomBytes(4).toString('hex')}`,
    };
    await seedLedgerPayments(stack.pool, [
      ledgerRow(provider, amount, 1601),
      ledgerRow(provider, status, 1700),
      ledgerRow(provider, ledgerOnly, 1800),
    ]);
    const bad = await reconcile(provider, from, new Date(Date.now() + 1000).toISOString());
    expectInjected(bad.view, {
      amount: amount.paymentId,
      ledgerOnly: ledgerOnly.paymentId,
      providerOnly: providerOnly.paymentId,
      status: status.paymentId,
    });
    expect(bad.view.checked).toBe(7);
    // The second run over the clean ones posts no fee again; the amount mismatch still gets its fee.
    expect(await feesOf(cleanIds)).toEqual(cleanFees);
    expect(bad.result.fees).toBe(provider === 'stripe' ? 2 : 0);
    const { events, audit } = await eventsAndAudit(bad.runId);
    // Events go to the payment's merchant (the provider-only capture has none: audit only).
    expect(events.map((e) => e.resource_id).sort()).toEqual(
      [amount.paymentId, status.paymentId, ledgerOnly.paymentId].sort(),
    );
    expect(audit.map((a) => a.details.kind).sort()).toEqual([
      'amount_mismatch',
      'missing_at_provider',
      'missing_in_ledger',
      'status_mismatch',
    ]);
  });
});

describe('sandbox', () => {
  test('real payments through the API reconcile matched', async () => {
    const auth = await stack.serviceAuth();
    const api = apiFor(stack, auth.authorization);
    const from = new Date(Date.now() - 1000).toISOString();
    const a = await api.pay(2100, { capture: 'automatic' });
    const b = await api.pay(2200);
    expect(a.status).toBe(201);
    expect((await api.capture(b.body.id as string, { amount: 1000 })).status).toBe(200);
    const c = await api.pay(2300, { capture: 'automatic' });
    expect((await api.refund(c.body.id as string, { amount: 300 })).status).toBe(201);
    const run = await reconcile('sandbox', from, new Date(Date.now() + 1000).toISOString());
    expect(run.view).toMatchObject({ status: 'matched', checked: 3, discrepancies: [] });
  });

  test('fees: one provider_fee entry per captured payment at the price list, once; balances and verify', async () => {
    const auth = await stack.serviceAuth();
    const api = apiFor(stack, auth.authorization);
    const from = new Date(Date.now() - 1000).toISOString();
    const a = await api.pay(2100, { capture: 'automatic' });
    const b = await api.pay(2200);
    expect((await api.capture(b.body.id as string, { amount: 1000 })).status).toBe(200);
    const c = await api.pay(2300, { capture: 'automatic' });
    expect((await api.refund(c.body.id as string, { amount: 300 })).status).toBe(201);
    const uncaptured = await api.pay(2400);
    expect(uncaptured.body.status).toBe('authorized');
    const ids = [a, b, c, uncaptured].map((r) => r.body.id as string);
    const to = new Date(Date.now() + 1000).toISOString();

    const first = await reconcile('sandbox', from, to);
    expect(first.view).toMatchObject({ status: 'matched', discrepancies: [] });
    // 2.9% rounded half up + 30: 2100 -> 61 + 30; 1000 captured of 2200 -> 29 + 30; 2300 (refunds
    // return nothing) -> 67 + 30; an authorization without a capture pays none.
    expect([sandboxFee(2100), sandboxFee(1000), sandboxFee(2300), sandboxFee(0)]).toEqual([91, 59, 97, 0]);
    const want = {
      [ids[0]!]: { entries: 1, fees: 91 },
      [ids[1]!]: { entries: 1, fees: 59 },
      [ids[2]!]: { entries: 1, fees: 97 },
      [ids[3]!]: { entries: 0, fees: 0 },
    };
    expect(await feesOf(ids)).toEqual(want);
    const entries = await stack.http
      .get('/v1/ledger/entries')
      .query({ paymentId: ids[0]! })
      .set('Authorization', auth.authorization);
    expect(entries.body.data.find((e: { kind: string }) => e.kind === 'provider_fee')).toMatchObject({
      paymentId: ids[0],
      currency: 'USD',
      lines: [
        { account: 'fees', amount: 91 },
        { account: 'receivable_from_provider', amount: -91 },
      ],
    });

    // The same window again: nothing posted twice, and still matched (a fee is no discrepancy).
    const second = await reconcile('sandbox', from, to);
    expect(second.view).toMatchObject({ status: 'matched', discrepancies: [] });
    expect(second.result.fees).toBe(0);
    expect(await feesOf(ids)).toEqual(want);

    const balances = await stack.http.get('/v1/ledger/balances').set('Authorization', auth.authorization);
    expect(balances.status).toBe(200);
    const balance = (account: string) =>
      (balances.body.data as Array<{ account: string; currency: string; balance: number }>).find(
        (x) => x.account === account && x.currency === 'USD',
      )?.balance;
    expect(balance('fees')).toBe(91 + 59 + 97);
    // Captured 2100 + 1000 + 2300, refunded 300 (succeeded), less the fees.
    expect(balance('receivable_from_provider')).toBe(2100 + 1000 + 2300 - 300 - (91 + 59 + 97));
    expect(balance('merchant_balance')).toBe(-(2100 + 1000 + 2300 - 300));
    const verified = await createLedgerRepo(stack.pool).verify({ clientId: auth.clientId });
    expect(verified.problems).toEqual([]);
    expect(verified.payments).toBe(4);
  });

  test('each injected kind is found in the sandbox books, none false', async () => {
    // A window of its own (2031 + random hour): the sandbox's books are set directly.
    const base = Date.UTC(2031, 0, 1) + Math.floor(Math.random() * 8000) * 3_600_000;
    const at = (i: number) => new Date(base + i * 1000).toISOString();
    const from = new Date(base).toISOString();
    const to = new Date(base + 3_600_000).toISOString();
    const row = (i: number, captured: number, refunded = 0) => ({
      paymentId: payId(),
      reference: `sbx_rc${i}${randomBytes(6).toString('hex')}`,
      captured,
      refunded,
      at: at(i),
    });
    const clean = [row(1, 1000), row(2, 2000, 500), row(3, 3000)];
    const amount = row(4, 1000);
    const status = row(5, 1000);
    const ledgerOnly = row(6, 1000);
    const providerOnly = row(7, 1000);
    await seedLedgerPayments(
      stack.pool,
      [...clean, amount, status, ledgerOnly].map((r) => ({
        id: r.paymentId,
        clientId,
        provider: 'sandbox' as const,
        reference: r.reference,
        currency: 'USD',
        captured: r.captured,
        refunded: r.refunded,
        createdAt: r.at,
      })),
    );
    await seedSandboxBooks(stack.pool, [
      ...[...clean, providerOnly].map((r) => ({ ...r, currency: 'USD', createdAt: r.at })),
      { ...amount, currency: 'USD', captured: 999, createdAt: amount.at },
      { ...status, currency: 'USD', refunded: 1000, createdAt: status.at },
    ]);
    const run = await reconcile('sandbox', from, to);
    expectInjected(run.view, {
      amount: amount.paymentId,
      ledgerOnly: ledgerOnly.paymentId,
      providerOnly: providerOnly.paymentId,
      status: status.paymentId,
    });
    expect(run.result).toMatchObject({ status: 'discrepancies', checked: 7, discrepancies: 4 });
    await record(run.runId, 'reconciliation-discrepancies');

    // `cli reconcile report <rc_id>`: the same run for a person, exit 1, and the read audited.
    const cli = loadCliConfig({ ...keys, DATABASE_URL: testEnv().runtimeDatabaseUrl, USER: 'recon-test' });
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    try {
      await reconcileCommands.report!([run.runId], cli);
    } finally {
      write.mockRestore();
    }
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
    const text = out.join('');
    expect(text).toContain(
      `reconciliation ${run.runId}: sandbox [${from}, ${to}) discrepancies, 7 checked, 4 discrepancies`,
    );
    for (const kind of ['missing_at_provider', 'missing_in_ledger', 'amount_mismatch', 'status_mismatch'])
      expect(text).toContain(`  ${kind} payment `);
    expect(text).toContain('    provider: captured USD captured 999 refunded 0');
    const audited = await stack.pool.query(
      `SELECT actor FROM audit_events WHERE action = 'reconciliation.report' AND resource = $1`,
      [run.runId],
    );
    expect(audited.rows).toEqual([{ actor: 'cli:recon-test' }]);
  });
});
