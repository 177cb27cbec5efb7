/**
 * Sandbox disputes, reachable from outside like a real provider's (docs/sandbox-provider.md
 * "Disputes"): a capture of 41300 opens a dispute in the sandbox's books (real PostgreSQL, as the
 * runtime role), and its events travel as signed webhooks from the outbox, through the card worker's
 * sender, to an HTTP listener run here, where the sandbox's parseWebhook verifies them.
 *
 * Proves: the trigger (and only it) opens one dispute for the captured amount, due in 7 days;
 * evidence and acceptance take effect once when repeated; `winning_evidence` is decided `won` as a
 * LATER event; a dead receiver never blocks captures and its events are delivered once it is back.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSandboxProvider } from '../../../activities/providers/sandbox/adapter';
import { createSandboxWebhookSender } from '../../../activities/providers/sandbox/webhook-sender';
import type { PaymentProvider } from '../../../activities/providers/types';
import { createPool, type Pool } from '../../../db/pool';
import { newId } from '../../../domain/ids';
import type { ProviderEvent } from '../../../domain/providers';
import { freePort } from '../../support/localstripe';
import { testEnv } from '../../support/stack';

const SECRET = `sbx_${newId('pay')}`;
const CARD = { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' };

let pool: Pool;
let provider: PaymentProvider;
/** This file's payments: its senders deliver only these (other test files share the database). */
const mine: string[] = [];
const scope = { onlyPayments: () => mine };

/** An HTTP receiver standing in for the API: verifies each delivery with the sandbox's parser. */
interface Receiver {
  url: string;
  events: ProviderEvent[];
  /** Raw deliveries: status answered, the signature header. */
  deliveries: Array<{ status: number; signature: string | undefined }>;
  close(): Promise<void>;
}
async function receiver(port = 0): Promise<Receiver> {
  const events: ProviderEvent[] = [];
  const deliveries: Receiver['deliveries'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
      );
      provider.parseWebhook(Buffer.concat(chunks), headers).then(
        (e) => {
          events.push(e);
          deliveries.push({ status: 200, signature: headers['sandbox-signature'] });
          res.writeHead(200).end('{}');
        },
        () => {
          deliveries.push({ status: 400, signature: headers['sandbox-signature'] });
          res.writeHead(400).end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/webhooks/sandbox`,
    events,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

beforeAll(() => {
  // As in production: the card worker connects as the runtime role (the migration's grants).
  pool = createPool(testEnv().runtimeDatabaseUrl, 'settle-test-sandbox-disputes', 3);
  provider = createSandboxProvider({ pool, webhookSecret: SECRET });
});
afterAll(async () => {
  await pool?.end();
});

async function capture(amount: number, capture: 'manual' | 'automatic' = 'manual') {
  const paymentId = newId('pay');
  const auth = await provider.authorize({
    paymentId,
    idempotencyKey: `${paymentId}:authorize`,
    amount,
    currency: 'USD',
    capture,
    card: CARD,
  });
  if (auth.outcome !== 'authorized') throw new Error('not authorized');
  mine.push(paymentId);
  if (capture === 'manual')
    await provider.capture({
      paymentId,
      providerReference: auth.providerReference,
      idempotencyKey: `${paymentId}:capture:1`,
      amount,
      currency: 'USD',
      final: true,
    });
  return { paymentId, reference: auth.providerReference };
}

const disputeOf = async (reference: string) =>
  (
    await pool.query<{
      id: string;
      amount: number;
      status: string;
      evidence_due_by: Date;
      evidence_requests: number;
      evidence_submissions: number;
      accept_requests: number;
    }>('SELECT * FROM sandbox_disputes WHERE reference = $1', [reference])
  ).rows;

const outboxOf = async (disputeId: string) =>
  (
    await pool.query<{
      type: string;
      delivered_at: Date | null;
      attempts: number;
      last_error: string | null;
    }>(
      `SELECT type, delivered_at, attempts, last_error FROM sandbox_webhook_outbox
        WHERE body->'data'->'dispute'->>'id' = $1 ORDER BY next_attempt_at, created_at`,
      [disputeId],
    )
  ).rows;

test('only the trigger amount opens a dispute: one, for the captured amount, due in 7 days', async () => {
  const plain = await capture(41301);
  expect(await disputeOf(plain.reference)).toEqual([]);

  const before = Date.now();
  const { paymentId, reference } = await capture(41300);
  const rows = await disputeOf(reference);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ amount: 41300, status: 'needs_response' });
  const due = rows[0]!.evidence_due_by.getTime() - before;
  expect(due).toBeGreaterThan(7 * 86_400_000 - 60_000);
  expect(due).toBeLessThanOrEqual(7 * 86_400_000 + 60_000);
  expect((await outboxOf(rows[0]!.id)).map((o) => o.type)).toEqual(['dispute.opened']);

  // An automatic-capture authorization of the trigger amount is a capture too.
  const auto = await capture(41300, 'automatic');
  expect(await disputeOf(auto.reference)).toHaveLength(1);
  expect(paymentId).toMatch(/^pay_/);
});

test('trigger to signed webhook: opened, evidence once, then the decision as a later event', async () => {
  const rx = await receiver();
  const sender = createSandboxWebhookSender({
    ...scope,
    pool,
    url: rx.url,
    secret: SECRET,
  });
  try {
    const { paymentId, reference } = await capture(41300);
    const [row] = await disputeOf(reference);
    await sender.drainOnce();
    const opened = rx.events.find((e) => e.dispute?.providerDisputeId === row!.id);
    expect(opened).toMatchObject({
      provider: 'sandbox',
      kind: 'dispute.opened',
      paymentId,
      providerReference: reference,
      amount: 41300,
      dispute: {
        providerDisputeId: row!.id,
        amount: 41300,
        currency: 'USD',
        reason: 'fraudulent',
        status: 'needs_response',
        evidenceDueBy: row!.evidence_due_by.toISOString(),
      },
    });
    expect(rx.deliveries.every((d) => /^t=\d+,v1=[0-9a-f]{64}$/.test(d.signature ?? ''))).toBe(true);

    const req = {
      disputeId: `dp_${newId('pay').slice(4)}`,
      providerDisputeId: row!.id,
      paymentId,
      providerReference: reference,
      text: 'winning_evidence',
      files: [{ name: 'r.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF') }],
    };
    await expect(provider.submitDisputeEvidence(req)).resolves.toEqual({ status: 'under_review' });
    await expect(provider.submitDisputeEvidence(req)).resolves.toEqual({ status: 'under_review' });
    const [after] = await disputeOf(reference);
    expect(after).toMatchObject({ evidence_requests: 2, evidence_submissions: 1 });

    // The update is due now, the decision a moment later: now, only the update goes out.
    await sender.drainOnce();
    const ofThis = () => rx.events.filter((e) => e.dispute?.providerDisputeId === row!.id);
    expect(ofThis().map((e) => [e.kind, e.dispute?.status])).toEqual([
      ['dispute.opened', 'needs_response'],
      ['dispute.updated', 'under_review'],
    ]);
    // The decision, once due (the sender's clock moved on, no waiting here).
    const later = createSandboxWebhookSender({
      ...scope,
      pool,
      url: rx.url,
      secret: SECRET,
      now: () => new Date(Date.now() + 5_000),
    });
    await later.drainOnce();
    expect(ofThis().map((e) => [e.kind, e.dispute?.status])).toEqual([
      ['dispute.opened', 'needs_response'],
      ['dispute.updated', 'under_review'],
      ['dispute.closed', 'won'],
    ]);
    // Each event delivered once, each with its own id.
    expect(new Set(ofThis().map((e) => e.eventId)).size).toBe(3);
    expect((await outboxOf(row!.id)).every((o) => o.delivered_at !== null && o.attempts === 1)).toBe(true);
  } finally {
    await sender.stop();
    await rx.close();
  }
});

test('accepting: once, announced as dispute.closed accepted; evidence afterwards changes nothing', async () => {
  const { paymentId, reference } = await capture(41300);
  const [row] = await disputeOf(reference);
  const ids = {
    disputeId: `dp_${newId('pay').slice(4)}`,
    providerDisputeId: row!.id,
    paymentId,
    providerReference: reference,
  };
  await expect(provider.acceptDispute(ids)).resolves.toEqual({ status: 'accepted' });
  await expect(provider.acceptDispute(ids)).resolves.toEqual({ status: 'accepted' });
  await expect(
    provider.submitDisputeEvidence({ ...ids, text: 'losing_evidence', files: [] }),
  ).resolves.toEqual({
    status: 'accepted',
  });
  const [after] = await disputeOf(reference);
  expect(after).toMatchObject({ status: 'accepted', accept_requests: 2, evidence_submissions: 0 });
  expect((await outboxOf(row!.id)).map((o) => o.type)).toEqual(['dispute.opened', 'dispute.closed']);
});

test('an unknown dispute is an invalid request', async () => {
  await expect(
    provider.acceptDispute({
      disputeId: 'dp_x',
      providerDisputeId: 'sbxdp_nope',
      paymentId: 'pay_x',
      providerReference: 'sbx_x',
    }),
  ).rejects.toMatchObject({ failureType: 'ProviderInvalidRequest' });
});

test('a dead receiver never blocks captures; its events go out with backoff once it is back', async () => {
  const port = await freePort();
  const sender = createSandboxWebhookSender({
    ...scope,
    pool,
    url: `http://127.0.0.1:${port}/webhooks/sandbox`,
    secret: SECRET,
    timeoutMs: 1_000,
  });
  const { reference } = await capture(41300); // the capture itself never waits for delivery
  const [row] = await disputeOf(reference);
  await sender.drainOnce();
  const [failed] = await outboxOf(row!.id);
  expect(failed).toMatchObject({ delivered_at: null, attempts: 1 });
  expect(failed!.last_error).toBe('ECONNREFUSED');
  // Not due again before its backoff, even with a live receiver.
  const rx = await receiver(port);
  try {
    await sender.drainOnce();
    expect(rx.events.filter((e) => e.dispute?.providerDisputeId === row!.id)).toHaveLength(0);
    const later = createSandboxWebhookSender({
      ...scope,
      pool,
      url: rx.url,
      secret: SECRET,
      now: () => new Date(Date.now() + 5_000),
    });
    await later.drainOnce();
    expect(rx.events.filter((e) => e.dispute?.providerDisputeId === row!.id).map((e) => e.kind)).toEqual([
      'dispute.opened',
    ]);
    expect((await outboxOf(row!.id))[0]).toMatchObject({ attempts: 2, last_error: null });
  } finally {
    await sender.stop();
    await rx.close();
  }
});

test('a delivery signed with another secret is refused by the receiving side', async () => {
  const rx = await receiver();
  const forger = createSandboxWebhookSender({
    ...scope,
    pool,
    url: rx.url,
    secret: `${SECRET}-wrong`,
  });
  try {
    const { reference } = await capture(41300);
    const [row] = await disputeOf(reference);
    await forger.drainOnce();
    expect(rx.events.filter((e) => e.dispute?.providerDisputeId === row!.id)).toHaveLength(0);
    expect(rx.deliveries.some((d) => d.status === 400)).toBe(true);
    expect((await outboxOf(row!.id))[0]).toMatchObject({ delivered_at: null, last_error: 'HTTP 400' });
  } finally {
    await forger.stop();
    await rx.close();
  }
});
