/**
 * The sandbox's webhooks (activities/providers/sandbox/webhook.ts): signed like Stripe's with
 * `Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, refused when the MAC does not match,
 * the timestamp is outside 300 s either way, or the body is not one of the sandbox's dispute events;
 * and the decision rules of its disputes (Stripe test mode's evidence texts).
 */
import { createHmac } from 'node:crypto';
import {
  normalizeSandboxEvent,
  signSandboxWebhook,
  verifySandboxWebhook,
  type SandboxEventBody,
} from '../../../activities/providers/sandbox/webhook';
import { sandboxDisputeStatus, sandboxEvidenceOutcome } from '../../../activities/providers/sandbox/disputes';
import { backoffSeconds } from '../../../activities/providers/sandbox/webhook-sender';
import { ProviderError } from '../../../activities/providers/types';

const SECRET = 'sbx_test_secret_0123456789abcdef0123';
const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const T = Math.floor(NOW / 1000);

const event: SandboxEventBody = {
  id: 'sbxevt_abc123',
  type: 'dispute.opened',
  created: T,
  data: {
    dispute: {
      id: 'sbxdp_d1',
      reference: 'sbx_r1',
      paymentId: 'pay_p1',
      amount: 41300,
      currency: 'USD',
      reason: 'fraudulent',
      status: 'needs_response',
      evidenceDueBy: new Date(NOW + 7 * 86_400_000).toISOString(),
    },
  },
};
const body = Buffer.from(JSON.stringify(event));

test('the header is t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>', () => {
  const mac = createHmac('sha256', SECRET).update(`${T}.${body.toString()}`).digest('hex');
  expect(signSandboxWebhook(body, SECRET, T)).toBe(`t=${T},v1=${mac}`);
});

test('a signed event is verified and normalized, with the dispute and the payment it names', () => {
  const e = verifySandboxWebhook(
    body,
    { 'sandbox-signature': signSandboxWebhook(body, SECRET, T) },
    SECRET,
    NOW,
  );
  expect(e).toMatchObject({
    provider: 'sandbox',
    eventId: 'sbxevt_abc123',
    kind: 'dispute.opened',
    providerReference: 'sbx_r1',
    paymentId: 'pay_p1',
    amount: 41300,
    occurredAt: new Date(NOW).toISOString(),
    dispute: {
      providerDisputeId: 'sbxdp_d1',
      amount: 41300,
      currency: 'USD',
      reason: 'fraudulent',
      status: 'needs_response',
      evidenceDueBy: event.data.dispute.evidenceDueBy,
    },
  });
});

test.each([
  ['no header', {}],
  ['another secret', { 'Sandbox-Signature': signSandboxWebhook(body, `${SECRET}x`, T) }],
  ['a stale timestamp', { 'Sandbox-Signature': signSandboxWebhook(body, SECRET, T - 301) }],
  ['a future timestamp', { 'Sandbox-Signature': signSandboxWebhook(body, SECRET, T + 301) }],
  ['a malformed header', { 'Sandbox-Signature': 'v1=abc' }],
])('refused with %s', (_what, headers) => {
  expect(() => verifySandboxWebhook(body, headers, SECRET, NOW)).toThrow(ProviderError);
});

test('a changed body no longer matches its signature', () => {
  const header = signSandboxWebhook(body, SECRET, T);
  const changed = Buffer.from(body.toString().replace('41300', '41301'));
  expect(() => verifySandboxWebhook(changed, { 'Sandbox-Signature': header }, SECRET, NOW)).toThrow(
    /does not match/,
  );
});

test('without a configured secret nothing is accepted', () => {
  expect(() => verifySandboxWebhook(body, { 'Sandbox-Signature': 'x' }, undefined, NOW)).toThrow(
    ProviderError,
  );
});

test.each([
  ['an unknown type', { ...event, type: 'payment.captured' }],
  ['a bad status', { ...event, data: { dispute: { ...event.data.dispute, status: 'pending' } } }],
  ['a negative amount', { ...event, data: { dispute: { ...event.data.dispute, amount: -1 } } }],
  ['no dispute', { id: event.id, type: event.type, created: T }],
])('a signed body with %s is refused, not stored altered', (_what, e) => {
  expect(() => normalizeSandboxEvent(e)).toThrow(ProviderError);
});

test.each([
  ['winning_evidence', 'won'],
  ['losing_evidence', 'lost'],
  ['  winning_evidence\n', 'won'],
  ['a receipt', undefined],
])('evidence text %j decides %s', (text, outcome) => {
  expect(sandboxEvidenceOutcome(text)).toBe(outcome);
});

test('a decision takes effect at its time, not before', () => {
  const row = { status: 'under_review' as const, outcome: 'won' as const, decides_at: new Date(NOW) };
  expect(sandboxDisputeStatus(row, new Date(NOW - 1))).toBe('under_review');
  expect(sandboxDisputeStatus(row, new Date(NOW))).toBe('won');
});

test('delivery retries back off from 1 s, doubling, capped at 10 minutes', () => {
  expect([0, 1, 2, 5, 9, 10, 30].map(backoffSeconds)).toEqual([1, 2, 4, 32, 512, 600, 600]);
});
