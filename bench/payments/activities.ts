/**
 * No-op activities for the payments bench's ceiling workflows (bench/payments/workflows.ts): each
 * returns at once what the real one would return, so a ceiling measures Temporal's cost of the shape
 * and nothing else.
 */
import type { EventRecord } from '../../domain/merchant-event';
import type { PaymentStep, PaymentView } from '../../domain/payment';

export function createNoopActivities() {
  return {
    async commitPaymentStep(_step: PaymentStep): Promise<void> {},
    async projectPayment(_a: { clientId: string; view: PaymentView; version: number }): Promise<void> {},
    async recordEvent(_e: EventRecord): Promise<void> {},
    async routeAuthorization(a: { preferred: string }): Promise<string[]> {
      return Promise.resolve([a.preferred]);
    },
    async authorizePayment(a: {
      paymentId: string;
      provider: string;
      amount: number;
      currency: string;
    }): Promise<{ outcome: 'authorized'; providerReference: string }> {
      return Promise.resolve({ outcome: 'authorized', providerReference: `sbx_${a.paymentId}` });
    },
    async capturePayment(a: {
      paymentId: string;
      providerReference: string;
      amount: number;
    }): Promise<{ providerCaptureId: string; amount: number }> {
      return Promise.resolve({ providerCaptureId: `cap_${a.paymentId}`, amount: a.amount });
    },
    async providerCall(a: { op: string; paymentId: string; amount: number }): Promise<{ reference: string }> {
      return Promise.resolve({ reference: `${a.op}_${a.paymentId}` });
    },
  };
}
