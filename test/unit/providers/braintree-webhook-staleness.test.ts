/**
 * Braintree webhooks (API.md "Webhooks": bad or stale signatures are 400): a correctly signed
 * notification whose own timestamp is more than 5 minutes old (or ahead) is refused, like Stripe's
 * 300 s tolerance, so a captured notification cannot be replayed later. Notifications come from the
 * braintree SDK's own sampleNotification, signed with keys generated here; parsing is the SDK's.
 */
import { randomBytes } from 'node:crypto';
import braintree from 'braintree';
import {
  BRAINTREE_WEBHOOK_TOLERANCE_SECONDS,
  parseBraintreeWebhook,
} from '../../../activities/providers/braintree/webhook';
import { ProviderError } from '../../../activities/providers/types';

const KEYS = {
  merchantId: 'm_staleness',
  publicKey: randomBytes(8).toString('hex'),
  privateKey: randomBytes(16).toString('hex'),
};
const sdk = new braintree.BraintreeGateway({ environment: braintree.Environment.Sandbox, ...KEYS });

async function sample(): Promise<{ body: Buffer; at: number }> {
  const at = Date.now();
  const n = (await (sdk.webhookTesting.sampleNotification as (k: string, i: string) => unknown)(
    'transaction_settled',
    'txn_stale',
  )) as { bt_signature: string; bt_payload: string };
  return { body: Buffer.from(new URLSearchParams(n).toString()), at };
}
const parse = (body: Buffer, nowMs: number) => parseBraintreeWebhook(sdk.webhookNotification, body, nowMs);

test('the tolerance is 300 s, the same as Stripe', () => {
  expect(BRAINTREE_WEBHOOK_TOLERANCE_SECONDS).toBe(300);
});

test('a fresh notification is accepted', async () => {
  const { body, at } = await sample();
  await expect(parse(body, at + 60_000)).resolves.toMatchObject({ provider: 'braintree' });
});

test('a notification older than the tolerance is refused as invalid (400)', async () => {
  const { body, at } = await sample();
  const err = await parse(body, at + 6 * 60_000).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect(err).toMatchObject({ failureType: 'ProviderInvalidRequest', httpStatus: 400 });
  expect((err as Error).message).toMatch(/tolerance|stale/i);
});

test('a notification dated more than the tolerance ahead is refused too', async () => {
  const { body, at } = await sample();
  const err = await parse(body, at - 6 * 60_000).catch((e: unknown) => e);
  expect(err).toMatchObject({ failureType: 'ProviderInvalidRequest', httpStatus: 400 });
});
