/**
 * The authorization step with routing and failover (issue 4), called by paymentWorkflow.
 *
 * Steps
 *   1. routeAuthorization (card-data worker): the merchant's ordered, enabled providers; the request's
 *      explicit provider first. A routing failure falls back to the payment's provider alone.
 *   2. authorize at each provider in order. Every provider but the last gets the short
 *      `authorizeFailover` option set; the last gets the durable `authorize` set (so with one provider
 *      the behaviour is exactly the pre-failover one). Only UNAVAILABILITY moves on to the next
 *      provider: ProviderUnavailable (5xx, connection errors, circuit open), ProviderOutcomeUnknown,
 *      activity timeouts. A decline is an answer and never fails over; invalid requests and missing
 *      cards fail the payment.
 *   3. compensation: every provider tried before the winner may hold an authorization whose answer
 *      was lost. A child workflow `release-<pay>-<provider>` (ABANDON: it outlives this step) syncs with
 *      that provider and voids what it finds, retrying until the provider answers, so the customer
 *      ends up held once, by the winner.
 * Returns the result and the provider that gave it (the payment's `provider` from then on).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  TimeoutFailure,
  patched,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { AuthorizeArgs, createCardActivities } from '../activities/card-activities';
import type { createRoutingActivities } from '../activities/providers/routing';
import type { AuthorizeResult } from '../activities/providers/types';
import type { PaymentInput } from '../domain/payment';
import { FAILURE_TYPES } from '../domain/errors';
import * as options from './activity-options';
import { SA_PROVIDER } from './search-attributes';

type CardActs = ReturnType<typeof createCardActivities>;
type RoutingActs = ReturnType<typeof createRoutingActivities>;

const FAILOVER_TYPES: ReadonlySet<string> = new Set([
  FAILURE_TYPES.ProviderUnavailable,
  FAILURE_TYPES.ProviderOutcomeUnknown,
  FAILURE_TYPES.InternalError,
]);

/** Did the provider fail to give an answer (as opposed to giving one we do not like)? */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) return true;
  if (cause instanceof ApplicationFailure) return FAILOVER_TYPES.has(cause.type ?? '');
  return false;
}

export async function authorizeWithFailover(
  input: PaymentInput,
  args: Omit<AuthorizeArgs, 'provider'>,
): Promise<{ result: AuthorizeResult; provider: string }> {
  const card = (opts: typeof options.authorize) =>
    proxyActivities<CardActs & RoutingActs>({ ...opts, taskQueue: input.cardTaskQueue });

  // Histories recorded before failover existed authorize at input.provider directly.
  if (!patched('provider-failover')) {
    const result = await card(options.authorize).authorizePayment({ ...args, provider: input.provider });
    return { result, provider: input.provider };
  }

  let route: string[];
  try {
    route = await card(options.routing).routeAuthorization({
      clientId: input.clientId,
      requested: input.requestedProvider,
      preferred: input.provider,
    });
  } catch {
    route = [];
  }
  if (route.length === 0) route = [input.provider];

  const tried: string[] = [];
  const release = async (except: string) => {
    for (const p of tried.filter((x) => x !== except)) {
      try {
        await startChild(releaseHoldWorkflow, {
          workflowId: `release-${input.paymentId}-${p}`,
          args: [{ paymentId: input.paymentId, provider: p, cardTaskQueue: input.cardTaskQueue }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
  };

  for (let i = 0; i < route.length; i++) {
    const provider = route[i]!;
    const last = i === route.length - 1;
    tried.push(provider);
    try {
      const result = await card(last ? options.authorize : options.authorizeFailover).authorizePayment({
        ...args,
        provider,
      });
      if (provider !== input.provider) upsertSearchAttributes([{ key: SA_PROVIDER, value: provider }]);
      await release(provider);
      return { result, provider };
    } catch (err) {
      if (last || !isUnavailable(err)) {
        // paymentWorkflow's own catch releases input.provider; the others are released here.
        await release(input.provider);
        throw err;
      }
    }
  }
  throw new Error('unreachable: the last provider either answers or throws');
}

/**
 * Compensation for one provider tried during failover: sync + void if it authorized after all.
 * `compensation` retries without a deadline, so a provider that is still down is asked again later.
 */
export async function releaseHoldWorkflow(a: {
  paymentId: string;
  provider: string;
  cardTaskQueue: string;
}): Promise<boolean> {
  const acts = proxyActivities<CardActs>({ ...options.compensation, taskQueue: a.cardTaskQueue });
  return acts.releaseIfAuthorized({ paymentId: a.paymentId, provider: a.provider });
}
