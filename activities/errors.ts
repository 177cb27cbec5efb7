/**
 * The activity boundary: every error leaving an activity becomes an ApplicationFailure with a
 * FailureType and a card-free message. Non-retryable types are decided here AND listed in
 * workflows/activity-options.ts (belt and braces: the option sets are what operators read).
 */
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES, type FailureType } from '../domain/errors';
import { ProviderError } from './providers/types';
import { scrubCardNumbers } from '../security/redaction';

const NON_RETRYABLE: ReadonlySet<FailureType> = new Set([
  FAILURE_TYPES.ProviderInvalidRequest,
  FAILURE_TYPES.CardUnavailable,
  FAILURE_TYPES.ValidationFailed,
]);

export function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ProviderError) {
    return ApplicationFailure.create({
      type: err.failureType,
      message: scrubCardNumbers(`${err.provider}: ${err.message}`),
      nonRetryable: NON_RETRYABLE.has(err.failureType),
      details: [{ provider: err.provider, httpStatus: err.httpStatus ?? null }],
    });
  }
  // Unknown errors are retryable; the message is scrubbed and the stack dropped (it may hold input).
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({
    type: 'InternalError',
    message: scrubCardNumbers(message),
    nonRetryable: false,
  });
}

export async function atBoundary<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}

export function failure(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: NON_RETRYABLE.has(type) });
}
