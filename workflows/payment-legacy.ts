/**
 * The authorization step and the per-step writes of payments started before each step became one
 * local-activity transaction and before the API decided the route (patch `one-step-writes` in
 * workflows/payment.ts). Only histories recorded before that patch run this code; it keeps their
 * commands exactly as recorded (test/replay/histories/*.pre-one-step.json) until the last such
 * payment has closed (180 days after the deploy), then it can go with a `deprecatePatch`.
 *
 *   1. routeAuthorization (card-data worker): the merchant's ordered, enabled providers; a routing
 *      failure falls back to the payment's provider alone. (Before `provider-failover`: authorize at
 *      input.provider directly.)
 *   2. authorize at each provider in order: the short `authorizeFailover` set for all but the last,
 *      the durable `authorize` set for the last; only unavailability moves on (release-hold.ts).
 *   3. release children for every provider tried before the winner (or all but the payment's own
 *      provider on failure: paymentWorkflow releases that one with an activity).
 * Writes per step: projectRefund?, search attributes, projectPayment, recordEvent (payment), recordEvent
 * (others).
 */
import { patched, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { AuthorizeArgs, createCardActivities } from '../activities/card-activities';
import type { createRoutingActivities } from '../activities/providers/routing';
import type { AuthorizeResult } from '../activities/providers/types';
import type { PaymentInput, PaymentStep } from '../domain/payment';
import { FAILURE_TYPES } from '../domain/errors';
import * as options from './activity-options';
import { onCardQueue } from './card-queue';
import { isActivityFailure, isUnavailable, releaseHolds } from './release-hold';
import { SA_PROVIDER } from './search-attributes';

type CardActs = ReturnType<typeof createCardActivities>;
type RoutingActs = ReturnType<typeof createRoutingActivities>;

const acts = proxyActivities<ReturnType<typeof createActivities>>(options.projection);

/** A step's writes after its search attributes, as recorded histories hold them (refund: before). */
export async function legacyWrites(step: PaymentStep): Promise<void> {
  await acts.projectPayment({ clientId: step.clientId, view: step.view, version: step.version });
  for (const e of step.events) await acts.recordEvent(e);
}

export const legacyProjectRefund = (r: NonNullable<PaymentStep['refund']>) => acts.projectRefund(r);
export const legacyRecordEvent = (e: PaymentStep['events'][number]) => acts.recordEvent(e);

/**
 * The `processing` projection, written by the workflow in payments started before the API wrote it.
 * A value the database refused ended such a payment `failed` (patch `data-rejected-fails-payment`).
 */
export async function legacyProcessingStep(a: {
  clientId: string;
  view: PaymentStep['view'];
  version: number;
  failWithoutFreeText: () => Promise<void>;
}): Promise<void> {
  try {
    await acts.projectPayment({ clientId: a.clientId, view: a.view, version: a.version });
  } catch (err) {
    if (!isActivityFailure(err, FAILURE_TYPES.DataRejected) || !patched('data-rejected-fails-payment'))
      throw err;
    await a.failWithoutFreeText();
  }
}

export async function legacyAuthorize(
  input: PaymentInput,
  args: Omit<AuthorizeArgs, 'provider'>,
): Promise<{ result: AuthorizeResult; provider: string }> {
  const card = (opts: typeof options.authorize) =>
    onCardQueue<CardActs & RoutingActs>(input.cardTaskQueue, opts);

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
  const release = (except: string) =>
    releaseHolds({
      paymentId: input.paymentId,
      providers: tried.filter((x) => x !== except),
      cardTaskQueue: input.cardTaskQueue,
    });

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
        await release(input.provider);
        throw err;
      }
    }
  }
  throw new Error('unreachable: the last provider either answers or throws');
}
