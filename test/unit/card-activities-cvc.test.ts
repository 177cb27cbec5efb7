/**
 * PCI DSS 3.3.1.2: the CVC is destroyed on every path that ends an authorization attempt: a fresh
 * approval or decline, an outcome found by the sync of a retry (approved or declined), a
 * non-retryable failure. A retryable failure keeps it (the retry or the failover provider needs it;
 * the vault's one-hour sweep bounds it), and a destroy that fails is never swallowed: the activity
 * fails retryably and the retry (which syncs first) destroys it.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import { createCardActivities, type AuthorizeArgs } from '../../activities/card-activities';
import { createProviderRegistry } from '../../activities/providers/registry';
import {
  ProviderError,
  type AuthorizeResult,
  type PaymentProvider,
  type ProviderPaymentSnapshot,
} from '../../activities/providers/types';
import type { Vault } from '../../vault/vault';

const none = () => undefined;
const quiet: Logger = { log: none, trace: none, debug: none, info: none, warn: none, error: none };

const ARGS: AuthorizeArgs = {
  paymentId: 'pay_cvc',
  provider: 'sandbox',
  token: 'tok_cvc',
  amount: 1000,
  currency: 'USD',
  capture: 'manual',
};

const approved: AuthorizeResult = {
  outcome: 'authorized',
  providerReference: 'ref_1',
  captured: false,
  captureBefore: undefined,
};
const declined: AuthorizeResult = {
  outcome: 'declined',
  providerReference: 'ref_1',
  declineCode: 'card_declined',
  message: 'The card was declined',
};

function setup(opts: {
  authorize?: () => Promise<AuthorizeResult>;
  sync?: ProviderPaymentSnapshot;
  destroyFailures?: number;
}) {
  const destroyed: string[] = [];
  let failuresLeft = opts.destroyFailures ?? 0;
  const authorize = jest.fn(opts.authorize ?? (() => Promise.resolve(approved)));
  const provider = {
    name: 'sandbox',
    authorize,
    sync: jest.fn(() => Promise.resolve(opts.sync ?? { found: false })),
  } as unknown as PaymentProvider;
  const vault = {
    reveal: jest.fn(() => Promise.resolve({ number: 'n', expMonth: 12, expYear: 2040, cvc: '123' })),
    destroyCvc: jest.fn((token: string) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        return Promise.reject(new Error('connection terminated'));
      }
      destroyed.push(token);
      return Promise.resolve();
    }),
  } as unknown as Vault;
  const acts = createCardActivities({ vault, providers: createProviderRegistry([provider]) });
  const run = (attempt: number) =>
    new MockActivityEnvironment({ attempt }, { logger: quiet }).run(
      (a: AuthorizeArgs): Promise<AuthorizeResult> => acts.authorizePayment(a),
      ARGS,
    );
  return { run, destroyed, authorize };
}

test('a fresh approval destroys the CVC', async () => {
  const s = setup({});
  await expect(s.run(1)).resolves.toMatchObject({ outcome: 'authorized' });
  expect(s.destroyed).toEqual(['tok_cvc']);
});

test('a fresh decline destroys the CVC', async () => {
  const s = setup({ authorize: () => Promise.resolve(declined) });
  await expect(s.run(1)).resolves.toMatchObject({ outcome: 'declined' });
  expect(s.destroyed).toEqual(['tok_cvc']);
});

test.each([
  ['authorized', 'authorized'],
  ['captured', 'authorized'],
  ['declined', 'declined'],
] as const)(
  'a retry whose sync finds the authorization %s destroys the CVC without authorizing again',
  async (status, outcome) => {
    const s = setup({
      sync: { found: true, providerReference: 'ref_1', status },
    });
    await expect(s.run(2)).resolves.toMatchObject({ outcome });
    expect(s.authorize).not.toHaveBeenCalled();
    expect(s.destroyed).toEqual(['tok_cvc']);
  },
);

test('a non-retryable provider failure ends the attempt: the CVC is destroyed, the failure stays non-retryable', async () => {
  const s = setup({ authorize: () => Promise.reject(ProviderError.invalid('sandbox', 'bad request', 400)) });
  const err = await s.run(1).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'ProviderInvalidRequest', nonRetryable: true });
  expect(s.destroyed).toEqual(['tok_cvc']);
});

test('a retryable outage keeps the CVC for the retry or the failover provider', async () => {
  const s = setup({ authorize: () => Promise.reject(ProviderError.unavailable('sandbox', 'HTTP 503', 503)) });
  const err = await s.run(1).catch((e: unknown) => e);
  expect(err).toMatchObject({ type: 'ProviderUnavailable', nonRetryable: false });
  expect(s.destroyed).toEqual([]);
});

test('a destroy that fails fails the attempt retryably; the retry syncs and destroys the CVC', async () => {
  const s = setup({
    destroyFailures: 1,
    sync: { found: true, providerReference: 'ref_1', status: 'authorized' },
  });
  const err = await s.run(1).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ nonRetryable: false });
  expect(s.destroyed).toEqual([]);
  await expect(s.run(2)).resolves.toMatchObject({ outcome: 'authorized' });
  expect(s.authorize).toHaveBeenCalledTimes(1);
  expect(s.destroyed).toEqual(['tok_cvc']);
});
