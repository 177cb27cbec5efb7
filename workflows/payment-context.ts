/**
 * What a paymentWorkflow handler kept in its own file (provider events, repairs) gets from the
 * workflow: its input, its current state and provider, the operation queue and the one commit.
 */
import type { EventRecord } from '../domain/merchant-event';
import type { PaymentInput, PaymentState, RefundRecord } from '../domain/payment';
import type { Serial } from './serial';

export interface PaymentContext {
  input: PaymentInput;
  state: () => PaymentState;
  /** The provider holding the payment (after failover, the winner): only it speaks for it. */
  provider: () => string;
  serial: Serial;
  /** The payment workflow's commit: state, projection, refund and events in one step. */
  commit: (
    next: PaymentState,
    extra: {
      refund?: RefundRecord;
      events?: (at: string) => EventRecord[];
      /** No `payment.<status>` event when the status stays the same (a dispute's fund movement). */
      silent?: boolean;
    },
  ) => Promise<void>;
}
