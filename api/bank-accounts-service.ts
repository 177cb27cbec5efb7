/**
 * The API's side of bank accounts: validates and seals the account, starts (or joins) its
 * BankVerificationWorkflow with update-with-start, submits micro-deposit amounts as a Workflow Update
 * (as a keyed MAC: the amounts never enter Temporal), reads the PostgreSQL projection, and applies
 * inbound provider events about deposits (applyBankProviderEvent, for the webhook endpoints).
 */
import { WithStartWorkflowOperation, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { TypedSearchAttributes, WorkflowNotFoundError } from '@temporalio/common';
import type { ProviderEvent } from '../domain/providers';
import type { BankAccountsRepo } from '../db/bank-accounts-repo';
import {
  validateAccountNumber,
  validateRoutingNumber,
  type AccountType,
  type BankAccountView,
} from '../domain/bank-account';
import { updateFailureError } from './update-errors';
import { AppError, notFound } from '../domain/errors';
import { hasPrefix } from '../domain/ids';
import type { BankSecrets } from '../vault/bank-secrets';
import {
  awaitFirstOutcomeUpdate,
  depositEventSignal,
  verifyMicrodepositsUpdate,
  type DepositEvent,
} from '../workflows/bank-verification';
import { bankVerificationWorkflow } from '../workflows';
import { SA_STATUS } from '../workflows/search-attributes';
import { derivedId, type Caller } from './payments-service';

export const bankWorkflowIdOf = (bankAccountId: string) => `bank-verification-${bankAccountId}`;
const scope = (c: Caller) => (c.role === 'service' ? c.sub : undefined);

export interface CreateBankAccountRequest {
  routingNumber: string;
  accountNumber: string;
  holderName: string;
  accountType: AccountType;
}

export interface BankAccountsServiceDeps {
  client: Client;
  bankAccounts: BankAccountsRepo;
  secrets: BankSecrets;
  taskQueue: string;
  cardTaskQueue: string;
  legalEntity: string;
  provider: string;
  /** How long POST waits for the first outcome before answering `pending`. */
  waitMs: number;
  /** Overrides of the 10-day window and 2/7-day reminders (tests, operators). */
  windowMs?: number | undefined;
  reminderAfterMs?: number[] | undefined;
  now?: () => Date;
}

const BANK_EVENT_KINDS: ReadonlySet<string> = new Set([
  'bank_account.deposits_sent',
  'bank_account.deposit_returned',
  'bank_account.deposit_failed',
]);

export function createBankAccountsService(deps: BankAccountsServiceDeps) {
  const now = deps.now ?? (() => new Date());

  async function current(id: string): Promise<BankAccountView> {
    const v = await deps.bankAccounts.get(id, undefined);
    if (!v) throw notFound('bank account');
    return v;
  }

  async function mapUpdateError(err: unknown, id: string): Promise<never> {
    const failed = updateFailureError(err, { bankAccountId: id });
    if (failed) throw failed;
    if (
      err instanceof WorkflowNotFoundError ||
      (err instanceof Error && /workflow execution already completed/i.test(err.message))
    ) {
      const v = await current(id);
      throw new AppError('conflict', 'invalid_state', `Cannot verify a bank account in status ${v.status}`, {
        details: { status: v.status, bankAccountId: id },
      });
    }
    throw err;
  }

  return {
    async create(
      caller: Caller,
      idempotencyKey: string,
      req: CreateBankAccountRequest,
    ): Promise<BankAccountView> {
      for (const e of [validateRoutingNumber(req.routingNumber), validateAccountNumber(req.accountNumber)]) {
        if (e)
          throw new AppError('invalid_request', e.code, `Invalid ${e.field}: ${e.message}`, {
            details: { field: e.field },
          });
      }
      const id = derivedId('ba', caller.sub, idempotencyKey);
      const createdAt = now().toISOString();
      const sealed = await deps.secrets.seal(id, deps.legalEntity, {
        routingNumber: req.routingNumber,
        accountNumber: req.accountNumber,
        holderName: req.holderName,
      });
      const rec = await deps.bankAccounts.insertOrJoin({
        id,
        clientId: caller.sub,
        legalEntity: deps.legalEntity,
        fingerprint: deps.secrets.fingerprint(req.routingNumber, req.accountNumber),
        last4: req.accountNumber.slice(-4),
        accountType: req.accountType,
        provider: deps.provider,
        sealed,
        createdAt,
      });
      // Joining an account past its first outcome: its verification keeps its attempts and window.
      if (rec.view.status !== 'pending') return rec.view;
      const start = new WithStartWorkflowOperation(bankVerificationWorkflow, {
        workflowId: bankWorkflowIdOf(rec.id),
        taskQueue: deps.taskQueue,
        args: [
          {
            bankAccountId: rec.id,
            clientId: caller.sub,
            provider: deps.provider,
            accountType: rec.view.accountType,
            last4: rec.view.last4,
            createdAt: rec.view.createdAt,
            cardTaskQueue: deps.cardTaskQueue,
            windowMs: deps.windowMs,
            reminderAfterMs: deps.reminderAfterMs,
          },
        ],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // Never a second run for the same account, even after the first one closed.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: new TypedSearchAttributes([{ key: SA_STATUS, value: 'pending' }]),
      });
      try {
        return await deps.client.withAbortSignal(AbortSignal.timeout(deps.waitMs), async () => {
          const handle = await deps.client.workflow.startUpdateWithStart(awaitFirstOutcomeUpdate, {
            startWorkflowOperation: start,
            waitForStage: WorkflowUpdateStage.ACCEPTED,
            updateId: 'await-first-outcome',
          });
          return handle.result();
        });
      } catch {
        // No outcome in time: the workflow keeps going and the projection says where it stands. But if
        // the workflow never started (Temporal unreachable), answering 201 would leave the account
        // pending forever: answer 503 so the client retries (same key -> same record, then started).
        const started = await deps.client.workflow
          .getHandle(bankWorkflowIdOf(rec.id))
          .describe()
          .then(
            () => true,
            () => false,
          );
        if (!started) {
          throw new AppError(
            'provider_unavailable',
            'verification_not_started',
            'The verification could not be started; retry with the same Idempotency-Key',
            { details: { bankAccountId: rec.id } },
          );
        }
        return current(rec.id);
      }
    },

    async get(caller: Caller, id: string): Promise<BankAccountView> {
      const v = await deps.bankAccounts.get(id, scope(caller));
      if (!v) throw notFound('bank account');
      return v;
    },

    async verify(
      caller: Caller,
      id: string,
      idempotencyKey: string,
      amounts: [number, number],
    ): Promise<BankAccountView> {
      if (!(await deps.bankAccounts.get(id, scope(caller)))) throw notFound('bank account');
      try {
        return await deps.client.workflow
          .getHandle(bankWorkflowIdOf(id))
          .executeUpdate(verifyMicrodepositsUpdate, {
            args: [{ amountsMac: deps.secrets.amountsMac(id, amounts) }],
            updateId: derivedId('upd', caller.sub, idempotencyKey, 'verify'),
          });
      } catch (err) {
        return mapUpdateError(err, id);
      }
    },

    /**
     * Apply one provider event about micro-deposits: stored once by (provider, event id), then
     * signalled to the account's workflow (which deduplicates by event id too and ignores events that
     * no longer matter), so duplicates and out-of-order deliveries are harmless. The account is found
     * by our id echoed in the event (raw.bankAccountId) or by the deposit's provider reference.
     */
    async applyBankProviderEvent(
      event: ProviderEvent,
    ): Promise<{ outcome: 'applied' | 'duplicate' | 'ignored' | 'unmatched'; bankAccountId?: string }> {
      if (!BANK_EVENT_KINDS.has(event.kind)) return { outcome: 'ignored' };
      const echoed = event.raw.bankAccountId;
      const bankAccountId =
        typeof echoed === 'string' && hasPrefix(echoed, 'ba')
          ? echoed
          : event.providerReference
            ? await deps.bankAccounts.findByProviderReference(event.provider, event.providerReference)
            : undefined;
      const stored = await deps.bankAccounts.storeProviderEvent({
        provider: event.provider,
        eventId: event.eventId,
        bankAccountId,
        kind: event.kind,
        occurredAt: event.occurredAt,
        raw: event.raw,
      });
      if (!stored.pending)
        return {
          outcome: 'duplicate',
          ...(stored.bankAccountId ? { bankAccountId: stored.bankAccountId } : {}),
        };
      if (!stored.bankAccountId) return { outcome: 'unmatched' };
      const signal: DepositEvent = {
        eventId: `${event.provider}:${event.eventId}`,
        kind: event.kind as DepositEvent['kind'],
        occurredAt: event.occurredAt,
      };
      try {
        await deps.client.workflow
          .getHandle(bankWorkflowIdOf(stored.bankAccountId))
          .signal(depositEventSignal, signal);
      } catch (err) {
        // A closed verification has nothing left to change: the event is stored, that is all.
        const closed =
          err instanceof WorkflowNotFoundError ||
          (err instanceof Error && /already completed|not found/i.test(err.message));
        if (!closed) throw err;
      }
      await deps.bankAccounts.markEventApplied(event.provider, event.eventId);
      return { outcome: 'applied', bankAccountId: stored.bankAccountId };
    },
  };
}
export type BankAccountsService = ReturnType<typeof createBankAccountsService>;
