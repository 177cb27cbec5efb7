/**
 * A failed workflow update in the contract's terms: the workflow's own rejections (conflict, amount)
 * and the failures of the activity behind the update, each answered per UPDATE_FAILURE_ANSWERS
 * (domain/errors.ts, beside the failure types themselves).
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import {
  AppError,
  FAILURE_TYPES,
  UPDATE_FAILURE_ANSWERS,
  type FailureType,
  type UpdateFailureAnswer,
} from '../domain/errors';

const answerOf = (type: string | undefined): UpdateFailureAnswer =>
  UPDATE_FAILURE_ANSWERS[(type ?? FAILURE_TYPES.InternalError) as FailureType] ??
  UPDATE_FAILURE_ANSWERS.InternalError;

/**
 * The AppError for a failed update, with `resource` (e.g. `{ paymentId }`) in its details; undefined
 * when `err` is not a failed update (the caller handles a closed or missing workflow itself).
 */
export function updateFailureError(err: unknown, resource: Record<string, unknown>): AppError | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    // The workflow's rejection: its message is written for clients; its details say more.
    const { code, ...facts } = (cause.details?.[0] ?? {}) as { code?: string } & Record<string, unknown>;
    const a = answerOf(cause.type ?? undefined);
    return new AppError(a.type, code ?? a.code, a.message ?? cause.message, {
      status: a.status,
      details: { ...facts, ...resource },
    });
  }
  if (cause instanceof ActivityFailure) {
    // A timeout after the provider call was sent leaves its outcome unknown, like the type says.
    const type =
      cause.cause instanceof TimeoutFailure
        ? FAILURE_TYPES.ProviderOutcomeUnknown
        : cause.cause instanceof ApplicationFailure
          ? (cause.cause.type ?? undefined)
          : undefined;
    const a = answerOf(type);
    return new AppError(a.type, a.code, a.message ?? 'The operation failed', {
      status: a.status,
      details: resource,
    });
  }
  return undefined;
}
