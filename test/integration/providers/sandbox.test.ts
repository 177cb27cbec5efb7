/**
 * The shared provider scenario suite against the built-in sandbox provider (real PostgreSQL books).
 *
 * The sandbox's own fault triggers are amounts (activities/providers/sandbox/transformers.ts), but the
 * shared suite injects faults for ANY amount, as the localstripe proxy and the gateway emulator do
 * for the SDK providers. The sandbox is in-process (no HTTP hop to sit in between), so the faults sit
 * at its call boundary instead: `failNext` answers ProviderUnavailable WITHOUT reaching the sandbox
 * (no effect, like a 5xx before processing), and `loseNextAuthorizationResponse` lets the real
 * authorization take effect in the sandbox tables and then loses the answer (ProviderOutcomeUnknown),
 * like a client timeout. Provider-side objects are counted in sandbox_transactions.
 */
import { createSandboxProvider } from '../../../activities/providers/sandbox/adapter';
import { ProviderError, type PaymentProvider } from '../../../activities/providers/types';
import { createPool, type Pool } from '../../../db/pool';
import { testEnv } from '../../support/stack';
import { describeProviderScenarios } from './scenarios';

function withFaults(p: PaymentProvider) {
  let failing: Array<number> = [];
  let loseAuthorization = false;
  const gate = () => {
    const status = failing.shift();
    if (status !== undefined)
      throw ProviderError.unavailable('sandbox', `sandbox answered HTTP ${status}`, status);
  };
  const provider: PaymentProvider = {
    name: p.name,
    async authorize(r) {
      gate();
      const res = await p.authorize(r);
      if (loseAuthorization) {
        loseAuthorization = false;
        throw ProviderError.unknownOutcome('sandbox', 'the sandbox response was lost (timeout)');
      }
      return res;
    },
    capture: async (r) => (gate(), p.capture(r)),
    void: async (r) => (gate(), p.void(r)),
    refund: async (r) => (gate(), p.refund(r)),
    sync: async (r) => (gate(), p.sync(r)),
    submitDisputeEvidence: async (r) => (gate(), p.submitDisputeEvidence(r)),
    acceptDispute: async (r) => (gate(), p.acceptDispute(r)),
    parseWebhook: (b, h) => p.parseWebhook(b, h),
  };
  return {
    provider,
    faults: {
      failNext(count: number, status = 500) {
        failing = [...failing, ...Array.from({ length: count }, () => status)];
      },
      loseNextAuthorizationResponse() {
        loseAuthorization = true;
      },
      reset() {
        failing = [];
        loseAuthorization = false;
      },
    },
  };
}

let pool: Pool | undefined;

describeProviderScenarios('sandbox', () => {
  pool = createPool(testEnv().databaseUrl, 'settle-test-sandbox', 3);
  const { provider, faults } = withFaults(createSandboxProvider({ pool }));
  const db = pool;
  return Promise.resolve({
    provider,
    card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' },
    // The sandbox declines by amount (its documented trigger), whatever the test card.
    decline: { amount: 40002, expectedCode: 'card_declined' },
    faults,
    async countAuthorizations(paymentId: string) {
      const r = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM sandbox_transactions WHERE payment_id = $1 AND status <> 'declined'`,
        [paymentId],
      );
      return r.rows[0]?.n ?? 0;
    },
    async cleanup() {
      await db.end();
    },
  });
});
