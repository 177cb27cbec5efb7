/**
 * disputeWorkflow's messages (its input, the provider-event signal, the updates, the query, their
 * failure type) and the ids it derives: what the API and the tests share with the workflow.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DisputeStatus, DisputeView } from '../domain/dispute';
import { FAILURE_TYPES } from '../domain/errors';

export interface DisputeInput {
  /** `dp_...`, derived by the API from (provider, provider dispute id). */
  disputeId: string;
  clientId: string;
  paymentId: string;
  provider: string;
  providerDisputeId: string;
  /** The payment at the provider (charge / transaction id). */
  providerReference: string;
  amount: number;
  currency: string;
  reason: string;
  /** RFC 3339: the provider's due date, else the opening + 7 days (decided by the API). */
  evidenceDueBy: string;
  createdAt: string;
  /** Task queue of the card-data worker, which calls the provider (workflows never read env). */
  cardTaskQueue: string;
}

/** A provider's report about the dispute (webhook), signalled by the API. */
export interface DisputeEventSignal {
  /** `<provider>:<provider event id>`, for the workflow's history. */
  eventId: string;
  status: DisputeStatus;
  occurredAt: string;
}

export interface SubmitEvidenceRequest {
  text: string;
  /** Evidence files stored encrypted by the API (dispute_evidence_files): ids only, never content. */
  fileIds: string[];
}

/** The card-data worker's dispute activities (activities/card-activities.ts). */
export interface DisputeProviderCall {
  disputeId: string;
  provider: string;
  providerDisputeId: string;
  paymentId: string;
  providerReference: string;
}
export type DisputeCardActivities = {
  submitDisputeEvidence(
    a: DisputeProviderCall & { text: string; fileIds: string[] },
  ): Promise<{ status: DisputeStatus }>;
  acceptDispute(a: DisputeProviderCall): Promise<{ status: DisputeStatus }>;
};

/**
 * The payment workflow's answer to a `paymentDispute` signal: it judged that move (applied it, found
 * it applied already, or refused it). Until it comes, the dispute sends the move again: a payment
 * still running on a build without the dispute handler drops the signal (workflows/dispute.ts).
 */
export interface DisputeFundsApplied {
  disputeId: string;
  action: 'withdraw' | 'reinstate';
  outcome: 'applied' | 'already' | 'refused';
}

/** Patch of both workflows: the payment answers each fund move, the dispute sends it until answered. */
export const DISPUTE_FUNDS_CONFIRMED_PATCH = 'dispute-funds-confirmed';

export const disputeEventSignal = defineSignal<[DisputeEventSignal]>('disputeEvent');
export const disputeFundsAppliedSignal = defineSignal<[DisputeFundsApplied]>('disputeFundsApplied');
export const submitEvidenceUpdate = defineUpdate<DisputeView, [SubmitEvidenceRequest]>('submitEvidence');
export const acceptDisputeUpdate = defineUpdate<DisputeView>('accept');
export const getDisputeQuery = defineQuery<DisputeView>('getDispute');

/** The failure type of a refused update; the API answers it 409 (domain/errors.ts UPDATE_FAILURE_ANSWERS). */
export const DISPUTE_UPDATE_FAILURE = FAILURE_TYPES.DisputeConflict;

export const disputeWorkflowId = (disputeId: string) => `dispute-${disputeId}`;

/** `evt_<dispute id body>d<version>`: one event per step, stable across retries and replay. */
export const disputeEventId = (disputeId: string, version: number) =>
  `evt_${disputeId.replace(/^dp_/, '')}d${version}`;
