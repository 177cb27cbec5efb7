/**
 * Stripe-Signature guard (activities/providers/stripe/webhook.ts): our "not in the future" check must
 * read the same `t=` the SDK's verifier reads (the LAST one). Otherwise a header with a harmless first
 * `t=now` and a signed, pre-dated last `t=` passes both checks and stays replayable for as long as
 * the pre-dating lasts. Signatures come from the SDK's own test-header generator.
 */
import Stripe from 'stripe';
import { verifyStripeEvent } from '../../../activities/providers/stripe/webhook';

const SECRET = 'whsec_guard_test';
const NOW_MS = Date.UTC(2031, 0, 1, 12, 0, 0);
const now = Math.floor(NOW_MS / 1000);
const payload = JSON.stringify({
  id: 'evt_guard',
  object: 'event',
  type: 'payment_intent.succeeded',
  data: {},
});
const signed = (timestamp: number) =>
  Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET, timestamp });
const verify = (header: string) =>
  verifyStripeEvent(Stripe.webhooks, Buffer.from(payload), { 'stripe-signature': header }, [SECRET], NOW_MS);

test('a signed header from now is accepted', () => {
  expect(verify(signed(now)).id).toBe('evt_guard');
});

test('a pre-dated header is refused', () => {
  expect(() => verify(signed(now + 3600))).toThrow(/future/);
});

test('a pre-dated header behind a decoy first t= is refused (the SDK reads the last t=)', () => {
  const header = `t=${now},${signed(now + 3600)}`;
  expect(() => verify(header)).toThrow(/future|Malformed/);
});

test('a decoy last t= cannot make a stale signature look fresh', () => {
  const header = `${signed(now - 3600)},t=${now}`;
  expect(() => verify(header)).toThrow();
});
