/**
 * DisputeWorkflow: one dispute from the provider's opening to its outcome. Workflow id
 * `dispute-<dp_id>`, on the payment worker's queue. The API starts it with signal-with-start for
 * every provider `dispute.*` event (a duplicate or early webhook only signals it); later reports
 * arrive as signal `disputeEvent`. Every move goes through domain/dispute.ts.
 *
 * Steps
 *   1. commit `needs_response` + merchant event `dispute.created` (one local activity, one SQL
 *      statement: the dispute row and its event); then signal the payment workflow to WITHDRAW the
 *      disputed funds (payment-disputes.ts). A payment workflow that has closed cannot move funds
 *      any more: that is recorded on the dispute (`payment_closed`) and the dispute goes on.
 *   2. while needs_response: TIMERS for the reminders at evidenceDueBy - 7 d and - 2 d (those already
 *      past are skipped) -> `dispute.updated` with `reminder` in its data; and the DEADLINE timer at
 *      evidenceDueBy -> `lost` + `dispute.closed` when no evidence came.
 *      Update `submitEvidence` (validator: needs_response and before evidenceDueBy) -> card-data
 *      worker `submitDisputeEvidence` (key `<dp>:evidence`) -> `under_review`, evidenceSubmittedAt,
 *      `dispute.updated`. Update `accept` -> card-data worker `acceptDispute` (key `<dp>:accept`) ->
 *      `accepted`, `dispute.closed`.
 *   3. the provider's outcome (signal): `won` -> signal the payment to REINSTATE exactly what was
 *      withdrawn, then `dispute.closed`; `lost` -> `dispute.closed` (the funds stay withdrawn);
 *      `under_review` -> `dispute.updated`.
 * Fund moves are confirmed (patch `dispute-funds-confirmed`): the payment answers each one
 * (`disputeFundsApplied`); an unanswered move is sent again after 10 min, doubling up to 6 h (a
 * payment on a build without the handler drops it), and the run ends only once every move was answered
 * or the payment has closed. A reinstatement waits for the withdrawal's answer.
 * No compensation: a provider call that fails fails its update (the API answers it) and changes
 * nothing here. Operations are serialized; each re-checks the state the previous one left.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { DisputeActivities } from '../activities/dispute-activities';
import {
  disputeTransition,
  pendingReminders,
  TERMINAL_DISPUTE_STATUSES,
  type DisputeMove,
  type DisputeStatus,
  type DisputeView,
} from '../domain/dispute';
import * as options from './activity-options';
import { onCardQueue } from './card-queue';
import {
  acceptDisputeUpdate,
  DISPUTE_FUNDS_CONFIRMED_PATCH,
  disputeEventId,
  disputeEventSignal,
  disputeFundsAppliedSignal,
  DISPUTE_UPDATE_FAILURE,
  getDisputeQuery,
  submitEvidenceUpdate,
  type DisputeCardActivities,
  type DisputeInput,
  type SubmitEvidenceRequest,
} from './dispute-messages';
import { paymentDisputeSignal, type PaymentDisputeSignal } from './payment-disputes';
import { paymentWorkflowId } from './payment-repair';
import { createSerial } from './serial';

export * from './dispute-messages';

const local = proxyLocalActivities<DisputeActivities>(options.localWrite);

/** A fund move not answered by the payment is sent again after this long, doubling up to the cap. */
const FUNDS_RESEND_FIRST_MS = 10 * 60_000;
const FUNDS_RESEND_MAX_MS = 6 * 60 * 60_000;

type EventType = 'dispute.created' | 'dispute.updated' | 'dispute.closed';

export async function disputeWorkflow(input: DisputeInput): Promise<DisputeView> {
  const card = onCardQueue<DisputeCardActivities>(input.cardTaskQueue, options.providerOperation);
  const due = Date.parse(input.evidenceDueBy);
  const serial = createSerial();
  let status: DisputeStatus = 'needs_response';
  let evidenceSubmittedAt: string | undefined;
  let updatedAt = input.createdAt;
  let version = 0;
  let paymentClosed = false;
  /** Step 1 is written: signals and updates wait for it, so `dispute.created` comes first. */
  let opened = false;
  const terminal = () => TERMINAL_DISPUTE_STATUSES.has(status);

  const view = (): DisputeView => {
    const v: DisputeView = {
      id: input.disputeId,
      paymentId: input.paymentId,
      amount: input.amount,
      currency: input.currency,
      reason: input.reason,
      status,
      evidenceDueBy: input.evidenceDueBy,
      createdAt: input.createdAt,
      updatedAt,
    };
    if (evidenceSubmittedAt) v.evidenceSubmittedAt = evidenceSubmittedAt;
    return v;
  };

  /** Make `next` the dispute's status: its projection and one merchant event, in one statement. */
  async function commit(next: DisputeStatus, type: EventType, data: Record<string, unknown> = {}) {
    status = next;
    version += 1;
    updatedAt = new Date().toISOString();
    const snapshot = view();
    await local.commitDisputeStep({
      clientId: input.clientId,
      provider: input.provider,
      providerDisputeId: input.providerDisputeId,
      view: snapshot,
      version,
      paymentClosed,
      events: [
        {
          id: disputeEventId(input.disputeId, version),
          clientId: input.clientId,
          type,
          resourceId: input.disputeId,
          data: { ...snapshot, ...data },
          createdAt: updatedAt,
        },
      ],
    });
  }

  /** Ask the payment to move the funds; a closed payment workflow is recorded, not retried. */
  async function sendFunds(sig: PaymentDisputeSignal): Promise<void> {
    if (paymentClosed) return;
    try {
      await getExternalWorkflowHandle(paymentWorkflowId(input.paymentId)).signal(paymentDisputeSignal, sig);
    } catch (err) {
      if (!(err instanceof ApplicationFailure) || err.type !== 'ExternalWorkflowExecutionNotFound') throw err;
      paymentClosed = true;
    }
  }

  // Disputes started before the patch sent each move once. From it on, the payment answers each move
  // and an unanswered one is sent again: a payment still running on a build that predates disputes
  // has no handler, and drops the signal when it continues onto the current build. A reinstatement is
  // sent only once the withdrawal was answered, so a late withdrawal can never follow it.
  const confirmed = patched(DISPUTE_FUNDS_CONFIRMED_PATCH);
  const answered = new Set<PaymentDisputeSignal['action']>();
  const confirmations: Array<Promise<void>> = [];
  setHandler(disputeFundsAppliedSignal, (a) => {
    if (a.disputeId === input.disputeId) answered.add(a.action);
  });

  async function confirm(sig: PaymentDisputeSignal): Promise<void> {
    const settled = () => answered.has(sig.action) || paymentClosed;
    if (sig.action === 'reinstate') await condition(() => answered.has('withdraw') || paymentClosed);
    let wait = FUNDS_RESEND_FIRST_MS;
    await sendFunds(sig);
    while (!(await condition(settled, wait))) {
      await sendFunds(sig);
      wait = Math.min(wait * 2, FUNDS_RESEND_MAX_MS);
    }
  }

  function moveFunds(sig: PaymentDisputeSignal): Promise<void> {
    if (!confirmed) return sendFunds(sig);
    confirmations.push(confirm(sig));
    return Promise.resolve();
  }

  /** The merchant's move, or a rejection the API answers 409 with the dispute's status. */
  function decide(move: DisputeMove): DisputeStatus {
    const d = disputeTransition(status, move);
    if (!d.ok) throw rejection(d.message);
    if (move.kind === 'evidence' && Date.now() >= due)
      throw rejection(`The evidence was due by ${input.evidenceDueBy}`);
    return d.next;
  }
  const rejection = (message: string) =>
    ApplicationFailure.create({
      type: DISPUTE_UPDATE_FAILURE,
      message,
      nonRetryable: true,
      details: [{ code: 'invalid_state', status }],
    });
  const call = () => ({
    disputeId: input.disputeId,
    provider: input.provider,
    providerDisputeId: input.providerDisputeId,
    paymentId: input.paymentId,
    providerReference: input.providerReference,
  });

  setHandler(getDisputeQuery, view);
  setHandler(disputeEventSignal, async (e) => {
    await condition(() => opened);
    await serial(async () => {
      const d = disputeTransition(status, { kind: 'provider', status: e.status });
      if (!d.ok || !d.changed) return;
      if (d.next === 'won') await moveFunds({ action: 'reinstate', disputeId: input.disputeId });
      await commit(d.next, TERMINAL_DISPUTE_STATUSES.has(d.next) ? 'dispute.closed' : 'dispute.updated');
    });
  });
  setHandler(
    submitEvidenceUpdate,
    async (req: SubmitEvidenceRequest) => {
      await condition(() => opened);
      return serial(async () => {
        const next = decide({ kind: 'evidence' });
        await card.submitDisputeEvidence({ ...call(), text: req.text, fileIds: req.fileIds });
        evidenceSubmittedAt = new Date().toISOString();
        await commit(next, 'dispute.updated');
        return view();
      });
    },
    { validator: (_req: SubmitEvidenceRequest) => void decide({ kind: 'evidence' }) },
  );
  setHandler(
    acceptDisputeUpdate,
    async () => {
      await condition(() => opened);
      return serial(async () => {
        const next = decide({ kind: 'accept' });
        await card.acceptDispute(call());
        await commit(next, 'dispute.closed');
        return view();
      });
    },
    { validator: () => void decide({ kind: 'accept' }) },
  );

  // 1. Opened: projected and announced, then the funds withdrawn from the payment.
  await serial(async () => {
    await commit('needs_response', 'dispute.created');
    await moveFunds({ action: 'withdraw', disputeId: input.disputeId, amount: input.amount });
    opened = true;
  });

  // 2. Reminders and the evidence deadline while the merchant has to respond.
  const reminders = pendingReminders(input.evidenceDueBy, Date.now());
  while (status === 'needs_response') {
    const reminder = reminders[0];
    const wakeAt = reminder ? reminder.at : due;
    const moved = await condition(() => status !== 'needs_response', Math.max(wakeAt - Date.now(), 1));
    if (moved) break;
    if (reminder) {
      reminders.shift();
      await serial(async () => {
        if (status !== 'needs_response') return;
        await commit(status, 'dispute.updated', {
          reminder: { daysBefore: reminder.daysBefore, evidenceDueBy: input.evidenceDueBy },
        });
      });
      continue;
    }
    await serial(async () => {
      const d = disputeTransition(status, { kind: 'deadline' });
      if (d.ok && d.changed) await commit(d.next, 'dispute.closed');
    });
  }

  // 3. Under review: the provider decides (signal). The run ends once the payment has answered
  // every fund move.
  await condition(terminal);
  await condition(allHandlersFinished);
  await Promise.all(confirmations);
  return view();
}
