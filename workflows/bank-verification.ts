/**
 * BankVerificationWorkflow: one bank account from submission to verified / verification_failed /
 * expired. Workflow id `bank-verification-<ba_id>`.
 *
 * Steps
 *   1. project `pending`; instant verification at the provider (card-data worker, key `<ba>:instant`,
 *      option set bankInstant). verified -> `verified` (terminal, method instant).
 *   2. unavailable / inconclusive / timeout / outage -> micro-deposits: the card-data worker derives
 *      two amounts (1..99) from a secret key, the account id and a nonce drawn here with uuid4()
 *      (deterministic on replay), sends them (key `<ba>:microdeposits:<nonce>`) and returns only a
 *      keyed MAC of the pair -> `awaiting_microdeposits`, 3 attempts, expires after the window
 *      (10 days). The amounts are never in this workflow's arguments, state, results or search
 *      attributes; the API sends the MAC of the submitted pair, compared here in constant time.
 *   3. TIMERS: reminders (merchant event bank_account.verification_reminder) 2 and 7 days after the
 *      deposits were sent; at the end of the window -> `expired`.
 *   4. Update verifyMicrodeposits (validator: only while awaiting): right pair -> `verified`; wrong
 *      pair -> attempts - 1 and a BankAmountsMismatch failure; the third wrong pair ->
 *      `verification_failed`. Updates run one at a time (serialized), so parallel wrong
 *      submissions can never consume more than the 3 attempts.
 *   5. Signal depositEvent (provider events, deduplicated by event id; order-insensitive): a returned
 *      or failed deposit -> `verification_failed` with the reason.
 *   COMPENSATION: once verification ends after deposits landed (verified, failed, expired), the
 *   deposits are clawed back (key `<ba>:clawback`, retried until done). Returned deposits are not.
 * Every status change is projected to PostgreSQL with a merchant event and an audit event.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { createBankActivities } from '../activities/bank-activities';
import type { createBankProviderActivities } from '../activities/bank-provider-activities';
import {
  MAX_VERIFICATION_ATTEMPTS,
  REMINDER_AFTER_MS,
  TERMINAL_BANK_STATUSES,
  VERIFICATION_WINDOW_MS,
  constantTimeEqualString,
  type AccountType,
  type BankAccountStatus,
  type BankAccountView,
  type BankFailureReason,
  type VerificationMethod,
} from '../domain/bank-account';
import { FAILURE_TYPES } from '../domain/errors';
import * as options from './activity-options';
import { SA_STATUS } from './search-attributes';
import { createSerial } from './serial';

export interface BankVerificationInput {
  bankAccountId: string;
  clientId: string;
  provider: string;
  accountType: AccountType;
  last4: string;
  createdAt: string;
  cardTaskQueue: string;
  /** Test/operator overrides of the contract's 10 days and 2/7-day reminders. */
  windowMs?: number | undefined;
  reminderAfterMs?: number[] | undefined;
}

export interface VerifyRequest {
  /** Keyed MAC of the submitted pair (vault/bank-secrets.ts amountsMac), never the amounts. */
  amountsMac: string;
}

export interface DepositEvent {
  eventId: string;
  kind: 'bank_account.deposits_sent' | 'bank_account.deposit_returned' | 'bank_account.deposit_failed';
  occurredAt: string;
}

export const getBankAccountQuery = defineQuery<BankAccountView>('getBankAccount');
/** Returns once the first outcome is known: verified (instant) or awaiting_microdeposits. */
export const awaitFirstOutcomeUpdate = defineUpdate<BankAccountView>('awaitFirstOutcome');
export const verifyMicrodepositsUpdate = defineUpdate<BankAccountView, [VerifyRequest]>(
  'verifyMicrodeposits',
);
export const depositEventSignal = defineSignal<[DepositEvent]>('depositEvent');

/** Failure types an update can fail with; the API answers them per domain/errors.ts UPDATE_FAILURE_ANSWERS. */
export const BANK_UPDATE_FAILURES = {
  Conflict: FAILURE_TYPES.BankConflict,
  AmountsMismatch: FAILURE_TYPES.BankAmountsMismatch,
} as const;

interface State {
  status: BankAccountStatus;
  method: VerificationMethod;
  attemptsRemaining?: number | undefined;
  expiresAt?: string | undefined;
  failureReason?: BankFailureReason | undefined;
  providerReference?: string | undefined;
  version: number;
  updatedAt: string;
}

const MAC_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const acts = proxyActivities<ReturnType<typeof createBankActivities>>(options.projection);

/**
 * Worker Versioning: PINNED. A verification lives at most its window (10 days by default) and moves
 * money (micro-deposits, their clawback): it finishes on the build that started it, and an old build
 * drains within the window after a deploy.
 */

export async function bankVerificationWorkflow(input: BankVerificationInput): Promise<BankAccountView> {
  const card = (opts: typeof options.projection) =>
    proxyActivities<ReturnType<typeof createBankProviderActivities>>({
      ...opts,
      taskQueue: input.cardTaskQueue,
    });
  const instantActs = card(options.bankInstant);
  const depositActs = card(options.bankMicrodeposits);
  const clawbackActs = card(options.compensation);

  let s: State = { status: 'pending', method: 'instant', version: 1, updatedAt: input.createdAt };
  /** Keyed MAC of the expected pair: workflow state, never in a view, event or search attribute. */
  const expected: { mac?: string } = {};
  let depositProblem: BankFailureReason | undefined;
  const seenEvents = new Set<string>();
  let projected = 0;

  const view = (): BankAccountView => {
    const v: BankAccountView = {
      id: input.bankAccountId,
      status: s.status,
      verificationMethod: s.method,
      last4: input.last4,
      accountType: input.accountType,
      createdAt: input.createdAt,
      updatedAt: s.updatedAt,
    };
    if (s.attemptsRemaining !== undefined) v.attemptsRemaining = s.attemptsRemaining;
    if (s.expiresAt !== undefined) v.verificationExpiresAt = s.expiresAt;
    if (s.failureReason !== undefined) v.failureReason = s.failureReason;
    return v;
  };
  const terminal = () => TERMINAL_BANK_STATUSES.has(s.status);

  const serial = createSerial();

  async function commit(next: Partial<State>): Promise<void> {
    const statusChanged = next.status !== undefined && next.status !== s.status;
    s = { ...s, ...next, version: s.version + 1, updatedAt: new Date().toISOString() };
    if (statusChanged && workflowInfo().typedSearchAttributes.get(SA_STATUS) !== undefined) {
      upsertSearchAttributes([{ key: SA_STATUS, value: s.status }]);
    }
    const version = s.version;
    await acts.projectBankAccount({
      clientId: input.clientId,
      view: view(),
      version,
      providerReference: s.providerReference,
      statusChanged,
    });
    projected = Math.max(projected, version);
  }

  const conflict = () =>
    ApplicationFailure.create({
      type: BANK_UPDATE_FAILURES.Conflict,
      message: `Cannot verify a bank account in status ${s.status}`,
      nonRetryable: true,
      details: [{ status: s.status }],
    });

  setHandler(getBankAccountQuery, view);
  setHandler(awaitFirstOutcomeUpdate, async () => {
    await condition(() => s.status !== 'pending' && projected >= s.version);
    return view();
  });
  setHandler(
    verifyMicrodepositsUpdate,
    (req) =>
      serial(async () => {
        if (s.status !== 'awaiting_microdeposits' || depositProblem || !expected.mac) throw conflict();
        if (constantTimeEqualString(req.amountsMac, expected.mac)) {
          await commit({ status: 'verified' });
          return view();
        }
        const left = Math.max((s.attemptsRemaining ?? 0) - 1, 0);
        await commit(
          left === 0
            ? { status: 'verification_failed', attemptsRemaining: 0, failureReason: 'too_many_attempts' }
            : { attemptsRemaining: left },
        );
        throw ApplicationFailure.create({
          type: BANK_UPDATE_FAILURES.AmountsMismatch,
          message: 'The amounts do not match the micro-deposits',
          nonRetryable: true,
          details: [{ attemptsRemaining: left, status: s.status }],
        });
      }),
    {
      validator: (req: VerifyRequest) => {
        if (typeof req?.amountsMac !== 'string' || !MAC_FORMAT.test(req.amountsMac)) {
          throw new Error('amountsMac must be a base64url HMAC-SHA256');
        }
        if (s.status !== 'awaiting_microdeposits') throw conflict();
      },
    },
  );
  setHandler(depositEventSignal, (e) => {
    if (seenEvents.has(e.eventId)) return;
    seenEvents.add(e.eventId);
    if (e.kind === 'bank_account.deposit_returned') depositProblem ??= 'microdeposit_returned';
    if (e.kind === 'bank_account.deposit_failed') depositProblem ??= 'microdeposit_failed';
  });

  // 1. Instant verification.
  await acts.projectBankAccount({
    clientId: input.clientId,
    view: view(),
    version: s.version,
    statusChanged: true,
  });
  projected = s.version;
  let instant: 'verified' | 'fallback' = 'fallback';
  try {
    const r = await instantActs.instantVerifyBankAccount({
      bankAccountId: input.bankAccountId,
      provider: input.provider,
    });
    if (r.outcome === 'verified') instant = 'verified';
  } catch {
    // Outage or timeout: the contract falls back to micro-deposits rather than failing.
  }
  if (instant === 'verified') {
    await commit({ status: 'verified', method: 'instant' });
    await condition(allHandlersFinished);
    return view();
  }

  // 2. Micro-deposits.
  const sent = await depositActs.sendBankMicrodeposits({
    bankAccountId: input.bankAccountId,
    provider: input.provider,
    nonce: uuid4(),
  });
  expected.mac = sent.amountsMac;
  const sentAt = Date.now();
  const deadline = sentAt + (input.windowMs ?? VERIFICATION_WINDOW_MS);
  await commit({
    status: 'awaiting_microdeposits',
    method: 'microdeposits',
    attemptsRemaining: MAX_VERIFICATION_ATTEMPTS,
    expiresAt: new Date(deadline).toISOString(),
    providerReference: sent.providerReference,
  });

  // 3. Reminders, then expiry; a returned deposit or an update may end it first.
  const ended = () => terminal() || depositProblem !== undefined;
  const reminders = input.reminderAfterMs ?? REMINDER_AFTER_MS;
  for (let i = 0; i < reminders.length; i++) {
    const at = sentAt + (reminders[i] ?? 0);
    if (at >= deadline) break;
    if (await condition(ended, Math.max(at - Date.now(), 1))) break;
    await serial(async () => {
      if (ended()) return;
      await acts.recordBankReminder({
        clientId: input.clientId,
        view: view(),
        n: i + 1,
        at: new Date().toISOString(),
      });
    });
  }
  if (!ended()) await condition(ended, Math.max(deadline - Date.now(), 1));
  await serial(async () => {
    if (terminal()) return;
    if (depositProblem) await commit({ status: 'verification_failed', failureReason: depositProblem });
    else await commit({ status: 'expired' });
  });

  // COMPENSATION: claw back deposits that landed.
  if (depositProblem === undefined && s.providerReference) {
    await clawbackActs.clawBackBankMicrodeposits({
      bankAccountId: input.bankAccountId,
      provider: input.provider,
      providerReference: s.providerReference,
    });
  }
  await condition(allHandlersFinished);
  return view();
}
