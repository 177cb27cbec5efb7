/**
 * The ONE provider scenario suite (hyperswitch style): every PaymentProvider, whatever sits behind it,
 * must behave the same way for these flows. Each provider's test file only says how to build the
 * provider and how to trigger a decline or a fault at that provider:
 *
 *   describeProviderScenarios('sandbox', async () => ({
 *     provider: createSandboxProvider({ ... }),
 *     card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' },
 *     decline: { card: { ...declining test card... }, expectedCode: 'card_declined' },
 *     faults: { failNext, loseNextAuthorizationResponse, reset },
 *     countAuthorizations: async (paymentId) => ...,
 *     cleanup: async () => {},
 *   }));
 *
 * Scenarios assert on data the provider reports back through `sync` (statuses, amounts, counts of
 * captures and refunds) and on provider-side objects counted by the setup.
 */
import { newId } from '../../../domain/ids';
import { FAILURE_TYPES } from '../../../domain/errors';
import { ProviderError, type DeclineCode, type PaymentProvider } from '../../../activities/providers/types';
import type { CardData } from '../../../domain/card';

export interface ScenarioFaults {
  /** The next `count` requests to the provider answer HTTP `status` (default 500) and have no effect. */
  failNext(count: number, status?: number): void;
  /** The next authorization reaches the provider and takes effect, but its response is lost (client timeout). */
  loseNextAuthorizationResponse(): void;
  reset(): void;
}

export interface ProviderScenarioEnv {
  provider: PaymentProvider;
  /** A card the provider approves (a documented test card). */
  card: CardData;
  /** Currency and amount (minor units) for approved payments. Defaults: USD 10000. */
  currency?: string;
  amount?: number;
  /** How this provider is made to decline, and the DeclineCode it must report. */
  decline: { card?: CardData; amount?: number; expectedCode: DeclineCode };
  /** Required: every provider, the sandbox included, must pass the outage and timeout scenarios. */
  faults: ScenarioFaults;
  /** Provider-side authorizations (payment objects) that exist for our payment id. */
  countAuthorizations(paymentId: string): Promise<number>;
  cleanup(): Promise<void>;
}

/** Await a promise that must reject with a ProviderError; return that error. */
export async function providerFailure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw new Error('expected a ProviderError', { cause: err });
  }
  throw new Error('expected the call to fail');
}

export function describeProviderScenarios(name: string, setup: () => Promise<ProviderScenarioEnv>): void {
  describe(`provider scenarios: ${name}`, () => {
    jest.setTimeout(30_000);
    let env: ProviderScenarioEnv;
    let p: PaymentProvider;
    let currency: string;
    let amount: number;

    beforeAll(async () => {
      env = await setup();
      p = env.provider;
      currency = env.currency ?? 'USD';
      amount = env.amount ?? 10_000;
    });
    afterEach(() => env?.faults?.reset());
    afterAll(async () => {
      await env?.cleanup();
    });

    async function authorize(
      paymentId: string,
      capture: 'manual' | 'automatic',
      amt = amount,
      card = env.card,
    ) {
      return p.authorize({
        paymentId,
        idempotencyKey: `${paymentId}:authorize`,
        amount: amt,
        currency,
        capture,
        card,
      });
    }

    async function authorized(capture: 'manual' | 'automatic', amt = amount) {
      const paymentId = newId('pay');
      const r = await authorize(paymentId, capture, amt);
      if (r.outcome !== 'authorized') throw new Error(`expected authorization, got ${r.outcome}`);
      return { paymentId, ref: r.providerReference, result: r };
    }

    it('authorizes with manual capture: money held, nothing captured', async () => {
      const { paymentId, ref, result } = await authorized('manual');
      expect(result.captured).toBe(false);
      expect(typeof ref).toBe('string');
      const snap = await p.sync({ paymentId, providerReference: ref });
      expect(snap).toMatchObject({
        found: true,
        providerReference: ref,
        status: 'authorized',
        amountAuthorized: amount,
        amountCaptured: 0,
      });
      expect(await env.countAuthorizations(paymentId)).toBe(1);
    });

    it('authorizes and captures in one call with automatic capture', async () => {
      const { paymentId, ref, result } = await authorized('automatic');
      expect(result.captured).toBe(true);
      const snap = await p.sync({ paymentId, providerReference: ref });
      expect(snap).toMatchObject({
        found: true,
        status: 'captured',
        amountCaptured: amount,
        amountRefunded: 0,
      });
    });

    it('captures part of an authorization', async () => {
      const { paymentId, ref } = await authorized('manual');
      const part = Math.floor(amount * 0.6);
      const cap = await p.capture({
        paymentId,
        providerReference: ref,
        idempotencyKey: `${paymentId}:capture:1`,
        amount: part,
        currency,
        final: true,
      });
      expect(cap.amount).toBe(part);
      expect(typeof cap.providerCaptureId).toBe('string');
      const snap = await p.sync({ paymentId, providerReference: ref });
      expect(snap).toMatchObject({ status: 'captured', amountAuthorized: amount, amountCaptured: part });
      expect(snap.captures?.map((c) => c.amount)).toEqual([part]);
    });

    it('voids an authorization, and a retried void is harmless', async () => {
      const { paymentId, ref } = await authorized('manual');
      await p.void({ paymentId, providerReference: ref, idempotencyKey: `${paymentId}:void` });
      await p.void({ paymentId, providerReference: ref, idempotencyKey: `${paymentId}:void` });
      const snap = await p.sync({ paymentId, providerReference: ref });
      expect(snap).toMatchObject({ status: 'voided', amountCaptured: 0 });
    });

    it('refunds a captured payment in full', async () => {
      const { paymentId, ref } = await authorized('automatic');
      const refundId = newId('re');
      const r = await p.refund({
        paymentId,
        refundId,
        providerReference: ref,
        idempotencyKey: `${paymentId}:refund:${refundId}`,
        amount,
        currency,
      });
      expect(['succeeded', 'pending']).toContain(r.status);
      expect(typeof r.providerRefundId).toBe('string');
      const snap = await p.sync({ paymentId, providerReference: ref });
      expect(snap).toMatchObject({ amountCaptured: amount, amountRefunded: amount });
      expect(snap.refunds).toHaveLength(1);
    });

    it('makes several partial refunds, each once', async () => {
      const { paymentId, ref } = await authorized('automatic');
      const parts = [Math.floor(amount * 0.3), Math.floor(amount * 0.2)];
      const ids: string[] = [];
      for (const part of parts) {
        const refundId = newId('re');
        const r = await p.refund({
          paymentId,
          refundId,
          providerReference: ref,
          idempotencyKey: `${paymentId}:refund:${refundId}`,
          amount: part,
          currency,
        });
        ids.push(r.providerRefundId);
      }
      expect(new Set(ids).size).toBe(2);
      const snap = await p.sync({ paymentId, providerReference: ref });
      expect(snap.amountRefunded).toBe(parts[0]! + parts[1]!);
      expect(snap.refunds?.map((r) => r.amount).sort((a, b) => a - b)).toEqual(
        [...parts].sort((a, b) => a - b),
      );
    });

    it('reports a decline as a result with the provider-specific DeclineCode', async () => {
      const paymentId = newId('pay');
      const card = env.decline.card ?? env.card;
      const r = await authorize(paymentId, 'manual', env.decline.amount ?? amount, card);
      expect(r.outcome).toBe('declined');
      if (r.outcome !== 'declined') return;
      expect(r.declineCode).toBe(env.decline.expectedCode);
      expect(r.message).not.toContain(card.number);
      const snap = await p.sync({ paymentId, providerReference: r.providerReference });
      // A provider may keep no object for a decline; if it does, it must say "declined", nothing held.
      if (snap.found) expect(snap).toMatchObject({ status: 'declined', amountCaptured: 0 });
    });

    it('resolves a lost authorization response by sync: one authorization, found by payment id', async () => {
      const paymentId = newId('pay');
      env.faults.loseNextAuthorizationResponse();
      const err = await providerFailure(authorize(paymentId, 'manual'));
      expect(err.failureType).toBe(FAILURE_TYPES.ProviderOutcomeUnknown);
      expect(err.message).not.toContain(env.card.number);

      // What the workflow does next: ask the provider (no reference known) before sending anything.
      const snap = await p.sync({ paymentId });
      expect(snap).toMatchObject({
        found: true,
        status: 'authorized',
        amountAuthorized: amount,
        amountCaptured: 0,
      });
      expect(typeof snap.providerReference).toBe('string');
      expect(await env.countAuthorizations(paymentId)).toBe(1);

      // The authorization found is a normal one: it can be voided (compensation) through its reference.
      await p.void({
        paymentId,
        providerReference: snap.providerReference!,
        idempotencyKey: `${paymentId}:void`,
      });
      expect((await p.sync({ paymentId })).status).toBe('voided');
      expect(await env.countAuthorizations(paymentId)).toBe(1);
    });

    it('reports an outage (5xx) as ProviderUnavailable, then recovers without a duplicate', async () => {
      const paymentId = newId('pay');
      env.faults.failNext(1, 503);
      const err = await providerFailure(authorize(paymentId, 'manual'));
      expect(err.failureType).toBe(FAILURE_TYPES.ProviderUnavailable);
      expect(err.message).not.toContain(env.card.number);
      expect(await env.countAuthorizations(paymentId)).toBe(0);

      env.faults.failNext(1, 500);
      expect((await providerFailure(authorize(paymentId, 'manual'))).failureType).toBe(
        FAILURE_TYPES.ProviderUnavailable,
      );

      // The retry (same idempotency key) succeeds once the provider is back.
      const r = await authorize(paymentId, 'manual');
      expect(r.outcome).toBe('authorized');
      expect(await env.countAuthorizations(paymentId)).toBe(1);
    });
  });
}
