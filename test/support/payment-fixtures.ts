/** Workflow-state fixtures shared by the workflow tests. */
import type { PaymentState } from '../../domain/payment';

const DAY = 24 * 60 * 60 * 1000;

/** A payment resumed (continue-as-new style) after capturing 400 of 1000, 600 still capturable. */
export function partiallyCapturedState(createdAt: string): PaymentState {
  return {
    status: 'partially_captured',
    amount: 1000,
    amountCapturable: 600,
    amountCaptured: 400,
    amountRefunded: 0,
    providerReference: 'sbx_ref',
    declineCode: null,
    authorizationExpiresAt: new Date(Date.parse(createdAt) + 7 * DAY).toISOString(),
    captures: [{ n: 1, amount: 400, providerCaptureId: 'cap_1', at: createdAt }],
    refunds: [],
    updatedAt: createdAt,
    version: 3,
  };
}
