/**
 * Authorization along the route (failover), and compensation for authorizations whose answer may
 * have been lost. A provider tried during an
 * authorization that did not give the payment its result (an unavailable one before failover moved
 * on, or every one tried when the payment failed) may still hold the customer's money: a child
 * workflow `release-<pay>-<provider>` (ABANDON: it outlives the payment's step) syncs with that
 * provider and voids what it finds, retrying until the provider answers.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  TimeoutFailure,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { AuthorizeArgs, createCardActivities } from '../activities/card-activities';
import type { AuthorizeResult } from '../activities/providers/types';
import type { PaymentInput } from '../domain/payment';
import { FAILURE_TYPES } from '../domain/errors';
import * as options from './activity-options';
import { onCardQueue } from './card-queue';

const FAILOVER_TYPES: ReadonlySet<string> = new Set([
  FAILURE_TYPES.ProviderUnavailable,
  FAILURE_TYPES.ProviderOutcomeUnknown,
  FAILURE_TYPES.InternalError,
]);

/** Did an activity fail with this failure type? */
export const isActivityFailure = (err: unknown, type: string): boolean =>
  err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === type;

/** Did the provider fail to give an answer (as opposed to giving one we do not like)? */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) return true;
  if (cause instanceof ApplicationFailure) return FAILOVER_TYPES.has(cause.type ?? '');
  return false;
}

/**
 * Authorize at each provider of the payment's route in turn (the API decided it from the merchant's
 * rule; absent: the payment's provider alone). Only an unavailable provider moves on to the next;
 * all but the last get the short `authorizeFailover` set. `mayHold` collects every provider that may
 * hold an authorization whose answer we do not have (the card left the vault for it).
 */
export async function authorizeOnRoute(
  input: PaymentInput,
  args: Omit<AuthorizeArgs, 'provider'>,
  mayHold: string[],
): Promise<{ result: AuthorizeResult; provider: string }> {
  const route = input.route?.length ? input.route : [input.provider];
  for (const [i, p] of route.entries()) {
    const last = i === route.length - 1;
    mayHold.push(p);
    try {
      const acts = onCardQueue<ReturnType<typeof createCardActivities>>(
        input.cardTaskQueue,
        last ? options.authorize : options.authorizeFailover,
      );
      return { result: await acts.authorizePayment({ ...args, provider: p }), provider: p };
    } catch (err) {
      // The card never left the vault: this provider holds nothing.
      if (isActivityFailure(err, FAILURE_TYPES.CardUnavailable)) mayHold.pop();
      if (last || !isUnavailable(err)) throw err;
    }
  }
  throw new Error('unreachable: the last provider either answers or throws');
}

/** Start one release child per provider (idempotent by workflow id). */
export async function releaseHolds(a: {
  paymentId: string;
  providers: readonly string[];
  cardTaskQueue: string;
}): Promise<void> {
  for (const provider of a.providers) {
    try {
      await startChild(releaseHoldWorkflow, {
        workflowId: `release-${a.paymentId}-${provider}`,
        args: [{ paymentId: a.paymentId, provider, cardTaskQueue: a.cardTaskQueue }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}

/**
 * Worker Versioning: PINNED, as the payment that starts it: it voids money at a provider, and it
 * ends as soon as the provider answers.
 */

/** Sync + void at one provider if it authorized after all; `compensation` retries without a deadline. */
export async function releaseHoldWorkflow(a: {
  paymentId: string;
  provider: string;
  cardTaskQueue: string;
}): Promise<boolean> {
  const acts = onCardQueue<ReturnType<typeof createCardActivities>>(a.cardTaskQueue, options.compensation);
  return acts.releaseIfAuthorized({ paymentId: a.paymentId, provider: a.provider });
}
