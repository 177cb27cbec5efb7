/**
 * The API's side of disputes (API.md "Disputes"): opens and signals DisputeWorkflows from provider
 * webhooks, reads the projection, and drives the merchant's two moves (evidence, accept) as updates
 * of the dispute's workflow. Evidence files are checked here (limits, type by magic bytes, card
 * numbers) and stored encrypted before the workflow hears of them, by id only.
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { DisputesRepo } from '../db/disputes-repo';
import {
  DEFAULT_EVIDENCE_WINDOW_MS,
  EVIDENCE_LIMITS,
  evidenceContentType,
  type DisputeStatus,
  type DisputeView,
} from '../domain/dispute';
import { AppError, invalidRequest, notFound } from '../domain/errors';
import type { ProviderEvent } from '../domain/providers';
import { containsCardNumberLenient } from '../security/redaction';
import type { DisputeEvidence, EvidenceFileInput } from '../vault/dispute-evidence';
import { disputeWorkflow } from '../workflows';
import {
  acceptDisputeUpdate,
  disputeEventSignal,
  disputeWorkflowId,
  submitEvidenceUpdate,
  type DisputeInput,
} from '../workflows/dispute-messages';
import { derivedId, type Caller } from './payments-service';
import { updateFailureError } from './update-errors';

const scope = (c: Caller) => (c.role === 'service' ? c.sub : undefined);

/** `dp_...` from (provider, provider dispute id): every webhook about one dispute lands on one id. */
export const disputeIdOf = (provider: string, providerDisputeId: string) =>
  derivedId('dp', 'dispute', provider, providerDisputeId);

export interface EvidenceBody {
  text: string;
  files?: Array<{ name: string; contentBase64: string }> | undefined;
}

export interface DisputesServiceDeps {
  client: Client;
  disputes: DisputesRepo;
  evidence: DisputeEvidence;
  taskQueue: string;
  cardTaskQueue: string;
  legalEntity: string;
  now?: () => Date;
}

/** Most text a PDF's compressed streams may expand to for the card scan (a zip bomb stops here). */
const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/**
 * The text a file's bytes carry, for the card scan: NULs dropped (UTF-16 text becomes plain), every
 * other unprintable byte a letter (so digits far apart in binary never join into one candidate), and
 * a PDF's Flate streams inflated (bounded) and scanned the same way.
 */
function scannableText(bytes: Buffer, pdf: boolean): string[] {
  const printable = (b: Buffer) =>
    b
      .toString('latin1')
      .replaceAll('\u0000', '')
      .replace(/[^\x20-\x7e\t\r\n]/g, 'x');
  const out = [printable(bytes)];
  if (!pdf) return out;
  let budget = MAX_INFLATED_BYTES;
  const raw = bytes.toString('latin1');
  for (const m of raw.matchAll(/stream\r?\n/g)) {
    const start = m.index + m[0].length;
    const end = raw.indexOf('endstream', start);
    if (end < 0 || budget <= 0) break;
    try {
      const inflated = inflateSync(bytes.subarray(start, end), { maxOutputLength: budget });
      budget -= inflated.length;
      out.push(printable(inflated));
    } catch {
      // Not a Flate stream (or over the budget): its raw bytes were scanned above.
    }
  }
  return out;
}

/** Decoded, typed and card-free evidence files, or a 400 naming the field. Nothing is stored here. */
export function checkEvidenceFiles(
  files: ReadonlyArray<{ name: string; contentBase64: string }>,
): Array<Omit<EvidenceFileInput, 'id'>> {
  let total = 0;
  return files.map((f, i) => {
    const field = `files.${i}.contentBase64`;
    const content = Buffer.from(f.contentBase64, 'base64');
    if (content.length === 0)
      throw invalidRequest('invalid_field', `Invalid value for ${field}: empty`, { field });
    if (content.length > EVIDENCE_LIMITS.fileBytes)
      throw invalidRequest('file_too_large', `${field}: more than ${EVIDENCE_LIMITS.fileBytes} bytes`, {
        field,
        limit: EVIDENCE_LIMITS.fileBytes,
      });
    total += content.length;
    if (total > EVIDENCE_LIMITS.totalBytes)
      throw invalidRequest(
        'evidence_too_large',
        `files: more than ${EVIDENCE_LIMITS.totalBytes} bytes in all`,
        {
          field: 'files',
          limit: EVIDENCE_LIMITS.totalBytes,
        },
      );
    const contentType = evidenceContentType(content);
    if (!contentType)
      throw invalidRequest('unsupported_file_type', `${field}: must be a PDF, PNG or JPEG file`, { field });
    if (scannableText(content, contentType === 'application/pdf').some(containsCardNumberLenient))
      throw invalidRequest('invalid_field', `Invalid value for ${field}: must not contain a card number`, {
        field,
      });
    return { name: f.name, contentType, content };
  });
}

export function createDisputesService(deps: DisputesServiceDeps) {
  const now = deps.now ?? (() => new Date());

  async function owned(caller: Caller, id: string): Promise<DisputeView> {
    const d = await deps.disputes.get(id, scope(caller));
    if (!d) throw notFound('dispute');
    return d;
  }

  const stateConflict = (d: DisputeView, message: string) =>
    new AppError('conflict', 'invalid_state', message, { details: { status: d.status, disputeId: d.id } });

  /** A refused or failed update in the contract's terms; a closed workflow: 409 with the status. */
  async function mapUpdateError(err: unknown, id: string): Promise<never> {
    const failed = updateFailureError(err, { disputeId: id });
    if (failed) throw failed;
    if (
      err instanceof WorkflowNotFoundError ||
      (err instanceof Error && /workflow execution already completed/i.test(err.message))
    ) {
      const d = await deps.disputes.get(id, undefined);
      if (!d) throw notFound('dispute');
      throw stateConflict(d, `Cannot change a dispute in status ${d.status}`);
    }
    throw err;
  }

  return {
    /**
     * A provider's dispute.* event about `paymentId`: starts the dispute's workflow with the event as
     * its first signal, or only signals it when it runs. 'closed': the dispute already ended;
     * 'invalid': facts no dispute can hold (kept in provider_events for audit, never a poison start).
     */
    async onProviderEvent(
      event: ProviderEvent,
      paymentId: string,
    ): Promise<'applied' | 'closed' | 'unmatched' | 'invalid'> {
      const facts = event.dispute;
      const payment = await deps.disputes.payment(paymentId);
      if (!facts || !payment) return 'unmatched';
      if (!Number.isSafeInteger(facts.amount) || facts.amount < 0 || !/^[A-Za-z]{3}$/.test(facts.currency))
        return 'invalid';
      const disputeId = disputeIdOf(event.provider, facts.providerDisputeId);
      const createdAt = now().toISOString();
      const due = facts.evidenceDueBy ? Date.parse(facts.evidenceDueBy) : NaN;
      const input: DisputeInput = {
        disputeId,
        clientId: payment.clientId,
        paymentId,
        provider: event.provider,
        providerDisputeId: facts.providerDisputeId,
        providerReference: payment.providerReference ?? event.providerReference ?? '',
        amount: facts.amount,
        currency: facts.currency.toUpperCase(),
        reason: facts.reason,
        evidenceDueBy: new Date(
          Number.isFinite(due) ? due : Date.parse(createdAt) + DEFAULT_EVIDENCE_WINDOW_MS,
        ).toISOString(),
        createdAt,
        cardTaskQueue: deps.cardTaskQueue,
      };
      try {
        await deps.client.workflow.signalWithStart(disputeWorkflow, {
          workflowId: disputeWorkflowId(disputeId),
          taskQueue: deps.taskQueue,
          args: [input],
          signal: disputeEventSignal,
          signalArgs: [
            {
              eventId: `${event.provider}:${event.eventId}`,
              status: facts.status,
              occurredAt: event.occurredAt,
            },
          ],
          // A dispute has one run: a report after it closed changes nothing.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return 'closed';
        throw err;
      }
      return 'applied';
    },

    get: owned,

    list(
      caller: Caller,
      q: {
        paymentId?: string | undefined;
        status?: DisputeStatus | undefined;
        limit: number;
        startingAfter?: string | undefined;
      },
    ) {
      return deps.disputes.list({ clientId: scope(caller), ...q });
    },

    async submitEvidence(
      caller: Caller,
      id: string,
      idempotencyKey: string,
      body: EvidenceBody,
    ): Promise<DisputeView> {
      const files = checkEvidenceFiles(body.files ?? []);
      const d = await owned(caller, id);
      // Refused before anything is stored; the workflow's validator decides again (it is the truth).
      if (d.status !== 'needs_response')
        throw stateConflict(d, `Cannot submit evidence for a dispute in status ${d.status}`);
      if (now().getTime() >= Date.parse(d.evidenceDueBy))
        throw stateConflict(d, `The evidence was due by ${d.evidenceDueBy}`);
      // Ids from (dispute, client, key, position): a retried request writes the same rows once.
      const stored = files.map((f, i) => ({
        ...f,
        id: derivedId('dpf', id, caller.sub, idempotencyKey, String(i)),
      }));
      if (stored.length)
        await deps.evidence.store(
          { disputeId: id, clientId: caller.sub, legalEntity: deps.legalEntity },
          stored,
        );
      const fileIds = stored.map((f) => f.id);
      const digest = createHash('sha256').update(body.text).update(fileIds.join(',')).digest('hex');
      try {
        return await deps.client.workflow
          .getHandle(disputeWorkflowId(id))
          .executeUpdate(submitEvidenceUpdate, {
            args: [{ text: body.text, fileIds }],
            updateId: derivedId('upd', caller.sub, idempotencyKey, id, 'evidence', digest),
          });
      } catch (err) {
        // Refused by the workflow: nothing will ever send these files.
        if (err instanceof WorkflowUpdateFailedError && fileIds.length)
          await deps.evidence.discard(id, fileIds).catch(() => undefined);
        return mapUpdateError(err, id);
      }
    },

    async accept(caller: Caller, id: string, idempotencyKey: string): Promise<DisputeView> {
      await owned(caller, id);
      try {
        return await deps.client.workflow
          .getHandle(disputeWorkflowId(id))
          .executeUpdate(acceptDisputeUpdate, {
            updateId: derivedId('upd', caller.sub, idempotencyKey, id, 'accept'),
          });
      } catch (err) {
        return mapUpdateError(err, id);
      }
    },
  };
}
export type DisputesService = ReturnType<typeof createDisputesService>;
